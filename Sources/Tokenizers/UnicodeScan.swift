/// Unicode helpers for the hot loops: decode UTF-8 from a byte buffer and classify scalars the way
/// the Oniguruma / Rust regexes used by HF tokenizers do (\p{L}, \p{N}, \s), without touching
/// `Character` or `String.Index`.
enum UnicodeScan {
    /// Decodes the scalar starting at `i` in valid UTF-8 (callers only pass buffers that came
    /// from Swift Strings). Returns the scalar value and its byte length.
    @inline(__always)
    static func decode(_ b: UnsafeBufferPointer<UInt8>, at i: Int) -> (scalar: UInt32, length: Int) {
        let b0 = UInt32(b[i])
        if b0 < 0x80 { return (b0, 1) }
        if b0 < 0xE0 { return ((b0 & 0x1F) << 6 | UInt32(b[i + 1] & 0x3F), 2) }
        if b0 < 0xF0 {
            return ((b0 & 0x0F) << 12 | UInt32(b[i + 1] & 0x3F) << 6 | UInt32(b[i + 2] & 0x3F), 3)
        }
        return ((b0 & 0x07) << 18 | UInt32(b[i + 1] & 0x3F) << 12 | UInt32(b[i + 2] & 0x3F) << 6
            | UInt32(b[i + 3] & 0x3F), 4)
    }

    /// Byte length of the scalar whose lead byte is `b0`.
    @inline(__always)
    static func length(lead b0: UInt8) -> Int {
        b0 < 0x80 ? 1 : b0 < 0xE0 ? 2 : b0 < 0xF0 ? 3 : 4
    }

    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    static let whitespace: UInt8 = 4

    private static let asciiClasses: [UInt8] = (0..<128).map { computeClass(UInt32($0)) }

    /// Bit set of `letter` (general category L*), `number` (N*) and `whitespace` (the Unicode
    /// White_Space property, which is what Oniguruma's and Rust's `\s` match).
    @inline(__always)
    static func charClass(_ scalar: UInt32) -> UInt8 {
        if scalar < 128 { return asciiClasses.withUnsafeBufferPointer { $0[Int(scalar)] } }
        return computeClass(scalar)
    }

    private static func computeClass(_ v: UInt32) -> UInt8 {
        guard let s = Unicode.Scalar(v) else { return 0 }
        var c: UInt8 = s.properties.isWhitespace ? whitespace : 0
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            c |= letter
        case .decimalNumber, .letterNumber, .otherNumber:
            c |= number
        default: break
        }
        return c
    }

    static func isWhitespace(_ v: UInt32) -> Bool { charClass(v) & whitespace != 0 }
    /// Rust's `char::is_numeric`: general category Nd, Nl or No.
    static func isNumeric(_ v: UInt32) -> Bool { charClass(v) & number != 0 }

    /// Rust regex `\w` (Unicode): Alphabetic, M*, Nd, Pc, Join_Control. Used for `single_word`.
    static func isWordChar(_ v: UInt32) -> Bool {
        guard let s = Unicode.Scalar(v) else { return false }
        let p = s.properties
        if p.isAlphabetic || p.isJoinControl { return true }
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }

    /// Scalars of a byte buffer (for the cold paths: added-token flags, normalizers).
    static func scalars(_ b: UnsafeBufferPointer<UInt8>) -> [(offset: Int, scalar: UInt32, length: Int)] {
        var out: [(Int, UInt32, Int)] = []
        var i = 0
        while i < b.count {
            let (s, n) = decode(b, at: i)
            out.append((i, s, n))
            i += n
        }
        return out
    }
}
