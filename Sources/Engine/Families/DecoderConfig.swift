import Checkpoints
import Foundation

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

/// What every decoder family's config.json says, decoded once by shared code from either key
/// layout (transformers 4.x puts rope_theta / rope_scaling / rotary_pct at the top level, 5.x
/// nests them in rope_parameters). A family's configuration holds one of these plus its own
/// fields, and passes its defaults (`DecoderDefaults`) in.
public struct DecoderConfig: Sendable, Equatable, Codable {
    public var modelType: String
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
    /// How many dimensions of each head rotate (GPT-NeoX and Phi-3 may rotate a fraction).
    public var rotaryDim: Int
    public var ropeScaling: RopeScaling?
    public var tieWordEmbeddings: Bool
    /// Bias on q/k/v projections, on the attention output projection, on the MLP.
    public var qkvBias: Bool
    public var outputBias: Bool
    public var mlpBias: Bool
    public var activation: String
    /// Per-layer sliding window (nil: full attention for that layer).
    public var slidingWindows: [Int?]
    public var bosTokenId: Int?
    public var eosTokenIds: [Int]
    /// The config keys the numbers came from, so validation names the right one.
    public var keys: DecoderKeys = DecoderKeys()

    /// The positions the engine serves. A longrope model switches to its long factors past
    /// original_max_position_embeddings (transformers re-encodes the whole sequence when it does);
    /// the engine stays within that length, where the short factors apply to every position.
    public var servedPositions: Int {
        guard let s = ropeScaling, s.type == "longrope", let original = s.originalMaxPositions else { return maxPositions }
        return min(maxPositions, original)
    }

    /// The neutral description Checkpoints and Spectra see.
    func model(layout: TensorLayout) -> ModelConfig {
        ModelConfig(modelType: modelType, vocabSize: vocabSize, hiddenSize: hiddenSize, intermediateSize: intermediateSize,
                    layerCount: layerCount, headCount: headCount, kvHeadCount: kvHeadCount, headDim: headDim,
                    maxPositions: maxPositions, servedPositions: servedPositions, tieWordEmbeddings: tieWordEmbeddings,
                    bosTokenId: bosTokenId, eosTokenIds: eosTokenIds, layout: layout)
    }
}

/// Key names that differ between families (GPT-2 says n_embd where the others say hidden_size).
public struct DecoderKeys: Sendable, Equatable, Codable {
    var hidden = "hidden_size", intermediate = "intermediate_size", layers = "num_hidden_layers"
    var heads = "num_attention_heads", positions = "max_position_embeddings"
    var normEpsilon = "rms_norm_eps", partialRotary = "partial_rotary_factor"
}

/// A family's defaults for keys its config.json may leave out (transformers' config classes).
struct DecoderDefaults {
    /// nil: hidden_size / num_attention_heads.
    var headDim: Int? = nil
    var normEpsilonKey = "rms_norm_eps"
    var normEpsilon = 1e-6
    var tieWordEmbeddings = false
    var partialRotary = 1.0
    var attentionBias = false
    /// qwen2: q/k/v always biased, the output projection never, whatever attention_bias says.
    var fixedAttentionBias: (qkv: Bool, output: Bool)? = nil
    /// GPT-NeoX: the MLP always has biases (no mlp_bias key).
    var fixedMLPBias: Bool? = nil
    var activationKeys = ["hidden_act"]
    var activation = "silu"
    var keys = DecoderKeys()
}

