/// bitsandbytes' 4-bit formats (NF4, FP4) with optional double quantization, computed exactly as
/// bitsandbytes 0.50.2 computes them on a CPU: quantize_4bit (backends/default/ops.py), the
/// absmax double quantization (mean offset, then the C++ CPU blockwise 8-bit kernel with the
/// signed dynamic map) and the reference dequantization `_dequantize_4bit_compute`, which equals
/// the CUDA kernel. Bit patterns of every constant are spelled out so nothing depends on how a
/// decimal literal rounds.
public enum FourBitType: String, Sendable, CaseIterable, Codable {
    case nf4, fp4

    /// The 16 code values, index = 4-bit code (float32 bit patterns of bitsandbytes' tables).
    public var code: [Float] {
        switch self {
        case .nf4: FourBitCodes.nf4
        case .fp4: FourBitCodes.fp4
        }
    }
}

enum FourBitCodes {
    static let nf4: [Float] = [
        0xBF80_0000, 0xBF32_39B1, 0xBF06_6B30, 0xBECA_32A0, 0xBE91_A24D, 0xBE3D_353F, 0xBDBA_7871, 0x0000_0000,
        0x3DA2_FAFF, 0x3E24_CAE3, 0x3E7C_04DD, 0x3EAD_033A, 0x3EE1_A4B8, 0x3F10_07AB, 0x3F39_13B3, 0x3F80_0000,
    ].map { Float(bitPattern: $0) }
    /// Bit-pattern order (bit 3 = sign): [0, 0.0625, 8, 12, 4, 6, 2, 3] / 12 and their negatives
    /// (code 8 is +0, as bitsandbytes stores it).
    static let fp4: [Float] = [
        0x0000_0000, 0x3BAA_AAAB, 0x3F2A_AAAB, 0x3F80_0000, 0x3EAA_AAAB, 0x3F00_0000, 0x3E2A_AAAB, 0x3E80_0000,
        0x0000_0000, 0xBBAA_AAAB, 0xBF2A_AAAB, 0xBF80_0000, 0xBEAA_AAAB, 0xBF00_0000, 0xBE2A_AAAB, 0xBE80_0000,
    ].map { Float(bitPattern: $0) }
    /// torch.argsort of the FP4 table as bitsandbytes gets it (used to map sorted buckets to codes);
    /// NF4 is sorted already.
    static let fp4Order: [Int] = [11, 10, 13, 12, 15, 14, 9, 0, 8, 1, 6, 7, 4, 5, 2, 3]
    /// bitsandbytes.functional.create_dynamic_map(signed=True): 256 sorted float32 values.
    static let dynamicMap: [Float] = [
        0xBF7E3333, 0xBF7A999A, 0xBF770000, 0xBF736666, 0xBF6FCCCD, 0xBF6C3333, 0xBF68999A, 0xBF650000,
        0xBF616666, 0xBF5DCCCD, 0xBF5A3333, 0xBF56999A, 0xBF530000, 0xBF4F6666, 0xBF4BCCCD, 0xBF483333,
        0xBF44999A, 0xBF410000, 0xBF3D6666, 0xBF39CCCD, 0xBF363334, 0xBF32999A, 0xBF2F0000, 0xBF2B6666,
        0xBF27CCCD, 0xBF243334, 0xBF20999A, 0xBF1D0000, 0xBF196666, 0xBF15CCCD, 0xBF123334, 0xBF0E999A,
        0xBF0B0000, 0xBF076666, 0xBF03CCCC, 0xBF003333, 0xBEF93332, 0xBEF20000, 0xBEEACCCC, 0xBEE3999A,
        0xBEDC6666, 0xBED53333, 0xBECE0000, 0xBEC6CCCC, 0xBEBF999A, 0xBEB86666, 0xBEB13333, 0xBEAA0000,
        0xBEA2CCCC, 0xBE9B999A, 0xBE946666, 0xBE8D3334, 0xBE860000, 0xBE7D9999, 0xBE6F3333, 0xBE60CCCD,
        0xBE526666, 0xBE440000, 0xBE35999A, 0xBE273333, 0xBE18CCCD, 0xBE0A6666, 0xBDF80000, 0xBDDB3334,
        0xBDC9EB85, 0xBDC428F7, 0xBDBE6667, 0xBDB8A3D7, 0xBDB2E148, 0xBDAD1EB8, 0xBDA75C2A, 0xBDA1999A,
        0xBD9BD70A, 0xBD96147B, 0xBD9051EB, 0xBD8A8F5D, 0xBD84CCCD, 0xBD7E147B, 0xBD728F5D, 0xBD670A3D,
        0xBD5B851F, 0xBD500000, 0xBD447AE1, 0xBD38F5C3, 0xBD2D70A3, 0xBD21EB85, 0xBD166667, 0xBD0AE148,
        0xBCFEB852, 0xBCE7AE15, 0xBCD0A3D7, 0xBCB9999A, 0xBCA28F5D, 0xBC8B851F, 0xBC68F5C3, 0xBC3AE148,
        0xBC1F3B64, 0xBC160418, 0xBC0CCCCD, 0xBC039581, 0xBBF4BC6A, 0xBBE24DD3, 0xBBCFDF3B, 0xBBBD70A4,
        0xBBAB020D, 0xBB989374, 0xBB8624DD, 0xBB676C8A, 0xBB428F5C, 0xBB1DB22D, 0xBAF1A9FC, 0xBAA7EF9D,
        0xBA7765FF, 0xBA59E83E, 0xBA3C6A80, 0xBA1EECC1, 0xBA016F01, 0xB9C7E283, 0xB98CE705, 0xB923D70B,
        0xB8BA1F4B, 0xB88AEFB3, 0xB8378034, 0xB7B24206, 0xB70205FF, 0xB65A1A94, 0xB513A3B7, 0x00000000,
        0x3513A3B7, 0x365A1A94, 0x370205FF, 0x37B24206, 0x38378034, 0x388AEFB3, 0x38BA1F4B, 0x3923D70B,
        0x398CE705, 0x39C7E283, 0x3A016F01, 0x3A1EECC1, 0x3A3C6A80, 0x3A59E83E, 0x3A7765FF, 0x3AA7EF9D,
        0x3AF1A9FC, 0x3B1DB22D, 0x3B428F5C, 0x3B676C8A, 0x3B8624DD, 0x3B989374, 0x3BAB020D, 0x3BBD70A4,
        0x3BCFDF3B, 0x3BE24DD3, 0x3BF4BC6A, 0x3C039581, 0x3C0CCCCD, 0x3C160418, 0x3C1F3B64, 0x3C3AE148,
        0x3C68F5C3, 0x3C8B851F, 0x3CA28F5D, 0x3CB9999A, 0x3CD0A3D7, 0x3CE7AE15, 0x3CFEB852, 0x3D0AE148,
        0x3D166667, 0x3D21EB85, 0x3D2D70A3, 0x3D38F5C3, 0x3D447AE1, 0x3D500000, 0x3D5B851F, 0x3D670A3D,
        0x3D728F5D, 0x3D7E147B, 0x3D84CCCD, 0x3D8A8F5D, 0x3D9051EB, 0x3D96147B, 0x3D9BD70A, 0x3DA1999A,
        0x3DA75C2A, 0x3DAD1EB8, 0x3DB2E148, 0x3DB8A3D7, 0x3DBE6667, 0x3DC428F7, 0x3DC9EB85, 0x3DDB3334,
        0x3DF80000, 0x3E0A6666, 0x3E18CCCD, 0x3E273333, 0x3E35999A, 0x3E440000, 0x3E526666, 0x3E60CCCD,
        0x3E6F3333, 0x3E7D9999, 0x3E860000, 0x3E8D3334, 0x3E946666, 0x3E9B999A, 0x3EA2CCCC, 0x3EAA0000,
        0x3EB13333, 0x3EB86666, 0x3EBF999A, 0x3EC6CCCC, 0x3ECE0000, 0x3ED53333, 0x3EDC6666, 0x3EE3999A,
        0x3EEACCCC, 0x3EF20000, 0x3EF93332, 0x3F003333, 0x3F03CCCC, 0x3F076666, 0x3F0B0000, 0x3F0E999A,
        0x3F123334, 0x3F15CCCD, 0x3F196666, 0x3F1D0000, 0x3F20999A, 0x3F243334, 0x3F27CCCD, 0x3F2B6666,
        0x3F2F0000, 0x3F32999A, 0x3F363334, 0x3F39CCCD, 0x3F3D6666, 0x3F410000, 0x3F44999A, 0x3F483333,
        0x3F4BCCCD, 0x3F4F6666, 0x3F530000, 0x3F56999A, 0x3F5A3333, 0x3F5DCCCD, 0x3F616666, 0x3F650000,
        0x3F68999A, 0x3F6C3333, 0x3F6FCCCD, 0x3F736666, 0x3F770000, 0x3F7A999A, 0x3F7E3333, 0x3F800000
    ].map { Float(bitPattern: $0) }
}

