import Checkpoints

/// phi3 (Phi-3, Phi-3.5-mini, Phi-4-mini): q|k|v and gate|up stored fused (qkv_proj,
/// gate_up_proj; a LoRA on the fused weight covers every part), partial rotary where
/// configured, longrope scaling (DecoderConfig), a sliding window on every layer when set.
public struct Phi3Configuration: GatedFamilyConfiguration {
    public var decoder: DecoderConfig
    public var model: ModelConfig { decoder.model(layout: layout) }

    init(fields f: JSONFields, modelType: String) throws {
        decoder = try DecoderConfig(fields: f, modelType: modelType, defaults: DecoderDefaults(), slidingWindows: SlidingWindowRule.everyLayer)
        try decoder.validate(f)
    }

    var blockOptions: GatedBlockOptions { GatedBlockOptions(storedFused: true) }

    /// Spectra split the fused weights into the parts unfused families store separately.
    var layout: TensorLayout {
        let c = decoder
        let q = c.headCount * c.headDim, kv = c.kvHeadCount * c.headDim, inter = c.intermediateSize
        return TensorLayout(fusedWeights: [
            FusedWeight(suffix: "self_attn.qkv_proj.weight", parts: [.init("q", rows: q), .init("k", rows: kv), .init("v", rows: kv)]),
            FusedWeight(suffix: "mlp.gate_up_proj.weight", parts: [.init("gate", rows: inter), .init("up", rows: inter)]),
        ])
    }
}
