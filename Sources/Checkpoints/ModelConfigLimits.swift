/// What an architecture allows of config.json's numbers, checked once after decoding so the
/// engine and the spectra never see a value that would trap (a zero or negative size, an odd or
/// oversized rotary dimension writing past a head), allocate absurd memory (1e12 positions,
/// 1e9 layers) or compute NaN without a word (a negative epsilon, rope_theta <= 0).
extension ModelConfig {
    /// Bounds far above every released model (the largest vocabularies are ~260k, hidden sizes
    /// ~25k, layer counts ~130, contexts ~10M) and far below what would exhaust memory.
    static let limits = (vocab: 1 << 24, hidden: 1 << 17, intermediate: 1 << 20, layers: 4_096, heads: 4_096,
                         headDim: 8_192, positions: 1 << 24)

    func validate(_ f: JSONFields) throws {
        let gpt2 = architecture == .gpt2
        func check(_ value: Int, _ key: String, _ max: Int, what: String = "") throws {
            guard value >= 1 && value <= max else {
                throw f.error(key, "\(value) is outside 1...\(max)\(what.isEmpty ? "" : " (\(what))")")
            }
        }
        try check(vocabSize, "vocab_size", Self.limits.vocab)
        try check(hiddenSize, gpt2 ? "n_embd" : "hidden_size", Self.limits.hidden)
        try check(intermediateSize, gpt2 ? "n_inner" : "intermediate_size", Self.limits.intermediate)
        try check(layerCount, gpt2 ? "n_layer" : "num_hidden_layers", Self.limits.layers)
        try check(headCount, gpt2 ? "n_head" : "num_attention_heads", Self.limits.heads)
        try check(kvHeadCount, "num_key_value_heads", headCount, what: "at most num_attention_heads")
        try check(headDim, "head_dim", Self.limits.headDim)
        try check(maxPositions, gpt2 ? "n_positions" : "max_position_embeddings", Self.limits.positions)
        guard normEpsilon.isFinite, normEpsilon > 0, normEpsilon < 1 else {
            let key = gpt2 ? "layer_norm_epsilon" : architecture == .gptNeoX ? "layer_norm_eps" : "rms_norm_eps"
            throw f.error(key, "\(normEpsilon) is not a usable epsilon (expected a positive number below 1)")
        }
        if let theta = ropeTheta, !(theta.isFinite && theta > 0) {
            throw f.error("rope_theta", "\(theta) is not a usable rotary base (expected a positive number)")
        }
        if !gpt2 {
            // HF builds inv_freq over rotary_dim = head_dim * partial_rotary_factor; a factor
            // outside (0, 1] would rotate past each head (or nothing at all).
            guard rotaryDim >= 2 && rotaryDim <= headDim else {
                let key = architecture == .gptNeoX ? "rotary_pct" : "partial_rotary_factor"
                throw f.error(key, "gives a rotary dimension of \(rotaryDim) for heads of \(headDim) (expected 2...head_dim: a factor in (0, 1])")
            }
        }
        if let theta = localRopeTheta, !(theta.isFinite && theta > 0) {
            throw f.error("rope_local_base_freq", "\(theta) is not a usable rotary base (expected a positive number)")
        }
        for s in [localRopeScaling].compactMap({ $0 }) where !(s.factor.isFinite && s.factor > 0) {
            throw f.error("rope_parameters.sliding_attention.factor", "\(s.factor) is not a usable scaling factor (expected a positive number)")
        }
        if let s = ropeScaling {
            guard s.factor.isFinite && s.factor > 0 else {
                throw f.error("rope_scaling.factor", "\(s.factor) is not a usable scaling factor (expected a positive number)")
            }
            if s.type == "llama3" {
                let low = s.lowFrequencyFactor ?? 1, high = s.highFrequencyFactor ?? 4
                guard low.isFinite, high.isFinite, low > 0, high > low else {
                    throw f.error("rope_scaling", "low_freq_factor \(low) and high_freq_factor \(high): expected 0 < low < high")
                }
                guard let original = s.originalMaxPositions, original >= 1 else {
                    throw f.error("rope_scaling.original_max_position_embeddings", "expected a positive integer")
                }
            }
        }
        for (key, value) in [("query_pre_attn_scalar", queryPreAttentionScalar), ("attn_logit_softcapping", attentionSoftcap),
                             ("final_logit_softcapping", finalSoftcap)] {
            if let value, !(value.isFinite && value > 0) {
                throw f.error(key, "\(value) is not usable (expected a positive number, or null)")
            }
        }
        for case let window? in slidingWindows where window < 1 {
            throw f.error("sliding_window", "\(window) is not a window size (expected a positive number of tokens, or null)")
        }
    }
}
