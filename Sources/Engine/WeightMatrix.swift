import Checkpoints
import Foundation
import LinearAlgebra

/// 16-bit floats kept as stored (bfloat16 or float16 bit patterns).
final class HalfBuffer: @unchecked Sendable {
    let bits: UnsafeMutablePointer<UInt16>
    let count: Int
    let dtype: DType // .bf16 or .f16

    init(count: Int, dtype: DType) {
        precondition(dtype == .bf16 || dtype == .f16)
        self.count = count
        self.dtype = dtype
        bits = .allocate(capacity: Swift.max(count, 1))
    }

    deinit { bits.deallocate() }

    /// Elements [start, start + n) as float32 (exact).
    func convert(start: Int, count n: Int, into out: UnsafeMutablePointer<Float>) {
        let src = bits + start
        if dtype == .bf16 {
            for i in 0..<n { out[i] = Float(bitPattern: UInt32(src[i]) << 16) }
        } else {
            for i in 0..<n { out[i] = Float(Float16(bitPattern: src[i])) }
        }
    }
}

/// A 4-bit weight as bitsandbytes stores it, with the dtype its tiles are rounded to before the
/// GEMM (Linear4bit's compute dtype).
final class FourBitWeight: @unchecked Sendable {
    let tensor: FourBitTensor
    let compute: DType
    /// Block scales in float32 when they are plain; nested ones are expanded per tile.
    private let plainScales: [Float]?

    init(tensor: FourBitTensor, compute: DType) {
        self.tensor = tensor
        self.compute = compute
        if case let .plain(a) = tensor.absmax { plainScales = a } else { plainScales = nil }
    }

    /// Dequantizes elements [start, start + n) into `out` (float32 values of the compute dtype);
    /// `scratch` holds at least n / blocksize + 2 floats.
    func dequantize(start: Int, count n: Int, into out: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let bs = tensor.blocksize
        let firstBlock = start / bs, lastBlock = (start + n - 1) / bs
        switch tensor.absmax {
        case .plain:
            plainScales!.withUnsafeBufferPointer { s in
                tensor.dequantize(start: start, count: n, scales: s.baseAddress!, compute: compute, into: out)
            }
        case let .nested(codes, nestedAbsmax, map, offset, nb):
            for b in firstBlock...lastBlock {
                scratch[b - firstBlock] = map[Int(codes[b])] * nestedAbsmax[b / nb] + offset
            }
            // dequantize expects scales indexed by absolute block: shift the base pointer
            tensor.dequantize(start: start, count: n, scales: UnsafePointer(scratch - firstBlock), compute: compute, into: out)
        }
    }
}

/// How a weight matrix is held: float32 (as loaded before issue 11, GEMM straight on it), or as
/// stored (bf16/fp16) or 4-bit, converted tile by tile to float32 just before each GEMM.
/// Activations and accumulation are float32 either way.
enum WeightStorage: @unchecked Sendable {
    case float32(FloatBuffer)
    case half(HalfBuffer)
    case fourBit(FourBitWeight)

    var residentBytes: Int {
        switch self {
        case let .float32(b): b.count * 4
        case let .half(h): h.count * 2
        case let .fourBit(w): w.tensor.byteCount
        }
    }
}

/// Reusable float32 tiles for converting weights before a GEMM, the LoRA intermediate and the
/// attention scores; one per forward call (kept in Scratch), so concurrent callers never share one.
final class LinearWorkspace {
    /// Floats per weight tile: 1 MiB keeps a tile in L2 while OpenBLAS still gets wide GEMMs.
    static let tileElements = 1 << 18
    private(set) var tile = FloatBuffer(count: 0, zeroed: false)
    private(set) var scales = FloatBuffer(count: 0, zeroed: false)
    private(set) var lora = FloatBuffer(count: 0, zeroed: false)
    /// Attention scores of one segment and head.
    private(set) var scores = FloatBuffer(count: 0, zeroed: false)

    func scoreBuffer(_ n: Int) -> FloatBuffer {
        if scores.count < n { scores = FloatBuffer(count: n, zeroed: false) }
        return scores
    }

    func tileBuffer(_ n: Int) -> FloatBuffer {
        if tile.count < n { tile = FloatBuffer(count: n, zeroed: false) }
        return tile
    }

    func scaleBuffer(_ n: Int) -> FloatBuffer {
        if scales.count < n { scales = FloatBuffer(count: n, zeroed: false) }
        return scales
    }

    func loraBuffer(_ n: Int) -> FloatBuffer {
        if lora.count < n { lora = FloatBuffer(count: n, zeroed: false) }
        return lora
    }
}

/// A weight matrix [rows, cols] row-major in some storage, with y = x W^T (or, for a matrix
/// stored transposed [cols, rows] as GPT-2's Conv1D, y = x W).
final class WeightMatrix: @unchecked Sendable {
    /// Logical rows and columns of the stored layout.
    let rows: Int
    let cols: Int
    let storage: WeightStorage

