/// The scalar summaries of one perturbation's singular values (DESIGN.md, "Spectral metrics").
public struct SpectralMetrics: Sendable, Equatable {
    public var rank: Int
    public var rankAtVariance: Int
    public var stableRank: Double
    public var effectiveRank: Double
    public var frobeniusNorm: Double
    public var spectralNorm: Double

    /// Numerical rank uses numpy's matrix_rank rule with float32's epsilon, the precision the
    /// weights live in: sigma_i > sigma_1 * max(rows, cols) * eps_f32.
    public static let rankEpsilon = Double(Float.ulpOfOne)

    /// `singularValues` must be descending. `frobeniusSquared` defaults to sum sigma^2 (callers
    /// that know only the top values of a low-rank perturbation pass the exact total).
    public init(singularValues s: [Double], rows: Int, cols: Int, variance: Double) {
        let total = s.reduce(0) { $0 + $1 * $1 }
        spectralNorm = s.first ?? 0
        frobeniusNorm = total.squareRoot()
        let tolerance = spectralNorm * Double(max(rows, cols)) * Self.rankEpsilon
        rank = spectralNorm > 0 ? s.filter { $0 > tolerance }.count : 0
        rankAtVariance = Self.rank(atVariance: variance, singularValues: s)
        stableRank = spectralNorm > 0 ? total / (spectralNorm * spectralNorm) : 0
        let sum = s.reduce(0, +)
        if sum > 0 {
            var entropy = 0.0
            for sigma in s where sigma > 0 {
                let p = sigma / sum
                entropy -= p * Foundation.log(p)
            }
            effectiveRank = Foundation.exp(entropy)
        } else {
            effectiveRank = 0
        }
    }

    /// min k with sum_{i<=k} sigma_i^2 >= fraction * sum sigma^2 (0 for a zero matrix).
    public static func rank(atVariance fraction: Double, singularValues s: [Double]) -> Int {
        let total = s.reduce(0) { $0 + $1 * $1 }
        guard total > 0 else { return 0 }
        var running = 0.0
        for (i, sigma) in s.enumerated() {
            running += sigma * sigma
            // A relative slack of a few ulps keeps exact ties (e.g. a flat spectrum) from
            // flipping on the last bit of the running sum.
            if running >= fraction * total * (1 - 1e-12) { return i + 1 }
        }
        return s.count
    }
}

import Foundation