/// Where a 4-bit tensor's per-block scales come from.
public enum FourBitAbsmax: Sendable, Equatable {
    /// One float32 absmax per block.
    case plain([Float])
    /// Double quantization: absmax_b = nestedMap[q_b] * nestedAbsmax[b / nestedBlocksize] + offset.
    case nested(codes: [UInt8], nestedAbsmax: [Float], nestedMap: [Float], offset: Float, nestedBlocksize: Int)

    public var isNested: Bool { if case .nested = self { return true } else { return false } }

    /// All block scales as float32, computed as bitsandbytes dequantizes them.
    public func scales() -> [Float] {
        switch self {
        case let .plain(a): return a
        case let .nested(codes, nestedAbsmax, map, offset, nb):
            return codes.indices.map { b in map[Int(codes[b])] * nestedAbsmax[b / nb] + offset }
        }
    }

    /// Bytes kept in memory.
    public var byteCount: Int {
        switch self {
        case let .plain(a): return a.count * 4
        case let .nested(codes, nestedAbsmax, map, _, _): return codes.count + 4 * (nestedAbsmax.count + map.count + 1)
        }
    }
}

/// One tensor in a bitsandbytes 4-bit format: packed codes (element 2i in the high nibble of
/// byte i, 2i+1 in the low one) over the row-major flattened tensor, blocks of `blocksize`
/// elements (the last may be partial), and the block scales.
public struct FourBitTensor: Sendable, Equatable {
    public let type: FourBitType
    public let blocksize: Int
    /// The tensor's shape ([out, in] for a linear weight).
    public let shape: [Int]
    /// The dtype the weights had before quantization (bitsandbytes' quant_state dtype); the
    /// dequantized float32 values are rounded to it first, as bitsandbytes does.
    public let dtype: DType
    public let packed: [UInt8]
    public let absmax: FourBitAbsmax

