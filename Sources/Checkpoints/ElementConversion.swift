/// Converts stored elements to Float or Double. The loops switch on the dtype once, outside
/// the loop, and read with `loadUnaligned` because safetensors does not promise aligned data.
public enum ElementConversion {
    /// Every float16 bit pattern decoded once (256 KiB): exact, and faster than converting
    /// on the fly on CPUs where Swift lowers Float16 -> Float to a library call.
    static let float16Table: [Float] = (0...UInt16.max).map { halfToFloat($0) }

    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = Int((h >> 10) & 0x1F)
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0 {
            // zero or subnormal: mantissa * 2^-24
            let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign != 0 ? -magnitude : magnitude
        }
        if exponent == 31 {
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        return Float(bitPattern: sign | (UInt32(exponent - 15 + 127) << 23) | (mantissa << 13))
    }

    /// FP8 E4M3 (OCP "fn" variant used by safetensors): bias 7, no infinities, S.1111.111 is NaN.
    static func e4m3ToFloat(_ b: UInt8) -> Float {
        let negative = b & 0x80 != 0
        let exponent = Int((b >> 3) & 0xF)
        let mantissa = Float(b & 0x7)
        let value: Float
        if exponent == 15 && b & 0x7 == 7 { return .nan }
        if exponent == 0 {
            value = mantissa / 8 * Float(sign: .plus, exponent: -6, significand: 1)
        } else {
            value = (1 + mantissa / 8) * Float(sign: .plus, exponent: exponent - 7, significand: 1)
        }
        return negative ? -value : value
    }

    /// FP8 E5M2 is the top byte of an IEEE float16.
    static func e5m2ToFloat(_ b: UInt8) -> Float { float16Table[Int(UInt16(b) << 8)] }

    /// Converts `count` elements starting at element `start` of `raw` into `out`.
    public static func toFloat(_ raw: UnsafeRawBufferPointer, dtype: DType, start: Int, count: Int,
                               into out: UnsafeMutablePointer<Float>) {
        let size = dtype.byteSize
        precondition((start + count) * size <= raw.count, "conversion range outside tensor")
        let base = raw.baseAddress! + start * size
        switch dtype {
        case .f32:
            (UnsafeMutableRawPointer(out)).copyMemory(from: base, byteCount: count * 4)
        case .bf16:
            for i in 0..<count {
                let bits = base.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)
                out[i] = Float(bitPattern: UInt32(bits) << 16)
            }
        case .f16:
            float16Table.withUnsafeBufferPointer { table in
                for i in 0..<count {
                    out[i] = table[Int(base.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))]
                }
            }
        case .f64:
            for i in 0..<count { out[i] = Float(base.loadUnaligned(fromByteOffset: i * 8, as: Double.self)) }
        default:
            for i in 0..<count { out[i] = Float(scalar(base, index: i, dtype: dtype)) }
        }
    }

    /// Converts `count` elements starting at element `start` of `raw` into `out` as Double.
    public static func toDouble(_ raw: UnsafeRawBufferPointer, dtype: DType, start: Int, count: Int,
                                into out: UnsafeMutablePointer<Double>) {
        let size = dtype.byteSize
        precondition((start + count) * size <= raw.count, "conversion range outside tensor")
        let base = raw.baseAddress! + start * size
        switch dtype {
        case .f64:
            (UnsafeMutableRawPointer(out)).copyMemory(from: base, byteCount: count * 8)
        case .f32:
            for i in 0..<count { out[i] = Double(base.loadUnaligned(fromByteOffset: i * 4, as: Float.self)) }
        case .bf16:
            for i in 0..<count {
                let bits = base.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)
                out[i] = Double(Float(bitPattern: UInt32(bits) << 16))
            }
        case .f16:
            float16Table.withUnsafeBufferPointer { table in
                for i in 0..<count {
                    out[i] = Double(table[Int(base.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))])
                }
            }
        default:
            for i in 0..<count { out[i] = scalar(base, index: i, dtype: dtype) }
        }
    }

    /// Slow path for the rarely used types: one element as Double.
    static func scalar(_ base: UnsafeRawPointer, index i: Int, dtype: DType) -> Double {
        switch dtype {
        case .f64: base.loadUnaligned(fromByteOffset: i * 8, as: Double.self)
        case .f32: Double(base.loadUnaligned(fromByteOffset: i * 4, as: Float.self))
        case .f16: Double(halfToFloat(base.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)))
        case .bf16: Double(Float(bitPattern: UInt32(base.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)) << 16))
        case .f8e4m3: Double(e4m3ToFloat(base.load(fromByteOffset: i, as: UInt8.self)))
        case .f8e5m2: Double(e5m2ToFloat(base.load(fromByteOffset: i, as: UInt8.self)))
        case .i64: Double(base.loadUnaligned(fromByteOffset: i * 8, as: Int64.self))
        case .i32: Double(base.loadUnaligned(fromByteOffset: i * 4, as: Int32.self))
        case .i16: Double(base.loadUnaligned(fromByteOffset: i * 2, as: Int16.self))
        case .i8: Double(base.load(fromByteOffset: i, as: Int8.self))
        case .u64: Double(base.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))
        case .u32: Double(base.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
        case .u16: Double(base.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
        case .u8: Double(base.load(fromByteOffset: i, as: UInt8.self))
        case .bool: base.load(fromByteOffset: i, as: UInt8.self) != 0 ? 1 : 0
        }
    }
}