    /// --compute-dtype bf16: GEMMs on this matrix take bf16 activations and a bf16 copy of the
    /// weight, accumulating in float32 in oneDNN (BF16Matmul). Set by the loader before any use;
    /// 4-bit storage keeps its own path (its tiles already round to the compute dtype).
    var computeBF16 = false
    private var packedBF16: BF16Matmul.PackedWeight?
    private let packLock = NSLock()

    init(rows: Int, cols: Int, storage: WeightStorage) {
        self.rows = rows
        self.cols = cols
        self.storage = storage
    }

    /// The weight reordered into oneDNN's bf16 layout: packed once, on the first GEMM (fused
    /// q|k|v and gate|up matrices are stacked after loading, so packing waits for the final
    /// matrix). Rounding: a bf16 checkpoint's weights are used as stored; fp16 and fp32 weights
    /// are rounded to bf16 here, as torch's `.to(torch.bfloat16)` does at load.
    private func bf16Weight() -> BF16Matmul.PackedWeight? {
        guard computeBF16 else { return nil }
        packLock.lock()
        defer { packLock.unlock() }
        if let packedBF16 { return packedBF16 }
        // storedTransposed matrices ([in, out], Conv1D) are packed as [k = rows, n = cols]
        let packed: BF16Matmul.PackedWeight
        switch storage {
        case .fourBit: return nil
        case let .half(h) where h.dtype == .bf16:
            packed = BF16Matmul.pack(bf16: h.bits, n: rows, k: cols, transposed: false)
        default:
            let f = floats()
            packed = BF16Matmul.pack(float: f.pointer, n: rows, k: cols, transposed: false)
        }
        packedBF16 = packed
        return packed
    }

    /// As `bf16Weight` for a matrix used as y = x W (W stored [inputs, outputs]).
    private var packedTransposedBF16: BF16Matmul.PackedWeight?
    private func bf16WeightTransposed() -> BF16Matmul.PackedWeight? {
        guard computeBF16 else { return nil }
        packLock.lock()
        defer { packLock.unlock() }
        if let packedTransposedBF16 { return packedTransposedBF16 }
        let packed: BF16Matmul.PackedWeight
        switch storage {
        case .fourBit: return nil
        case let .half(h) where h.dtype == .bf16:
            packed = BF16Matmul.pack(bf16: h.bits, n: cols, k: rows, transposed: true)
        default:
            let f = floats()
            packed = BF16Matmul.pack(float: f.pointer, n: cols, k: rows, transposed: true)
        }
        packedTransposedBF16 = packed
        return packed
    }

    convenience init(rows: Int, cols: Int, float: FloatBuffer) {
        self.init(rows: rows, cols: cols, storage: .float32(float))
    }

    var float32: FloatBuffer? { if case let .float32(b) = storage { return b } else { return nil } }

    /// Elements [start, start + n) of the stored row-major layout as float32.
    func convert(start: Int, count n: Int, into out: UnsafeMutablePointer<Float>, workspace: LinearWorkspace) {
        if n == 0 { return }
        switch storage {
        case let .float32(b): out.update(from: b.pointer + start, count: n)
        case let .half(h): h.convert(start: start, count: n, into: out)
        case let .fourBit(w):
            let scratch = workspace.scaleBuffer(n / w.tensor.blocksize + 2)
            w.dequantize(start: start, count: n, into: out, scratch: scratch.pointer)
        }
    }

    /// The whole matrix as float32 (merging, DoRA norms, spectra).
    func floats() -> FloatBuffer {
        if let b = float32 { return b }
        let out = FloatBuffer(count: rows * cols, zeroed: false)
        convert(start: 0, count: rows * cols, into: out.pointer, workspace: LinearWorkspace())
        return out
    }

    /// Row `r` as float32 (embedding lookup).
    func row(_ r: Int, into out: UnsafeMutablePointer<Float>, workspace: LinearWorkspace) {
        convert(start: r * cols, count: cols, into: out, workspace: workspace)
    }

    /// y[m, rows] (= or += with beta 1) x[m, cols] W^T: W is [rows = outputs, cols = inputs].
    func multiplyTransposed(_ x: UnsafePointer<Float>, ldx: Int, m: Int, into y: UnsafeMutablePointer<Float>, ldy: Int,
                            beta: Float, workspace: LinearWorkspace) {
        if m == 0 || rows == 0 { return }
        if let p = bf16Weight() {
            // Rounding: x to bf16 inside BF16Matmul; y is float32 (beta is 0 or 1 here).
            BF16Matmul.multiply(x, ldx: ldx, m: m, weight: p, into: y, ldy: ldy, accumulate: beta != 0)
            return
        }
        if let w = float32 {
            if m == 1 {
                BLAS.sgemv(trans: false, m: rows, n: cols, a: w.pointer, lda: cols, x: x, beta: beta, y: y)
            } else {
                BLAS.sgemm(transA: false, transB: true, m: m, n: rows, k: cols, a: x, lda: ldx, b: w.pointer, ldb: cols,
                           beta: beta, c: y, ldc: ldy)
            }
            return
        }
        let tileRows = Swift.max(1, Swift.min(rows, LinearWorkspace.tileElements / Swift.max(cols, 1)))
        let tile = workspace.tileBuffer(tileRows * cols)
        var r0 = 0
        while r0 < rows {
            let t = Swift.min(tileRows, rows - r0)
            convert(start: r0 * cols, count: t * cols, into: tile.pointer, workspace: workspace)
            if m == 1 {
                BLAS.sgemv(trans: false, m: t, n: cols, a: tile.pointer, lda: cols, x: x, beta: beta, y: y + r0)
            } else {
                BLAS.sgemm(transA: false, transB: true, m: m, n: t, k: cols, a: x, lda: ldx, b: tile.pointer, ldb: cols,
                           beta: beta, c: y + r0, ldc: ldy)
            }
            r0 += t
        }
    }