    public init(type: FourBitType, blocksize: Int, shape: [Int], dtype: DType, packed: [UInt8], absmax: FourBitAbsmax) {
        self.type = type
        self.blocksize = blocksize
        self.shape = shape
        self.dtype = dtype
        self.packed = packed
        self.absmax = absmax
    }

    public var count: Int { shape.reduce(1, *) }
    public var blockCount: Int { (count + blocksize - 1) / blocksize }
    public var byteCount: Int { packed.count + absmax.byteCount }

    public static let validBlocksizes = [32, 64, 128, 256, 512, 1024, 2048, 4096]

    /// code(nibble_i) * absmax_{i / blocksize} in float32 for elements [start, start + n), then
    /// rounded to the stored dtype and to `compute` (what Linear4bit multiplies with). `scales`
    /// are the block scales (`absmax.scales()`, computed once by the caller).
    public func dequantize(start: Int, count n: Int, scales: UnsafePointer<Float>, compute: DType = .f32,
                           into out: UnsafeMutablePointer<Float>) {
        precondition(start >= 0 && start + n <= count, "dequantize range outside tensor")
        if n == 0 { return }
        let roundStored = dtype == .f32 ? nil : dtype
        let roundCompute = compute == .f32 || compute == roundStored ? nil : compute
        // Per block, the 16 values its codes can take, computed with the same float32 product and
        // roundings as element by element; then every element is one table lookup.
        var table = [Float](repeating: 0, count: 16)
        let code = type.code
        table.withUnsafeMutableBufferPointer { tb in
            let t = tb.baseAddress!
            packed.withUnsafeBufferPointer { p in
                let bytes = p.baseAddress!
                var i = start
                var o = 0
                let end = start + n
                while i < end {
                    let block = i / blocksize
                    let stop = Swift.min(end, (block + 1) * blocksize)
                    let s = scales[block]
                    for j in 0..<16 { t[j] = code[j] * s }
                    if let roundStored { FloatRounding.round(t, count: 16, to: roundStored) }
                    if let roundCompute { FloatRounding.round(t, count: 16, to: roundCompute) }
                    if i & 1 == 1 {
                        out[o] = t[Int(bytes[i >> 1] & 0x0F)]
                        i += 1
                        o += 1
                    }
                    while i + 1 < stop {
                        let byte = bytes[i >> 1]
                        out[o] = t[Int(byte >> 4)]
                        out[o + 1] = t[Int(byte & 0x0F)]
                        i += 2
                        o += 2
                    }
                    if i < stop {
                        out[o] = t[Int(bytes[i >> 1] >> 4)]
                        i += 1
                        o += 1
                    }
                }
            }
        }
    }

