import Checkpoints

/// olmo2: norms after attention and after the MLP (no pre-norms), q/k RMSNorm over the whole
/// projection (heads * head_dim values).
public struct OLMo2Configuration: GatedFamilyConfiguration {
    public var decoder: DecoderConfig
    public var model: ModelConfig { decoder.model(layout: layout) }

    init(fields f: JSONFields, modelType: String) throws {
        decoder = try DecoderConfig(fields: f, modelType: modelType, defaults: DecoderDefaults(), slidingWindows: SlidingWindowRule.none)
        try decoder.validate(f)
    }

    var blockOptions: GatedBlockOptions { GatedBlockOptions(normPlacement: .post, qkNorm: .whole) }
}
