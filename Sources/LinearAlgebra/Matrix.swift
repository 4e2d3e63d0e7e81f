/// A dense row-major matrix. Row-major because that is how safetensors stores a [rows, cols]
/// tensor, so a checkpoint tensor becomes a `Matrix` without reshuffling.
/// LAPACK is column-major: a row-major m x n buffer *is* the column-major n x m transpose, which
/// the routines in this module exploit instead of copying.
public struct Matrix<Scalar: BinaryFloatingPoint & Sendable>: Sendable, Equatable {
    public let rows: Int
    public let cols: Int
    public var storage: [Scalar]

    public init(rows: Int, cols: Int, storage: [Scalar]) {
        precondition(storage.count == rows * cols, "Matrix storage does not match its shape")
        self.rows = rows
        self.cols = cols
        self.storage = storage
    }

    public init(zeros rows: Int, _ cols: Int) {
        self.init(rows: rows, cols: cols, storage: [Scalar](repeating: 0, count: rows * cols))
    }

    public subscript(row: Int, col: Int) -> Scalar {
        get { storage[row * cols + col] }
        set { storage[row * cols + col] = newValue }
    }

    public var transposed: Matrix {
        var out = Matrix(zeros: cols, rows)
        storage.withUnsafeBufferPointer { src in
            out.storage.withUnsafeMutableBufferPointer { dst in
                for r in 0..<rows {
                    for c in 0..<cols { dst[c * rows + r] = src[r * cols + c] }
                }
            }
        }
        return out
    }

    /// Columns `0..<count` as a new matrix (e.g. the top singular vectors).
    public func leadingColumns(_ count: Int) -> Matrix {
        precondition(count <= cols)
        var out = Matrix(zeros: rows, count)
        for r in 0..<rows {
            for c in 0..<count { out[r, c] = self[r, c] }
        }
        return out
    }


    /// Frobenius norm, accumulated in Double so a large fp32 tensor keeps its digits.
    public var frobeniusNorm: Double {
        var sum = 0.0
        for v in storage { let d = Double(v); sum += d * d }
        return sum.squareRoot()
    }
}
