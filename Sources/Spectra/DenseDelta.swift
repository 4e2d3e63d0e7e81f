import Checkpoints
import LinearAlgebra

/// Reading a dense perturbation (changed - base) out of two mapped checkpoints, block by
/// block, with every value checked for NaN/Inf on the way.
enum DenseDelta {
    /// Elements per streamed block (8 MiB of float64 per operand).
    static let blockElements = 1 << 20

    static func checkFinite(_ buffer: UnsafeMutableBufferPointer<Double>, count: Int, store: TensorStore,
                            name: String, cols: Int, firstElement: (Int) -> Int) throws {
        for i in 0..<count where !buffer[i].isFinite {
            let flat = firstElement(i)
            // Name the shard file itself: in a sharded checkpoint that is what the user opens.
            throw CheckpointError(file: store.info(name)?.file ?? store.location, field: name,
                                  "contains \(buffer[i].isNaN ? "NaN" : "Inf") at [\(flat / cols), \(flat % cols)]; refusing to analyse a non-finite weight")
        }
    }

    /// Streams Delta through a Gram accumulator: G = X^T X with X = Delta (stored rows x cols)
    /// when cols <= rows, else X = Delta^T, so G is min(rows, cols) square.
    /// Returns the Gram and ||W_base||_F^2.
    static func gram(base: TensorStore, baseName: String, changed: TensorStore, changedName: String,
                     rows: Int, cols: Int) throws -> (gram: GramAccumulator, baseSquared: Double) {
        let tall = cols <= rows
        let n = tall ? cols : rows          // Gram dimension
        let long = tall ? rows : cols       // rows of X
        let block = max(1, min(long, blockElements / max(n, 1)))
        var gram = GramAccumulator(columns: n)
        var baseSquared = 0.0
        var xBlock = [Double](repeating: 0, count: block * n)
        var baseChunk = [Double](repeating: 0, count: tall ? block * n : block)
        var changedChunk = [Double](repeating: 0, count: tall ? block * n : block)
        var start = 0
        while start < long {
            let count = min(block, long - start)
            try baseChunk.withUnsafeMutableBufferPointer { bp in
                try changedChunk.withUnsafeMutableBufferPointer { cp in
                    try xBlock.withUnsafeMutableBufferPointer { xp in
                        if tall {
                            // X rows are Delta rows: contiguous in the checkpoint.
                            let first = start * cols, total = count * cols
                            try base.read(baseName, start: first, count: total, into: bp.baseAddress!)
                            try changed.read(changedName, start: first, count: total, into: cp.baseAddress!)
                            try checkFinite(bp, count: total, store: base, name: baseName, cols: cols) { first + $0 }
                            try checkFinite(cp, count: total, store: changed, name: changedName, cols: cols) { first + $0 }
                            for i in 0..<total {
                                baseSquared += bp[i] * bp[i]
                                xp[i] = cp[i] - bp[i]
                            }
                        } else {
                            // X rows are Delta columns: gather a column block row by row.
                            for r in 0..<rows {
                                let first = r * cols + start
                                try base.read(baseName, start: first, count: count, into: bp.baseAddress!)
                                try changed.read(changedName, start: first, count: count, into: cp.baseAddress!)
                                try checkFinite(bp, count: count, store: base, name: baseName, cols: cols) { first + $0 }
                                try checkFinite(cp, count: count, store: changed, name: changedName, cols: cols) { first + $0 }
                                for j in 0..<count {
                                    baseSquared += bp[j] * bp[j]
                                    xp[j * rows + r] = cp[j] - bp[j]
                                }
                            }
                        }
                        gram.add(rows: UnsafeBufferPointer(xp), count: count)
                    }
                }
            }
            start += count
        }
        base.release(baseName)
        changed.release(changedName)
        return (gram, baseSquared)
    }

    /// A whole tensor as float64, checked for NaN/Inf; `transpose` returns it [cols, rows].
    static func load(_ store: TensorStore, _ name: String, transpose: Bool) throws -> Matrix<Double> {
        let info = try store.require(name)
        guard info.rank == 2 else {
            // Name the shard file itself: in a sharded checkpoint that is what the user opens.
            throw CheckpointError(file: store.info(name)?.file ?? store.location, field: name, "expected a 2-D tensor, found shape \(info.shape)")
        }
        var values = try store.doubles(name)
        let cols = info.shape[1]
        try values.withUnsafeMutableBufferPointer { buffer in
            try checkFinite(buffer, count: buffer.count, store: store, name: name, cols: cols) { $0 }
        }
        store.release(name)
        let m = Matrix(rows: info.shape[0], cols: cols, storage: values)
        return transpose ? m.transposed : m
    }

    /// ||W||_F^2 of a stored tensor, with the NaN/Inf check.
    static func squaredNorm(_ store: TensorStore, _ name: String) throws -> Double {
        let info = try store.require(name)
        let cols = info.shape.last ?? 1
        var buffer = [Double](repeating: 0, count: min(blockElements, max(info.elementCount, 1)))
        var sum = 0.0, start = 0
        while start < info.elementCount {
            let count = min(buffer.count, info.elementCount - start)
            try buffer.withUnsafeMutableBufferPointer { bp in
                try store.read(name, start: start, count: count, into: bp.baseAddress!)
                try checkFinite(bp, count: count, store: store, name: name, cols: cols) { start + $0 }
                for i in 0..<count { sum += bp[i] * bp[i] }
            }
            start += count
        }
        store.release(name)
        return sum
    }
}
