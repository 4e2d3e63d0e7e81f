import Checkpoints

/// What config.json's numbers may be, checked once after decoding so the engine and the spectra
/// never see a value that would trap (a zero or negative size, an odd or oversized rotary
/// dimension writing past a head), allocate absurd memory (1e12 positions, 1e9 layers) or compute
/// NaN without a word (a negative epsilon, rope_theta <= 0).
///
/// Bounds far above every released model (the largest vocabularies are ~260k, hidden sizes ~25k,
/// layer counts ~130, contexts ~10M) and far below what would exhaust memory.
enum ConfigLimits {
    static let vocab = 1 << 24, hidden = 1 << 17, intermediate = 1 << 20, layers = 4_096, heads = 4_096
    static let headDim = 8_192, positions = 1 << 24

    /// A positive number or absent/null (Gemma's scalar and soft-caps).
    static func checkPositive(_ f: JSONFields, _ values: [(String, Double?)]) throws {
        for (key, value) in values {
            if let value, !(value.isFinite && value > 0) {
                throw f.error(key, "\(value) is not usable (expected a positive number, or null)")
            }
        }
    }
}

extension DecoderConfig {
    /// The checks every family shares; a family adds its own fields' checks after these.
    func validate(_ f: JSONFields) throws {
        func check(_ value: Int, _ key: String, _ max: Int, what: String = "") throws {
            guard value >= 1 && value <= max else {
                throw f.error(key, "\(value) is outside 1...\(max)\(what.isEmpty ? "" : " (\(what))")")
            }
        }
        try check(vocabSize, "vocab_size", ConfigLimits.vocab)
        try check(hiddenSize, keys.hidden, ConfigLimits.hidden)
        try check(intermediateSize, keys.intermediate, ConfigLimits.intermediate)
        try check(layerCount, keys.layers, ConfigLimits.layers)
        try check(headCount, keys.heads, ConfigLimits.heads)
        try check(kvHeadCount, "num_key_value_heads", headCount, what: "at most num_attention_heads")
        try check(headDim, "head_dim", ConfigLimits.headDim)
        try check(maxPositions, keys.positions, ConfigLimits.positions)
        guard normEpsilon.isFinite, normEpsilon > 0, normEpsilon < 1 else {
            throw f.error(keys.normEpsilon, "\(normEpsilon) is not a usable epsilon (expected a positive number below 1)")
        }
        if let theta = ropeTheta {
            guard theta.isFinite && theta > 0 else {
                throw f.error("rope_theta", "\(theta) is not a usable rotary base (expected a positive number)")
            }
            // HF builds inv_freq over rotary_dim = head_dim * partial_rotary_factor; a factor
            // outside (0, 1] would rotate past each head (or nothing at all).
            guard rotaryDim >= 2 && rotaryDim <= headDim else {
                throw f.error(keys.partialRotary, "gives a rotary dimension of \(rotaryDim) for heads of \(headDim) (expected 2...head_dim: a factor in (0, 1])")
            }
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
        for case let window? in slidingWindows where window < 1 {
            throw f.error("sliding_window", "\(window) is not a window size (expected a positive number of tokens, or null)")
        }
    }
}
