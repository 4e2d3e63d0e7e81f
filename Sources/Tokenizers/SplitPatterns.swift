import Foundation

/// The patterns a `Split` pre-tokenizer (or ByteLevel with `use_regex`) cuts text with.
///
/// The regexes of GPT-2, Llama-3 and Qwen2 are recognised by their exact text and run by
/// hand-written scanners that mirror the backtracking regex alternative by alternative; they are
/// the hot path and an NSRegularExpression would dominate encode time. Other regexes fall back to
/// NSRegularExpression (see `RegexFallback`), plain strings to a byte search.
enum SplitPattern: @unchecked Sendable {
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    /// (Llama-3, maxDigits 3) and the same with `\p{N}` (Qwen2, maxDigits 1).
    case llama3(maxDigits: Int)
    case literal([UInt8])
    case regex(RegexFallback)

    static let gpt2Regex = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static let llama3Regex = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2Regex = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// Chooses the scanner for a regex from tokenizer.json; `useScanner: false` forces
    /// NSRegularExpression even for known patterns (for comparing the two).
    static func forRegex(_ pattern: String, path: String = "", useScanner: Bool = true) throws -> SplitPattern {
        if useScanner {
            switch pattern {
            case gpt2Regex: return .gpt2
            case llama3Regex: return .llama3(maxDigits: 3)
            case qwen2Regex: return .llama3(maxDigits: 1)
            default: break
            }
        }
        return .regex(try RegexFallback(pattern, path: path))
    }

    /// Calls `body(start, end)` for each match, in order, non-overlapping, byte offsets.
    func forEachMatch(in b: UnsafeBufferPointer<UInt8>, _ body: (Int, Int) -> Void) {
        switch self {
        case .gpt2:
            var p = 0
            while p < b.count {
                let e = Self.gpt2Match(b, p)
                body(p, e)
                p = e
            }
        case .llama3(let maxDigits):
            var p = 0
            while p < b.count {
                let e = Self.llama3Match(b, p, maxDigits: maxDigits)
                body(p, e)
                p = e
            }
        case .literal(let needle):
            guard !needle.isEmpty, needle.count <= b.count else { return }
            var p = 0
            while p + needle.count <= b.count {
                var k = 0
                while k < needle.count && b[p + k] == needle[k] { k += 1 }
                if k == needle.count {
                    body(p, p + k)
                    p += k
                } else {
                    p += 1
                }
            }
        case .regex(let r):
            r.forEachMatch(in: b, body)
        }
    }

    // MARK: - Hand-written scanners

    private enum Kind { case letter, number, space, other }

    @inline(__always)
    private static func kind(_ scalar: UInt32) -> Kind {
        let c = UnicodeScan.charClass(scalar)
        if c & UnicodeScan.letter != 0 { return .letter }
        if c & UnicodeScan.number != 0 { return .number }
        if c & UnicodeScan.whitespace != 0 { return .space }
        return .other
    }

    @inline(__always)
    private static func kind(at i: Int, _ b: UnsafeBufferPointer<UInt8>) -> Kind? {
        i < b.count ? kind(UnicodeScan.decode(b, at: i).scalar) : nil
    }

    /// End of the run of `k` scalars starting at `i`, stopping after `limit` scalars.
    @inline(__always)
    private static func run(_ k: Kind, _ b: UnsafeBufferPointer<UInt8>, from i: Int, limit: Int = .max) -> Int {
        var e = i
        var n = 0
        while e < b.count && n < limit {
            let (s, len) = UnicodeScan.decode(b, at: e)
            if kind(s) != k { break }
            e += len
            n += 1
        }
        return e
    }

    /// `'s|'t|'re|'ve|'m|'ll|'d` after an apostrophe at `i - 1`; returns the match end.
    /// Case-insensitive matching follows Oniguruma's Unicode case folding, under which the long s
    /// "ſ" (U+017F) folds to "s".
    @inline(__always)
    private static func contraction(_ b: UnsafeBufferPointer<UInt8>, _ i: Int, ignoreCase: Bool) -> Int? {
        guard i < b.count else { return nil }
        func letter(_ j: Int) -> (UInt32, Int)? {
            guard j < b.count else { return nil }
            var (s, len) = UnicodeScan.decode(b, at: j)
            if ignoreCase {
                if s >= 0x41 && s <= 0x5A { s += 0x20 } else if s == 0x17F { s = 0x73 }
            }
            return (s, len)
        }
        guard let (c1, l1) = letter(i) else { return nil }
        switch c1 {
        case 0x73, 0x74, 0x6D, 0x64: return i + l1  // s t m d
        case 0x72, 0x76:  // r v -> "e"
            if let (c2, l2) = letter(i + l1), c2 == 0x65 { return i + l1 + l2 }
        case 0x6C:  // l -> "l"
            if let (c2, l2) = letter(i + l1), c2 == 0x6C { return i + l1 + l2 }
        default: break
        }
        return nil
    }

