import Foundation

/// Spearman's rank correlation with a bootstrap interval over the paired observations.
public enum Spearman {
    /// Average ranks (1-based; ties share the mean of their positions), as scipy.stats.rankdata.
    public static func ranks(_ x: [Double]) -> [Double] {
        let order = x.indices.sorted { x[$0] < x[$1] }
        var out = [Double](repeating: 0, count: x.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && x[order[j + 1]] == x[order[i]] { j += 1 }
            let rank = Double(i + j) / 2 + 1
            for k in i...j { out[order[k]] = rank }
            i = j + 1
        }
        return out
    }

    /// Pearson correlation of the average ranks (scipy.stats.spearmanr); nil with fewer than
    /// two points or when either variable is constant (rho undefined).
    public static func rho(_ x: [Double], _ y: [Double]) -> Double? {
        guard x.count == y.count, x.count >= 2 else { return nil }
        let rx = ranks(x), ry = ranks(y)
        let n = Double(x.count)
        let mx = rx.reduce(0, +) / n, my = ry.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (a, b) in zip(rx, ry) { sxy += (a - mx) * (b - my); sxx += (a - mx) * (a - mx); syy += (b - my) * (b - my) }
        guard sxx > 0, syy > 0 else { return nil }
        return sxy / (sxx * syy).squareRoot()
    }

    public struct Interval: Codable, Sendable, Equatable {
        public var rho: Double
        /// 95% percentile interval over resamples where rho is defined.
        public var low: Double
        public var high: Double
        public var resamples: Int
        /// Resamples in which one variable was constant (left out of the interval).
        public var undefined: Int
        public var seed: UInt64
    }

    /// rho and a percentile bootstrap interval, resampling the (x, y) pairs with replacement
    /// (SplitMix64, seeded: identical on every machine).
    public static func bootstrap(_ x: [Double], _ y: [Double], resamples: Int = 2000, seed: UInt64 = 20240605) -> Interval? {
        guard let observed = rho(x, y), resamples > 0 else { return nil }
        var rng = SplitMix64(seed: seed)
        var stats: [Double] = []
        stats.reserveCapacity(resamples)
        var bx = x, by = y
        for _ in 0..<resamples {
            for i in x.indices { let j = rng.below(x.count); bx[i] = x[j]; by[i] = y[j] }
            if let r = rho(bx, by) { stats.append(r) }
        }
        guard !stats.isEmpty else { return nil }
        stats.sort()
        func quantile(_ q: Double) -> Double {
            let pos = q * Double(stats.count - 1)
            let lo = Int(pos.rounded(.down)), hi = min(stats.count - 1, lo + 1)
            return stats[lo] + (stats[hi] - stats[lo]) * (pos - Double(lo))
        }
        return Interval(rho: observed, low: quantile(0.025), high: quantile(0.975), resamples: resamples,
                        undefined: resamples - stats.count, seed: seed)
    }
}
