import LinearAlgebra

/// An unmerged LoRA on a range of a linear layer's outputs: y[:, range] += s * (x A^T) B^T,
/// and for DoRA y[:, range] = doraScale * (W0 x + s B A x) before the bias, as PEFT computes it.
struct LoRAPart: Sendable {
    let outOffset: Int
    let outCount: Int
    let rank: Int
    let a: FloatBuffer // [rank, in]
    let b: FloatBuffer // [outCount, rank]
    let scaling: Float
    /// m / ||W0 + s B A||_row, one per output (DoRA only).
    let doraScale: FloatBuffer?
}

/// y = x W^T + b for row-major activations x [rows, in]. W is kept as loaded: [out, in]
/// (sgemm with transB, no transpose at load) or, for GPT-2 Conv1D, [in, out]; in float32, or as
/// stored (bf16/fp16, 4-bit) and converted tile by tile (WeightMatrix). A fused layer whose parts
/// cannot share one storage (4-bit blocks run over each tensor's own elements) keeps the parts
/// stacked along the outputs.
final class Linear: @unchecked Sendable {
    let inFeatures: Int
    let outFeatures: Int
    let parts: [WeightMatrix]
    let storedTransposed: Bool
    let bias: FloatBuffer?
    let lora: [LoRAPart]
    private let hasDoRA: Bool

    convenience init(inFeatures: Int, outFeatures: Int, weight: WeightMatrix, storedTransposed: Bool, bias: FloatBuffer?, lora: [LoRAPart]) {
        self.init(inFeatures: inFeatures, outFeatures: outFeatures, parts: [weight], storedTransposed: storedTransposed, bias: bias, lora: lora)
    }

