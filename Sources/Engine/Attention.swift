import Foundation
import LinearAlgebra

/// Causal multi-head attention with grouped KV heads over per-sequence KV caches.
/// Per segment and head: S = scale * Q K^T (sgemm), masked softmax per row over the keys the
/// row may see, O = P V (sgemm). Each row's numbers depend only on its own sequence.
struct Attention: Sendable {
    let heads: Int
    let kvHeads: Int
    let headDim: Int
    let scale: Float
    /// Sliding window: position i sees keys j with i - window < j <= i.
    let window: Int?
    /// Gemma 2: scores become cap * tanh(score / cap) before the softmax.
    var softcap: Float? = nil

    /// qkv rows hold [q (heads*headDim) | k (kvHeads*headDim) | v (kvHeads*headDim)] at leading
    /// dimension ld (rotary already applied). Appends k, v to the caches and writes the
    /// attention output [rows, heads*headDim] to `out` (leading dimension ldOut).
    func callAsFunction(qkv: UnsafePointer<Float>, ld: Int, batch: Batch, layer: Int,
                        out: UnsafeMutablePointer<Float>, ldOut: Int, workspace: LinearWorkspace? = nil) {
        let d = headDim
        let kOffset = heads * d, vOffset = kOffset + kvHeads * d
        let group = heads / kvHeads
        for seg in batch.segments where seg.rows > 0 {
            let cache = seg.cache
            let p0 = seg.positionStart
            precondition(p0 + seg.rows <= cache.capacity, "KV cache too small")
            for i in 0..<seg.rows {
                let row = qkv + (seg.rowStart + i) * ld
                for h in 0..<kvHeads {
                    (cache.keys(layer: layer, head: h) + (p0 + i) * d).update(from: row + kOffset + h * d, count: d)
                    (cache.values(layer: layer, head: h) + (p0 + i) * d).update(from: row + vOffset + h * d, count: d)
                }
            }
            let end = p0 + seg.rows // keys [lo, end)
            let lo = window.map { Swift.max(0, p0 - $0 + 1) } ?? 0
            let tk = end - lo
            let scores = workspace?.scoreBuffer(seg.rows * tk) ?? FloatBuffer(count: seg.rows * tk, zeroed: false)
            for h in 0..<heads {
                let kvh = h / group
                let q = qkv + seg.rowStart * ld + h * d
                let keys = cache.keys(layer: layer, head: kvh) + lo * d
                let values = cache.values(layer: layer, head: kvh) + lo * d
                BLAS.sgemm(transA: false, transB: true, m: seg.rows, n: tk, k: d, alpha: scale,
                           a: q, lda: ld, b: keys, ldb: d, c: scores.pointer, ldc: tk)
                for i in 0..<seg.rows {
                    let pos = p0 + i
                    let first = (window.map { Swift.max(0, pos - $0 + 1) } ?? 0) - lo
                    let last = pos - lo // inclusive
                    let s = scores.pointer + i * tk
                    if let cap = softcap { VectorTanh.softcapInPlace(s + first, count: last - first + 1, cap: cap) }
                    var m = s[first]
                    for j in first...last where s[j] > m { m = s[j] }
                    var sum: Float = 0
                    for j in first...last { let e = expf(s[j] - m); s[j] = e; sum += e }
                    let inv = 1 / sum
                    for j in first...last { s[j] *= inv }
                    for j in 0..<first { s[j] = 0 }
                    if last + 1 < tk { for j in (last + 1)..<tk { s[j] = 0 } }
                }
                BLAS.sgemm(transA: false, transB: false, m: seg.rows, n: d, k: tk,
                           a: scores.pointer, lda: tk, b: values, ldb: d,
                           c: out + seg.rowStart * ldOut + h * d, ldc: ldOut)
            }
        }
    }
}
