import Checkpoints

/// GPT-2: learned positions, LayerNorm, Conv1D projections stored [in, out] (used as stored:
/// sgemm without transB), gelu_new MLP, tied LM head.
struct GPT2: DecoderLayer {
    let ln1: Norm
    let ln2: Norm
    let qkv: Linear
    let proj: Linear
    let fc: Linear
    let fcProj: Linear
    let attention: Attention
    let config: DecoderConfig
    let activation: Activation

    func forward(_ x: UnsafeMutablePointer<Float>, batch: Batch, layer: Int, scratch: Scratch) {
        let n = batch.rows, dim = config.hiddenSize
        ln1(x, into: scratch.normed.pointer, rows: n, dim: dim)
        qkv.apply(scratch.normed.pointer, ldx: dim, rows: n, into: scratch.qkv.pointer, ldy: 3 * dim, workspace: scratch.linear)
        attention(qkv: scratch.qkv.pointer, ld: 3 * dim, batch: batch, layer: layer, out: scratch.attention.pointer, ldOut: dim, workspace: scratch.linear)
        proj.apply(scratch.attention.pointer, ldx: dim, rows: n, into: x, ldy: dim, accumulate: true, workspace: scratch.linear)
        ln2(x, into: scratch.normed.pointer, rows: n, dim: dim)
        let width = config.intermediateSize
        fc.apply(scratch.normed.pointer, ldx: dim, rows: n, into: scratch.mlp.pointer, ldy: width, workspace: scratch.linear)
        Kernels.activate(scratch.mlp.pointer, rows: n, cols: width, ld: width, activation)
        fcProj.apply(scratch.mlp.pointer, ldx: width, rows: n, into: x, ldy: dim, accumulate: true, workspace: scratch.linear)
    }

    static func load(_ w: WeightLoader, _ family: GPT2Configuration) throws -> Transformer {
        let c = family.decoder
        let dim = c.hiddenSize, h = c.headCount, d = c.headDim, inter = c.intermediateSize
        // GPT2LMHeadModel saves "transformer.h.0..."; the bare GPT2Model hub files say "h.0...".
        let root = w.contains("transformer.wte.weight") ? "transformer." : ""
        let activation = try Activation(configName: c.activation)
        var layers: [any DecoderLayer] = []
        for l in 0..<c.layerCount {
            let p = "\(root)h.\(l)."
            var scale = family.scaleAttentionWeights ? 1 / Double(d).squareRoot() : 1
            if family.scaleAttentionByInverseLayerIndex { scale /= Double(l + 1) }
            layers.append(GPT2(
                ln1: try .layer(w, p + "ln_1", dim: dim, eps: c.normEpsilon),
                ln2: try .layer(w, p + "ln_2", dim: dim, eps: c.normEpsilon),
                qkv: try w.linear(p + "attn.c_attn.weight", bias: p + "attn.c_attn.bias", inFeatures: dim, outFeatures: 3 * dim, storedTransposed: true),
                proj: try w.linear(p + "attn.c_proj.weight", bias: p + "attn.c_proj.bias", inFeatures: dim, outFeatures: dim, storedTransposed: true),
                fc: try w.linear(p + "mlp.c_fc.weight", bias: p + "mlp.c_fc.bias", inFeatures: dim, outFeatures: inter, storedTransposed: true),
                fcProj: try w.linear(p + "mlp.c_proj.weight", bias: p + "mlp.c_proj.bias", inFeatures: inter, outFeatures: dim, storedTransposed: true),
                attention: Attention(heads: h, kvHeads: h, headDim: d, scale: Float(scale), window: nil),
                config: c, activation: activation))
        }
        let embedding = try w.embedding(root + "wte.weight", rows: c.vocabSize, dim: dim)
        let positions = try w.tensor(root + "wpe.weight", shape: [c.maxPositions, dim])
        let head = c.tieWordEmbeddings || !w.contains("lm_head.weight")
            ? embedding : try w.head("lm_head.weight", vocab: c.vocabSize, dim: dim)
        return Transformer(config: w.config, embedding: embedding, positionEmbedding: positions, layers: layers,
                           finalNorm: try .layer(w, root + "ln_f", dim: dim, eps: c.normEpsilon),
                           head: head, mlpWidth: inter)
    }
}
