import Checkpoints
import Foundation
import LinearAlgebra
@testable import Spectra
import TestSupport
import XCTest

final class MetricTests: XCTestCase {
    func testMetricsOfKnownSpectrum() {
        let s = [3.0, 2, 1, 0]
        let m = SpectralMetrics(singularValues: s, rows: 4, cols: 4, variance: 0.9)
        XCTAssertEqual(m.rank, 3)
        // energy 9, 4, 1: cumulative 9/14 = 0.64, 13/14 = 0.93 -> rank90 = 2
        XCTAssertEqual(m.rankAtVariance, 2)
        XCTAssertEqual(m.frobeniusNorm, 14.0.squareRoot(), accuracy: 1e-15)
        XCTAssertEqual(m.stableRank, 14.0 / 9, accuracy: 1e-15)
        let p = [0.5, 1.0 / 3, 1.0 / 6]
        XCTAssertEqual(m.effectiveRank, exp(-p.reduce(0) { $0 + $1 * log($1) }), accuracy: 1e-12)
        let zero = SpectralMetrics(singularValues: [0, 0], rows: 2, cols: 2, variance: 0.9)
        XCTAssertEqual(zero.rank, 0)
        XCTAssertEqual(zero.rankAtVariance, 0)
        XCTAssertEqual(SpectralMetrics.rank(atVariance: 1.0, singularValues: [1, 1, 1, 1]), 4)
    }

    /// Marchenko-Pastur gives ~0.51 n for a square Gaussian matrix (the figure Biderman et al.
    /// quote), and agrees with sampled Gaussian matrices of several aspect ratios.
    func testGaussianReferenceAgreesWithSampledMatrices() throws {
        XCTAssertEqual(Double(GaussianReference.rankAtVariance(rows: 4096, cols: 4096, variance: 0.9)) / 4096, 0.51, accuracy: 0.01)
        var rng = SeededRandom(seed: 42)
        for (rows, cols) in [(300, 300), (200, 600), (500, 150)] {
            var g = Matrix<Double>(zeros: rows, cols)
            for i in g.storage.indices { g.storage[i] = rng.gaussian() }
            let s = try SVD.thin(g).s
            let sampled = SpectralMetrics.rank(atVariance: 0.9, singularValues: s)
            let predicted = GaussianReference.rankAtVariance(rows: rows, cols: cols, variance: 0.9)
            XCTAssertEqual(Double(predicted), Double(sampled), accuracy: 0.02 * Double(min(rows, cols)) + 1, "\(rows)x\(cols)")
        }
    }

    /// The LoRA factor route equals the dense SVD of the formed Delta.
    func testLowRankRouteEqualsDenseSVD() throws {
        var rng = SeededRandom(seed: 5)
        var b = Matrix<Double>(zeros: 50, 6), a = Matrix<Double>(zeros: 6, 30)
        for i in b.storage.indices { b.storage[i] = rng.gaussian() }
        for i in a.storage.indices { a.storage[i] = rng.gaussian() }
        let factors = LowRankFactors(left: b, right: a, scale: -0.75)
        let fast = try factors.svd(withVectors: true)
        let dense = try SVD.thin(factors.dense())
        for i in 0..<6 { XCTAssertEqual(fast.s[i], dense.s[i], accuracy: 1e-12 * dense.s[0]) }
        // U diag(s) V^T reconstructs Delta, sign of the scale included.
        var us = fast.u!
        for i in 0..<us.rows { for j in 0..<6 { us[i, j] *= fast.s[j] } }
        let back = BLAS.multiply(us, fast.v!, transB: true)
        let expected = factors.dense()
        for i in expected.storage.indices { XCTAssertEqual(back.storage[i], expected.storage[i], accuracy: 1e-12) }
    }

    func testSubspaceSimilarityOfIdenticalAndOrthogonalBases() {
        var u = Matrix<Double>(zeros: 4, 2)
        u[0, 0] = 1; u[1, 1] = 1
        var w = Matrix<Double>(zeros: 4, 2)
        w[2, 0] = 1; w[3, 1] = 1
        // phi(i, j) = ||U_i^T U_j||_F^2 / min(i, j) = min(i, j) / min(i, j) for the same basis.
        XCTAssertEqual(SubspaceMeasures.similarity(u, u), [[1, 1], [1, 1]])
        XCTAssertEqual(SubspaceMeasures.similarity(u, w), [[0, 0], [0, 0]])
    }
}
