import LinearAlgebra

/// Measures that need singular vectors (opt-in: they cost full decompositions).
enum SubspaceMeasures {
    /// phi(i, j) for all i <= u1.cols, j <= u2.cols from one k1 x k2 product and 2-D prefix sums.
    static func similarity(_ u1: Matrix<Double>, _ u2: Matrix<Double>) -> [[Double]] {
        let m = BLAS.multiply(u1, u2, transA: true)
        let k1 = m.rows, k2 = m.cols
        var prefix = [[Double]](repeating: [Double](repeating: 0, count: k2 + 1), count: k1 + 1)
        var phi = [[Double]](repeating: [Double](repeating: 0, count: k2), count: k1)
        guard k1 > 0, k2 > 0 else { return phi }
        for i in 1...k1 {
            for j in 1...k2 {
                let v = m[i - 1, j - 1]
                prefix[i][j] = v * v + prefix[i - 1][j] + prefix[i][j - 1] - prefix[i - 1][j - 1]
                phi[i - 1][j - 1] = prefix[i][j] / Double(min(i, j))
            }
        }
        return phi
    }

    /// Hu et al. (2021) sec. 7.3: ||Delta||_F / ||U_r^T W_base V_r||_F.
    static func amplification(frobenius: Double, u: Matrix<Double>, v: Matrix<Double>, base: Matrix<Double>) -> Double? {
        let projected = BLAS.multiply(u, BLAS.multiply(base, v), transA: true)
        let norm = projected.frobeniusNorm
        return norm > 0 ? frobenius / norm : nil
    }

    /// Shuttleworth et al. (2024).
    static func intruders(finetunedLeft: Matrix<Double>, baseLeft: Matrix<Double>, k: Int, threshold: Double) -> IntruderDimensions {
        let top = finetunedLeft.leadingColumns(min(k, finetunedLeft.cols))
        let cosines = BLAS.multiply(top, baseLeft, transA: true)
        var maxCos: [Double] = []
        for i in 0..<cosines.rows {
            var best = 0.0
            for j in 0..<cosines.cols { best = max(best, abs(cosines[i, j])) }
            maxCos.append(best)
        }
        let indices = maxCos.indices.filter { maxCos[$0] < threshold }
        return IntruderDimensions(k: top.cols, threshold: threshold, count: indices.count, indices: indices, maxCosine: maxCos)
    }
}
