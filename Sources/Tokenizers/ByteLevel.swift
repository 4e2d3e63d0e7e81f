/// GPT-2's reversible byte <-> printable character table (`bytes_to_unicode` in GPT-2 and HF).
///
/// Printable Latin-1 bytes map to themselves; the other 68 bytes (controls, space, 0x7F-0xA0,
/// 0xAD) map to U+0100 upwards in byte order, so " " becomes "Ġ" and "\n" becomes "Ċ".
/// The BPE model works on raw bytes and only uses this table to translate vocabulary strings, so
/// no text is ever rewritten character by character while encoding.
enum ByteLevelAlphabet {
    /// `scalarForByte[b]` is the scalar standing for byte `b`.
    static let scalarForByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    /// Inverse table indexed by scalar value (all mapped scalars are below U+0144); -1 = not mapped.
    static let byteForScalar: [Int16] = {
        var t = [Int16](repeating: -1, count: 0x144)
        for (b, s) in scalarForByte.enumerated() { t[Int(s)] = Int16(b) }
        return t
    }()

    /// The byte-level string for one raw byte, e.g. 0x20 -> "Ġ".
    static func string(forByte b: UInt8) -> String {
        String(Character(Unicode.Scalar(scalarForByte[Int(b)])!))
    }

    /// Raw bytes spelled by a byte-level token, or nil if some character is outside the alphabet
    /// (such a token can never come out of byte-level BPE, e.g. an added token "   ").
    static func rawBytes(of token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.unicodeScalars.count)
        for s in token.unicodeScalars {
            guard s.value < 0x144, case let b = byteForScalar[Int(s.value)], b >= 0 else { return nil }
            out.append(UInt8(b))
        }
        return out
    }
}
