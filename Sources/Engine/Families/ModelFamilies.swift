import Checkpoints

/// The family registry: config.json's `model_type` -> the family that decodes and builds it.
/// Adding a family is one file in Families/ and one line here.
public enum ModelFamilies {
    static var registry: [(modelType: String, family: any FamilyConfiguration.Type)] { [
        ("llama", LlamaConfiguration.self),
        ("mistral", LlamaConfiguration.self),
        ("qwen2", Qwen2Configuration.self),
        ("qwen3", Qwen3Configuration.self),
        ("olmo2", OLMo2Configuration.self),
        ("gemma2", Gemma2Configuration.self),
        ("phi3", Phi3Configuration.self),
        ("gpt2", GPT2Configuration.self),
        ("gpt_neox", GPTNeoXConfiguration.self),
        ("gemma3_text", Gemma3TextConfiguration.self),
    ] }

    /// The model_type values forgetlens reads, in registry order.
    public static var supported: [String] { registry.map(\.modelType) }

    /// What ModelDirectory decodes config.json with.
    public static let decoder: any ModelConfigDecoder = RegistryDecoder()

    /// Decodes and validates a config.json file with its family.
    public static func decode(path: String) throws -> any DecodedModelConfig {
        try decoder.decode(JSONFields.load(path))
    }

    private struct RegistryDecoder: ModelConfigDecoder {
        func decode(_ f: JSONFields) throws -> any DecodedModelConfig {
            let list = ModelFamilies.supported.joined(separator: ", ")
            guard let modelType = try f.string("model_type") else {
                throw f.error("model_type", "missing (expected one of \(list))")
            }
            guard let family = ModelFamilies.registry.first(where: { $0.modelType == modelType })?.family else {
                throw f.error("model_type", "\"\(modelType)\" is not supported (supported: \(list))")
            }
            return try family.init(fields: f, modelType: modelType)
        }
    }
}

extension ModelDirectory {
    /// Opens a model directory whose config.json is decoded by the engine's family registry.
    public convenience init(path: String) throws {
        try self.init(path: path, families: ModelFamilies.decoder)
    }
}
