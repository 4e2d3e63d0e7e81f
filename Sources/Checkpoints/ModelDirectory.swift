import Foundation

/// A Hugging Face model directory: config.json, safetensors weights (single or sharded) and,
/// optionally, tokenizer.json.
public final class ModelDirectory: @unchecked Sendable {
    public let path: String
    public let config: ModelConfig
    public let tensors: TensorStore

    public init(path: String) throws {
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CheckpointError(file: path, field: "", "is not a model directory (expected a folder with config.json and model.safetensors)")
        }
        let configPath = url.appendingPathComponent("config.json").path
        guard FileManager.default.fileExists(atPath: configPath) else {
            throw CheckpointError(file: path, field: "config.json", "missing: a Hugging Face model directory needs it")
        }
        self.path = path
        self.config = try ModelConfig.load(path: configPath)
        self.tensors = try TensorStore.open(path)
    }

    /// config.json's bitsandbytes quantization_config, when this is a saved 4-bit checkpoint.
    public func savedQuantization() throws -> SavedQuantizationConfig? {
        try SavedQuantizationConfig.load(configPath: URL(fileURLWithPath: path).appendingPathComponent("config.json").path)
    }

    /// tokenizer.json next to the weights, if present.
    public var tokenizerPath: String? {
        let p = URL(fileURLWithPath: path).appendingPathComponent("tokenizer.json").path
        return FileManager.default.fileExists(atPath: p) ? p : nil
    }
}

extension ModelConfig {
    /// GPT-2 keeps its projections in Conv1D layers whose weight is stored [in, out], the
    /// transpose of every other family's [out, in]. Spectra report [out, in] for all.
    public func storesTransposed(_ tensorName: String) -> Bool {
        guard architecture == .gpt2, tensorName.hasSuffix(".weight") else { return false }
        let module = tensorName.dropLast(".weight".count)
        return ["attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"].contains { module.hasSuffix($0) }
    }
}