    /// The whole tensor dequantized (float32 values of the compute dtype).
    public func dequantized(compute: DType = .f32) -> [Float] {
        let scales = absmax.scales()
        return [Float](unsafeUninitializedCapacity: count) { buf, initialized in
            scales.withUnsafeBufferPointer { s in
                if count > 0 { dequantize(start: 0, count: count, scales: s.baseAddress!, compute: compute, into: buf.baseAddress!) }
            }
            initialized = count
        }
    }
}

/// Round-to-nearest-even of float32 values to a 16-bit float, kept as float32 (torch's `.to`).
public enum FloatRounding {
    public static func bf16Bits(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        if x.isNaN { return UInt16(truncatingIfNeeded: (bits >> 16) | 0x40) }
        let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }

    public static func toBF16(_ x: Float) -> Float { Float(bitPattern: UInt32(bf16Bits(x)) << 16) }

    public static func toF16(_ x: Float) -> Float { Float(Float16(x)) }

    public static func round(_ p: UnsafeMutablePointer<Float>, count: Int, to dtype: DType) {
        switch dtype {
        case .bf16: for i in 0..<count { p[i] = toBF16(p[i]) }
        case .f16: for i in 0..<count { p[i] = Float(Float16(p[i])) }
        default: break
        }
    }
}

