import Checkpoints

/// llama and mistral (mistral: a sliding window on every layer when sliding_window is set).
/// The 4-bit paths are tested against bitsandbytes on this family.
public struct LlamaConfiguration: GatedFamilyConfiguration {
    public var decoder: DecoderConfig
    public var model: ModelConfig { decoder.model(layout: layout) }

    init(fields f: JSONFields, modelType: String) throws {
        decoder = try DecoderConfig(fields: f, modelType: modelType, defaults: DecoderDefaults(),
                                    slidingWindows: modelType == "mistral" ? SlidingWindowRule.everyLayer : SlidingWindowRule.none)
        try decoder.validate(f)
    }

    var blockOptions: GatedBlockOptions { GatedBlockOptions() }
    var layout: TensorLayout { TensorLayout(supportsFourBit: true) }
}
