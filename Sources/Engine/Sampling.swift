import Foundation

/// Sampled decoding as transformers' generate does it with do_sample=True: logits divided by the
/// temperature, then top-k (keep the k largest), then top-p (keep the smallest set of most
/// probable tokens whose probability reaches p, at least one), then a draw from the softmax of
/// what is left. The random numbers are our own (a seeded xoshiro256**), not torch's: a sample
/// depends only on its seed, never on batch, thread count or what else is decoded beside it.
public struct SamplingSettings: Sendable, Equatable, Hashable {
    public var temperature: Double
    public var topK: Int?
    public var topP: Double?
    public init(temperature: Double = 1, topK: Int? = nil, topP: Double? = nil) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
    }

    /// The distribution a token is drawn from (float64), after temperature, top-k and top-p.
    public func probabilities(_ logits: UnsafePointer<Float>, count: Int) -> [Double] {
        var scaled = (0..<count).map { Double(logits[$0]) / temperature }
        if let k = topK, k > 0, k < count {
            // transformers keeps every token whose logit is >= the k-th largest (ties kept)
            let threshold = scaled.sorted(by: >)[k - 1]
            for i in 0..<count where scaled[i] < threshold { scaled[i] = -.infinity }
        }
        let m = scaled.max() ?? 0
        var p = scaled.map { $0 == -.infinity ? 0 : Foundation.exp($0 - m) }
        var sum = p.reduce(0, +)
        for i in 0..<count { p[i] /= sum }
        if let topP, topP < 1 {
            // transformers: sort ascending, drop the tokens whose cumulative probability is
            // <= 1 - top_p, always keeping the most probable one
            let order = (0..<count).sorted { p[$0] < p[$1] || (p[$0] == p[$1] && $0 > $1) }
            var cumulative = 0.0
            for (rank, i) in order.enumerated() {
                cumulative += p[i]
                if cumulative <= 1 - topP && rank < count - 1 { p[i] = 0 }
            }
            sum = p.reduce(0, +)
            for i in 0..<count { p[i] /= sum }
        }
        return p
    }
}

/// xoshiro256** seeded through splitmix64: small, fast, and the same stream on every platform.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = (s.3 << 45) | (s.3 >> 19)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}

/// One sequence's sampler: its settings and its own random stream.
public struct TokenSampler: Sendable {
    public let settings: SamplingSettings
    private var rng: SeededGenerator

    public init(settings: SamplingSettings, seed: UInt64) {
        self.settings = settings
        rng = SeededGenerator(seed: seed)
    }

    /// Draws a token: the first index whose cumulative probability exceeds a uniform number.
    public mutating func choose(_ logits: UnsafePointer<Float>, count: Int) -> Int {
        let p = settings.probabilities(logits, count: count)
        let u = rng.unit()
        var cumulative = 0.0, last = 0
        for i in 0..<count where p[i] > 0 {
            cumulative += p[i]
            last = i
            if u < cumulative { return i }
        }
        return last  // rounding left u above the total
    }
}

/// Entropy (nats) of softmax(logits): the model's own next-token distribution, temperature 1.
public enum NextTokenEntropy {
    public static func nats(_ logits: UnsafePointer<Float>, count: Int) -> Double {
        var m = logits[0]
        for i in 1..<count where logits[i] > m { m = logits[i] }
        var z = 0.0, weighted = 0.0
        for i in 0..<count {
            let d = Double(logits[i]) - Double(m)
            let e = Foundation.exp(d)
            z += e
            weighted += e * d
        }
        // H = log Z - sum p_i d_i, with d_i = logit_i - max
        return Foundation.log(z) - weighted / z
    }
}
