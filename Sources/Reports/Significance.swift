import Foundation

/// Paired tests of a variant against the base on the same items.
public enum McNemar {
    /// Exact (binomial) two-sided McNemar test on the discordant pairs: b = items the base got
    /// right and the variant wrong, c = the reverse. Under H0 b ~ Binomial(b + c, 1/2). Computed as
    /// scipy.stats.binomtest(b, b + c, 0.5, alternative="two-sided").pvalue: the sum of the
    /// probabilities of all outcomes no more likely than the observed one (with scipy's 1 + 1e-7
    /// relative tolerance), capped at 1. No discordant pairs: p = 1.
    public static func exactPValue(b: Int, c: Int) -> Double {
        let n = b + c
        guard n > 0 else { return 1 }
        let logPMF = { (k: Int) -> Double in
            lgamma(Double(n + 1)) - lgamma(Double(k + 1)) - lgamma(Double(n - k + 1)) - Double(n) * log(2.0)
        }
        let observed = logPMF(b)
        let threshold = observed + log1p(1e-7)
        // Sum in increasing order of magnitude from both tails for accuracy.
        var total = 0.0
        for k in 0...n where logPMF(k) <= threshold { total += exp(logPMF(k)) }
        return min(1, total)
    }

    /// Counts the discordant pairs of two 0/1 vectors over the same items.
    public static func discordant(base: [Double], variant: [Double]) -> (b: Int, c: Int) {
        var b = 0, c = 0
        for (x, y) in zip(base, variant) {
            if x > 0.5 && y < 0.5 { b += 1 } else if x < 0.5 && y > 0.5 { c += 1 }
        }
        return (b, c)
    }
}

/// SplitMix64: a small seeded generator so bootstrap results are identical on every machine.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in 0..<n without modulo bias (Lemire).
    public mutating func below(_ n: Int) -> Int {
        let bound = UInt64(n)
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let t = (0 &- bound) % bound
            while m.low < t { m = next().multipliedFullWidth(by: bound) }
        }
        return Int(m.high)
    }
}

public struct BootstrapResult: Codable, Sendable, Equatable {
    /// Observed difference (variant - base) of the mean of per-group means.
    public var difference: Double
    /// Bootstrap standard error and 95% percentile interval of the difference.
    public var stderr: Double
    public var low: Double
    public var high: Double
    /// Two-sided: 2 * min(share of resamples <= 0, share >= 0), with the +1 correction, capped at 1.
    public var pValue: Double
    public var resamples: Int
    public var seed: UInt64
}

/// Paired bootstrap of the difference of a mean of per-group (per-probe) means: items are
/// resampled with replacement within each group, the base and variant scores of an item
/// staying together, so item difficulty cancels out.
public enum PairedBootstrap {
    public static func meanDifference(groups: [(base: [Double], variant: [Double])],
                                      resamples: Int = 10_000, seed: UInt64 = 20240605) -> BootstrapResult? {
        let diffs = groups.map { g in zip(g.variant, g.base).map { $0 - $1 } }
        guard !diffs.isEmpty, diffs.allSatisfy({ !$0.isEmpty }), resamples > 0 else { return nil }
        let k = Double(diffs.count)
        let observed = diffs.reduce(0) { $0 + $1.reduce(0, +) / Double($1.count) } / k
        var rng = SplitMix64(seed: seed)
        var stats = [Double](repeating: 0, count: resamples)
        for r in 0..<resamples {
            var total = 0.0
            for d in diffs {
                var s = 0.0
                for _ in 0..<d.count { s += d[rng.below(d.count)] }
                total += s / Double(d.count)
            }
            stats[r] = total / k
        }
        let mean = stats.reduce(0, +) / Double(resamples)
        let variance = stats.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(1, resamples - 1))
        let sorted = stats.sorted()
        func quantile(_ q: Double) -> Double {
            let pos = q * Double(resamples - 1)
            let lo = Int(pos.rounded(.down)), hi = min(resamples - 1, lo + 1)
            return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - Double(lo))
        }
        let atMost = stats.filter { $0 <= 0 }.count, atLeast = stats.filter { $0 >= 0 }.count
        let p = min(1, 2 * Double(min(atMost, atLeast) + 1) / Double(resamples + 1))
        return BootstrapResult(difference: observed, stderr: variance.squareRoot(), low: quantile(0.025),
                               high: quantile(0.975), pValue: p, resamples: resamples, seed: seed)
    }
}
