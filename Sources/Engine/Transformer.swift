import Checkpoints
import Foundation
import LinearAlgebra

/// Layer normalisation as an architecture uses it.
enum Norm: Sendable {
    case rms(weight: FloatBuffer, eps: Double)
    case layer(weight: FloatBuffer, bias: FloatBuffer, eps: Double)

    func callAsFunction(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, rows: Int, dim: Int) {
        switch self {
        case let .rms(w, eps): Kernels.rmsNorm(x, out, rows: rows, dim: dim, weight: w.pointer, eps: eps)
        case let .layer(w, b, eps): Kernels.layerNorm(x, out, rows: rows, dim: dim, weight: w.pointer, bias: b.pointer, eps: eps)
        }
    }

    /// `offset`: Gemma stores w and scales by (1 + w); adding 1 in float32 once at load is what
    /// transformers computes (`1.0 + weight.float()`).
    static func rms(_ loader: WeightLoader, _ name: String, dim: Int, eps: Double, offset: Float = 0) throws -> Norm {
        let w = try loader.tensor(name, shape: [dim])
        if offset != 0 { for i in 0..<dim { w[i] += offset } }
        return .rms(weight: w, eps: eps)
    }

    static func layer(_ loader: WeightLoader, _ prefix: String, dim: Int, eps: Double) throws -> Norm {
        .layer(weight: try loader.tensor(prefix + ".weight", shape: [dim]),
               bias: try loader.tensor(prefix + ".bias", shape: [dim]), eps: eps)
    }
}

/// Activation buffers of one forward call, sized for its rows.
final class Scratch {
    let rows: Int
    let normed: FloatBuffer   // [rows, hidden]
    let qkv: FloatBuffer      // [rows, (heads + 2 kvHeads) headDim]
    let attention: FloatBuffer // [rows, heads headDim]
    let mlp: FloatBuffer      // [rows, mlpWidth]
    let residual: FloatBuffer // [rows, hidden]
    /// Weight tiles and LoRA intermediates of this call's GEMMs, reused across layers and calls.
    let linear = LinearWorkspace()

    init(rows: Int, config c: ModelConfig, mlpWidth: Int) {
        self.rows = rows
        normed = FloatBuffer(count: rows * c.hiddenSize, zeroed: false)
        qkv = FloatBuffer(count: rows * (c.headCount + 2 * c.kvHeadCount) * c.headDim, zeroed: false)
        attention = FloatBuffer(count: rows * c.headCount * c.headDim, zeroed: false)
        mlp = FloatBuffer(count: rows * mlpWidth, zeroed: false)
        residual = FloatBuffer(count: rows * c.hiddenSize, zeroed: false)
    }
}

/// One transformer block of an architecture: updates the residual stream x [rows, hidden] in place.
protocol DecoderLayer: Sendable {
    func forward(_ x: UnsafeMutablePointer<Float>, batch: Batch, layer: Int, scratch: Scratch)
}

/// Embeddings -> blocks -> final norm -> LM head; the architecture files build one of these.
final class Transformer: @unchecked Sendable {
    let config: ModelConfig
    let embedding: WeightMatrix         // [vocab, hidden]
    let positionEmbedding: FloatBuffer? // [maxPositions, hidden] (GPT-2)
    let layers: [any DecoderLayer]
    let finalNorm: Norm
    let head: WeightMatrix              // [vocab, hidden]; the embedding when tied
    let mlpWidth: Int
    /// Gemma: embeddings are multiplied by sqrt(hidden_size).
    let embeddingScale: Float?
    /// Gemma 2: logits become cap * tanh(logit / cap).
    let finalSoftcap: Float?

    init(config: ModelConfig, embedding: WeightMatrix, positionEmbedding: FloatBuffer?, layers: [any DecoderLayer],
         finalNorm: Norm, head: WeightMatrix, mlpWidth: Int, embeddingScale: Float? = nil, finalSoftcap: Float? = nil) {
        self.embeddingScale = embeddingScale
        self.finalSoftcap = finalSoftcap
        self.config = config
        self.embedding = embedding
        self.positionEmbedding = positionEmbedding
        self.layers = layers
        self.finalNorm = finalNorm
        self.head = head
        self.mlpWidth = mlpWidth
    }

    /// Activation buffers kept between calls: fresh multi-megabyte buffers cost a page fault per
    /// 4 KiB on first touch. Concurrent callers each take their own.
    private var spareScratch: [Scratch] = []
    private let scratchLock = NSLock()

