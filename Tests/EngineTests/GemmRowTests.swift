import XCTest
@testable import Engine

/// What batch independence can rest on. OpenBLAS 0.3.21's sgemm on Zen is NOT bitwise
/// row-independent: a row's result depends on its lane within the call's N blocking (measured:
/// rows at offsets 0..3 match a 1-row call, later offsets differ by an ulp or so). The engine
/// keeps everything else per row / per sequence, so batch composition moves log-probs by float32
/// rounding only; this test bounds the GEMM part.
final class GemmRowTests: XCTestCase {
    func testLinearRowsDoNotDependOnRowCount() {
        let inF = 256, outF = 384
        let w = FloatBuffer(count: outF * inF, zeroed: false)
        for i in 0..<w.count { w[i] = Float(sin(Double(i) * 0.37)) * 0.05 }
        let linear = Linear(inFeatures: inF, outFeatures: outF, weight: WeightMatrix(rows: outF, cols: inF, float: w), storedTransposed: false, bias: nil, lora: [])
        let maxRows = 300
        let x = FloatBuffer(count: maxRows * inF, zeroed: false)
        for i in 0..<x.count { x[i] = Float(cos(Double(i) * 0.11)) }
        let reference = FloatBuffer(count: outF)
        linear.apply(x.pointer, ldx: inF, rows: 1, into: reference.pointer, ldy: outF)
        var worst: Float = 0
        var differing: [Int] = []
        for rows in [1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 64, 100, 255, 300] {
            let y = FloatBuffer(count: rows * outF)
            linear.apply(x.pointer, ldx: inF, rows: rows, into: y.pointer, ldy: outF)
            var d: Float = 0
            for c in 0..<outF { d = max(d, abs(y[c] - reference[c])) }
            if d > 0 { differing.append(rows) }
            worst = max(worst, d)
        }
        print("GEMM row 0 vs row count: max |diff| \(worst), differs at rows \(differing)")
        XCTAssertLessThan(worst, 1e-5)
    }
}
