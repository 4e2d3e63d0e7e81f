import Checkpoints
import LinearAlgebra

/// A LoRA perturbation kept as its factors: Delta = scale * L R, L [out, r], R [r, in],
/// in the [out, in] orientation of the perturbation's report.
struct LowRankFactors {
    var left: Matrix<Double>
    var right: Matrix<Double>
    var scale: Double

    /// Reads B and A of a module. Linear layers (fan_in_fan_out or not) have Delta = s B A in
    /// [out, in]; embedding tables are [vocab, dim] = (s B A)^T, i.e. L = A^T, R = B^T.
    static func load(_ module: LoRAModule, adapter: LoRAAdapter) throws -> LowRankFactors {
        let a = try DenseDelta.load(adapter.tensors, module.aTensor, transpose: false)
        let b = try DenseDelta.load(adapter.tensors, module.bTensor, transpose: false)
        if module.isEmbedding {
            return LowRankFactors(left: a.transposed, right: b.transposed, scale: module.scaling)
        }
        return LowRankFactors(left: b, right: a, scale: module.scaling)
    }

    var rank: Int { left.cols }

    /// Delta formed densely (only where a dense form is needed: DoRA, vectors of tiny shapes).
    func dense() -> Matrix<Double> {
        var d = BLAS.multiply(left, right)
        for i in d.storage.indices { d.storage[i] *= scale }
        return d
    }

    /// The exact spectrum without forming Delta: L = Q_L R_L, R^T = Q_R R_R, so
    /// Delta = s Q_L (R_L R_R^T) Q_R^T and the singular values are |s| sigma(R_L R_R^T).
    /// O((out + in) r^2) work instead of O(out in min(out, in)).
    func svd(withVectors: Bool) throws -> (s: [Double], u: Matrix<Double>?, v: Matrix<Double>?) {
        let r = rank
        guard left.rows >= r, right.cols >= r else {
            // Rank larger than a side: the factor route saves nothing; go dense.
            let full = try SVD.thin(dense())
            return (full.s, withVectors ? full.u : nil, withVectors ? full.v : nil)
        }
        let ql = try QR.thin(left)
        let qr = try QR.thin(right.transposed)
        let core = BLAS.multiply(ql.r, qr.r, transB: true)
        let small = try SVD.thin(core)
        let s = small.s.map { abs(scale) * $0 }
        guard withVectors else { return (s, nil, nil) }
        var u = BLAS.multiply(ql.q, small.u)
        let v = BLAS.multiply(qr.q, small.v)
        if scale < 0 { for i in u.storage.indices { u.storage[i] = -u.storage[i] } }
        return (s, u, v)
    }
}

/// DoRA's effective weight change: W' = diag(m / ||W0 + s B A||_row) (W0 + s B A), Delta = W' - W0,
/// with the row norm taken over each output's inputs, as PEFT's DoRA layer does.
enum DoRADelta {
    static func dense(_ module: LoRAModule, adapter: LoRAAdapter, baseWeight: Matrix<Double>) throws -> Matrix<Double> {
        guard !module.isEmbedding, let magnitudeName = module.magnitudeTensor else {
            throw CheckpointError(file: adapter.path, field: module.module, "DoRA on embedding layers is not supported")
        }
        let factors = try LowRankFactors.load(module, adapter: adapter)
        let magnitude = try adapter.tensors.doubles(magnitudeName)
        var merged = factors.dense()
        let rows = merged.rows, cols = merged.cols
        guard magnitude.count == rows else {
            throw CheckpointError(file: adapter.tensors.location, field: magnitudeName,
                                  "has \(magnitude.count) entries for \(rows) output features")
        }
        for i in 0..<rows {
            var norm = 0.0
            for j in 0..<cols {
                merged[i, j] += baseWeight[i, j]
                norm += merged[i, j] * merged[i, j]
            }
            let factor = magnitude[i] / norm.squareRoot()
            for j in 0..<cols { merged[i, j] = factor * merged[i, j] - baseWeight[i, j] }
        }
        return merged
    }
}
