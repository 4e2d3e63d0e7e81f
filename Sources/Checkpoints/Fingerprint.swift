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

    public static func of(model: ModelDirectory) throws -> String {
        try compute(store: model.tensors, jsonFiles: [URL(fileURLWithPath: model.path).appendingPathComponent("config.json").path])
    }

    public static func of(adapter: LoRAAdapter) throws -> String {
        try compute(store: adapter.tensors, jsonFiles: [adapter.config.path])
    }
}
