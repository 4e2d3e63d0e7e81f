import Checkpoints

/// Llama, Mistral, Qwen2, Qwen3 and OLMo 2: RMSNorm, rotary, grouped-query attention (q/k/v
/// bias for Qwen2), SwiGLU MLP, optional sliding window per layer, optionally tied embeddings.
/// q|k|v and gate|up are fused into one GEMM each. The families differ only in where the
/// norms sit, which are parameters here rather than copies of the layer.
struct Llama: DecoderLayer {
    /// Where the block's RMSNorms sit.
    enum NormPlacement: Sendable {
        /// x + attn(norm1(x)), then x + mlp(norm2(x)) (llama, mistral, qwen2, qwen3).
        case pre
        /// x + norm1(attn(x)), then x + norm2(mlp(x)) (OLMo 2).
        case post
    }

    /// RMSNorm of the queries and keys before rotary.
    enum QKNorm: Sendable {
        case none
        /// Over each head's head_dim values, one weight shared by the heads (Qwen3).
        case perHead(q: Norm, k: Norm)
        /// Over the whole projection, heads * head_dim values (OLMo 2).
        case whole(q: Norm, k: Norm)
    }

    let placement: NormPlacement
    let qkNorm: QKNorm
    let inputNorm: Norm
    let qkv: Linear
    let output: Linear
    let postNorm: Norm
    let gateUp: Linear
    let down: Linear
    let attention: Attention
    let rotary: Rotary
    let config: ModelConfig
    let activation: Activation

