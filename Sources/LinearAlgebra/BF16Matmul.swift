import COneDNN
import Foundation

/// bfloat16 bit patterns: round-to-nearest-even from float32, as torch's `.to(torch.bfloat16)`.
public enum BFloat16 {
    @inline(__always)
    public static func round(_ f: Float) -> UInt16 {
        let bits = f.bitPattern
        if f.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x40 } // keep a quiet NaN
        let lsb = (bits >> 16) & 1
        return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ lsb) >> 16)
    }

    @inline(__always)
    public static func float(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }
}

/// y = x W^T with bf16 x and bf16 W accumulated in float32 by oneDNN's matmul primitive
/// (brgemm on AVX512-BF16). The weight is reordered once, when packed, into the blocked layout
/// oneDNN picks for its shape; primitives are cached per (m, n, k, ldy, accumulate).
///
/// Roundings: W to bf16 when packed (exact for a bf16 checkpoint), x to bf16 on every call
/// (`multiply`); products and sums are float32 inside oneDNN and y is written as float32.
public enum BF16Matmul {
    /// Whether oneDNN will run bf16 matmuls natively here (AVX512-BF16 or newer). Without it
    /// oneDNN would emulate them slowly, so callers run float32 instead.
    public static let isSupported: Bool = {
        let isa = dnnl_get_effective_cpu_isa()
        let need = dnnl_cpu_isa_avx512_core_bf16.rawValue
        return isa.rawValue & need == need
    }()

    /// oneDNN's OpenMP threads (same clamp as OpenBLAS's).
    public static func setThreads(_ count: Int) {
        fl_set_omp_threads(Int32(BLAS.clampedThreads(count)))
    }

    nonisolated(unsafe) private static let engine: dnnl_engine_t = {
        var e: dnnl_engine_t?
        let status = dnnl_engine_create(&e, dnnl_cpu, 0)
        precondition(status == dnnl_success && e != nil, "oneDNN: no CPU engine (status \(status.rawValue))")
        return e!
    }()

    private struct Key: Hashable { let m, n, k, ldy: Int; let accumulate: Bool }
    /// A matmul primitive and the scratchpad it needs. Scratchpads are ours (user mode), one per
    /// call: Debian's libdnnl is not built with concurrent execution, so library-managed
    /// scratchpads would be shared between scoring threads.
    private struct Cached { let primitive: dnnl_primitive_t; var scratchpad: dnnl_memory_desc_t; let scratchpadBytes: Int }
    private static let lock = NSLock()
    nonisolated(unsafe) private static var cache: [Key: Cached] = [:]
    /// Distinct row counts come and go with batch shapes; past this many primitives the cache starts over.
    private static let cacheLimit = 512
    nonisolated(unsafe) private static var retired: [dnnl_primitive_t] = []

    /// A weight [n outputs, k inputs] in oneDNN's blocked bf16 layout.
    public final class PackedWeight: @unchecked Sendable {
        public let n: Int
        public let k: Int
        fileprivate var md: dnnl_memory_desc_t
        fileprivate let data: UnsafeMutableRawPointer

        fileprivate init(n: Int, k: Int, md: dnnl_memory_desc_t, bytes: Int) {
            self.n = n
            self.k = k
            self.md = md
            data = .allocate(byteCount: Swift.max(bytes, 64), alignment: 64)
        }

        deinit { data.deallocate() }

        public var byteCount: Int { withUnsafePointer(to: md) { dnnl_memory_desc_get_size($0) } }
    }

