import Foundation

/// The model families forgetlens understands, by config.json `model_type`.
public enum Architecture: String, Sendable, CaseIterable, Codable {
    case llama, mistral, qwen2, qwen3, olmo2, gemma2, phi3, gpt2
    case gptNeoX = "gpt_neox"
    case gemma3Text = "gemma3_text"

    /// Llama-like: RMSNorm, SwiGLU, rotary, separate q/k/v projections (Qwen3 and OLMo 2 add
    /// q/k norms, OLMo 2 moves the norms after each sublayer; the weights are llama's).
    /// Gemma 2 adds sandwich norms, soft-capping and scaled embeddings, Gemma 3 q/k norms and
    /// local/global rotary bases.
    public var isLlamaFamily: Bool { [.llama, .mistral, .qwen2, .qwen3, .olmo2, .gemma2, .gemma3Text, .phi3].contains(self) }

    /// 4-bit weights (load-time quantization, saved bitsandbytes checkpoints, quantization-error
    /// spectra) are tested against bitsandbytes on these; the newer llama-like families are not yet.
    public var supportsFourBit: Bool { [.llama, .mistral, .qwen2].contains(self) }

    /// Gemma 2 and 3: (1 + w) RMSNorms, embeddings scaled by sqrt(hidden), sandwich norms.
    public var isGemma: Bool { self == .gemma2 || self == .gemma3Text }
}

/// RoPE frequency scaling as the config asks for it (transformers' `rope_type`).
public struct RopeScaling: Sendable, Equatable, Codable {
    public var type: String
    public var factor: Double
    /// llama3 only.
    public var lowFrequencyFactor: Double?
    public var highFrequencyFactor: Double?
    public var originalMaxPositions: Int?
    /// longrope only: per-frequency divisors below and above originalMaxPositions, and the
    /// factor cos and sin are multiplied by.
    public var shortFactor: [Double]? = nil
    public var longFactor: [Double]? = nil
    public var attentionFactor: Double? = nil
}

/// Architecture facts from config.json, normalised across families and transformers versions
/// (4.x puts rope_theta / rope_scaling / rotary_pct at the top level, 5.x nests them in
/// rope_parameters). Everything the engine and the spectra need, and nothing else.
public struct ModelConfig: Sendable, Equatable {
    public var architecture: Architecture
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var maxPositions: Int
    public var normEpsilon: Double
    /// Rotary base; nil for learned positions (GPT-2).
    public var ropeTheta: Double?
    /// How many dimensions of each head rotate (GPT-NeoX rotates a fraction).
    public var rotaryDim: Int
    public var ropeScaling: RopeScaling?
    public var tieWordEmbeddings: Bool
    /// Bias on q/k/v projections (qwen2 always; llama with attention_bias; neox and gpt2 always).
    public var qkvBias: Bool
    /// Bias on the attention output projection.
    public var outputBias: Bool
    public var mlpBias: Bool
    public var activation: String
    public var useParallelResidual: Bool
    /// Per-layer sliding window (nil: full attention for that layer).
    public var slidingWindows: [Int?]
    public var bosTokenId: Int?
    public var eosTokenIds: [Int]
    /// GPT-2 attention options.
    public var scaleAttentionWeights: Bool
    public var scaleAttentionByInverseLayerIndex: Bool
    /// Attention scores are scaled by 1/sqrt(this) instead of 1/sqrt(head_dim) (Gemma's
    /// query_pre_attn_scalar).
    public var queryPreAttentionScalar: Double? = nil
    /// Scores (attention) and logits (final) pass through cap * tanh(x / cap) (Gemma 2).
    public var attentionSoftcap: Double? = nil
    public var finalSoftcap: Double? = nil
    /// Gemma: embeddings multiplied by sqrt(hidden_size), RMSNorm weights stored as w for (1 + w).
    public var gemmaStyle: Bool { architecture.isGemma }
    /// Gemma 3: the rotary base and scaling of the sliding-window ("local") layers, and which
    /// layers those are; the other layers use ropeTheta and ropeScaling.
    public var localRopeTheta: Double? = nil
    public var localRopeScaling: RopeScaling? = nil
    public var localRopeLayers: [Bool] = []

