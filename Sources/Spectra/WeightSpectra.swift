import Checkpoints
import Foundation
import LinearAlgebra

/// The spectra Biderman et al. (2024) draw beside Delta's (their Fig. S8, "A + cB"): the base
/// weight W_base, the fine-tuned weight W_ft = W_base + Delta (for a LoRA, W_base + s B A), and
/// W_base + G with G an i.i.d. Gaussian matrix of Delta's shape scaled to Delta's Frobenius norm,
/// plus G alone: the "unstructured perturbation of the same size" that Delta is compared with.
public struct WeightSpectra: Codable, Sendable, Equatable {
    /// Descending singular values, min(out, in) of each.
    public var base: [Double]
    public var finetuned: [Double]
    /// nil unless a Gaussian seed was given.
    public var gaussian: [Double]?
    public var basePlusGaussian: [Double]?
    public var gaussianSeed: UInt64?

    enum CodingKeys: String, CodingKey {
        case base, finetuned, gaussian
        case basePlusGaussian = "base_plus_gaussian"
        case gaussianSeed = "gaussian_seed"
    }
}

extension SpectraAnalyzer {
    /// Singular values of W_base, W_ft and (with a seed) G and W_base + G for one perturbation,
    /// by the configured SVD route. Forms the matrices densely: meant for a few chosen tensors.
    public func weightSpectra(_ p: Perturbation, base: ModelDirectory, gaussianSeed: UInt64? = nil) throws -> WeightSpectra {
        let fullBase = try DenseDelta.load(base.tensors, p.tensor, transpose: p.storedTransposed)
        let baseWeight = p.rows(of: fullBase)
        var weight = p.rows(of: try denseDelta(p, base: base, baseWeight: fullBase))  // Delta, then W_ft in place
        let deltaNorm = weight.frobeniusNorm
        for i in weight.storage.indices { weight.storage[i] += baseWeight.storage[i] }
        var out = WeightSpectra(base: try singularValues(dense: baseWeight), finetuned: try singularValues(dense: weight))
        if let seed = gaussianSeed {
            var g = GaussianMatrix.sample(rows: baseWeight.rows, cols: baseWeight.cols, seed: seed)
            let scale = g.frobeniusNorm > 0 ? deltaNorm / g.frobeniusNorm : 0
            for i in g.storage.indices { g.storage[i] *= scale }
            out.gaussian = try singularValues(dense: g)
            for i in g.storage.indices { g.storage[i] += baseWeight.storage[i] }
            out.basePlusGaussian = try singularValues(dense: g)
            out.gaussianSeed = seed
        }
        return out
    }
}

/// A seeded i.i.d. N(0, 1) matrix, identical on every machine: SplitMix64 words, Box-Muller pairs
/// filled row-major (scripts/fixtures/make_weight_spectra_reference.py draws the same numbers).
public enum GaussianMatrix {
    public static func sample(rows: Int, cols: Int, seed: UInt64) -> Matrix<Double> {
        var state = seed
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        // (k + 0.5) / 2^53: uniform in (0, 1), never 0, so the logarithm is finite.
        func uniform() -> Double { (Double(next() >> 11) + 0.5) / 9_007_199_254_740_992.0 }
        let count = rows * cols
        var values = [Double](repeating: 0, count: count)
        var i = 0
        while i < count {
            let r = (-2 * Foundation.log(uniform())).squareRoot(), theta = 2 * Double.pi * uniform()
            values[i] = r * Foundation.cos(theta)
            if i + 1 < count { values[i + 1] = r * Foundation.sin(theta) }
            i += 2
        }
        return Matrix(rows: rows, cols: cols, storage: values)
    }

    /// The seed of a tensor's Gaussian comparison: fixed per tensor name, so every variant of an
    /// experiment (and every rerun) draws the same G direction, only its scale differs.
    public static func seed(tensor: String, base: UInt64 = 20240605) -> UInt64 {
        XXH64.hash(Array(tensor.utf8)) ^ base
    }
}
