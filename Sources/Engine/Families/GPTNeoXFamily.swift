import Checkpoints

/// gpt_neox (Pythia): LayerNorm, partial rotary (rotary_pct, default 0.25), fused
/// query_key_value interleaved per head, GELU MLP, parallel or sequential residual. Its layer
/// code is GPTNeoX.swift.
public struct GPTNeoXConfiguration: FamilyConfiguration {
    public var decoder: DecoderConfig
    /// x + attn(ln1(x)) + mlp(ln2(x)) instead of the sequential residual.
    public var useParallelResidual: Bool
    public var model: ModelConfig { decoder.model(layout: TensorLayout()) }

    init(fields f: JSONFields, modelType: String) throws {
        var keys = DecoderKeys()
        keys.normEpsilon = "layer_norm_eps"
        keys.partialRotary = "rotary_pct"
        let defaults = DecoderDefaults(normEpsilonKey: "layer_norm_eps", normEpsilon: 1e-5, partialRotary: 0.25, attentionBias: true,
                                       fixedMLPBias: true, activation: "gelu", keys: keys)
        decoder = try DecoderConfig(fields: f, modelType: modelType, defaults: defaults, slidingWindows: SlidingWindowRule.none)
        useParallelResidual = try f.bool("use_parallel_residual") ?? true
        try decoder.validate(f)
    }

    func transformer(_ w: WeightLoader) throws -> Transformer { try GPTNeoX.load(w, self) }
}