    /// `\s+(?!\S)|\s+` from `p` (a whitespace scalar): the run, minus its last scalar when the
    /// run is followed by a non-space and has more than one scalar.
    @inline(__always)
    private static func whitespaceMatch(_ b: UnsafeBufferPointer<UInt8>, _ p: Int) -> Int {
        var e = p
        var lastStart = p
        var count = 0
        while e < b.count {
            let (s, len) = UnicodeScan.decode(b, at: e)
            if kind(s) != .space { break }
            lastStart = e
            e += len
            count += 1
        }
        if e == b.count || count < 2 { return e }
        return lastStart
    }

    static func gpt2Match(_ b: UnsafeBufferPointer<UInt8>, _ p: Int) -> Int {
        let (c, len) = UnicodeScan.decode(b, at: p)
        if c == 0x27, let e = contraction(b, p + len, ignoreCase: false) { return e }
        if c == 0x20, let k2 = kind(at: p + 1, b), k2 != .space {
            return run(k2, b, from: p + 1)  // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`
        }
        let k = kind(c)
        if k != .space { return run(k, b, from: p) }
        return whitespaceMatch(b, p)
    }

    static func llama3Match(_ b: UnsafeBufferPointer<UInt8>, _ p: Int, maxDigits: Int) -> Int {
        let (c, len) = UnicodeScan.decode(b, at: p)
        if c == 0x27, let e = contraction(b, p + len, ignoreCase: true) { return e }
        let k = kind(c)
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if k == .letter { return run(.letter, b, from: p) }
        if k != .number && c != 0x0D && c != 0x0A, kind(at: p + len, b) == .letter {
            return run(.letter, b, from: p + len)
        }
        // \p{N}{1,maxDigits}
        if k == .number { return run(.number, b, from: p, limit: maxDigits) }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        var q = -1
        if k == .other { q = p } else if c == 0x20, kind(at: p + 1, b) == .other { q = p + 1 }
        if q >= 0 {
            var e = run(.other, b, from: q)
            while e < b.count && (b[e] == 0x0D || b[e] == 0x0A) { e += 1 }
            return e
        }
        // `\s*[\r\n]+`: the whitespace run up to and including its last CR/LF.
        var e = p
        var lastNewlineEnd = -1
        while e < b.count {
            let (s, l) = UnicodeScan.decode(b, at: e)
            if kind(s) != .space { break }
            e += l
            if s == 0x0D || s == 0x0A { lastNewlineEnd = e }
        }
        if lastNewlineEnd > 0 { return lastNewlineEnd }
        return whitespaceMatch(b, p)
    }
}

/// NSRegularExpression (ICU) for Split patterns the scanners do not know; match offsets are
/// converted from UTF-16 to UTF-8. HF compiles these with Oniguruma, whose syntax and Unicode
/// classes agree with ICU for the constructs tokenizer.json files use (\p{L}, \p{N}, (?i:...),
/// (?!...), {m,n}) once `\s` is translated (see `translate`). SplitScannerTests checks the
/// fallback against the scanners on the GPT-2, Llama-3 and Qwen2 patterns.
/// Matching runs under `BoundedRegex`'s deadline (a user pattern may backtrack exponentially).
final class RegexFallback: @unchecked Sendable {
    let bounded: BoundedRegex
    var pattern: String { bounded.pattern }

    /// `path` is the pattern's field in tokenizer.json, for errors and the deadline warning.
    init(_ pattern: String, path: String = "") throws {
        bounded = try BoundedRegex(Self.translate(pattern), pattern: pattern, path: path)
    }

    /// Oniguruma `\s` is White_Space (adds U+000B and U+0085 to ICU's [\t\n\f\r\p{Z}]).
    /// `\s` is replaced by `\p{White_Space}` and `\S` by `\P{White_Space}`, which ICU accepts
    /// both inside and outside brackets.
    static func translate(_ p: String) -> String {
        var out = ""
        var escaped = false
        for ch in p {
            if escaped {
                switch ch {
                case "s": out += "p{White_Space}"
                case "S": out += "P{White_Space}"
                default: out.append(ch)
                }
                escaped = false
            } else {
                if ch == "\\" { escaped = true }
                out.append(ch)
            }
        }
        return out
    }

    func forEachMatch(in b: UnsafeBufferPointer<UInt8>, _ body: (Int, Int) -> Void) {
        let s = String(decoding: b, as: UTF8.self)
        let ns = s as NSString
        // UTF-16 offset -> UTF-8 offset, computed once per call.
        var utf8At = [Int](repeating: 0, count: ns.length + 1)
        var u16 = 0
        var u8 = 0
        for scalar in s.unicodeScalars {
            let w = scalar.utf16.count
            for k in 0..<w { utf8At[u16 + k] = u8 }
            u16 += w
            u8 += scalar.utf8.count
        }
        utf8At[u16] = u8
        bounded.forEachMatch(in: s, length: ns.length) { r in
            guard r.length > 0 else { return }
            body(utf8At[r.location], utf8At[r.location + r.length])
        }
    }
}