/// Quantization into the 4-bit formats, bit-identical to bitsandbytes.functional.quantize_4bit
/// on a CPU.
public enum FourBitQuantizer {
    /// `values` are the tensor's elements as float32 (16-bit inputs upcast exactly, as
    /// bitsandbytes does), row-major; `dtype` is what they were stored as.
    public static func quantize(_ values: UnsafePointer<Float>, shape: [Int], dtype: DType, type: FourBitType,
                                blocksize: Int, doubleQuant: Bool) -> FourBitTensor {
        precondition(FourBitTensor.validBlocksizes.contains(blocksize))
        let n = shape.reduce(1, *)
        let full = n / blocksize
        let blocks = (n + blocksize - 1) / blocksize
        var absmax = [Float](repeating: 0, count: blocks)
        var packed = [UInt8](repeating: 0, count: (n + 1) / 2)
        // bucket boundaries: midpoints of the sorted codes, in float32
        let order = type == .nf4 ? Array(0..<16) : FourBitCodes.fp4Order
        let code = type.code
        let sorted = order.map { code[$0] }
        let bounds = (0..<15).map { (sorted[$0] + sorted[$0 + 1]) / 2 }
        let tiny = Float(1e-38)
        packed.withUnsafeMutableBufferPointer { out in
            for b in 0..<blocks {
                let lo = b * blocksize, hi = Swift.min(n, lo + blocksize)
                var m: Float = 0
                for i in lo..<hi { m = Swift.max(m, Swift.abs(values[i])) }
                let partial = b >= full
                // full blocks: x * (1 / max(absmax, 1e-38)), absmax kept as found; the partial
                // last block: x / max(absmax, 1e-38), the clamped value kept.
                let clamped = Swift.max(m, tiny)
                absmax[b] = partial ? clamped : m
                let inv = 1 / clamped
                for i in lo..<hi {
                    var s = partial ? values[i] / clamped : values[i] * inv
                    s = Swift.min(Swift.max(s, -1), 1)
                    // torch.bucketize (right=False): the number of boundaries strictly below s
                    var q = 0, hi = 15
                    while q < hi { let mid = (q + hi) >> 1; if bounds[mid] < s { q = mid + 1 } else { hi = mid } }
                    let nibble = UInt8(order[q])
                    if i & 1 == 0 { out[i >> 1] = nibble << 4 } else { out[i >> 1] |= nibble }
                }
            }
        }
        if n % 2 == 1 {
            // bitsandbytes pads an odd count with one 0.0, quantized like any value
            var q = 0, hi = 15
            while q < hi { let mid = (q + hi) >> 1; if bounds[mid] < 0 { q = mid + 1 } else { hi = mid } }
            packed[n >> 1] |= UInt8(order[q])
        }
        let stats: FourBitAbsmax = doubleQuant ? nestedAbsmax(absmax) : .plain(absmax)
        return FourBitTensor(type: type, blocksize: blocksize, shape: shape, dtype: dtype, packed: packed, absmax: stats)
    }

    /// offset = torch's float32 mean of the absmax; absmax - offset quantized in blocks of 256
    /// with the signed dynamic map as bitsandbytes 0.50.2's CPU kernel does it: x / blockmax is
    /// first snapped to a grid of 65535 points over [-1, 1] (k = rint((x + 1) * 32767.5)), and the
    /// grid point's nearest code is taken (ties to the lower code). Near a midpoint this can pick
    /// the farther code; found by probing the kernel (tests compare every code bit for bit).
    static func nestedAbsmax(_ absmax: [Float]) -> FourBitAbsmax {
        let nb = 256
        let offset = TorchReduction.sum(absmax) / Float(absmax.count)
        let centred = absmax.map { $0 - offset }
        let blocks = (centred.count + nb - 1) / nb
        var nested = [Float](repeating: 0, count: blocks)
        var codes = [UInt8](repeating: 0, count: centred.count)
        let lut = gridCodes
        for b in 0..<blocks {
            let lo = b * nb, hi = Swift.min(centred.count, lo + nb)
            var m: Float = 0
            for i in lo..<hi { m = Swift.max(m, Swift.abs(centred[i])) }
            nested[b] = m
            for i in lo..<hi {
                let x = centred[i] / m
                let k = ((x + 1) * 32767.5).rounded(.toNearestOrEven)
                codes[i] = lut[k.isNaN ? 0 : Int(Swift.min(Swift.max(k, 0), 65534))]
            }
        }
        return .nested(codes: codes, nestedAbsmax: nested, nestedMap: FourBitCodes.dynamicMap, offset: offset, nestedBlocksize: nb)
    }

