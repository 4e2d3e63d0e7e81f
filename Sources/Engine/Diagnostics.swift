import Foundation
import LinearAlgebra

/// Timing helpers for the engine's benchmarks (bench/engine): the raw OpenBLAS rate at the
/// shapes a forward pass uses, and the FLOPs a forward pass performs.
public enum EngineDiagnostics {
    /// Sets OpenBLAS's thread count.
    public static func setThreads(_ n: Int) { BLAS.setThreads(n) }

    /// GFLOP/s of C[m, n] = A[m, k] B[n, k]^T (the engine's linear-layer call), best of `repeats`.
    public static func sgemmRate(m: Int, n: Int, k: Int, repeats: Int = 5) -> Double {
        let a = FloatBuffer(count: m * k), b = FloatBuffer(count: n * k), c = FloatBuffer(count: m * n)
        for i in 0..<a.count { a[i] = Float(i % 7) * 0.01 }
        for i in 0..<b.count { b[i] = Float(i % 5) * 0.01 }
        var best = Double.infinity
        for _ in 0..<repeats {
            let t0 = DispatchTime.now().uptimeNanoseconds
            BLAS.sgemm(transA: false, transB: true, m: m, n: n, k: k, a: a.pointer, lda: k, b: b.pointer, ldb: k,
                       c: c.pointer, ldc: n)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return 2 * Double(m) * Double(n) * Double(k) / best / 1e9
    }

    /// GFLOP/s of OpenBLAS alone running the given GEMMs back to back, in order (one forward
    /// pass's worth of calls), best of `repeats` passes: the ceiling for the engine's prefill.
    public static func sgemmSequenceRate(_ shapes: [(m: Int, n: Int, k: Int)], repeats: Int = 3) -> Double {
        let buffers = shapes.map { s -> (FloatBuffer, FloatBuffer, FloatBuffer) in
            let a = FloatBuffer(count: s.m * s.k), b = FloatBuffer(count: s.n * s.k), c = FloatBuffer(count: s.m * s.n)
            for i in 0..<a.count { a[i] = Float(i % 7) * 0.01 }
            for i in 0..<b.count { b[i] = Float(i % 5) * 0.01 }
            return (a, b, c)
        }
        var best = Double.infinity
        for _ in 0..<repeats {
            let t0 = DispatchTime.now().uptimeNanoseconds
            for (s, (a, b, c)) in zip(shapes, buffers) {
                BLAS.sgemm(transA: false, transB: true, m: s.m, n: s.n, k: s.k, a: a.pointer, lda: s.k, b: b.pointer, ldb: s.k,
                           c: c.pointer, ldc: s.n)
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        let flops = shapes.reduce(0.0) { $0 + 2 * Double($1.m) * Double($1.n) * Double($1.k) }
        return flops / best / 1e9
    }

    /// The (m, n, k) of every linear-layer GEMM of one forward pass over `rows` tokens, LM head included.
    public static func gemmShapes(_ model: LanguageModel, rows: Int) -> [(m: Int, n: Int, k: Int)] {
        let c = model.config
        var shapes: [(Int, Int, Int)] = []
        let qkv = (c.headCount + 2 * c.kvHeadCount) * c.headDim
        for _ in 0..<c.layerCount {
            shapes.append((rows, qkv, c.hiddenSize))
            shapes.append((rows, c.hiddenSize, c.headCount * c.headDim))
            // gated families run gate|up as one GEMM of twice the width
            shapes.append((rows, model.transformer.mlpWidth, c.hiddenSize))
            shapes.append((rows, c.hiddenSize, c.intermediateSize))
        }
        shapes.append((rows, c.vocabSize, c.hiddenSize))
        return shapes
    }

    /// FLOPs of a forward pass over `sequences` sequences of `length` tokens with logits for every
    /// token: the linear layers plus attention's two products (as computed: the full causal square).
    public static func forwardFLOPs(_ model: LanguageModel, sequences: Int, length: Int) -> Double {
        let c = model.config
        let gemm = gemmShapes(model, rows: sequences * length).reduce(0.0) { $0 + 2 * Double($1.m) * Double($1.n) * Double($1.k) }
        let attention = Double(c.layerCount * c.headCount * sequences) * 2 * 2 * Double(length * length * c.headDim)
        return gemm + attention
    }
}
