import COpenBLAS

/// BLAS calls the inference engine needs beyond `BLAS.sgemm`.
extension BLAS {
    /// y = alpha * op(A) x + beta * y for a row-major float32 A [m, n]; op(A) = A^T when `trans`.
    /// One-token steps (greedy decoding) use this: sgemm with one row repacks the whole weight.
    @inlinable
    public static func sgemv(
        trans: Bool, m: Int, n: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        x: UnsafePointer<Float>, incx: Int = 1, beta: Float = 0, y: UnsafeMutablePointer<Float>, incy: Int = 1
    ) {
        cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, blasint(m), blasint(n), alpha, a, blasint(lda),
                    x, blasint(incx), beta, y, blasint(incy))
    }
}
