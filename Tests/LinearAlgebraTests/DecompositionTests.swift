import LinearAlgebra
import TestSupport
import XCTest

final class DecompositionTests: XCTestCase {
    /// A random orthonormal m x k basis (QR of a Gaussian matrix).
    static func orthonormal(_ m: Int, _ k: Int, _ rng: inout SeededRandom) throws -> Matrix<Double> {
        var g = Matrix<Double>(zeros: m, k)
        for i in g.storage.indices { g.storage[i] = rng.gaussian() }
        return try QR.thin(g).q
    }

    /// U diag(s) V^T with known singular values.
    static func withSpectrum(_ s: [Double], rows: Int, cols: Int, seed: UInt64) throws -> Matrix<Double> {
        var rng = SeededRandom(seed: seed)
        let u = try orthonormal(rows, s.count, &rng), v = try orthonormal(cols, s.count, &rng)
        var us = u
        for i in 0..<rows { for j in 0..<s.count { us[i, j] *= s[j] } }
        return BLAS.multiply(us, v, transB: true)
    }

    func testQRReconstructsAndIsOrthonormal() throws {
        var rng = SeededRandom(seed: 1)
        var a = Matrix<Double>(zeros: 40, 7)
        for i in a.storage.indices { a.storage[i] = rng.gaussian() }
        let (q, r) = try QR.thin(a)
        let qtq = BLAS.multiply(q, q, transA: true)
        for i in 0..<7 { for j in 0..<7 { XCTAssertEqual(qtq[i, j], i == j ? 1 : 0, accuracy: 1e-12) } }
        let back = BLAS.multiply(q, r)
        for i in a.storage.indices { XCTAssertEqual(back.storage[i], a.storage[i], accuracy: 1e-12) }
        for i in 0..<7 { for j in 0..<i { XCTAssertEqual(r[i, j], 0) } }
    }

    func testThinSVDReconstructs() throws {
        let s = [5.0, 3, 2, 1, 0.5]
        for (rows, cols) in [(30, 12), (12, 30)] {
            let a = try Self.withSpectrum(s, rows: rows, cols: cols, seed: 7)
            let svd = try SVD.thin(a)
            XCTAssertEqual(svd.u.rows, rows)
            XCTAssertEqual(svd.v.rows, cols)
            for (i, value) in s.enumerated() { XCTAssertEqual(svd.s[i], value, accuracy: 1e-12) }
            var us = svd.u
            for i in 0..<rows { for j in 0..<svd.s.count { us[i, j] *= svd.s[j] } }
            let back = BLAS.multiply(us, svd.v, transB: true)
            for i in a.storage.indices { XCTAssertEqual(back.storage[i], a.storage[i], accuracy: 1e-12) }
        }
    }

    /// The Gram route must recover a spectrum spanning six decades to the accuracy the
    /// spectra command promises (relative 1e-4 for sigma >= 1e-3 sigma_1; it does far better).
    func testGramSingularValuesMatchKnownSpectrum() throws {
        let k = 60
        let s = (0..<k).map { 10 * pow(10, -6 * Double($0) / Double(k - 1)) }
        for (rows, cols) in [(200, 80), (80, 200), (90, 90)] {
            let a = try Self.withSpectrum(s, rows: rows, cols: cols, seed: 11)
            let tall = rows >= cols ? a : a.transposed
            var gram = GramAccumulator(columns: tall.cols)
            // Feed in uneven blocks to exercise accumulation.
            var start = 0
            for block in [1, 17, 50, 1000] where start < tall.rows {
                let count = min(block, tall.rows - start)
                tall.storage.withUnsafeBufferPointer { p in
                    gram.add(rows: UnsafeBufferPointer(rebasing: p[(start * tall.cols)..<((start + count) * tall.cols)]), count: count)
                }
                start += count
            }
            XCTAssertEqual(gram.rowsSeen, tall.rows)
            let got = try gram.singularValues()
            XCTAssertEqual(got.count, min(rows, cols))
            for (i, expected) in s.enumerated() where expected >= 1e-3 * s[0] {
                XCTAssertEqual(got[i], expected, accuracy: expected * 1e-9, "sigma_\(i) for \(rows)x\(cols)")
            }
            for value in got[k...] { XCTAssertLessThan(value, 1e-6 * s[0]) }
            XCTAssertEqual(gram.trace, s.reduce(0) { $0 + $1 * $1 }, accuracy: 1e-9)
        }
    }

    func testSgesddValuesMatchKnownSpectrum() throws {
        let s = [4.0, 2, 1, 0.25, 0.01]
        let a = try Self.withSpectrum(s, rows: 50, cols: 20, seed: 3)
        var single = a.storage.map { Float($0) }
        let got = try SVD.singularValues(float: &single, rows: 50, cols: 20)
        for (i, expected) in s.enumerated() { XCTAssertEqual(Double(got[i]), expected, accuracy: expected * 1e-4 + 1e-6) }
    }

    func testSymmetricEigenvaluesOfDiagonal() throws {
        let n = 5
        var m = [Double](repeating: 0, count: n * n)
        for i in 0..<n { m[i * n + i] = Double(n - i) }
        XCTAssertEqual(try SymmetricEigen.eigenvalues(upperColumnMajor: m, n: n), [1, 2, 3, 4, 5])
    }
}