    /// The positions the engine serves. A longrope model switches to its long factors past
    /// original_max_position_embeddings (transformers re-encodes the whole sequence when it does);
    /// the engine stays within that length, where the short factors apply to every position.
    public var servedPositions: Int {
        guard let s = ropeScaling, s.type == "longrope", let original = s.originalMaxPositions else { return maxPositions }
        return min(maxPositions, original)
    }

    /// Reads config.json.
    public static func load(path: String) throws -> ModelConfig {
        try ModelConfig(fields: JSONFields.load(path))
    }

    public init(fields f: JSONFields) throws {
        guard let modelType = try f.string("model_type") else {
            throw f.error("model_type", "missing (expected one of \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard let arch = Architecture(rawValue: modelType) else {
            throw f.error("model_type", "\"\(modelType)\" is not supported (supported: \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        architecture = arch
        bosTokenId = try? f.int("bos_token_id")
        eosTokenIds = (try? f.intList("eos_token_id")) ?? []
        scaleAttentionWeights = true
        scaleAttentionByInverseLayerIndex = false
        ropeScaling = nil
        if arch == .gpt2 {
            vocabSize = try f.requireInt("vocab_size")
            hiddenSize = try f.requireInt("n_embd")
            layerCount = try Self.layers(f, "n_layer")
            headCount = try f.requireInt("n_head")
            kvHeadCount = headCount
            intermediateSize = try f.int("n_inner") ?? 4 * hiddenSize
            maxPositions = try f.requireInt("n_positions")
            normEpsilon = try f.double("layer_norm_epsilon") ?? 1e-5
            ropeTheta = nil
            rotaryDim = 0
            tieWordEmbeddings = try f.bool("tie_word_embeddings") ?? true
            qkvBias = true; outputBias = true; mlpBias = true
            activation = try f.string("activation_function") ?? "gelu_new"
            useParallelResidual = false
            slidingWindows = Array(repeating: nil, count: layerCount)
            scaleAttentionWeights = try f.bool("scale_attn_weights") ?? true
            scaleAttentionByInverseLayerIndex = try f.bool("scale_attn_by_inverse_layer_idx") ?? false
            guard hiddenSize % headCount == 0 else { throw f.error("n_head", "\(headCount) does not divide n_embd \(hiddenSize)") }
            headDim = hiddenSize / headCount
            try validate(f)
            return
        }
        vocabSize = try f.requireInt("vocab_size")
        hiddenSize = try f.requireInt("hidden_size")
        intermediateSize = try f.requireInt("intermediate_size")
        layerCount = try Self.layers(f, "num_hidden_layers")
        headCount = try f.requireInt("num_attention_heads")
        kvHeadCount = try f.int("num_key_value_heads") ?? headCount
        guard kvHeadCount > 0, headCount % kvHeadCount == 0 else {
            throw f.error("num_key_value_heads", "\(kvHeadCount) must divide num_attention_heads \(headCount)")
        }
        if let explicit = try f.int("head_dim") {
            headDim = explicit
        } else if arch == .qwen3 || arch.isGemma {
            headDim = arch == .qwen3 ? 128 : 256  // transformers' config defaults, not hidden_size / heads
        } else {
            guard hiddenSize % headCount == 0 else {
                throw f.error("num_attention_heads", "\(headCount) does not divide hidden_size \(hiddenSize)")
            }
            headDim = hiddenSize / headCount
        }
        maxPositions = try f.requireInt("max_position_embeddings")
        let rope = try f.nested("rope_parameters")
        let legacyScaling = try f.nested("rope_scaling")
        ropeTheta = try rope?.double("rope_theta") ?? f.double("rope_theta") ?? f.double("rotary_emb_base") ?? 10000
        let partialSource: (JSONFields, String)? = [(rope, "partial_rotary_factor"), (f, "partial_rotary_factor"), (f, "rotary_pct")]
            .lazy.compactMap { fields, key in fields.flatMap { $0.has(key) ? ($0, key) : nil } }.first
        let partial = try partialSource.flatMap { try $0.0.double($0.1) }
        if let partial, let (fields, key) = partialSource, !(partial > 0 && partial <= 1) {  // also refuses values Int() would trap on
            throw fields.error(key, "\(partial) is not a fraction of the head (expected a number in (0, 1])")
        }
        guard headDim >= 1 && headDim <= Self.limits.headDim else {
            throw f.error("head_dim", "\(headDim) is outside 1...\(Self.limits.headDim)")
        }
        if arch == .gptNeoX {
            rotaryDim = Int(Double(headDim) * (partial ?? 0.25))
            normEpsilon = try f.double("layer_norm_eps") ?? 1e-5
            tieWordEmbeddings = try f.bool("tie_word_embeddings") ?? false
            let bias = try f.bool("attention_bias") ?? true
            qkvBias = bias; outputBias = bias; mlpBias = true
            activation = try f.string("hidden_act") ?? "gelu"
            useParallelResidual = try f.bool("use_parallel_residual") ?? true
        } else {
            rotaryDim = Int(Double(headDim) * (partial ?? 1.0))
            normEpsilon = try f.double("rms_norm_eps") ?? 1e-6
            tieWordEmbeddings = try f.bool("tie_word_embeddings") ?? arch.isGemma
            let bias = try f.bool("attention_bias") ?? false
            qkvBias = arch == .qwen2 ? true : bias
            outputBias = arch == .qwen2 ? false : bias
            mlpBias = try f.bool("mlp_bias") ?? false
            activation = try f.string("hidden_act") ?? "silu"
            useParallelResidual = false
            if arch.isGemma {
                activation = try f.string("hidden_activation") ?? f.string("hidden_act") ?? "gelu_pytorch_tanh"
                // transformers' defaults apply when a key is absent; an explicit null turns capping off
                func optional(_ key: String, _ fallback: Double?) throws -> Double? {
                    f.contains(key) ? try f.double(key) : fallback
                }
                queryPreAttentionScalar = try optional("query_pre_attn_scalar", 256)
                // Gemma 2 caps by default, Gemma 3 does not
                attentionSoftcap = try optional("attn_logit_softcapping", arch == .gemma2 ? 50 : nil)
                finalSoftcap = try optional("final_logit_softcapping", arch == .gemma2 ? 30 : nil)
            }
        }
        guard rotaryDim % 2 == 0 else { throw f.error("rotary_pct", "gives an odd rotary dimension \(rotaryDim)") }
        ropeScaling = try Self.scaling(rope ?? legacyScaling, top: f, maxPositions: maxPositions)
        if let s = ropeScaling, s.type == "longrope" {
            let fields = rope ?? legacyScaling ?? f
            for (key, list) in [("short_factor", s.shortFactor ?? []), ("long_factor", s.longFactor ?? [])] {
                guard list.count == rotaryDim / 2 else {
                    throw fields.error(key, "has \(list.count) entries; a rotary dimension of \(rotaryDim) needs \(rotaryDim / 2)")
                }
                guard list.allSatisfy({ $0.isFinite && $0 > 0 }) else { throw fields.error(key, "expected positive numbers") }
            }
        }
        slidingWindows = try Self.slidingWindows(f, arch: arch, layers: layerCount)
        if arch == .gemma3Text {
            guard try f.bool("use_bidirectional_attention") != true else {
                throw f.error("use_bidirectional_attention", "true is not a causal language model (expected false or absent)")
            }
            // 5.x: rope_parameters.{full_attention, sliding_attention}; 4.x: rope_theta,
            // rope_local_base_freq and a rope_scaling of the global layers
            let global = try rope?.nested("full_attention"), local = try rope?.nested("sliding_attention")
            ropeTheta = try global?.double("rope_theta") ?? f.double("rope_theta") ?? 1_000_000
            localRopeTheta = try local?.double("rope_theta") ?? f.double("rope_local_base_freq") ?? 10_000
            ropeScaling = try Self.scaling(global ?? legacyScaling, top: f, maxPositions: maxPositions)
            localRopeScaling = try Self.scaling(local, top: f, maxPositions: maxPositions)
            if let t = localRopeScaling?.type, t != "linear" {
                throw f.error("rope_parameters.sliding_attention.rope_type", "\"\(t)\" is not supported for the local layers (supported: default, linear)")
            }
            localRopeLayers = try Self.gemmaSlidingLayers(f, layers: layerCount, pattern: f.int("sliding_window_pattern") ?? 6)
        }
        try validate(f)
    }

    /// The layer count, bounded before anything is sized by it (per-layer arrays).
    private static func layers(_ f: JSONFields, _ key: String) throws -> Int {
        let n = try f.requireInt(key)
        guard n <= limits.layers else { throw f.error(key, "\(n) is outside 1...\(limits.layers)") }
        return n
    }

    private static func scaling(_ r: JSONFields?, top: JSONFields, maxPositions: Int) throws -> RopeScaling? {
        guard let r else { return nil }
        let type = try r.string("rope_type") ?? r.string("type") ?? "default"
        switch type {
        case "longrope", "su":
            // Phi-3 4.x configs say "su"; transformers reads them as longrope. 4.x keeps
            // original_max_position_embeddings at the top level, 5.x inside rope_parameters.
            guard let short = try r.doubles("short_factor") else { throw r.error("short_factor", "missing for rope_type longrope") }
            guard let long = try r.doubles("long_factor") else { throw r.error("long_factor", "missing for rope_type longrope") }
            guard let original = try r.int("original_max_position_embeddings") ?? top.int("original_max_position_embeddings"),
                  original >= 2 else {
                throw r.error("original_max_position_embeddings", "missing or below 2 for rope_type longrope")
            }
            let factor = try r.double("factor") ?? Double(maxPositions) / Double(original)
            guard factor.isFinite && factor > 0 else { throw r.error("factor", "\(factor) is not a usable scaling factor") }
            let attention = try r.double("attention_factor")
                ?? (factor <= 1 ? 1 : (1 + Foundation.log(factor) / Foundation.log(Double(original))).squareRoot())
            guard attention.isFinite && attention > 0 else { throw r.error("attention_factor", "\(attention) is not usable (expected a positive number)") }
            return RopeScaling(type: "longrope", factor: factor, originalMaxPositions: original,
                               shortFactor: short, longFactor: long, attentionFactor: attention)
        case "default":
            return nil
        case "linear", "dynamic":
            guard let factor = try r.double("factor") else { throw r.error("factor", "missing for rope_type \(type)") }
            return RopeScaling(type: type, factor: factor)
        case "llama3":
            guard let factor = try r.double("factor") else { throw r.error("factor", "missing for rope_type llama3") }
            return RopeScaling(type: type, factor: factor,
                               lowFrequencyFactor: try r.double("low_freq_factor") ?? 1,
                               highFrequencyFactor: try r.double("high_freq_factor") ?? 4,
                               originalMaxPositions: try r.int("original_max_position_embeddings") ?? 8192)
        default:
            throw r.error("rope_type", "\"\(type)\" is not supported (supported: default, linear, dynamic, llama3, longrope)")
        }
    }

    /// Which layers are "sliding_attention": layer_types when given, else every layer but each
    /// `pattern`-th (Gemma 2: 2, Gemma 3: sliding_window_pattern, default 6), as transformers fills it.
    private static func gemmaSlidingLayers(_ f: JSONFields, layers: Int, pattern: Int) throws -> [Bool] {
        if let types = try f.strings("layer_types") {
            guard types.count == layers else { throw f.error("layer_types", "has \(types.count) entries for \(layers) layers") }
            return types.map { $0 == "sliding_attention" }
        }
        guard pattern >= 1 else { throw f.error("sliding_window_pattern", "\(pattern) is not a layer period (expected a positive integer)") }
        return (0..<layers).map { ($0 + 1) % pattern != 0 }
    }

    private static func slidingWindows(_ f: JSONFields, arch: Architecture, layers: Int) throws -> [Int?] {
        let window = try f.int("sliding_window")
        switch arch {
        case .mistral, .phi3:
            return Array(repeating: window, count: layers)
        case .qwen2, .qwen3:
            guard try f.bool("use_sliding_window") == true, let window else { return Array(repeating: nil, count: layers) }
            if let types = try f.strings("layer_types"), types.count == layers {
                return types.map { $0 == "sliding_attention" ? window : nil }
            }
            let first = try f.int("max_window_layers") ?? layers
            return (0..<layers).map { $0 >= first ? window : nil }
        case .gemma2, .gemma3Text:
            // null window: every layer attends to everything
            let w = f.contains("sliding_window") ? window : 4096
            guard let w else { return Array(repeating: nil, count: layers) }
            let pattern = arch == .gemma2 ? 2 : try f.int("sliding_window_pattern") ?? 6
            return try gemmaSlidingLayers(f, layers: layers, pattern: pattern).map { $0 ? w : nil }
        default:
            return Array(repeating: nil, count: layers)
        }
    }
}
