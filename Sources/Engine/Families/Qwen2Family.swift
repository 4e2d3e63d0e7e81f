import Checkpoints

/// qwen2: llama's block with biased q/k/v (always) and an unbiased output projection; sliding
/// window only with use_sliding_window.
public struct Qwen2Configuration: GatedFamilyConfiguration {
    public var decoder: DecoderConfig
    public var model: ModelConfig { decoder.model(layout: layout) }

    init(fields f: JSONFields, modelType: String) throws {
        decoder = try DecoderConfig(fields: f, modelType: modelType,
                                    defaults: DecoderDefaults(fixedAttentionBias: (qkv: true, output: false)),
                                    slidingWindows: SlidingWindowRule.qwen)
        try decoder.validate(f)
    }

    var blockOptions: GatedBlockOptions { GatedBlockOptions() }
    var layout: TensorLayout { TensorLayout(supportsFourBit: true) }
}
