import Checkpoints

/// The decoder block of llama and its descendants (mistral, qwen2, qwen3, olmo2, gemma2,
/// gemma3_text, phi3): RMSNorm, rotary, grouped-query attention, gated MLP, optional sliding
/// window per layer. q|k|v and gate|up are fused into one GEMM each. The families
/// (Engine/Families) differ in which norms exist and where they sit, in q/k norms, scaling,
/// soft-capping and rotary; those are `GatedBlockOptions` here, not copies of the layer.
struct GatedBlock: DecoderLayer {
    /// RMSNorm of the queries and keys before rotary.
    enum QKNorm: Sendable {
        case none
        /// Over each head's head_dim values, one weight shared by the heads (Qwen3).
        case perHead(q: Norm, k: Norm)
        /// Over the whole projection, heads * head_dim values (OLMo 2).
        case whole(q: Norm, k: Norm)
    }

    /// The block's norms; nil where the family has none:
    /// x += postAttention(attn(preAttention(x))); x += postMLP(mlp(preMLP(x))).
    /// llama: pre only; OLMo 2: post only; Gemma 2: all four ("sandwich").
    struct Norms: Sendable {
        var preAttention: Norm?
        var postAttention: Norm?
        var preMLP: Norm?
        var postMLP: Norm?
    }

    let norms: Norms
    let qkNorm: QKNorm
    let qkv: Linear
    let output: Linear
    let gateUp: Linear
    let down: Linear
    let attention: Attention
    let rotary: Rotary
    let config: DecoderConfig
    let activation: Activation

    func forward(_ x: UnsafeMutablePointer<Float>, batch: Batch, layer: Int, scratch: Scratch) {
        let n = batch.rows, dim = config.hiddenSize
        let h = config.headCount, kvh = config.kvHeadCount, d = config.headDim
        let ld = qkv.outFeatures, width = config.intermediateSize
        let t = scratch.normed.pointer
        var input: UnsafeMutablePointer<Float> = x
        if let norm = norms.preAttention { norm(x, into: t, rows: n, dim: dim); input = t }
        qkv.apply(input, ldx: dim, rows: n, into: scratch.qkv.pointer, ldy: ld, workspace: scratch.linear)
        normQueriesAndKeys(scratch.qkv.pointer, ld: ld, rows: n)
        batch.positions.withUnsafeBufferPointer { pos in
            rotary.apply(scratch.qkv.pointer, ld: ld, rows: n, heads: h, headDim: d, positions: pos.baseAddress!)
            rotary.apply(scratch.qkv.pointer + h * d, ld: ld, rows: n, heads: kvh, headDim: d, positions: pos.baseAddress!)
        }
        attention(qkv: scratch.qkv.pointer, ld: ld, batch: batch, layer: layer, out: scratch.attention.pointer, ldOut: h * d, workspace: scratch.linear)
        addSublayer(x, rows: n, norm: norms.postAttention) { y, accumulate in
            output.apply(scratch.attention.pointer, ldx: h * d, rows: n, into: y, ldy: dim, accumulate: accumulate, workspace: scratch.linear)
        }
        input = x
        if let norm = norms.preMLP { norm(x, into: t, rows: n, dim: dim); input = t }
        gateUp.apply(input, ldx: dim, rows: n, into: scratch.mlp.pointer, ldy: 2 * width, workspace: scratch.linear)
        Kernels.gatedActivation(scratch.mlp.pointer, rows: n, width: width, ld: 2 * width, activation)
        addSublayer(x, rows: n, norm: norms.postMLP) { y, accumulate in
            down.apply(scratch.mlp.pointer, ldx: 2 * width, rows: n, into: y, ldy: dim, accumulate: accumulate, workspace: scratch.linear)
        }

        /// x += norm(sublayer): without a norm the GEMM accumulates straight into x; with one
        /// the output is normed first (in the then-free `normed` buffer), then added.
        func addSublayer(_ x: UnsafeMutablePointer<Float>, rows n: Int, norm: Norm?,
                         _ sublayer: (UnsafeMutablePointer<Float>, Bool) -> Void) {
            guard let norm else { return sublayer(x, true) }
            sublayer(t, false)
            norm(t, into: t, rows: n, dim: dim)
            Kernels.add(x, ldDst: dim, t, ldSrc: dim, rows: n, cols: dim)
        }
    }

