import Checkpoints

/// qwen3: llama's block with a per-head RMSNorm of q and k before rotary, no qkv bias unless
/// attention_bias says so, head_dim 128 unless given.
public struct Qwen3Configuration: GatedFamilyConfiguration {
    public var decoder: DecoderConfig
    public var model: ModelConfig { decoder.model(layout: layout) }

    init(fields f: JSONFields, modelType: String) throws {
        decoder = try DecoderConfig(fields: f, modelType: modelType, defaults: DecoderDefaults(headDim: 128),
                                    slidingWindows: SlidingWindowRule.qwen)
        try decoder.validate(f)
    }

    var blockOptions: GatedBlockOptions { GatedBlockOptions(qkNorm: .perHead) }
}
