/// tanh on 16 floats at a time, for the per-element tanh of Gemma's soft-capping (attention scores,
/// final logits) and of the tanh-approximated GELU. glibc's scalar `tanhf` costs tens of ns per
/// element and these loops run it tens of millions of times per forward pass.
///
/// Accuracy: within 1 ulp of the float64 tanh rounded to float32 over every float32 input
/// (Tests/EngineTests/VectorTanhTests sweeps the bit patterns). Odd: computed on |x|, the sign put
/// back last (so -0 -> -0). NaN in -> NaN out; |x| > 9 (Inf included) -> +-1.
///
/// Branch-free: both forms are computed for all 16 lanes and the lanes choose by bit masks built
/// with integer arithmetic on the bit patterns (for |x| these order like the values), so nothing
/// depends on how SIMDMask selects compile. No fused multiply-add anywhere: the results are the
/// same on every machine and in debug and release builds.
enum VectorTanh {
    typealias Floats = SIMD16<Float>
    typealias Bits = SIMD16<Int32>

    /// tanh(a) = a + a z s(z), z = a^2, for a < 0.625: s is a least-squares fit of
    /// (tanh(a) - a) / a^3 on Chebyshev nodes of z in [0, 0.390625] (error < 0.01 ulp of the result).
    private static let s0: Float = -0.3333333134651184
    private static let s1: Float = 0.1333327442407608
    private static let s2: Float = -0.053954869508743286
    private static let s3: Float = 0.021742604672908783
    private static let s4: Float = -0.008275572210550308
    private static let s5: Float = 0.0022284567821770906

    /// exp(r) = 1 + r + r^2 e(r) for |r| <= ln2/2: e is the same kind of fit of (exp(r) - 1 - r) / r^2
    /// (relative error < 0.001 ulp).
    private static let e0: Float = 0.5
    private static let e1: Float = 0.1666666567325592
    private static let e2: Float = 0.041666269302368164
    private static let e3: Float = 0.00833342969417572
    private static let e4: Float = 0.0013946021208539605
    private static let e5: Float = 0.00019826495554298162

    private static let log2e: Float = 1.4426950408889634
    /// Cody-Waite split of ln 2: ln2Hi has 9 significant bits, so n * ln2Hi is exact for |n| < 2^15.
    private static let ln2Hi: Float = 0.693359375
    private static let ln2Lo: Float = -2.1219444005469057e-4
    /// 1.5 * 2^23: y + magic rounds y to the nearest integer, held in the low mantissa bits.
    private static let magic: Float = 12582912

    private static func bits(_ v: Floats) -> Bits { unsafeBitCast(v, to: Bits.self) }
    private static func floats(_ b: Bits) -> Floats { unsafeBitCast(b, to: Floats.self) }
    /// All ones in the lanes where lhs < rhs (both in [0, 2^31): the difference cannot overflow).
    private static func lessMask(_ lhs: Bits, _ rhs: Bits) -> Bits { (lhs &- rhs) &>> Bits(repeating: 31) }
    private static func select(_ mask: Bits, _ ifSet: Bits, _ otherwise: Bits) -> Bits {
        (mask & ifSet) | (~mask & otherwise)
    }

    static func tanh(_ x: Floats) -> Floats {
        let xBits = bits(x)
        let aBits = xBits & Bits(repeating: 0x7FFF_FFFF)
        let sign = xBits & Bits(repeating: Int32.min)
        let a = floats(aBits)

        // small |x|: odd polynomial
        let z = a * a
        var s = Floats(repeating: s5)
        s = s * z + s4
        s = s * z + s3
        s = s * z + s2
        s = s * z + s1
        s = s * z + s0
        let small = a + a * (z * s)

        // larger |x|: 1 - 2 / (exp(2a) + 1), exp by range reduction 2a = n ln2 + r, |r| <= ln2/2.
        // (Lanes with a > 9, Inf or NaN compute garbage here with wrapping integer ops; they are
        // replaced below.)
        let w = a + a
        let shifted = w * log2e + magic
        let n = shifted - magic
        let nBits = bits(shifted) &- Bits(repeating: magic.bitPattern.asInt32)
        let r = (w - n * ln2Hi) - n * ln2Lo
        var e = Floats(repeating: e5)
        e = e * r + e4
        e = e * r + e3
        e = e * r + e2
        e = e * r + e1
        e = e * r + e0
        let expR = (1 + r) + (r * r) * e
        let twoToN = floats((nBits &+ Bits(repeating: 127)) &<< Bits(repeating: 23))
        let large = 1 - 2 / (expR * twoToN + 1)

        var result = select(lessMask(aBits, Bits(repeating: Float(0.625).bitPattern.asInt32)), bits(small), bits(large))
        // tanh(a) rounds to 1 in float32 from a ~ 9.01 on; NaN's bit patterns are above Inf's
        let saturated = lessMask(Bits(repeating: Float(9).bitPattern.asInt32), aBits)
        result = select(saturated, Bits(repeating: Float(1).bitPattern.asInt32), result)
        let nan = lessMask(Bits(repeating: Float.infinity.bitPattern.asInt32), aBits)
        return floats(select(nan, xBits, result | sign))
    }

    /// p[i] = tanh(p[i]) for i in 0..<count.
    static func tanhInPlace(_ p: UnsafeMutablePointer<Float>, count: Int) {
        apply(p, count: count) { tanh($0) }
    }

    /// p[i] = cap * tanh(p[i] / cap): Gemma 2's soft-capping (transformers divides, tanhs, multiplies).
    static func softcapInPlace(_ p: UnsafeMutablePointer<Float>, count: Int, cap: Float) {
        apply(p, count: count) { cap * tanh($0 / cap) }
    }

    /// p[i] = 0.5 v (1 + tanh(sqrt(2/pi) (v + 0.044715 v^3))), v = p[i]: transformers' gelu_pytorch_tanh.
    static func geluTanhInPlace(_ p: UnsafeMutablePointer<Float>, count: Int) {
        apply(p, count: count) { (v: Floats) -> Floats in
            let inner: Floats = 0.7978845608028654 * (v + 0.044715 * v * v * v)
            return 0.5 * v * (1 + tanh(inner))
        }
    }

    /// Runs `f` over 16-float blocks; the tail goes through the same `f` in a zero-padded block, so
    /// every element gets the same arithmetic wherever it sits.
    @inline(__always)
    private static func apply(_ p: UnsafeMutablePointer<Float>, count: Int, _ f: (Floats) -> Floats) {
        let width = Floats.scalarCount
        var i = 0
        while i + width <= count {
            let raw = UnsafeMutableRawPointer(p + i)
            raw.storeBytes(of: f(raw.loadUnaligned(as: Floats.self)), as: Floats.self)
            i += width
        }
        if i < count {
            var block = Floats(repeating: 0)
            for j in 0..<(count - i) { block[j] = p[i + j] }
            block = f(block)
            for j in 0..<(count - i) { p[i + j] = block[j] }
        }
    }
}

private extension UInt32 {
    var asInt32: Int32 { Int32(bitPattern: self) }
}
