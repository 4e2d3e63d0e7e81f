import COpenBLAS
import Foundation

/// Thin, typed wrappers over the few cblas calls forgetlens needs.
public enum BLAS {
    /// OpenBLAS's own thread pool size. Benchmarks pin it so comparisons are like for like.
    /// Clamped to 1...cores: more threads than cores only adds contention, and starting 64
    /// threads under an address-space limit made OpenBLAS spin forever on failed thread starts.
    public static func setThreads(_ count: Int) {
        openblas_set_num_threads(Int32(clampedThreads(count)))
    }

    public static func clampedThreads(_ count: Int) -> Int {
        min(max(count, 1), max(ProcessInfo.processInfo.activeProcessorCount, 1))
    }

    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// C = alpha * op(A) * op(B) + beta * C for row-major float32 matrices given as raw buffers.
    /// op(X) = X^T when the flag is set. Shapes: op(A) is m x k, op(B) is k x n, C is m x n.
    @inlinable
    public static func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
                    beta, c, blasint(ldc))
    }

    /// Double-precision counterpart of `sgemm` (row-major).
    @inlinable
    public static func dgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Double = 1, a: UnsafePointer<Double>, lda: Int,
        b: UnsafePointer<Double>, ldb: Int,
        beta: Double = 0, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
                    beta, c, blasint(ldc))
    }

    /// Matrix product of two row-major matrices, C = A * B (or with transposes).
    public static func multiply(_ a: Matrix<Double>, _ b: Matrix<Double>,
                                transA: Bool = false, transB: Bool = false) -> Matrix<Double> {
        let m = transA ? a.cols : a.rows
        let k = transA ? a.rows : a.cols
        let n = transB ? b.rows : b.cols
        precondition(k == (transB ? b.cols : b.rows), "inner dimensions differ")
        var c = Matrix<Double>(zeros: m, n)
        if m == 0 || n == 0 { return c }
        if k == 0 { return c }
        a.storage.withUnsafeBufferPointer { pa in
            b.storage.withUnsafeBufferPointer { pb in
                c.storage.withUnsafeMutableBufferPointer { pc in
                    dgemm(transA: transA, transB: transB, m: m, n: n, k: k,
                          a: pa.baseAddress!, lda: a.cols, b: pb.baseAddress!, ldb: b.cols,
                          c: pc.baseAddress!, ldc: n)
                }
            }
        }
        return c
    }
}
