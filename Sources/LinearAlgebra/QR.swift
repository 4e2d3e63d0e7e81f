import COpenBLAS

/// Thin Householder QR of tall float64 matrices (LAPACK DGEQRF + DORGQR).
public enum QR {
    /// A = Q R for a row-major m x n matrix with m >= n: Q is m x n with orthonormal columns,
    /// R is n x n upper triangular (both row-major).
    public static func thin(_ a: Matrix<Double>) throws -> (q: Matrix<Double>, r: Matrix<Double>) {
        let m = a.rows, n = a.cols
        precondition(m >= n, "thin QR needs rows >= cols")
        if n == 0 { return (Matrix(zeros: m, 0), Matrix(zeros: 0, 0)) }
        var colMajor = a.transposed.storage // column-major m x n
        var mm = lapack_int(m), nn = lapack_int(n), lda = lapack_int(m)
        var tau = [Double](repeating: 0, count: n)
        var info: lapack_int = 0, lwork: lapack_int = -1
        var query = 0.0
        dgeqrf_(&mm, &nn, &colMajor, &lda, &tau, &query, &lwork, &info)
        guard info == 0 else { throw LinearAlgebraError(routine: "DGEQRF", info: info, detail: "workspace query failed") }
        lwork = max(lapack_int(query), 1)
        var work = [Double](repeating: 0, count: Int(lwork))
        dgeqrf_(&mm, &nn, &colMajor, &lda, &tau, &work, &lwork, &info)
        guard info == 0 else { throw LinearAlgebraError(routine: "DGEQRF", info: info, detail: "invalid argument \(-info)") }
        var r = Matrix<Double>(zeros: n, n)
        for j in 0..<n {
            for i in 0...j { r[i, j] = colMajor[i + j * m] }
        }
        var kk = lapack_int(n)
        lwork = -1
        dorgqr_(&mm, &nn, &kk, &colMajor, &lda, &tau, &query, &lwork, &info)
        guard info == 0 else { throw LinearAlgebraError(routine: "DORGQR", info: info, detail: "workspace query failed") }
        lwork = max(lapack_int(query), 1)
        work = [Double](repeating: 0, count: Int(lwork))
        dorgqr_(&mm, &nn, &kk, &colMajor, &lda, &tau, &work, &lwork, &info)
        guard info == 0 else { throw LinearAlgebraError(routine: "DORGQR", info: info, detail: "invalid argument \(-info)") }
        let q = Matrix<Double>(rows: n, cols: m, storage: colMajor).transposed
        return (q, r)
    }
}
