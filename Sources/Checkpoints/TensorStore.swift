import Foundation
import JSONReader

/// The tensors of one checkpoint, possibly spread over several safetensors shards.
/// Reading goes through here so that callers see one flat namespace and one way to convert.
public final class TensorStore: @unchecked Sendable {
    /// What the tensors were read from: a .safetensors file or a directory.
    public let location: String
    public let files: [SafetensorsFile]
    private let index: [String: (file: SafetensorsFile, info: TensorInfo)]
    /// All tensor names, sorted, so every walk over a checkpoint is in the same order.
    public let names: [String]

    public init(files: [SafetensorsFile], location: String) throws {
        self.location = location
        self.files = files
        var index: [String: (SafetensorsFile, TensorInfo)] = [:]
        for f in files {
            for (name, info) in f.tensors {
                if let previous = index[name] {
                    throw CheckpointError(file: f.path, field: name,
                                          "tensor also present in \(previous.0.path); each tensor must live in one shard")
                }
                index[name] = (f, info)
            }
        }
        self.index = index
        self.names = index.keys.sorted()
    }

    /// Opens a single .safetensors file, a directory holding model.safetensors (or
    /// adapter_model.safetensors), or a sharded directory with model.safetensors.index.json.
    public static func open(_ path: String, preferredFile: String = "model.safetensors") throws -> TensorStore {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CheckpointError(file: path, field: "", "does not exist")
        }
        if !isDirectory.boolValue {
            return try TensorStore(files: [SafetensorsFile(path: path)], location: path)
        }
        let directory = URL(fileURLWithPath: path)
        let single = directory.appendingPathComponent(preferredFile).path
        if FileManager.default.fileExists(atPath: single) {
            return try TensorStore(files: [SafetensorsFile(path: single)], location: path)
        }
        let indexPath = directory.appendingPathComponent(preferredFile + ".index.json").path
        if FileManager.default.fileExists(atPath: indexPath) {
            return try openSharded(indexPath: indexPath, directory: directory)
        }
        throw CheckpointError(file: path, field: "",
                              "no \(preferredFile) or \(preferredFile).index.json in this directory (only safetensors checkpoints are read; convert .bin files with transformers' save_pretrained(safe_serialization=True))")
    }

    private static func openSharded(indexPath: String, directory: URL) throws -> TensorStore {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: indexPath)) } catch {
            throw CheckpointError(file: indexPath, field: "", "cannot be read: \(error.localizedDescription)")
        }
        let object: JSON
        do { object = try JSONReader.parse(data) } catch {
            throw CheckpointError(file: indexPath, field: "", "is not valid JSON (\(error))")
        }
        guard case .object = object else {
            throw CheckpointError(file: indexPath, field: "", "is not a JSON object")
        }
        // transformers reads the index with Python's json: a name written twice keeps its last shard.
        guard let weightMap = object["weight_map"]?.dictionaryMembers else {
            throw CheckpointError(file: indexPath, field: "weight_map", "missing or not an object of tensor name -> shard file")
        }
        var shardNames = Set<String>()
        var expected: [String: String] = [:]
        for member in weightMap {
            let tensor = member.key
            guard let shard = member.value.stringValue else {
                throw CheckpointError(file: indexPath, field: "weight_map.\(tensor)", "expected a shard file name")
            }
            // Shards live in the checkpoint's own directory: no absolute paths and no '..', so an
            // index cannot make us open (and quote from) files elsewhere, e.g. ../../etc/passwd.
            guard !shard.hasPrefix("/"), !shard.split(separator: "/").contains(".."), !shard.isEmpty else {
                throw CheckpointError(file: indexPath, field: "weight_map.\(tensor)",
                                      "shard path '\(shard)' must be a file inside the checkpoint directory (no absolute path, no '..')")
            }
            shardNames.insert(shard)
            expected[tensor] = shard
        }
        var files: [SafetensorsFile] = []
        for shard in shardNames.sorted() {
            let shardPath = directory.appendingPathComponent(shard).path
            guard FileManager.default.fileExists(atPath: shardPath) else {
                throw CheckpointError(file: indexPath, field: "weight_map",
                                      "names shard \(shard), which is missing from \(directory.path)")
            }
            files.append(try SafetensorsFile(path: shardPath))
        }
        let store = try TensorStore(files: files, location: directory.path)
        for (tensor, shard) in expected {
            guard let found = store.index[tensor] else {
                throw CheckpointError(file: indexPath, field: "weight_map.\(tensor)",
                                      "tensor is listed in shard \(shard) but that shard does not contain it")
            }
            if URL(fileURLWithPath: found.file.path).lastPathComponent != URL(fileURLWithPath: shard).lastPathComponent {
                throw CheckpointError(file: indexPath, field: "weight_map.\(tensor)",
                                      "listed in \(shard) but found in \(found.file.path)")
            }
        }
        return store
    }

    public func info(_ name: String) -> TensorInfo? { index[name]?.info }

    public func contains(_ name: String) -> Bool { index[name] != nil }

    /// The tensor `name` or an error naming the checkpoint and tensor.
    public func require(_ name: String) throws -> TensorInfo {
        guard let info = index[name]?.info else {
            throw CheckpointError(file: location, field: name, "tensor not found")
        }
        return info
    }

    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        guard let entry = index[name] else {
            throw CheckpointError(file: location, field: name, "tensor not found")
        }
        return entry.file.rawBytes(entry.info)
    }

    /// Converts elements [start, start + count) of a floating-point tensor into `out`.
    public func read(_ name: String, start: Int = 0, count: Int? = nil, into out: UnsafeMutablePointer<Double>) throws {
        let (info, raw) = try floatingTensor(name)
        let n = count ?? info.elementCount - start
        ElementConversion.toDouble(raw, dtype: info.dtype, start: start, count: n, into: out)
    }

    public func read(_ name: String, start: Int = 0, count: Int? = nil, into out: UnsafeMutablePointer<Float>) throws {
        let (info, raw) = try floatingTensor(name)
        let n = count ?? info.elementCount - start
        ElementConversion.toFloat(raw, dtype: info.dtype, start: start, count: n, into: out)
    }

    /// The whole tensor as Float (one allocation; the mapped pages can be dropped afterwards).
    public func floats(_ name: String) throws -> [Float] {
        let info = try require(name)
        return try [Float](unsafeUninitializedCapacity: info.elementCount) { buffer, initialized in
            if info.elementCount > 0 { try read(name, into: buffer.baseAddress!) }
            initialized = info.elementCount
        }
    }

    public func doubles(_ name: String) throws -> [Double] {
        let info = try require(name)
        return try [Double](unsafeUninitializedCapacity: info.elementCount) { buffer, initialized in
            if info.elementCount > 0 { try read(name, into: buffer.baseAddress!) }
            initialized = info.elementCount
        }
    }

    /// Hints that a tensor's pages are no longer needed.
    public func release(_ name: String) {
        if let entry = index[name] { entry.file.release(entry.info) }
    }

    private func floatingTensor(_ name: String) throws -> (TensorInfo, UnsafeRawBufferPointer) {
        guard let entry = index[name] else {
            throw CheckpointError(file: location, field: name, "tensor not found")
        }
        return (entry.info, entry.file.rawBytes(entry.info))
    }
}
