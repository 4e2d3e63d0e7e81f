import Checkpoints

/// GPT-NeoX (Pythia): LayerNorm, partial rotary, fused query_key_value interleaved per head
/// (re-laid out at load as q|k|v), GELU MLP, parallel or sequential residual.
struct GPTNeoX: DecoderLayer {
    let inputNorm: Norm
    let postNorm: Norm
    let qkv: Linear
    let dense: Linear
    let up: Linear
    let down: Linear
    let attention: Attention
    let rotary: Rotary
    let config: DecoderConfig
    let parallelResidual: Bool
    let activation: Activation

    func forward(_ x: UnsafeMutablePointer<Float>, batch: Batch, layer: Int, scratch: Scratch) {
        let n = batch.rows, dim = config.hiddenSize, h = config.headCount, d = config.headDim
        let ld = qkv.outFeatures
        inputNorm(x, into: scratch.normed.pointer, rows: n, dim: dim)
        qkv.apply(scratch.normed.pointer, ldx: dim, rows: n, into: scratch.qkv.pointer, ldy: ld, workspace: scratch.linear)
        batch.positions.withUnsafeBufferPointer { pos in
            rotary.apply(scratch.qkv.pointer, ld: ld, rows: n, heads: 2 * h, headDim: d, positions: pos.baseAddress!)
        }
        attention(qkv: scratch.qkv.pointer, ld: ld, batch: batch, layer: layer, out: scratch.attention.pointer, ldOut: h * d, workspace: scratch.linear)
        if parallelResidual {
            // x + attn(ln1(x)) + mlp(ln2(x)): both norms read the block's input.
            postNorm(x, into: scratch.normed.pointer, rows: n, dim: dim)
            dense.apply(scratch.attention.pointer, ldx: h * d, rows: n, into: x, ldy: dim, accumulate: true, workspace: scratch.linear)
        } else {
            dense.apply(scratch.attention.pointer, ldx: h * d, rows: n, into: x, ldy: dim, accumulate: true, workspace: scratch.linear)
            postNorm(x, into: scratch.normed.pointer, rows: n, dim: dim)
        }
        let width = config.intermediateSize
        up.apply(scratch.normed.pointer, ldx: dim, rows: n, into: scratch.mlp.pointer, ldy: width, workspace: scratch.linear)
        Kernels.activate(scratch.mlp.pointer, rows: n, cols: width, ld: width, activation)
        down.apply(scratch.mlp.pointer, ldx: width, rows: n, into: x, ldy: dim, accumulate: true, workspace: scratch.linear)
    }

    static func load(_ w: WeightLoader, _ family: GPTNeoXConfiguration) throws -> Transformer {
        let c = family.decoder
        let dim = c.hiddenSize, h = c.headCount, d = c.headDim, inter = c.intermediateSize
        let rotary = try Rotary(rotaryDim: c.rotaryDim, theta: c.ropeTheta ?? 10000, scaling: c.ropeScaling, positions: w.positionLimit)
        let activation = try Activation(configName: c.activation)
        // new row i of q|k|v <- old row of the per-head [q, k, v] layout
        var perm: [Int] = []
        for part in 0..<3 { for head in 0..<h { for i in 0..<d { perm.append(head * 3 * d + part * d + i) } } }
        var layers: [any DecoderLayer] = []
        for l in 0..<c.layerCount {
            let p = "gpt_neox.layers.\(l)."
            let qkv = try w.linear(p + "attention.query_key_value.weight", bias: c.qkvBias ? p + "attention.query_key_value.bias" : nil,
                                   inFeatures: dim, outFeatures: 3 * h * d)
            layers.append(GPTNeoX(
                inputNorm: try .layer(w, p + "input_layernorm", dim: dim, eps: c.normEpsilon),
                postNorm: try .layer(w, p + "post_attention_layernorm", dim: dim, eps: c.normEpsilon),
                qkv: qkv.permutingOutputs(perm),
                dense: try w.linear(p + "attention.dense.weight", bias: c.outputBias ? p + "attention.dense.bias" : nil,
                                    inFeatures: h * d, outFeatures: dim),
                up: try w.linear(p + "mlp.dense_h_to_4h.weight", bias: p + "mlp.dense_h_to_4h.bias", inFeatures: dim, outFeatures: inter),
                down: try w.linear(p + "mlp.dense_4h_to_h.weight", bias: p + "mlp.dense_4h_to_h.bias", inFeatures: inter, outFeatures: dim),
                attention: Attention(heads: h, kvHeads: h, headDim: d, scale: Float(1 / Double(d).squareRoot()),
                                     window: l < c.slidingWindows.count ? c.slidingWindows[l] : nil),
                rotary: rotary, config: c, parallelResidual: family.useParallelResidual, activation: activation))
        }
        let embedding = try w.embedding("gpt_neox.embed_in.weight", rows: c.vocabSize, dim: dim)
        let head = c.tieWordEmbeddings && !w.contains("embed_out.weight")
            ? embedding : try w.head("embed_out.weight", vocab: c.vocabSize, dim: dim)
        return Transformer(config: w.config, embedding: embedding, positionEmbedding: nil, layers: layers,
                           finalNorm: try .layer(w, "gpt_neox.final_layer_norm", dim: dim, eps: c.normEpsilon),
                           head: head, mlpWidth: inter)
    }
}
