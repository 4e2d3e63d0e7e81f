import Foundation

/// A Hugging Face model directory: config.json, safetensors weights (single or sharded) and,
/// optionally, tokenizer.json.
public final class ModelDirectory: @unchecked Sendable {
    public let path: String
    public let config: ModelConfig
    /// The family's own configuration (the engine's, decoded by the decoder given at init).
    public let decodedConfig: any DecodedModelConfig
    public let tensors: TensorStore

    /// `families` decodes config.json (the engine's registry: `ModelFamilies.decoder`).
    public init(path: String, families: any ModelConfigDecoder) throws {
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
        self.decodedConfig = try families.decode(JSONFields.load(configPath))
        self.config = decodedConfig.model
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