    /// The dynamic-map code of each grid point -1 + k / 32767.5: the nearest code, float32
    /// distances, ties to the lower code.
    static let gridCodes: [UInt8] = {
        let map = FourBitCodes.dynamicMap
        return (0..<65535).map { k in
            let x = Float(k) / 32767.5 - 1
            var l = 0, h = 255
            if x >= map[255] { l = 255 } else if x < map[0] { l = 0 } else {
                while h - l > 1 { let mid = (l + h) / 2; if map[mid] <= x { l = mid } else { h = mid } }
            }
            if l < 255 && Swift.abs(x - map[l + 1]) < Swift.abs(x - map[l]) { l += 1 }
            return UInt8(l)
        }
    }()
}

/// torch's float32 CPU sum of a contiguous 1-D tensor on one thread (fewer than 32768 elements,
/// or torch set to one thread): the cascade of aten/src/ATen/native/cpu/SumKernel.cpp with
/// 8-lane vectors, 4-way interleaving and 4 levels of 16-step partial sums. Summing in another
/// order changes the last bit of the double-quantization offset, and with it every code.
enum TorchReduction {
    static func sum(_ x: [Float]) -> Float {
        let n = x.count
        let width = 8
        if n < width {
            return rowSum(size: n, lanes: 1) { i, _ in x[i] }[0]
        }
        let vectors = n / width
        let v = rowSum(size: vectors, lanes: width) { i, lane in x[i * width + lane] }
        var total: Float = 0
        for k in (vectors * width)..<n { total += x[k] }
        for lane in 0..<width { total += v[lane] }
        return total
    }

    /// row_sum: interpret the row as (-1, 4), cascade-sum the columns, add the tail to column 0,
    /// then columns 1, 2, 3 to column 0. Each "element" is a vector of `lanes` floats.
    private static func rowSum(size: Int, lanes: Int, load: (Int, Int) -> Float) -> [Float] {
        let ilp = 4
        let sizeILP = size / ilp
        var partial = multiRowSum(size: sizeILP, rows: ilp, lanes: lanes) { i, k, lane in load(i * ilp + k, lane) }
        for i in (sizeILP * ilp)..<Swift.max(size, sizeILP * ilp) {
            for lane in 0..<lanes { partial[0][lane] += load(i, lane) }
        }
        for k in 1..<ilp { for lane in 0..<lanes { partial[0][lane] += partial[k][lane] } }
        return partial[0]
    }

    private static func multiRowSum(size: Int, rows: Int, lanes: Int, load: (Int, Int, Int) -> Float) -> [[Float]] {
        let levels = 4
        let ceilLog2 = size <= 1 ? 0 : Int.bitWidth - (size - 1).leadingZeroBitCount
        let power = Swift.max(4, ceilLog2 / levels)
        let step = 1 << power
        let mask = step - 1
        var acc = [[[Float]]](repeating: [[Float]](repeating: [Float](repeating: 0, count: lanes), count: rows), count: levels)
        var i = 0
        while i + step <= size {
            for _ in 0..<step {
                for k in 0..<rows { for l in 0..<lanes { acc[0][k][l] += load(i, k, l) } }
                i += 1
            }
            for j in 1..<levels {
                for k in 0..<rows { for l in 0..<lanes { acc[j][k][l] += acc[j - 1][k][l]; acc[j - 1][k][l] = 0 } }
                if i & (mask << (j * power)) != 0 { break }
            }
        }
        while i < size {
            for k in 0..<rows { for l in 0..<lanes { acc[0][k][l] += load(i, k, l) } }
            i += 1
        }
        for j in 1..<levels { for k in 0..<rows { for l in 0..<lanes { acc[0][k][l] += acc[j][k][l] } } }
        return acc[0]
    }
}
