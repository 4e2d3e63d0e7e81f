import Foundation
import XCTest
@testable import Engine

/// The vectorised tanh behind Gemma's soft-capping and GELU-tanh, against the float64 tanh
/// rounded to float32 (the correctly rounded float32 result up to double rounding).
final class VectorTanhTests: XCTestCase {
    /// Distance in float32 steps: bit patterns mapped to integers that order like the values.
    private func ulpDistance(_ a: Float, _ b: Float) -> Int64 {
        func ordered(_ x: Float) -> Int64 {
            let i = Int64(Int32(bitPattern: x.bitPattern))
            return i < 0 ? -(i & 0x7FFF_FFFF) : i
        }
        return abs(ordered(a) - ordered(b))
    }

    private func reference(_ x: Float) -> Float { Float(Foundation.tanh(Double(x))) }

    private func vectorTanh(_ xs: [Float]) -> [Float] {
        var out = xs
        out.withUnsafeMutableBufferPointer { VectorTanh.tanhInPlace($0.baseAddress!, count: $0.count) }
        return out
    }

    private let edgeCases: [Float] = [
        0, -Float(0), .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude, Float.leastNormalMagnitude.nextDown,
        1e-30, 1e-10, 1e-4, -1e-4, 0.5, -0.5, 0.625, -0.625, Float(0.625).nextDown, Float(0.625).nextUp,
        1, 2, 4.5, 8.99, 9, -9, Float(9).nextUp, Float(9).nextDown, 9.02, 10, -10, 88, 88.8, 89, -89, 1e30,
        .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .infinity, -.infinity,
    ]

    /// Every 997th float32 bit pattern (both signs, subnormals, NaNs, Infs among them) plus edge cases.
    func testWithinTwoUlpOfFloat64OverADenseSweep() {
        var inputs: [Float] = []
        inputs.reserveCapacity(4_310_000)
        var pattern: UInt64 = 0
        while pattern <= UInt64(UInt32.max) { inputs.append(Float(bitPattern: UInt32(pattern))); pattern += 997 }
        inputs += edgeCases
        let got = vectorTanh(inputs)
        var worst: Int64 = 0, worstAt: Float = 0, nans = 0, checked = 0
        for (x, y) in zip(inputs, got) {
            if x.isNaN {
                XCTAssertTrue(y.isNaN, "tanh(NaN) = \(y)")
                nans += 1
                continue
            }
            let d = ulpDistance(y, reference(x))
            if d > worst { worst = d; worstAt = x }
            checked += 1
        }
        print("vector tanh: \(checked) inputs, max error \(worst) ulp at \(worstAt); \(nans) NaN inputs")
        XCTAssertLessThanOrEqual(worst, 2, "max error \(worst) ulp at x = \(worstAt)")
        XCTAssertGreaterThan(nans, 1000)
    }

    /// Every float32 in the two range boundaries' neighbourhoods (the polynomial / exp switch at
    /// 0.625, saturation at 9) and a dense walk over [0, 10].
    func testBoundariesAndDenseRange() {
        var inputs: [Float] = []
        for centre in [Float(0.625), 9] {
            var x = centre
            for _ in 0..<4096 { x = x.nextDown }
            for _ in 0..<8192 { inputs.append(x); inputs.append(-x); x = x.nextUp }
        }
        var bits: UInt32 = 0
        while bits < Float(10).bitPattern { inputs.append(Float(bitPattern: bits)); bits += 211 }
        let got = vectorTanh(inputs)
        var worst: Int64 = 0, worstAt: Float = 0
        for (x, y) in zip(inputs, got) {
            let d = ulpDistance(y, reference(x))
            if d > worst { worst = d; worstAt = x }
        }
        XCTAssertLessThanOrEqual(worst, 2, "max error \(worst) ulp at x = \(worstAt)")
    }

    func testSpecialValues() {
        let got = vectorTanh([0, -Float(0), .infinity, -.infinity, .nan, -.nan, 100, -100, 1e-40])
        XCTAssertEqual(got[0], 0)
        XCTAssertEqual(got[0].sign, .plus)
        XCTAssertEqual(got[1], 0)
        XCTAssertEqual(got[1].sign, .minus, "tanh(-0) keeps the sign")
        XCTAssertEqual(got[2], 1)
        XCTAssertEqual(got[3], -1)
        XCTAssertTrue(got[4].isNaN)
        XCTAssertTrue(got[5].isNaN)
        XCTAssertEqual(got[6], 1)
        XCTAssertEqual(got[7], -1)
        XCTAssertEqual(got[8], 1e-40, "subnormals: tanh(x) = x")
    }

    /// Soft-cap and GELU-tanh over buffers whose lengths are not multiples of the vector width:
    /// every element (the tail included) matches the float64 formula, and nothing past `count` is touched.
    func testSoftcapAndGeluTanhAgainstFloat64() {
        for count in [1, 5, 15, 16, 17, 33, 250] {
            let xs: [Float] = (0..<count).map { Float(sin(Double($0) * 1.7) * 120) }
            var buffer = xs + [12345]
            buffer.withUnsafeMutableBufferPointer { VectorTanh.softcapInPlace($0.baseAddress!, count: count, cap: 50) }
            XCTAssertEqual(buffer[count], 12345, "wrote past count \(count)")
            for (x, y) in zip(xs, buffer) {
                let expected = 50 * Foundation.tanh(Double(x) / 50)
                XCTAssertEqual(Double(y), expected, accuracy: 4e-6 * Swift.max(1, abs(expected)), "softcap(\(x))")
            }
            var gelu = xs.map { $0 / 20 } + [12345]
            gelu.withUnsafeMutableBufferPointer { VectorTanh.geluTanhInPlace($0.baseAddress!, count: count) }
            XCTAssertEqual(gelu[count], 12345, "wrote past count \(count)")
            for (x, y) in zip(xs.map { Double($0 / 20) }, gelu) {
                let expected = 0.5 * x * (1 + Foundation.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))
                XCTAssertEqual(Double(y), expected, accuracy: 2e-6 * Swift.max(1, abs(expected)), "gelu_tanh(\(x))")
            }
        }
    }
}