    /// y[m, cols] (= or +=) x[m, rows] W: W stored [rows = inputs, cols = outputs] (Conv1D).
    func multiply(_ x: UnsafePointer<Float>, ldx: Int, m: Int, into y: UnsafeMutablePointer<Float>, ldy: Int,
                  beta: Float, workspace: LinearWorkspace) {
        if m == 0 || cols == 0 { return }
        if let p = bf16WeightTransposed() {
            BF16Matmul.multiply(x, ldx: ldx, m: m, weight: p, into: y, ldy: ldy, accumulate: beta != 0)
            return
        }
        if let w = float32 {
            if m == 1 {
                BLAS.sgemv(trans: true, m: rows, n: cols, a: w.pointer, lda: cols, x: x, beta: beta, y: y)
            } else {
                BLAS.sgemm(transA: false, transB: false, m: m, n: cols, k: rows, a: x, lda: ldx, b: w.pointer, ldb: cols,
                           beta: beta, c: y, ldc: ldy)
            }
            return
        }
        // split the inner dimension: y = sum over input tiles of x[:, k0..<k1] W[k0..<k1, :]
        let tileRows = Swift.max(1, Swift.min(rows, LinearWorkspace.tileElements / Swift.max(cols, 1)))
        let tile = workspace.tileBuffer(tileRows * cols)
        var k0 = 0
        while k0 < rows {
            let t = Swift.min(tileRows, rows - k0)
            convert(start: k0 * cols, count: t * cols, into: tile.pointer, workspace: workspace)
            let b: Float = k0 == 0 ? beta : 1
            if m == 1 {
                BLAS.sgemv(trans: true, m: t, n: cols, a: tile.pointer, lda: cols, x: x + k0, beta: b, y: y)
            } else {
                BLAS.sgemm(transA: false, transB: false, m: m, n: cols, k: t, a: x + k0, lda: ldx, b: tile.pointer, ldb: cols,
                           beta: b, c: y, ldc: ldy)
            }
            k0 += t
        }
    }

    /// Self with `computeBF16` set (derived matrices keep their source's compute dtype).
    func computing(bf16: Bool) -> WeightMatrix {
        computeBF16 = bf16
        return self
    }

    /// The matrix with its rows reordered: new row i = old row perm[i] (not for 4-bit storage,
    /// whose blocks run across rows).
    func permutingRows(_ perm: [Int]) -> WeightMatrix? {
        switch storage {
        case let .float32(w):
            let out = FloatBuffer(count: w.count, zeroed: false)
            for (i, old) in perm.enumerated() { (out.pointer + i * cols).update(from: w.pointer + old * cols, count: cols) }
            return WeightMatrix(rows: rows, cols: cols, float: out).computing(bf16: computeBF16)
        case let .half(h):
            let out = HalfBuffer(count: h.count, dtype: h.dtype)
            for (i, old) in perm.enumerated() { (out.bits + i * cols).update(from: h.bits + old * cols, count: cols) }
            return WeightMatrix(rows: rows, cols: cols, storage: .half(out)).computing(bf16: computeBF16)
        case .fourBit:
            return nil
        }
    }

    /// Matrices with equal `cols` stacked along rows, in one storage when they share one.
    static func stacked(_ parts: [WeightMatrix]) -> WeightMatrix? {
        let cols = parts[0].cols
        let rows = parts.reduce(0) { $0 + $1.rows }
        if parts.allSatisfy({ $0.float32 != nil }) {
            let out = FloatBuffer(count: rows * cols, zeroed: false)
            var offset = 0
            for p in parts {
                (out.pointer + offset).update(from: p.float32!.pointer, count: p.rows * cols)
                offset += p.rows * cols
            }
            return WeightMatrix(rows: rows, cols: cols, float: out).computing(bf16: parts[0].computeBF16)
        }
        let halves = parts.compactMap { p -> HalfBuffer? in if case let .half(h) = p.storage { return h } else { return nil } }
        if halves.count == parts.count, Set(halves.map(\.dtype)).count == 1 {
            let out = HalfBuffer(count: rows * cols, dtype: halves[0].dtype)
            var offset = 0
            for h in halves {
                (out.bits + offset).update(from: h.bits, count: h.count)
                offset += h.count
            }
            return WeightMatrix(rows: rows, cols: cols, storage: .half(out)).computing(bf16: parts[0].computeBF16)
        }
        return nil
    }
}