    private func takeScratch(rows: Int) -> Scratch {
        scratchLock.lock()
        defer { scratchLock.unlock() }
        if let i = spareScratch.firstIndex(where: { $0.rows >= rows }) { return spareScratch.remove(at: i) }
        return Scratch(rows: rows, config: config, mlpWidth: mlpWidth)
    }

    private func returnScratch(_ s: Scratch) {
        scratchLock.lock()
        defer { scratchLock.unlock() }
        // keep the largest two: enough for one caller plus one concurrent one
        spareScratch.append(s)
        spareScratch.sort { $0.rows > $1.rows }
        if spareScratch.count > 2 { spareScratch.removeLast(spareScratch.count - 2) }
    }

    var vocabSize: Int { config.vocabSize }
    var hidden: Int { config.hiddenSize }

    func makeCache(capacity: Int) -> KVCache {
        KVCache(layers: config.layerCount, kvHeads: config.kvHeadCount, headDim: config.headDim, capacity: capacity)
    }

    /// Runs `tokens` (the concatenated rows of `batch`) through the model, advancing every
    /// segment's cache, and returns the logits [outputRows.count, vocab] of the requested rows.
    func forward(tokens: [Int], batch: Batch, outputRows: [Int]) -> FloatBuffer {
        let hidden = finalHidden(tokens: tokens, batch: batch, outputRows: outputRows)
        let logits = FloatBuffer(count: outputRows.count * vocabSize, zeroed: false)
        lmHead(hidden.pointer, rows: outputRows.count, into: logits.pointer)
        return logits
    }

    /// logits [rows, vocab] = hidden [rows, hidden] head^T.
    func lmHead(_ hidden: UnsafePointer<Float>, rows: Int, into logits: UnsafeMutablePointer<Float>) {
        if rows == 0 { return }
        defer {
            if let cap = finalSoftcap { VectorTanh.softcapInPlace(logits, count: rows * vocabSize, cap: cap) }
        }
        // decoding (one row): a GEMV reads the head once instead of repacking it
        if head.float32 != nil {
            head.multiplyTransposed(hidden, ldx: self.hidden, m: rows, into: logits, ldy: vocabSize, beta: 0, workspace: LinearWorkspace())
            return
        }
        let scratch = takeScratch(rows: 1)
        defer { returnScratch(scratch) }
        head.multiplyTransposed(hidden, ldx: self.hidden, m: rows, into: logits, ldy: vocabSize, beta: 0, workspace: scratch.linear)
    }

    /// The final-normed hidden states [outputRows.count, hidden] of the requested rows.
    func finalHidden(tokens: [Int], batch: Batch, outputRows: [Int]) -> FloatBuffer {
        precondition(tokens.count == batch.rows)
        let n = batch.rows, dim = hidden
        let scratch = takeScratch(rows: max(n, 1))
        defer { returnScratch(scratch) }
        let x = scratch.residual
        for (r, t) in tokens.enumerated() {
            embedding.row(t, into: x.pointer + r * dim, workspace: scratch.linear)
        }
        if let scale = embeddingScale {
            for i in 0..<(n * dim) { x.pointer[i] *= scale }
        }
        if let pe = positionEmbedding {
            for r in 0..<n {
                let p = (pe.pointer + Int(batch.positions[r]) * dim)
                let row = x.pointer + r * dim
                for i in 0..<dim { row[i] += p[i] }
            }
        }
        if n > 0 {
            for (l, layer) in layers.enumerated() {
                layer.forward(x.pointer, batch: batch, layer: l, scratch: scratch)
            }
        }
        for seg in batch.segments { seg.cache.count += seg.rows }
        let m = outputRows.count
        let gathered = FloatBuffer(count: m * dim, zeroed: false)
        for (i, r) in outputRows.enumerated() {
            (gathered.pointer + i * dim).update(from: x.pointer + r * dim, count: dim)
        }
        finalNorm(gathered.pointer, into: gathered.pointer, rows: m, dim: dim)
        return gathered
    }

    /// Builds the family's layers (the registry decoded its configuration with the directory).
    static func load(_ loader: WeightLoader, family: any DecodedModelConfig) throws -> Transformer {
        guard let family = family as? any FamilyConfiguration else {
            throw EngineError("config.json was decoded by a decoder other than the engine's family registry")
        }
        let model = try family.transformer(loader)
        try loader.finish()
        return model
    }
}
