import Foundation

/// CPython's random.Random (MT19937, seeded with an int as init_by_array does), exactly enough of it
/// to reproduce `Random(seed).sample(population, k)`: lm-eval's default few-shot sampler.
public struct PythonRandom {
    private var mt = [UInt32](repeating: 0, count: 624)
    private var index = 624

    public init(seed: Int) {
        // init_genrand(19650218) then init_by_array(key = 32-bit chunks of |seed|)
        var key: [UInt32] = []
        var s = UInt64(seed.magnitude)
        repeat { key.append(UInt32(truncatingIfNeeded: s)); s >>= 32 } while s > 0
        mt[0] = 19650218
        for i in 1..<624 { mt[i] = 1812433253 &* (mt[i - 1] ^ (mt[i - 1] >> 30)) &+ UInt32(i) }
        var i = 1, j = 0
        for _ in 0..<max(624, key.count) {
            mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) &* 1664525)) &+ key[j] &+ UInt32(j)
            i += 1; j += 1
            if i >= 624 { mt[0] = mt[623]; i = 1 }
            if j >= key.count { j = 0 }
        }
        for _ in 0..<623 {
            mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) &* 1566083941)) &- UInt32(i)
            i += 1
            if i >= 624 { mt[0] = mt[623]; i = 1 }
        }
        mt[0] = 0x80000000
    }

    mutating func next32() -> UInt32 {
        if index >= 624 {
            for k in 0..<624 {
                let y = (mt[k] & 0x80000000) | (mt[(k + 1) % 624] & 0x7fffffff)
                mt[k] = mt[(k + 397) % 624] ^ (y >> 1) ^ ((y & 1) != 0 ? 0x9908b0df : 0)
            }
            index = 0
        }
        var y = mt[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9d2c5680
        y ^= (y << 15) & 0xefc60000
        y ^= y >> 18
        return y
    }

    /// getrandbits(k) for 0 < k <= 32.
    mutating func bits(_ k: Int) -> Int { Int(next32() >> UInt32(32 - k)) }

    /// _randbelow_with_getrandbits(n)
    public mutating func below(_ n: Int) -> Int {
        precondition(n > 0 && n < (1 << 32))
        let k = Int.bitWidth - n.leadingZeroBitCount
        var r = bits(k)
        while r >= n { r = bits(k) }
        return r
    }

    /// random.sample(population, k): indices of the chosen elements, in order.
    public mutating func sample(count n: Int, k: Int) -> [Int] {
        precondition(k <= n)
        var setsize = 21
        if k > 5 {
            var p = 1, e = 0
            let target = Double(k * 3)
            // 4 ** ceil(log(k * 3, 4))
            let c = Int((log4(target)).rounded(.up))
            while e < c { p *= 4; e += 1 }
            setsize += p
        }
        var result: [Int] = []
        if n <= setsize {
            var pool = Array(0..<n)
            for i in 0..<k {
                let j = below(n - i)
                result.append(pool[j])
                pool[j] = pool[n - i - 1]
            }
        } else {
            var selected = Set<Int>()
            for _ in 0..<k {
                var j = below(n)
                while selected.contains(j) { j = below(n) }
                selected.insert(j)
                result.append(j)
            }
        }
        return result
    }

    /// Python's math.log(x, 4).
    private func log4(_ x: Double) -> Double { Foundation.log(x) / Foundation.log(4.0) }
}


/// lm-eval's few-shot samplers over a pool of documents.
public struct FewShotSampler {
    public enum Kind: String, Sendable { case random = "default", firstN = "first_n" }
    let kind: Kind
    let pool: [JSONObject]
    /// The pool is the evaluated split itself: draw k+1 and drop the evaluated document (lm-eval's rm_eval_doc).
    let excludeEvalDoc: Bool
    var rng: PythonRandom

    /// lm-eval's fewshot_random_seed default.
    public static let defaultSeed = 1234

    public init(kind: Kind, pool: [JSONObject], excludeEvalDoc: Bool, seed: Int = FewShotSampler.defaultSeed) {
        self.kind = kind
        self.pool = pool
        self.excludeEvalDoc = excludeEvalDoc
        rng = PythonRandom(seed: seed)
    }

    public mutating func sample(_ k: Int, evalDoc: JSONObject) throws -> [JSONObject] {
        guard k > 0 else { return [] }
        switch kind {
        case .firstN:
            guard pool.count >= k else { throw EvaluationError("few-shot pool has \(pool.count) documents, \(k) requested") }
            return Array(pool.prefix(k))
        case .random:
            let need = excludeEvalDoc ? k + 1 : k
            guard pool.count >= need else { throw EvaluationError("few-shot pool has \(pool.count) documents, \(need) needed") }
            var picked = rng.sample(count: pool.count, k: need).map { pool[$0] }
            if excludeEvalDoc {
                picked = Array(picked.filter { $0 != evalDoc }.prefix(k))
                if picked.count < k {
                    let rest = pool.filter { $0 != evalDoc }
                    picked = rng.sample(count: rest.count, k: k).map { rest[$0] }
                }
            }
            return picked
        }
    }
}
