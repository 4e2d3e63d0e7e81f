import COpenBLAS

/// Eigenvalues of real symmetric matrices (LAPACK).
public enum SymmetricEigen {
    /// Eigenvalues in ascending order of the n x n symmetric matrix whose upper triangle is given
    /// column-major. Uses the two-stage reduction (DSYEVD_2STAGE), which LAPACK offers only for
    /// values, exactly our case; it replaces the memory-bound tridiagonalisation with level-3 work.
    public static func eigenvalues(upperColumnMajor matrix: [Double], n: Int) throws -> [Double] {
        precondition(matrix.count >= n * n)
        if n == 0 { return [] }
        var a = matrix
        var w = [Double](repeating: 0, count: n)
        var jobz = Int8(UInt8(ascii: "N")), uplo = Int8(UInt8(ascii: "U"))
        var nn = lapack_int(n), lda = lapack_int(n), info: lapack_int = 0
        var lwork: lapack_int = -1, liwork: lapack_int = -1
        var workQuery = 0.0
        var iworkQuery: lapack_int = 0
        dsyevd_2stage_(&jobz, &uplo, &nn, &a, &lda, &w, &workQuery, &lwork, &iworkQuery, &liwork, &info)
        guard info == 0 else {
            throw LinearAlgebraError(routine: "DSYEVD_2STAGE", info: info, detail: "workspace query failed")
        }
        lwork = lapack_int(workQuery)
        liwork = max(iworkQuery, 1)
        var work = [Double](repeating: 0, count: Int(lwork))
        var iwork = [lapack_int](repeating: 0, count: Int(liwork))
        dsyevd_2stage_(&jobz, &uplo, &nn, &a, &lda, &w, &work, &lwork, &iwork, &liwork, &info)
        guard info == 0 else {
            throw LinearAlgebraError(routine: "DSYEVD_2STAGE", info: info,
                                     detail: info > 0 ? "the eigensolver did not converge" : "invalid argument \(-info)")
        }
        return w
    }
}
