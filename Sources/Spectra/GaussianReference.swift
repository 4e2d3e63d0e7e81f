import Foundation

/// The rank-at-variance of an i.i.d. Gaussian matrix of a given shape: the "no structure"
/// reference line of the spectral report.
///
/// Computed from the Marchenko-Pastur law (the large-matrix limit of the squared singular
/// values of a Gaussian matrix) rather than by sampling: deterministic, free for any shape,
/// and within about a percent of a sampled matrix already at a few hundred rows. For a
/// square matrix and 90% it gives 0.51 n, the figure quoted by Biderman et al.
public enum GaussianReference {
    public static func rankAtVariance(rows: Int, cols: Int, variance: Double) -> Int {
        let small = min(rows, cols), large = max(rows, cols)
        guard small > 0 else { return 0 }
        if small == 1 { return 1 }
        let fraction = fractionAtVariance(aspect: Double(small) / Double(large), variance: variance)
        return min(small, max(1, Int((fraction * Double(small)).rounded(.up))))
    }

    /// Fraction of the min(m, n) singular values, largest first, that carries `variance` of
    /// the energy, for aspect ratio beta = min / max.
    static func fractionAtVariance(aspect beta: Double, variance: Double) -> Double {
        // Eigenvalues x of the normalised Wishart matrix lie in [a, b] with density
        // sqrt((b - x)(x - a)) / (2 pi beta x). With x = a + (b - a)(1 - cos t)/2 the square
        // root becomes (b - a)/2 sin t, so both integrands are smooth in t on [0, pi].
        let a = (1 - beta.squareRoot()) * (1 - beta.squareRoot())
        let b = (1 + beta.squareRoot()) * (1 + beta.squareRoot())
        let half = (b - a) / 2
        let steps = 20_000
        let dt = Double.pi / Double(steps)
        var count = [Double](repeating: 0, count: steps + 1) // cumulative from the top (t = pi)
        var energy = [Double](repeating: 0, count: steps + 1)
        // Integrate from the largest eigenvalue (t = pi) downwards with the midpoint rule.
        for k in stride(from: steps - 1, through: 0, by: -1) {
            let t = (Double(k) + 0.5) * dt
            let x = a + half * (1 - cos(t))
            let density = half * half * sin(t) * sin(t) / (2 * Double.pi * beta * x)
            count[k] = count[k + 1] + density * dt
            energy[k] = energy[k + 1] + x * density * dt
        }
        let totalEnergy = energy[0], totalCount = count[0]
        for k in stride(from: steps, through: 0, by: -1) where energy[k] >= variance * totalEnergy {
            return count[k] / totalCount
        }
        return 1
    }
}
