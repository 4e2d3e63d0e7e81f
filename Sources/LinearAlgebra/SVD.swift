import COpenBLAS

/// Singular value decompositions through LAPACK's divide-and-conquer driver (xGESDD).
public enum SVD {
    /// Singular values only, descending, of a row-major float32 matrix, by SGESDD (jobz = 'N').
    /// The buffer is consumed: LAPACK overwrites it. A row-major m x n matrix is handed to LAPACK
    /// as its column-major n x m transpose, which has the same singular values, so no copy is made.
    public static func singularValues(float matrix: inout [Float], rows: Int, cols: Int) throws -> [Float] {
        precondition(matrix.count == rows * cols)
        let k = min(rows, cols)
        if k == 0 { return [] }
        var jobz = Int8(UInt8(ascii: "N"))
        var m = lapack_int(cols), n = lapack_int(rows), lda = lapack_int(cols)
        var s = [Float](repeating: 0, count: k)
        var ldu: lapack_int = 1, ldvt: lapack_int = 1
        var u: Float = 0, vt: Float = 0
        var info: lapack_int = 0, lwork: lapack_int = -1
        var iwork = [lapack_int](repeating: 0, count: 8 * k)
        var query: Float = 0
        sgesdd_(&jobz, &m, &n, &matrix, &lda, &s, &u, &ldu, &vt, &ldvt, &query, &lwork, &iwork, &info)
        guard info == 0 else { throw LinearAlgebraError(routine: "SGESDD", info: info, detail: "workspace query failed") }
        lwork = lapack_int(query) + 1
        var work = [Float](repeating: 0, count: Int(lwork))
        sgesdd_(&jobz, &m, &n, &matrix, &lda, &s, &u, &ldu, &vt, &ldvt, &work, &lwork, &iwork, &info)
        guard info == 0 else {
            throw LinearAlgebraError(routine: "SGESDD", info: info,
                                     detail: info > 0 ? "the SVD did not converge" : "invalid argument \(-info)")
        }
        return s
    }

    /// Thin SVD A = U diag(S) V^T of a row-major float64 matrix: U is m x k, V is n x k
    /// (both row-major), S descending, k = min(m, n).
    public static func thin(_ a: Matrix<Double>) throws -> (u: Matrix<Double>, s: [Double], v: Matrix<Double>) {
        let m = a.rows, n = a.cols, k = min(m, n)
        if k == 0 { return (Matrix(zeros: m, 0), [], Matrix(zeros: n, 0)) }
        // Column-major copy of A for LAPACK.
        var colMajor = a.transposed.storage
        var jobz = Int8(UInt8(ascii: "S"))
        var mm = lapack_int(m), nn = lapack_int(n), lda = lapack_int(m)
        var s = [Double](repeating: 0, count: k)
        var u = [Double](repeating: 0, count: m * k)
        var vt = [Double](repeating: 0, count: k * n)
        var ldu = lapack_int(m), ldvt = lapack_int(k)
        var info: lapack_int = 0, lwork: lapack_int = -1
        var iwork = [lapack_int](repeating: 0, count: 8 * k)
        var query = 0.0
        dgesdd_(&jobz, &mm, &nn, &colMajor, &lda, &s, &u, &ldu, &vt, &ldvt, &query, &lwork, &iwork, &info)
        guard info == 0 else { throw LinearAlgebraError(routine: "DGESDD", info: info, detail: "workspace query failed") }
        lwork = lapack_int(query) + 1
        var work = [Double](repeating: 0, count: Int(lwork))
        dgesdd_(&jobz, &mm, &nn, &colMajor, &lda, &s, &u, &ldu, &vt, &ldvt, &work, &lwork, &iwork, &info)
        guard info == 0 else {
            throw LinearAlgebraError(routine: "DGESDD", info: info,
                                     detail: info > 0 ? "the SVD did not converge" : "invalid argument \(-info)")
        }
        // u is column-major m x k: element (i, j) at i + j*m. Its row-major form is its transpose's
        // storage, so build the k x m row-major matrix and transpose it.
        let uRowMajor = Matrix<Double>(rows: k, cols: m, storage: u).transposed
        // vt is column-major k x n: element (j, c) at j + c*k, i.e. row-major n x k storage of V.
        let vRowMajor = Matrix<Double>(rows: n, cols: k, storage: vt)
        return (uRowMajor, s, vRowMajor)
    }
}
