/// One entry of tokenizer.json's `added_tokens`.
struct AddedToken {
    var id: Int
    var content: String
    var singleWord: Bool
    var lstrip: Bool
    var rstrip: Bool
    var normalized: Bool
    var special: Bool

    init(json: JSONNode) throws {
        id = try json.required("id").int()
        content = try json.required("content").string()
        singleWord = try json.bool("single_word", default: false)
        lstrip = try json.bool("lstrip", default: false)
        rstrip = try json.bool("rstrip", default: false)
        special = try json.bool("special", default: false)
        normalized = try json.bool("normalized", default: !special)
    }
}

/// A piece of input after added tokens are cut out: either an added token's id or a text range.
enum AddedSegment {
    case token(Int)
    case text(start: Int, end: Int)
}

/// Finds added tokens in text exactly as HF's `AddedVocabulary` does: tokens with
/// `normalized: false` are cut from the raw input first; tokens with `normalized: true` are
/// cut afterwards from each normalized piece, matching their *normalized* content. Matching is
/// leftmost-longest; `single_word`, `lstrip` and `rstrip` are then applied per match.
struct AddedVocabulary {
    let tokens: [AddedToken]
    private let byId: [Int: Int]  // id -> index in tokens
    let rawMatcher: TokenTrie
    let normalizedMatcher: TokenTrie
    /// The normalized form of `normalized` tokens, used when decoding them (HF's normalized_cache).
    let decodedForm: [Int: String]

    init(tokens: [AddedToken], normalizer: Normalizer?) {
        self.tokens = tokens
        var byId: [Int: Int] = [:]
        for (i, t) in tokens.enumerated() { byId[t.id] = i }
        self.byId = byId
        var raw = TokenTrie()
        var normalized = TokenTrie()
        var decodedForm: [Int: String] = [:]
        // Later duplicates of the same id replace earlier ones, as in HF's id-keyed map.
        for i in byId.values.sorted() {
            let t = tokens[i]
            guard !t.content.isEmpty else { continue }
            if t.normalized {
                let form = normalizer?.normalize(t.content) ?? t.content
                // Compare bytes: Swift's == would call "é" and "e\u{301}" equal.
                if Array(form.utf8) != Array(t.content.utf8) { decodedForm[t.id] = form }
                // A token the normalizer erases (" " under Strip) can never match normalized
                // text: HF never emits it either, so it only keeps its (empty) decoded form.
                guard !form.isEmpty else { continue }
                normalized.insert(Array(form.utf8), index: i)
            } else {
                raw.insert(Array(t.content.utf8), index: i)
            }
        }
        rawMatcher = raw
        normalizedMatcher = normalized
        self.decodedForm = decodedForm
    }

    func token(id: Int) -> AddedToken? { byId[id].map { tokens[$0] } }

    /// HF `AddedVocabulary::find_matches`: segments covering `b`, in order.
    func split(_ b: UnsafeBufferPointer<UInt8>, with matcher: TokenTrie, _ body: (AddedSegment) -> Void) {
        guard !matcher.isEmpty else {
            body(.text(start: 0, end: b.count))
            return
        }
        var startOffset = 0
        matcher.forEachMatch(in: b) { matchStart, matchEnd, index in
            let t = tokens[index]
            var start = matchStart
            var stop = matchEnd
            if t.singleWord {
                let startOK = start == 0 || !Self.endsWithWordChar(b, before: start)
                let stopOK = stop == b.count || !Self.startsWithWordChar(b, at: stop)
                if !startOK || !stopOK { return }
            }
            if t.lstrip {
                // The previous match may already have taken these spaces.
                start = max(Self.whitespaceStart(b, before: start), startOffset)
            }
            if t.rstrip {
                stop = Self.whitespaceEnd(b, from: stop)
            }
            if startOffset < start { body(.text(start: startOffset, end: start)) }
            body(.token(t.id))
            startOffset = stop
        }
        if startOffset < b.count { body(.text(start: startOffset, end: b.count)) }
    }

    private static func lastScalar(_ b: UnsafeBufferPointer<UInt8>, before i: Int) -> (UInt32, Int) {
        var s = i - 1
        while s > 0 && b[s] & 0xC0 == 0x80 { s -= 1 }
        return (UnicodeScan.decode(b, at: s).scalar, s)
    }

    static func endsWithWordChar(_ b: UnsafeBufferPointer<UInt8>, before i: Int) -> Bool {
        i > 0 && UnicodeScan.isWordChar(lastScalar(b, before: i).0)
    }

    static func startsWithWordChar(_ b: UnsafeBufferPointer<UInt8>, at i: Int) -> Bool {
        i < b.count && UnicodeScan.isWordChar(UnicodeScan.decode(b, at: i).scalar)
    }

    /// Start of the whitespace run that ends at `i`.
    static func whitespaceStart(_ b: UnsafeBufferPointer<UInt8>, before i: Int) -> Int {
        var i = i
        while i > 0 {
            let (s, start) = lastScalar(b, before: i)
            guard UnicodeScan.isWhitespace(s) else { break }
            i = start
        }
        return i
    }

    /// End of the whitespace run that starts at `i`.
    static func whitespaceEnd(_ b: UnsafeBufferPointer<UInt8>, from i: Int) -> Int {
        var i = i
        while i < b.count {
            let (s, n) = UnicodeScan.decode(b, at: i)
            guard UnicodeScan.isWhitespace(s) else { break }
            i += n
        }
        return i
    }
}

/// Byte trie over added-token contents with leftmost-longest, non-overlapping matching
/// (what HF gets from its Aho-Corasick automaton with MatchKind::LeftmostLongest).
struct TokenTrie {
    private var children: [Int: Int32] = [:]  // node << 8 | byte -> child node
    private var terminal: [Int32] = [-1]  // node -> token index or -1
    private var firstBytes = [Bool](repeating: false, count: 256)

    var isEmpty: Bool { terminal.count == 1 }

    /// An empty key is ignored: it would match nothing (matches are at least one byte long) and
    /// has no first byte to index.
    mutating func insert(_ key: [UInt8], index: Int) {
        guard let first = key.first else { return }
        var node = 0
        for b in key {
            let k = node << 8 | Int(b)
            if let c = children[k] {
                node = Int(c)
            } else {
                terminal.append(-1)
                children[k] = Int32(terminal.count - 1)
                node = terminal.count - 1
            }
        }
        terminal[node] = Int32(index)
        firstBytes[Int(first)] = true
    }

    func forEachMatch(in b: UnsafeBufferPointer<UInt8>, _ body: (Int, Int, Int) -> Void) {
        var i = 0
        while i < b.count {
            guard firstBytes[Int(b[i])] else {
                i += 1
                continue
            }
            var node = 0
            var j = i
            var bestEnd = -1
            var bestIndex = -1
            while j < b.count, let c = children[node << 8 | Int(b[j])] {
                node = Int(c)
                j += 1
                if terminal[node] >= 0 {
                    bestEnd = j
                    bestIndex = Int(terminal[node])
                }
            }
            if bestEnd > 0 {
                body(i, bestEnd, bestIndex)
                i = bestEnd
            } else {
                i += 1
            }
        }
    }
}
