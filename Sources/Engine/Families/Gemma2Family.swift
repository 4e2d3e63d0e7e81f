import Checkpoints

/// gemma2: Gemma's block (GemmaAttentionFields) with soft-capping on by default (attention 50,
/// final 30) and a sliding window on every other layer.
public struct Gemma2Configuration: GatedFamilyConfiguration {
    public var decoder: DecoderConfig
    public var gemma: GemmaAttentionFields
    public var model: ModelConfig { decoder.model(layout: layout) }

    init(fields f: JSONFields, modelType: String) throws {
        decoder = try DecoderConfig(fields: f, modelType: modelType, defaults: GemmaAttentionFields.defaults,
                                    slidingWindows: SlidingWindowRule.gemma(pattern: { _ in 2 }))
        gemma = try GemmaAttentionFields(fields: f, softcaps: (attention: 50, final: 30))
        try decoder.validate(f)
        try gemma.validate(f)
    }

    var blockOptions: GatedBlockOptions { gemma.blockOptions }
}