    /// Normalises q and k in place in the rows [q | k | v] (leading dimension ld).
    private func normQueriesAndKeys(_ qkv: UnsafeMutablePointer<Float>, ld: Int, rows n: Int) {
        let h = config.headCount, kvh = config.kvHeadCount, d = config.headDim
        switch qkNorm {
        case .none:
            return
        case let .perHead(q, k):
            for r in 0..<n {
                let row = qkv + r * ld
                q(row, into: row, rows: h, dim: d)
                k(row + h * d, into: row + h * d, rows: kvh, dim: d)
            }
        case let .whole(q, k):
            for r in 0..<n {
                let row = qkv + r * ld
                q(row, into: row, rows: 1, dim: h * d)
                k(row + h * d, into: row + h * d, rows: 1, dim: kvh * d)
            }
        }
    }

    /// Builds a model of gated blocks: the families' layer code calls this with their options.
    static func load(_ w: WeightLoader, _ c: DecoderConfig, _ o: GatedBlockOptions) throws -> Transformer {
        let dim = c.hiddenSize, h = c.headCount, kvh = c.kvHeadCount, d = c.headDim, inter = c.intermediateSize
        let rotary = try Rotary(rotaryDim: c.rotaryDim, theta: c.ropeTheta ?? 10000, scaling: c.ropeScaling, positions: w.positionLimit)
        let localRotary = try o.localRotary.map {
            try Rotary(rotaryDim: c.rotaryDim, theta: $0.theta, scaling: $0.scaling, positions: w.positionLimit)
        }
        let activation = try Activation(configName: c.activation)
        let eps = c.normEpsilon, offset: Float = o.onePlusNormWeights ? 1 : 0
        let scale = Float(1 / (o.queryPreAttentionScalar ?? Double(d)).squareRoot())
        func norm(_ name: String, _ size: Int = dim) throws -> Norm { try .rms(w, name, dim: size, eps: eps, offset: offset) }
        var layers: [any DecoderLayer] = []
        for l in 0..<c.layerCount {
            let p = "model.layers.\(l)."
            let attn = p + "self_attn."
            let mlp = p + "mlp."
            let qkv: Linear, gateUp: Linear
            if o.storedFused {
                // stored fused as [q | k | v] and [gate | up], the layout the engine runs; a LoRA on
                // the fused weight covers all its parts, as PEFT applies it
                qkv = try w.linear(attn + "qkv_proj.weight", bias: nil, inFeatures: dim, outFeatures: (h + 2 * kvh) * d)
                gateUp = try w.linear(mlp + "gate_up_proj.weight", bias: nil, inFeatures: dim, outFeatures: 2 * inter)
            } else {
                let q = try w.linear(attn + "q_proj.weight", bias: c.qkvBias ? attn + "q_proj.bias" : nil, inFeatures: dim, outFeatures: h * d)
                let k = try w.linear(attn + "k_proj.weight", bias: c.qkvBias ? attn + "k_proj.bias" : nil, inFeatures: dim, outFeatures: kvh * d)
                let v = try w.linear(attn + "v_proj.weight", bias: c.qkvBias ? attn + "v_proj.bias" : nil, inFeatures: dim, outFeatures: kvh * d)
                let gate = try w.linear(mlp + "gate_proj.weight", bias: c.mlpBias ? mlp + "gate_proj.bias" : nil, inFeatures: dim, outFeatures: inter)
                let up = try w.linear(mlp + "up_proj.weight", bias: c.mlpBias ? mlp + "up_proj.bias" : nil, inFeatures: dim, outFeatures: inter)
                qkv = Linear.fused([q, k, v])
                gateUp = Linear.fused([gate, up])
            }
            let o2 = try w.linear(attn + "o_proj.weight", bias: c.outputBias ? attn + "o_proj.bias" : nil, inFeatures: h * d, outFeatures: dim)
            let down = try w.linear(mlp + "down_proj.weight", bias: c.mlpBias ? mlp + "down_proj.bias" : nil, inFeatures: inter, outFeatures: dim)
            let window = l < c.slidingWindows.count ? c.slidingWindows[l] : nil
            let qkNorm: QKNorm
            switch o.qkNorm {
            case .none: qkNorm = .none
            case .perHead: qkNorm = .perHead(q: try norm(attn + "q_norm.weight", d), k: try norm(attn + "k_norm.weight", d))
            case .whole: qkNorm = .whole(q: try norm(attn + "q_norm.weight", h * d), k: try norm(attn + "k_norm.weight", kvh * d))
            }
            let norms: Norms
            switch o.normPlacement {
            case .post:
                // norms after each sublayer, named after what they follow
                norms = Norms(postAttention: try norm(p + "post_attention_layernorm.weight"),
                              postMLP: try norm(p + "post_feedforward_layernorm.weight"))
            case .sandwich:
                norms = Norms(preAttention: try norm(p + "input_layernorm.weight"),
                              postAttention: try norm(p + "post_attention_layernorm.weight"),
                              preMLP: try norm(p + "pre_feedforward_layernorm.weight"),
                              postMLP: try norm(p + "post_feedforward_layernorm.weight"))
            case .pre:
                norms = Norms(preAttention: try norm(p + "input_layernorm.weight"),
                              preMLP: try norm(p + "post_attention_layernorm.weight"))
            }
            let local = l < o.localRotaryLayers.count && o.localRotaryLayers[l]
            layers.append(GatedBlock(
                norms: norms, qkNorm: qkNorm, qkv: qkv, output: o2, gateUp: gateUp, down: down,
                attention: Attention(heads: h, kvHeads: kvh, headDim: d, scale: scale, window: window,
                                     softcap: o.attentionSoftcap.map { Float($0) }),
                rotary: local ? localRotary ?? rotary : rotary,
                config: c, activation: activation))
        }
        let embedding = try w.embedding("model.embed_tokens.weight", rows: c.vocabSize, dim: dim)
        let head: WeightMatrix
        if c.tieWordEmbeddings && !w.contains("lm_head.weight") {
            head = embedding
        } else {
            head = try w.head("lm_head.weight", vocab: c.vocabSize, dim: dim)
        }
        return Transformer(config: w.config, embedding: embedding, positionEmbedding: nil, layers: layers,
                           finalNorm: try norm("model.norm.weight"), head: head, mlpWidth: 2 * inter,
                           embeddingScale: o.scaledEmbeddings ? Float(Double(dim).squareRoot()) : nil,
                           finalSoftcap: o.finalSoftcap.map { Float($0) })
    }
}

