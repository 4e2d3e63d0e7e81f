/// How much a normalizer or decoder chain can lengthen text, in the worst case: an output of at
/// most `scale * n + extra` UTF-8 bytes for an input of n bytes (a decoder: per token).
///
/// A Sequence of Replace steps that each multiply the text (" " -> 16 spaces, five times) grows
/// it exponentially: 16^5 bytes per space, which HF computes too but which exhausts memory a few
/// steps later. Such a chain is refused at load when `scale` passes `maxScale`. Real tokenizers
/// stay far below it (Llama-2's Prepend "▁" + Replace " " -> "▁" is 3, GPT-NeoX's NFC 11, the
/// largest in Tests/Fixtures/tokenizers RoBERTa's NFD + Lowercase + Replace `\s{2,}` 33), so
/// 1024 leaves room for any sensible chain while keeping encode's memory within a constant
/// factor of its input (`extra` is at most `maxScale` times the file's own content strings, so
/// it is bounded by the file). The factors are bounds, not estimates: each step's is the most it
/// can lengthen any text.
struct TextGrowth {
    var scale: Double
    var extra: Double

    static let maxScale = 1024.0
    static let identity = TextGrowth(scale: 1, extra: 0)

    /// This step followed by `next`.
    func then(_ next: TextGrowth) -> TextGrowth {
        TextGrowth(scale: next.scale * scale, extra: next.scale * extra + next.extra)
    }

    func check(_ json: JSONNode, what: String) throws {
        guard scale > Self.maxScale else { return }
        let shown = scale < 1e15 ? String(Int(scale)) : "more than 10^15"
        throw json.unsupported("this \(what) can multiply the length of a text by up to \(shown) (Replace steps whose content is longer than their pattern, chained), more than the \(Int(Self.maxScale)) allowed: it would exhaust memory")
    }

    static func sequence(_ steps: [TextGrowth]) -> TextGrowth {
        steps.reduce(identity) { $0.then($1) }
    }
}

extension ReplacePattern {
    /// A string pattern of p bytes replaced by c bytes: at most max(1, c/p) times longer. A
    /// regex (or an empty string pattern, which HF runs as an empty regex) may match at every
    /// position, even emptily: each of the n bytes may be kept or replaced and one content
    /// inserted before each position and at the end, so (1 + c) n + c.
    func growth(content: String) -> TextGrowth {
        let c = Double(content.utf8.count)
        if case .string(let needle) = self, !needle.isEmpty {
            return TextGrowth(scale: max(1, c / Double(needle.utf8.count)), extra: 0)
        }
        return TextGrowth(scale: 1 + c, extra: c)
    }
}

extension Normalizer {
    var growth: TextGrowth {
        switch self {
        // Unicode's largest decomposition, U+FDFA, is 18 scalars: 3 bytes -> 33. Counted
        // because a Replace may feed such characters to a later normalization step.
        case .nfc, .nfd, .nfkc, .nfkd: return TextGrowth(scale: 11, extra: 0)
        // İ (2 bytes) lowercases to "i̇" (3 bytes); no scalar's lowercase mapping is longer.
        case .lowercase: return TextGrowth(scale: 1.5, extra: 0)
        case .strip, .stripAccents: return .identity
        case .prepend(let p): return TextGrowth(scale: 1, extra: Double(p.utf8.count))
        case .replace(let pattern, let content): return pattern.growth(content: content)
        case .sequence(let items): return .sequence(items.map(\.growth))
        }
    }
}

extension Decoder {
    /// Per token. ByteLevel turns each alphabet character (1 or 2 bytes) into one byte, but a
    /// byte that is not valid UTF-8 becomes U+FFFD (3 bytes): 1.5. The other steps shorten or
    /// keep a token (ByteFallback's "<0xNN>" becomes 1 byte or U+FFFD, Metaspace's replacement
    /// one space).
    var growth: TextGrowth {
        switch self {
        case .byteLevel: return TextGrowth(scale: 1.5, extra: 0)
        case .replace(let pattern, let content): return pattern.growth(content: content)
        case .sequence(let items): return .sequence(items.map(\.growth))
        default: return .identity
        }
    }
}
