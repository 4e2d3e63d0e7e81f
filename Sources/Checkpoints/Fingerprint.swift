import Foundation

/// Content fingerprints of checkpoints, used to key cached results: the same bytes give the
/// same fingerprint on every run and machine, and any change to a weight or to the config
/// gives a different one. Tensor *names* and order of shards do not matter, contents do.
public enum Fingerprint {
    /// Hashes the given JSON files (raw bytes) and every tensor's name, dtype, shape and data,
    /// in sorted name order, streaming through the mapped files.
    public static func compute(store: TensorStore, jsonFiles: [String]) throws -> String {
        var h = XXH64(seed: 0x666F_7267_6574_6C6E) // "forgetln"
        for file in jsonFiles {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
                throw CheckpointError(file: file, field: "", "cannot be read for fingerprinting")
            }
            h.update(Array(URL(fileURLWithPath: file).lastPathComponent.utf8))
            data.withUnsafeBytes { h.update($0) }
        }
        for name in store.names {
            let info = try store.require(name)
            h.update(Array("\(name)|\(info.dtype.rawValue)|\(info.shape)".utf8))
            h.update(try store.rawBytes(name))
            store.release(name)
        }
        return String(format: "xxh64:%016llx", h.digest())
    }

    public static func of(model: ModelDirectory, cache: FingerprintCache? = nil) throws -> String {
        try cached(store: model.tensors, jsonFiles: [URL(fileURLWithPath: model.path).appendingPathComponent("config.json").path], cache: cache)
    }

    public static func of(adapter: LoRAAdapter, cache: FingerprintCache? = nil) throws -> String {
        try cached(store: adapter.tensors, jsonFiles: [adapter.config.path], cache: cache)
    }

    static func cached(store: TensorStore, jsonFiles: [String], cache: FingerprintCache?) throws -> String {
        guard let cache, let key = statKey(paths: jsonFiles + store.files.map(\.path)) else {
            return try compute(store: store, jsonFiles: jsonFiles)
        }
        if let known = cache.lookup(key) { return known }
        let fp = try compute(store: store, jsonFiles: jsonFiles)
        cache.save(key, fp)
        return fp
    }

    /// What identifies the files' current contents without reading them: per file its resolved
    /// path, device, inode, size, and modification and status-change times in nanoseconds.
    /// Rewriting a file, even to the same size, moves its ctime (which no tool can set back), and
    /// replacing it changes the inode; so an equal key means the bytes hashed before are still
    /// there. nil when a file cannot be stat'ed (then the content is hashed).
    public static func statKey(paths: [String]) -> String? {
        var h = XXH64(seed: 0x7374_6174)  // "stat"
        for path in paths {
            var st = stat()
            let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
            guard stat(resolved, &st) == 0 else { return nil }
            let fields = "\(resolved)|\(st.st_dev)|\(st.st_ino)|\(st.st_size)|\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)|\(st.st_ctim.tv_sec).\(st.st_ctim.tv_nsec)"
            h.update(Array(fields.utf8))
        }
        return String(format: "stat-xxh64:%016llx", h.digest())
    }
}

/// Fingerprints already computed for files that have not changed since (see Fingerprint.statKey),
/// so a rerun of a big experiment does not read every checkpoint again to learn that nothing
/// changed. The results store keeps them.
public struct FingerprintCache: Sendable {
    public let lookup: @Sendable (String) -> String?
    public let save: @Sendable (String, String) -> Void
    public init(lookup: @escaping @Sendable (String) -> String?, save: @escaping @Sendable (String, String) -> Void) {
        self.lookup = lookup
        self.save = save
    }
}
