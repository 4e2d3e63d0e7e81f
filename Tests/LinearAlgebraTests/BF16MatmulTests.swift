import XCTest
@testable import LinearAlgebra

/// oneDNN's bf16 matmul against a float64 product of the same bf16-rounded inputs: with exact
/// bf16 products, the only differences are float32 accumulation order and rounding.
final class BF16MatmulTests: XCTestCase {
    private func randomFloats(_ n: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<n).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2_000_001) / 1_000_000 - 0.5
        }
    }

    func testRoundingIsNearestEven() {
        XCTAssertEqual(BFloat16.round(1.0), 0x3F80)
        // 1 + 2^-8 is exactly halfway between bf16 1.0 and 1 + 2^-7: ties go to even (1.0)
        XCTAssertEqual(BFloat16.round(1 + 1 / 256), 0x3F80)
        XCTAssertEqual(BFloat16.round(1 + 3 / 256), 0x3F82)
        XCTAssertEqual(BFloat16.round(-2.5), 0xC020)
        XCTAssertTrue(BFloat16.float(BFloat16.round(.nan)).isNaN)
        XCTAssertEqual(BFloat16.float(BFloat16.round(.infinity)), .infinity)
    }

    func check(m: Int, n: Int, k: Int, transposed: Bool, accumulate: Bool, ldy: Int? = nil) throws {
        try XCTSkipUnless(BF16Matmul.isSupported, "no AVX512-BF16 on this CPU")
        let ld = ldy ?? n
        let x = randomFloats(m * (k + 3), seed: 1) // ldx = k + 3
        let w = randomFloats(n * k, seed: 2)
        let y0 = randomFloats(m * ld, seed: 3)
        let packed = w.withUnsafeBufferPointer { BF16Matmul.pack(float: $0.baseAddress!, n: n, k: k, transposed: transposed) }
        var y = y0
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                BF16Matmul.multiply(xp.baseAddress!, ldx: k + 3, m: m, weight: packed, into: yp.baseAddress!, ldy: ld, accumulate: accumulate)
            }
        }
        let r = { (v: Float) in Double(BFloat16.float(BFloat16.round(v))) }
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0, scale = 0.0
                for c in 0..<k {
                    // W[j, c]: stored [n, k], or [k, n] when transposed
                    let wv = r(transposed ? w[c * n + j] : w[j * k + c])
                    let p = r(x[i * (k + 3) + c]) * wv
                    s += p
                    scale += abs(p)
                }
                let expected = s + (accumulate ? Double(y0[i * ld + j]) : 0)
                // float32 accumulation: error at most about k * 2^-24 * sum |products|
                let bound = Double(k) * 0x1p-24 * scale + 1e-6
                worst = max(worst, abs(Double(y[i * ld + j]) - expected) / bound)
            }
            if ld > n { for j in n..<ld { XCTAssertEqual(y[i * ld + j], y0[i * ld + j], "padding beyond n untouched") } }
        }
        XCTAssertLessThanOrEqual(worst, 1, "m=\(m) n=\(n) k=\(k)")
        // and it is not float32 arithmetic on unrounded inputs: the float64 product of the raw
        // inputs differs by far more than the bound for some element
        var rawDiff = 0.0
        for j in 0..<n {
            var s = 0.0
            for c in 0..<k { s += Double(x[c]) * Double(transposed ? w[c * n + j] : w[j * k + c]) }
            rawDiff = max(rawDiff, abs(s + (accumulate ? Double(y0[j]) : 0) - Double(y[j])))
        }
        XCTAssertGreaterThan(rawDiff, 1e-4)
    }

    func testMatchesFloat64OfRoundedInputs() throws {
        try check(m: 37, n: 96, k: 160, transposed: false, accumulate: false)
        try check(m: 1, n: 64, k: 200, transposed: false, accumulate: false)
        try check(m: 130, n: 33, k: 64, transposed: false, accumulate: false)
    }

    func testTransposedStorageAccumulateAndLeadingDimension() throws {
        try check(m: 9, n: 48, k: 80, transposed: true, accumulate: false)
        try check(m: 17, n: 40, k: 72, transposed: false, accumulate: true, ldy: 55)
    }

    func testPackedBF16BitsMatchPackedFloats() throws {
        try XCTSkipUnless(BF16Matmul.isSupported, "no AVX512-BF16 on this CPU")
        let n = 24, k = 40, m = 5
        let w = randomFloats(n * k, seed: 7), x = randomFloats(m * k, seed: 8)
        let bits = w.map(BFloat16.round)
        let a = w.withUnsafeBufferPointer { BF16Matmul.pack(float: $0.baseAddress!, n: n, k: k, transposed: false) }
        let b = bits.withUnsafeBufferPointer { BF16Matmul.pack(bf16: $0.baseAddress!, n: n, k: k, transposed: false) }
        var ya = [Float](repeating: 0, count: m * n), yb = ya
        x.withUnsafeBufferPointer { xp in
            ya.withUnsafeMutableBufferPointer { BF16Matmul.multiply(xp.baseAddress!, ldx: k, m: m, weight: a, into: $0.baseAddress!, ldy: n, accumulate: false) }
            yb.withUnsafeMutableBufferPointer { BF16Matmul.multiply(xp.baseAddress!, ldx: k, m: m, weight: b, into: $0.baseAddress!, ldy: n, accumulate: false) }
        }
        XCTAssertEqual(ya, yb)
    }

    /// Scoring threads share primitives and run different ones at once: results must equal
    /// the same products run one at a time (each call has its own scratchpad).
    func testConcurrentCallsGiveTheSequentialResults() throws {
        try XCTSkipUnless(BF16Matmul.isSupported, "no AVX512-BF16 on this CPU")
        let shapes = [(m: 33, n: 64, k: 96), (m: 70, n: 48, k: 128), (m: 5, n: 80, k: 64), (m: 33, n: 64, k: 96)]
        let inputs = shapes.enumerated().map { i, s in
            (x: randomFloats(s.m * s.k, seed: UInt64(10 + i)),
             w: randomFloats(s.n * s.k, seed: UInt64(20 + i)).withUnsafeBufferPointer { BF16Matmul.pack(float: $0.baseAddress!, n: s.n, k: s.k, transposed: false) })
        }
        @Sendable func run(_ i: Int) -> [Float] {
            let s = shapes[i]
            var y = [Float](repeating: 0, count: s.m * s.n)
            inputs[i].x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer {
                    BF16Matmul.multiply(xp.baseAddress!, ldx: s.k, m: s.m, weight: inputs[i].w, into: $0.baseAddress!, ldy: s.n, accumulate: false)
                }
            }
            return y
        }
        let sequential = (0..<shapes.count).map(run)
        final class Results: @unchecked Sendable {
            let lock = NSLock()
            var values: [[Float]]
            init(_ n: Int) { values = Array(repeating: [], count: n) }
        }
        let results = Results(shapes.count * 8)
        let count = shapes.count
        DispatchQueue.concurrentPerform(iterations: count * 8) { j in
            let y = run(j % count)
            results.lock.lock(); results.values[j] = y; results.lock.unlock()
        }
        for (j, y) in results.values.enumerated() { XCTAssertEqual(y, sequential[j % shapes.count], "call \(j)") }
    }
}
