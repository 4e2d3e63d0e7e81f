import Checkpoints

/// One model family (mlx-swift-lm's shape): its own configuration, decoded and validated from
/// config.json in either transformers key layout, and the code that builds its layers from the
/// shared pieces (GatedBlock with options, Norm, Rotary, Attention, Linear). The registry
/// (`ModelFamilies`) maps `model_type` to the configuration type.
protocol FamilyConfiguration: DecodedModelConfig, Codable, Equatable {
    /// Decodes and validates config.json; errors name the file and the field.
    init(fields: JSONFields, modelType: String) throws
    /// The model's layers, embeddings and head, from the loader's tensors.
    func transformer(_ w: WeightLoader) throws -> Transformer
}

/// The llama-like families: a shared `DecoderConfig` read by shared code, built into GatedBlocks.
protocol GatedFamilyConfiguration: FamilyConfiguration {
    var decoder: DecoderConfig { get }
    var blockOptions: GatedBlockOptions { get }
    var layout: TensorLayout { get }
}

extension GatedFamilyConfiguration {
    public var model: ModelConfig { decoder.model(layout: layout) }
    func transformer(_ w: WeightLoader) throws -> Transformer { try GatedBlock.load(w, decoder, blockOptions) }
    /// Separate q/k/v and gate/up projections, not 4-bit-tested: the newer families' layout.
    var layout: TensorLayout { TensorLayout() }
}