extension DecoderConfig {
    /// Decodes the keys every rotary decoder family shares. `slidingWindows` is the family's rule
    /// for which layers attend within a window.
    init(fields f: JSONFields, modelType: String, defaults d: DecoderDefaults,
         slidingWindows: (JSONFields, Int) throws -> [Int?]) throws {
        self.modelType = modelType
        keys = d.keys
        bosTokenId = try? f.int("bos_token_id")
        eosTokenIds = (try? f.intList("eos_token_id")) ?? []
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
        } else if let fallback = d.headDim {
            headDim = fallback  // transformers' config default, not hidden_size / heads
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
        guard headDim >= 1 && headDim <= ConfigLimits.headDim else {
            throw f.error("head_dim", "\(headDim) is outside 1...\(ConfigLimits.headDim)")
        }
        rotaryDim = Int(Double(headDim) * (partial ?? d.partialRotary))
        normEpsilon = try f.double(d.normEpsilonKey) ?? d.normEpsilon
        tieWordEmbeddings = try f.bool("tie_word_embeddings") ?? d.tieWordEmbeddings
        let bias = try f.bool("attention_bias") ?? d.attentionBias
        qkvBias = d.fixedAttentionBias?.qkv ?? bias
        outputBias = d.fixedAttentionBias?.output ?? bias
        mlpBias = try d.fixedMLPBias ?? f.bool("mlp_bias") ?? false
        var activation: String? = nil
        for key in d.activationKeys where activation == nil { activation = try f.string(key) }
        self.activation = activation ?? d.activation
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
        self.slidingWindows = try slidingWindows(f, layerCount)
    }

    /// The layer count, bounded before anything is sized by it (per-layer arrays).
    static func layers(_ f: JSONFields, _ key: String) throws -> Int {
        let n = try f.requireInt(key)
        guard n <= ConfigLimits.layers else { throw f.error(key, "\(n) is outside 1...\(ConfigLimits.layers)") }
        return n
    }

    static func scaling(_ r: JSONFields?, top: JSONFields, maxPositions: Int) throws -> RopeScaling? {
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
}

/// Shared sliding-window rules (which layers attend within `sliding_window` tokens).
enum SlidingWindowRule {
    /// No window anywhere (llama, OLMo 2, GPT-NeoX).
    static func none(_ f: JSONFields, _ layers: Int) throws -> [Int?] { Array(repeating: nil, count: layers) }

    /// Every layer, when sliding_window is set (mistral, phi3).
    static func everyLayer(_ f: JSONFields, _ layers: Int) throws -> [Int?] {
        Array(repeating: try f.int("sliding_window"), count: layers)
    }

    /// Qwen 2 and 3: only with use_sliding_window, on layer_types' sliding layers or from
    /// max_window_layers on.
    static func qwen(_ f: JSONFields, _ layers: Int) throws -> [Int?] {
        let window = try f.int("sliding_window")
        guard try f.bool("use_sliding_window") == true, let window else { return Array(repeating: nil, count: layers) }
        if let types = try f.strings("layer_types"), types.count == layers {
            return types.map { $0 == "sliding_attention" ? window : nil }
        }
        let first = try f.int("max_window_layers") ?? layers
        return (0..<layers).map { $0 >= first ? window : nil }
    }

    /// Gemma 2 and 3: a window (default 4096; null: none) on the sliding layers of `gemmaSlidingLayers`.
    static func gemma(pattern: @escaping (JSONFields) throws -> Int) -> (JSONFields, Int) throws -> [Int?] {
        { f, layers in
            let window = try f.int("sliding_window")
            // null window: every layer attends to everything
            let w = f.contains("sliding_window") ? window : 4096
            guard let w else { return Array(repeating: nil, count: layers) }
            return try gemmaSlidingLayers(f, layers: layers, pattern: pattern(f)).map { $0 ? w : nil }
        }
    }

    /// Which layers are "sliding_attention": layer_types when given, else every layer but each
    /// `pattern`-th (Gemma 2: 2, Gemma 3: sliding_window_pattern, default 6), as transformers fills it.
    static func gemmaSlidingLayers(_ f: JSONFields, layers: Int, pattern: Int) throws -> [Bool] {
        if let types = try f.strings("layer_types") {
            guard types.count == layers else { throw f.error("layer_types", "has \(types.count) entries for \(layers) layers") }
            return types.map { $0 == "sliding_attention" }
        }
        guard pattern >= 1 else { throw f.error("sliding_window_pattern", "\(pattern) is not a layer period (expected a positive integer)") }
        return (0..<layers).map { ($0 + 1) % pattern != 0 }
    }
}