    /// Packs bf16 bits of W: [n, k] row-major (`transposed` false, nn.Linear) or [k, n] row-major
    /// (`transposed` true, GPT-2's Conv1D).
    public static func pack(bf16 w: UnsafePointer<UInt16>, n: Int, k: Int, transposed: Bool) -> PackedWeight {
        // W^T is the matmul's [k, n] weights: strides (1, k) for [n, k] storage, (n, 1) for [k, n].
        var plain = dnnl_memory_desc_t()
        check(transposed ? fl_md_strided(&plain, dnnl_dim_t(k), dnnl_dim_t(n), dnnl_dim_t(n), 1, dnnl_bf16)
                         : fl_md_strided(&plain, dnnl_dim_t(k), dnnl_dim_t(n), 1, dnnl_dim_t(k), dnnl_bf16), "weights md")
        // The layout a prefill-sized matmul wants; every cached primitive is then built on it.
        let pd = matmulDescriptor(m: 128, n: n, k: k, ldy: n, weights: nil, accumulate: false)!
        defer { dnnl_primitive_desc_destroy(pd) }
        let chosen = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0)!.pointee
        let packed = PackedWeight(n: n, k: k, md: chosen, bytes: withUnsafePointer(to: chosen) { dnnl_memory_desc_get_size($0) })
        var src: dnnl_memory_t?, dst: dnnl_memory_t?
        check(dnnl_memory_create(&src, &plain, engine, UnsafeMutableRawPointer(mutating: w)), "weights memory")
        check(dnnl_memory_create(&dst, &packed.md, engine, packed.data), "packed memory")
        var rpd: dnnl_primitive_desc_t?
        check(dnnl_reorder_primitive_desc_create(&rpd, &plain, engine, &packed.md, engine, nil), "reorder")
        var reorder: dnnl_primitive_t?
        check(dnnl_primitive_create(&reorder, rpd), "reorder primitive")
        var args = [dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: src), dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: dst)]
        run(reorder!, &args)
        dnnl_primitive_destroy(reorder)
        dnnl_primitive_desc_destroy(rpd)
        dnnl_memory_destroy(src)
        dnnl_memory_destroy(dst)
        return packed
    }

    /// Packs a float32 W (rounded to bf16 here, round-to-nearest-even).
    public static func pack(float w: UnsafePointer<Float>, n: Int, k: Int, transposed: Bool) -> PackedWeight {
        let bits = UnsafeMutablePointer<UInt16>.allocate(capacity: Swift.max(n * k, 1))
        defer { bits.deallocate() }
        for i in 0..<(n * k) { bits[i] = BFloat16.round(w[i]) }
        return pack(bf16: bits, n: n, k: k, transposed: transposed)
    }

    /// y[m, n] (= or, with `accumulate`, +=) bf16(x)[m, k] W^T with float32 accumulation.
    /// x has leading dimension ldx, y has ldy.
    public static func multiply(_ x: UnsafePointer<Float>, ldx: Int, m: Int, weight: PackedWeight,
                                into y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool) {
        if m == 0 || weight.n == 0 { return }
        let k = weight.k
        // Rounding: the activations to bf16, as a bf16 model's Linear input already is.
        let xb = UnsafeMutablePointer<UInt16>.allocate(capacity: Swift.max(m * k, 1))
        defer { xb.deallocate() }
        for r in 0..<m {
            let src = x + r * ldx, dst = xb + r * k
            for c in 0..<k { dst[c] = BFloat16.round(src[c]) }
        }
        var cached = cachedPrimitive(Key(m: m, n: weight.n, k: k, ldy: ldy, accumulate: accumulate), weight: weight)
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(cached.scratchpadBytes, 64), alignment: 64)
        defer { scratch.deallocate() }
        var srcMD = dnnl_memory_desc_t(), dstMD = dnnl_memory_desc_t()
        check(fl_md_strided(&srcMD, dnnl_dim_t(m), dnnl_dim_t(k), dnnl_dim_t(k), 1, dnnl_bf16), "src md")
        check(fl_md_strided(&dstMD, dnnl_dim_t(m), dnnl_dim_t(weight.n), dnnl_dim_t(ldy), 1, dnnl_f32), "dst md")
        var src: dnnl_memory_t?, wei: dnnl_memory_t?, dst: dnnl_memory_t?, pad: dnnl_memory_t?
        check(dnnl_memory_create(&src, &srcMD, engine, xb), "src memory")
        check(dnnl_memory_create(&wei, &weight.md, engine, weight.data), "weights memory")
        check(dnnl_memory_create(&dst, &dstMD, engine, y), "dst memory")
        check(dnnl_memory_create(&pad, &cached.scratchpad, engine, scratch), "scratchpad memory")
        var args = [dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: src), dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS, memory: wei),
                    dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: dst), dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: pad)]
        run(cached.primitive, &args)
        dnnl_memory_destroy(pad)
        dnnl_memory_destroy(src)
        dnnl_memory_destroy(wei)
        dnnl_memory_destroy(dst)
    }

    private static func cachedPrimitive(_ key: Key, weight: PackedWeight) -> Cached {
        lock.lock()
        defer { lock.unlock() }
        if let p = cache[key] { return p }
        guard let pd = matmulDescriptor(m: key.m, n: key.n, k: key.k, ldy: key.ldy, weights: weight.md, accumulate: key.accumulate) else {
            preconditionFailure("oneDNN: no bf16 matmul for m=\(key.m) n=\(key.n) k=\(key.k) on the packed layout")
        }
        defer { dnnl_primitive_desc_destroy(pd) }
        var p: dnnl_primitive_t?
        check(dnnl_primitive_create(&p, pd), "matmul primitive")
        let pad = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0)!.pointee
        let bytes = withUnsafePointer(to: pad) { dnnl_memory_desc_get_size($0) }
        if cache.count >= cacheLimit {
            // another thread may still run an evicted primitive: keep them alive (a bounded leak
            // only when shapes keep changing past the limit)
            retired += cache.values.map(\.primitive)
            cache.removeAll()
        }
        let entry = Cached(primitive: p!, scratchpad: pad, scratchpadBytes: bytes)
        cache[key] = entry
        return entry
    }

    /// A matmul descriptor bf16 [m, k] x bf16 [k, n] -> f32 [m, n] (row stride ldy), on the given
    /// weights layout or, with nil, on the one oneDNN picks.
    private static func matmulDescriptor(m: Int, n: Int, k: Int, ldy: Int, weights: dnnl_memory_desc_t?,
                                         accumulate: Bool) -> dnnl_primitive_desc_t? {
        var srcMD = dnnl_memory_desc_t(), dstMD = dnnl_memory_desc_t()
        var weiMD = weights ?? dnnl_memory_desc_t()
        check(fl_md_strided(&srcMD, dnnl_dim_t(m), dnnl_dim_t(k), dnnl_dim_t(k), 1, dnnl_bf16), "src md")
        if weights == nil { check(fl_md_any(&weiMD, dnnl_dim_t(k), dnnl_dim_t(n), dnnl_bf16), "weights md") }
        check(fl_md_strided(&dstMD, dnnl_dim_t(m), dnnl_dim_t(n), dnnl_dim_t(ldy), 1, dnnl_f32), "dst md")
        var desc = dnnl_matmul_desc_t()
        check(dnnl_matmul_desc_init(&desc, &srcMD, &weiMD, nil, &dstMD), "matmul desc")
        var attr: dnnl_primitive_attr_t?
        check(dnnl_primitive_attr_create(&attr), "attr")
        defer { dnnl_primitive_attr_destroy(attr) }
        check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "scratchpad mode")
        if accumulate {
            // y += x W^T: oneDNN's sum post-op adds the float32 result to what y holds.
            var ops: dnnl_post_ops_t?
            check(dnnl_post_ops_create(&ops), "post ops")
            check(dnnl_post_ops_append_sum(ops, 1), "sum post op")
            check(dnnl_primitive_attr_set_post_ops(attr, ops), "set post ops")
            dnnl_post_ops_destroy(ops)
        }
        var pd: dnnl_primitive_desc_t?
        let status = dnnl_primitive_desc_create(&pd, &desc, attr, engine, nil)
        return status == dnnl_success ? pd : nil
    }

    private static func run(_ primitive: dnnl_primitive_t, _ args: inout [dnnl_exec_arg_t]) {
        // A stream per call: scoring threads may run matmuls concurrently.
        var stream: dnnl_stream_t?
        check(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue), "stream")
        check(dnnl_primitive_execute(primitive, stream, Int32(args.count), &args), "execute")
        check(dnnl_stream_wait(stream), "wait")
        dnnl_stream_destroy(stream)
    }

    /// oneDNN failures here mean a programming error (descriptors are built from checked shapes).
    private static func check(_ status: dnnl_status_t, _ what: String) {
        precondition(status == dnnl_success, "oneDNN \(what) failed: status \(status.rawValue)")
    }
}