/// How a family's gated blocks differ from llama's; every field's default is llama's.
struct GatedBlockOptions {
    /// Where the block's RMSNorms sit: before each sublayer (llama), after it (OLMo 2), or both
    /// (Gemma's "sandwich").
    enum NormPlacement { case pre, post, sandwich }
    /// RMSNorm of queries and keys before rotary: per head (Qwen3, Gemma 3) or over the whole
    /// projection (OLMo 2).
    enum QKNormKind { case none, perHead, whole }

    var normPlacement = NormPlacement.pre
    var qkNorm = QKNormKind.none
    /// Gemma: RMSNorm weights stored as w, applied as (1 + w).
    var onePlusNormWeights = false
    /// Gemma: embeddings multiplied by sqrt(hidden_size).
    var scaledEmbeddings = false
    /// Phi-3: q|k|v and gate|up stored fused (qkv_proj, gate_up_proj).
    var storedFused = false
    /// Scores scaled by 1/sqrt(this) instead of 1/sqrt(head_dim) (Gemma's query_pre_attn_scalar).
    var queryPreAttentionScalar: Double? = nil
    /// Scores (attention) and logits (final) pass through cap * tanh(x / cap) (Gemma 2).
    var attentionSoftcap: Double? = nil
    var finalSoftcap: Double? = nil
    /// Gemma 3: the rotary base and scaling of the local layers, and which layers those are.
    var localRotary: (theta: Double, scaling: RopeScaling?)? = nil
    var localRotaryLayers: [Bool] = []
}
