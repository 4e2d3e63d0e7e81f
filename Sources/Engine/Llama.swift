import Checkpoints

/// The decoder block of llama and its descendants (mistral, qwen2, qwen3, olmo2, gemma2):
/// RMSNorm, rotary, grouped-query attention, gated MLP, optional sliding window per layer.
/// q|k|v and gate|up are fused into one GEMM each. The families differ in which norms exist
/// and where they sit, and in q/k norms; those are parameters here, not copies of the layer.
struct Llama: DecoderLayer {
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
    let config: ModelConfig
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

    /// Loads any family of this layer; the family's differences are read off its config.
    static func load(_ w: WeightLoader) throws -> Transformer {
        let c = w.config
        let dim = c.hiddenSize, h = c.headCount, kvh = c.kvHeadCount, d = c.headDim, inter = c.intermediateSize
        let rotary = try Rotary(config: c, positions: w.positionLimit)
        let localRotary = try c.localRopeTheta.map {
            try Rotary(rotaryDim: c.rotaryDim, theta: $0, scaling: c.localRopeScaling, positions: w.positionLimit)
        }
        let activation = try Activation(configName: c.activation)
        let eps = c.normEpsilon, offset: Float = c.gemmaStyle ? 1 : 0
        let scale = Float(1 / (c.queryPreAttentionScalar ?? Double(d)).squareRoot())
        func norm(_ name: String, _ size: Int = dim) throws -> Norm { try .rms(w, name, dim: size, eps: eps, offset: offset) }
        var layers: [any DecoderLayer] = []
        for l in 0..<c.layerCount {
            let p = "model.layers.\(l)."
            let attn = p + "self_attn."
            let mlp = p + "mlp."
            let qkv: Linear, gateUp: Linear
            if c.architecture == .phi3 {
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
            let o = try w.linear(attn + "o_proj.weight", bias: c.outputBias ? attn + "o_proj.bias" : nil, inFeatures: h * d, outFeatures: dim)
            let down = try w.linear(mlp + "down_proj.weight", bias: c.mlpBias ? mlp + "down_proj.bias" : nil, inFeatures: inter, outFeatures: dim)
            let window = l < c.slidingWindows.count ? c.slidingWindows[l] : nil
            let qkNorm: QKNorm
            let norms: Norms
            switch c.architecture {
            case .olmo2:
                // norms after each sublayer (named after what they follow), q/k norm over the projection
                qkNorm = .whole(q: try norm(attn + "q_norm.weight", h * d), k: try norm(attn + "k_norm.weight", kvh * d))
                norms = Norms(postAttention: try norm(p + "post_attention_layernorm.weight"),
                              postMLP: try norm(p + "post_feedforward_layernorm.weight"))
            case .gemma2, .gemma3Text:
                qkNorm = c.architecture == .gemma3Text
                    ? .perHead(q: try norm(attn + "q_norm.weight", d), k: try norm(attn + "k_norm.weight", d)) : .none
                norms = Norms(preAttention: try norm(p + "input_layernorm.weight"),
                              postAttention: try norm(p + "post_attention_layernorm.weight"),
                              preMLP: try norm(p + "pre_feedforward_layernorm.weight"),
                              postMLP: try norm(p + "post_feedforward_layernorm.weight"))
            default:
                qkNorm = c.architecture == .qwen3
                    ? .perHead(q: try norm(attn + "q_norm.weight", d), k: try norm(attn + "k_norm.weight", d)) : .none
                norms = Norms(preAttention: try norm(p + "input_layernorm.weight"),
                              preMLP: try norm(p + "post_attention_layernorm.weight"))
            }
            layers.append(Llama(
                norms: norms, qkNorm: qkNorm, qkv: qkv, output: o, gateUp: gateUp, down: down,
                attention: Attention(heads: h, kvHeads: kvh, headDim: d, scale: scale, window: window,
                                     softcap: c.attentionSoftcap.map { Float($0) }),
                rotary: l < c.localRopeLayers.count && c.localRopeLayers[l] ? localRotary ?? rotary : rotary,
                config: c, activation: activation))
        }
        let embedding = try w.embedding("model.embed_tokens.weight", rows: c.vocabSize, dim: dim)
        let head: WeightMatrix
        if c.tieWordEmbeddings && !w.contains("lm_head.weight") {
            head = embedding
        } else {
            head = try w.head("lm_head.weight", vocab: c.vocabSize, dim: dim)
        }
        return Transformer(config: c, embedding: embedding, positionEmbedding: nil, layers: layers,
                           finalNorm: try norm("model.norm.weight"), head: head, mlpWidth: 2 * inter,
                           embeddingScale: c.gemmaStyle ? Float(Double(dim).squareRoot()) : nil,
                           finalSoftcap: c.finalSoftcap.map { Float($0) })
    }
}