    init(inFeatures: Int, outFeatures: Int, parts: [WeightMatrix], storedTransposed: Bool, bias: FloatBuffer?, lora: [LoRAPart]) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.parts = parts
        self.storedTransposed = storedTransposed
        self.bias = bias
        self.lora = lora
        hasDoRA = lora.contains { $0.doraScale != nil }
    }

    /// The weight as one matrix (not for stacked parts).
    var weight: WeightMatrix {
        precondition(parts.count == 1)
        return parts[0]
    }

    var residentBytes: Int { parts.reduce(0) { $0 + $1.storage.residentBytes } }

    /// y (= or +=, with `accumulate`) x W^T + b. x has leading dimension ldx, y has ldy.
    func apply(_ x: UnsafePointer<Float>, ldx: Int, rows: Int, into y: UnsafeMutablePointer<Float>, ldy: Int,
               accumulate: Bool = false, workspace: LinearWorkspace? = nil) {
        if rows == 0 { return }
        let ws = workspace ?? LinearWorkspace()
        if accumulate && hasDoRA {
            // DoRA rescales W0 x + s B A x before the residual add: compute apart, then add.
            let tmp = FloatBuffer(count: rows * outFeatures, zeroed: false)
            apply(x, ldx: ldx, rows: rows, into: tmp.pointer, ldy: outFeatures, workspace: ws)
            Kernels.add(y, ldDst: ldy, tmp.pointer, ldSrc: outFeatures, rows: rows, cols: outFeatures)
            return
        }
        let beta: Float = accumulate ? 1 : 0
        if storedTransposed {
            parts[0].multiply(x, ldx: ldx, m: rows, into: y, ldy: ldy, beta: beta, workspace: ws)
        } else {
            var offset = 0
            for p in parts {
                p.multiplyTransposed(x, ldx: ldx, m: rows, into: y + offset, ldy: ldy, beta: beta, workspace: ws)
                offset += p.rows
            }
        }
        if !lora.isEmpty {
            // the LoRA path in float32 on float32 activations, as PEFT's forward on a 4-bit base
            let maxRank = lora.map(\.rank).max() ?? 0
            let tmp = ws.loraBuffer(rows * maxRank)
            for part in lora {
                BLAS.sgemm(transA: false, transB: true, m: rows, n: part.rank, k: inFeatures,
                           a: x, lda: ldx, b: part.a.pointer, ldb: inFeatures, c: tmp.pointer, ldc: part.rank)
                let yPart = y + part.outOffset
                BLAS.sgemm(transA: false, transB: true, m: rows, n: part.outCount, k: part.rank,
                           alpha: part.scaling, a: tmp.pointer, lda: part.rank, b: part.b.pointer, ldb: part.rank,
                           beta: 1, c: yPart, ldc: ldy)
                if let scale = part.doraScale {
                    for r in 0..<rows {
                        let row = yPart + r * ldy
                        for c in 0..<part.outCount { row[c] *= scale[c] }
                    }
                }
            }
        }
        if let bias { Kernels.addBias(y, rows: rows, cols: outFeatures, ld: ldy, bias: bias.pointer) }
    }

    /// Several [out_i, in] layers stacked along outputs into one GEMM (q|k|v, gate|up) when
    /// their weights share a storage; 4-bit parts stay separate matrices run one after another.
    static func fused(_ parts: [Linear]) -> Linear {
        precondition(!parts.isEmpty && parts.allSatisfy { !$0.storedTransposed && $0.inFeatures == parts[0].inFeatures })
        if parts.count == 1 { return parts[0] }
        let inF = parts[0].inFeatures
        let outF = parts.reduce(0) { $0 + $1.outFeatures }
        let matrices = parts.flatMap(\.parts)
        let weights = WeightMatrix.stacked(matrices).map { [$0] } ?? matrices
        let anyBias = parts.contains { $0.bias != nil }
        let bias = anyBias ? FloatBuffer(count: outF) : nil
        var lora: [LoRAPart] = []
        var offset = 0
        for p in parts {
            if let b = p.bias, let bias { (bias.pointer + offset).update(from: b.pointer, count: p.outFeatures) }
            for l in p.lora {
                lora.append(LoRAPart(outOffset: offset + l.outOffset, outCount: l.outCount, rank: l.rank, a: l.a, b: l.b,
                                     scaling: l.scaling, doraScale: l.doraScale))
            }
            offset += p.outFeatures
        }
        return Linear(inFeatures: inF, outFeatures: outF, parts: weights, storedTransposed: false, bias: bias, lora: lora)
    }

    /// Reorders output features: new output i is old output perm[i] (GPT-NeoX's per-head
    /// interleaved q|k|v becomes all-q | all-k | all-v). Only for [out, in] weights in float32
    /// or 16 bits (the loader never quantizes a layer it will permute).
    func permutingOutputs(_ perm: [Int]) -> Linear {
        precondition(!storedTransposed && perm.count == outFeatures && parts.count == 1)
        guard let w = parts[0].permutingRows(perm) else { preconditionFailure("permuting a 4-bit weight") }
        var newBias: FloatBuffer? = nil
        if let bias {
            let nb = FloatBuffer(count: outFeatures, zeroed: false)
            for (i, old) in perm.enumerated() { nb[i] = bias[old] }
            newBias = nb
        }
        var parts: [LoRAPart] = []
        for l in lora {
            precondition(l.outOffset == 0 && l.outCount == outFeatures, "permuting a partially adapted layer")
            let b = FloatBuffer(count: l.b.count, zeroed: false)
            for (i, old) in perm.enumerated() {
                (b.pointer + i * l.rank).update(from: l.b.pointer + old * l.rank, count: l.rank)
            }
            var scale: FloatBuffer? = nil
            if let s = l.doraScale {
                let ns = FloatBuffer(count: s.count, zeroed: false)
                for (i, old) in perm.enumerated() { ns[i] = s[old] }
                scale = ns
            }
            parts.append(LoRAPart(outOffset: 0, outCount: l.outCount, rank: l.rank, a: l.a, b: b, scaling: l.scaling, doraScale: scale))
        }
        return Linear(inFeatures: inFeatures, outFeatures: outFeatures, weight: w, storedTransposed: false, bias: newBias, lora: parts)
    }
}