    func forward(_ x: UnsafeMutablePointer<Float>, batch: Batch, layer: Int, scratch: Scratch) {
        let n = batch.rows, dim = config.hiddenSize
        let h = config.headCount, kvh = config.kvHeadCount, d = config.headDim
        let ld = qkv.outFeatures
        let pre = placement == .pre
        if pre { inputNorm(x, into: scratch.normed.pointer, rows: n, dim: dim) }
        qkv.apply(pre ? scratch.normed.pointer : x, ldx: dim, rows: n, into: scratch.qkv.pointer, ldy: ld, workspace: scratch.linear)
        normQueriesAndKeys(scratch.qkv.pointer, ld: ld, rows: n)
        batch.positions.withUnsafeBufferPointer { pos in
            rotary.apply(scratch.qkv.pointer, ld: ld, rows: n, heads: h, headDim: d, positions: pos.baseAddress!)
            rotary.apply(scratch.qkv.pointer + h * d, ld: ld, rows: n, heads: kvh, headDim: d, positions: pos.baseAddress!)
        }
        attention(qkv: scratch.qkv.pointer, ld: ld, batch: batch, layer: layer, out: scratch.attention.pointer, ldOut: h * d, workspace: scratch.linear)
        let width = config.intermediateSize
        if pre {
            output.apply(scratch.attention.pointer, ldx: h * d, rows: n, into: x, ldy: dim, accumulate: true, workspace: scratch.linear)
            postNorm(x, into: scratch.normed.pointer, rows: n, dim: dim)
            gateUp.apply(scratch.normed.pointer, ldx: dim, rows: n, into: scratch.mlp.pointer, ldy: 2 * width, workspace: scratch.linear)
            Kernels.gatedActivation(scratch.mlp.pointer, rows: n, width: width, ld: 2 * width, activation)
            down.apply(scratch.mlp.pointer, ldx: 2 * width, rows: n, into: x, ldy: dim, accumulate: true, workspace: scratch.linear)
        } else {
            // each sublayer's output is normed before the residual add, so it cannot accumulate into x
            let t = scratch.normed.pointer
            output.apply(scratch.attention.pointer, ldx: h * d, rows: n, into: t, ldy: dim, workspace: scratch.linear)
            inputNorm(t, into: t, rows: n, dim: dim)
            Kernels.add(x, ldDst: dim, t, ldSrc: dim, rows: n, cols: dim)
            gateUp.apply(x, ldx: dim, rows: n, into: scratch.mlp.pointer, ldy: 2 * width, workspace: scratch.linear)
            Kernels.gatedActivation(scratch.mlp.pointer, rows: n, width: width, ld: 2 * width, activation)
            down.apply(scratch.mlp.pointer, ldx: 2 * width, rows: n, into: t, ldy: dim, workspace: scratch.linear)
            postNorm(t, into: t, rows: n, dim: dim)
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

    static func load(_ w: WeightLoader) throws -> Transformer {
        let c = w.config
        let dim = c.hiddenSize, h = c.headCount, kvh = c.kvHeadCount, d = c.headDim, inter = c.intermediateSize
        let rotary = try Rotary(config: c, positions: w.positionLimit)
        let activation = try Activation(configName: c.activation)
        var layers: [any DecoderLayer] = []
        for l in 0..<c.layerCount {
            let p = "model.layers.\(l)."
            let attn = p + "self_attn."
            let q = try w.linear(attn + "q_proj.weight", bias: c.qkvBias ? attn + "q_proj.bias" : nil, inFeatures: dim, outFeatures: h * d)
            let k = try w.linear(attn + "k_proj.weight", bias: c.qkvBias ? attn + "k_proj.bias" : nil, inFeatures: dim, outFeatures: kvh * d)
            let v = try w.linear(attn + "v_proj.weight", bias: c.qkvBias ? attn + "v_proj.bias" : nil, inFeatures: dim, outFeatures: kvh * d)
            let o = try w.linear(attn + "o_proj.weight", bias: c.outputBias ? attn + "o_proj.bias" : nil, inFeatures: h * d, outFeatures: dim)
            let mlp = p + "mlp."
            let gate = try w.linear(mlp + "gate_proj.weight", bias: c.mlpBias ? mlp + "gate_proj.bias" : nil, inFeatures: dim, outFeatures: inter)
            let up = try w.linear(mlp + "up_proj.weight", bias: c.mlpBias ? mlp + "up_proj.bias" : nil, inFeatures: dim, outFeatures: inter)
            let down = try w.linear(mlp + "down_proj.weight", bias: c.mlpBias ? mlp + "down_proj.bias" : nil, inFeatures: inter, outFeatures: dim)
            let window = l < c.slidingWindows.count ? c.slidingWindows[l] : nil
            let eps = c.normEpsilon
            let qkNorm: QKNorm
            switch c.architecture {
            case .qwen3: qkNorm = .perHead(q: try .rms(w, attn + "q_norm.weight", dim: d, eps: eps),
                                           k: try .rms(w, attn + "k_norm.weight", dim: d, eps: eps))
            case .olmo2: qkNorm = .whole(q: try .rms(w, attn + "q_norm.weight", dim: h * d, eps: eps),
                                         k: try .rms(w, attn + "k_norm.weight", dim: kvh * d, eps: eps))
            default: qkNorm = .none
            }
            // OLMo 2 names its two norms after what they follow; the others after what they precede
            let post = c.architecture == .olmo2
            layers.append(Llama(
                placement: post ? .post : .pre, qkNorm: qkNorm,
                inputNorm: try .rms(w, p + (post ? "post_attention_layernorm.weight" : "input_layernorm.weight"), dim: dim, eps: eps),
                qkv: Linear.fused([q, k, v]), output: o,
                postNorm: try .rms(w, p + (post ? "post_feedforward_layernorm.weight" : "post_attention_layernorm.weight"), dim: dim, eps: eps),
                gateUp: Linear.fused([gate, up]), down: down,
                attention: Attention(heads: h, kvHeads: kvh, headDim: d, scale: Float(1 / Double(d).squareRoot()), window: window),
                rotary: rotary, config: c, activation: activation))
        }
        let embedding = try w.embedding("model.embed_tokens.weight", rows: c.vocabSize, dim: dim)
        let head: WeightMatrix
        if c.tieWordEmbeddings && !w.contains("lm_head.weight") {
            head = embedding
        } else {
            head = try w.head("lm_head.weight", vocab: c.vocabSize, dim: dim)
        }
        return Transformer(config: c, embedding: embedding, positionEmbedding: nil, layers: layers,
                           finalNorm: try .rms(w, "model.norm.weight", dim: dim, eps: c.normEpsilon),
                           head: head, mlpWidth: 2 * inter)
    }
}
