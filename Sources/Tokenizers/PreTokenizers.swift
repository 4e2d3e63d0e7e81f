/// A piece of (normalized) text on its way to the model: bytes plus whether it starts at offset 0
/// of the original input, which Metaspace's `prepend_scheme: "first"` needs.
struct Piece {
    var bytes: ArraySlice<UInt8>
    var atStart: Bool
}

/// How a Split keeps the delimiters it finds (HF `SplitDelimiterBehavior`).
enum SplitBehavior: String {
    case removed = "Removed", isolated = "Isolated", mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext", contiguous = "Contiguous"
}

/// What a piece is cut by, besides regexes: Metaspace splits on its replacement character and
/// Digits on numeric scalars, each scalar being a match of its own as in HF's char patterns.
enum PieceSplitter {
    case pattern(SplitPattern)
    case scalar(UInt32)
    case numeric

    func forEachMatch(in b: UnsafeBufferPointer<UInt8>, _ body: (Int, Int) -> Void) {
        switch self {
        case .pattern(let p): p.forEachMatch(in: b, body)
        case .scalar(let target):
            var i = 0
            while i < b.count {
                let (s, n) = UnicodeScan.decode(b, at: i)
                if s == target { body(i, i + n) }
                i += n
            }
        case .numeric:
            var i = 0
            while i < b.count {
                let (s, n) = UnicodeScan.decode(b, at: i)
                if UnicodeScan.isNumeric(s) { body(i, i + n) }
                i += n
            }
        }
    }
}

/// HF pre-tokenizers: they cut normalized text into words that the model encodes separately.
indirect enum PreTokenizer {
    /// GPT-2 byte level. The byte -> character mapping itself is done by the BPE model, which
    /// works on raw bytes (see `ByteLevelAlphabet`); here only the prefix space and the split.
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case split(PieceSplitter, SplitBehavior, invert: Bool)
    case metaspace(replacement: [UInt8], prependScheme: PrependScheme, split: Bool)
    case digits(individual: Bool)
    case sequence([PreTokenizer])

    enum PrependScheme: String { case first, always, never }

    static let supported = ["ByteLevel", "Split", "Metaspace", "Digits", "Sequence"]

    init(json: JSONNode, useScanners: Bool = true) throws {
        switch try json.componentType(Self.supported) {
        case "ByteLevel":
            self = .byteLevel(addPrefixSpace: try json.bool("add_prefix_space", default: true),
                              useRegex: try json.bool("use_regex", default: true))
        case "Split":
            let patternNode = try json.required("pattern")
            let splitter: PieceSplitter
            if let s = try patternNode.optional("String") {
                splitter = .pattern(.literal(Array(try s.string().utf8)))
            } else if let r = try patternNode.optional("Regex") {
                splitter = .pattern(try SplitPattern.forRegex(try r.string(), path: r.path, useScanner: useScanners))
            } else {
                throw patternNode.malformed("expected {\"String\": ...} or {\"Regex\": ...}")
            }
            let behaviorNode = try json.required("behavior")
            guard let behavior = SplitBehavior(rawValue: try behaviorNode.string()) else {
                throw behaviorNode.unsupported("unknown split behavior \"\(try behaviorNode.string())\"")
            }
            self = .split(splitter, behavior, invert: try json.bool("invert", default: false))
        case "Metaspace":
            let replacement = try json.string("replacement") ?? "\u{2581}"
            guard replacement.unicodeScalars.count == 1 else {
                throw try json.required("replacement").malformed("must be exactly one character")
            }
            var scheme = PrependScheme.always
            if let s = try json.optional("prepend_scheme") {
                guard let p = PrependScheme(rawValue: try s.string()) else {
                    throw s.unsupported("unknown prepend_scheme \"\(try s.string())\"")
                }
                scheme = p
            } else if json.has("add_prefix_space") {
                // tokenizers < 0.14 wrote add_prefix_space instead of prepend_scheme.
                scheme = try json.bool("add_prefix_space", default: true) ? .always : .never
            }
            self = .metaspace(replacement: Array(replacement.utf8), prependScheme: scheme,
                              split: try json.bool("split", default: true))
        case "Digits":
            self = .digits(individual: try json.bool("individual_digits", default: false))
        default:  // Sequence
            let items = try json.required("pretokenizers").array()
            self = .sequence(try items.map { try PreTokenizer(json: $0, useScanners: useScanners) })
        }
    }

    /// The ByteLevel step, if any, must come last: later steps would see GPT-2's mapped
    /// characters, which this implementation never materialises.
    var usesByteLevel: Bool {
        switch self {
        case .byteLevel: return true
        case .sequence(let items): return items.contains { $0.usesByteLevel }
        default: return false
        }
    }

    var byteLevelIsLast: Bool {
        switch self {
        case .sequence(let items):
            guard let i = items.firstIndex(where: { $0.usesByteLevel }) else { return true }
            return i == items.count - 1 && items[i].byteLevelIsLast
        default: return true
        }
    }

    /// Applies this pre-tokenizer to every piece (HF `PreTokenizedString::split`: empty results
    /// are dropped).
    func apply(_ pieces: inout [Piece]) {
        switch self {
        case .sequence(let items):
            for item in items { item.apply(&pieces) }
        default:
            var out: [Piece] = []
            out.reserveCapacity(pieces.count * 4)
            for p in pieces { split(p, into: &out) }
            pieces = out
        }
    }

    private func split(_ piece: Piece, into out: inout [Piece]) {
        switch self {
        case .byteLevel(let addPrefixSpace, let useRegex):
            var p = piece
            if addPrefixSpace && p.bytes.first != 0x20 {
                p.bytes = ArraySlice([0x20] + p.bytes)
            }
            if useRegex {
                Self.cut(p, by: .pattern(.gpt2), .isolated, invert: false, into: &out)
            } else if !p.bytes.isEmpty {
                out.append(p)
            }
        case .split(let splitter, let behavior, let invert):
            Self.cut(piece, by: splitter, behavior, invert: invert, into: &out)
        case .metaspace(let replacement, let scheme, let split):
            // Replace every " " by the replacement, then maybe prepend one.
            var bytes: [UInt8] = []
            bytes.reserveCapacity(piece.bytes.count + replacement.count * 4)
            for b in piece.bytes {
                if b == 0x20 { bytes.append(contentsOf: replacement) } else { bytes.append(b) }
            }
            let startsWithReplacement = bytes.starts(with: replacement)
            if !startsWithReplacement && (scheme == .always || (scheme == .first && piece.atStart)) {
                bytes.insert(contentsOf: replacement, at: 0)
            }
            let p = Piece(bytes: bytes[...], atStart: piece.atStart)
            if split {
                let scalar = String(decoding: replacement, as: UTF8.self).unicodeScalars.first!.value
                Self.cut(p, by: .scalar(scalar), .mergedWithNext, invert: false, into: &out)
            } else if !bytes.isEmpty {
                out.append(p)
            }
        case .digits(let individual):
            Self.cut(piece, by: .numeric, individual ? .isolated : .contiguous, invert: false, into: &out)
        case .sequence:
            var pieces = [piece]
            apply(&pieces)
            out.append(contentsOf: pieces)
        }
    }

    /// HF `NormalizedString::split`: the matches and the gaps between them cover the piece; the
    /// behavior decides which are kept and what is glued together.
    static func cut(_ piece: Piece, by splitter: PieceSplitter, _ behavior: SplitBehavior, invert: Bool,
                    into out: inout [Piece]) {
        let bytes = piece.bytes
        let base = bytes.startIndex
        guard !bytes.isEmpty else { return }
        func emit(_ s: Int, _ e: Int) {
            if e > s {
                out.append(Piece(bytes: bytes[(base + s)..<(base + e)], atStart: piece.atStart && s == 0))
            }
        }
        if behavior == .isolated {
            // Hot path: every match and every gap is a piece of its own.
            var last = 0
            bytes.withUnsafeBufferPointer { b in
                splitter.forEachMatch(in: b) { s, e in
                    emit(last, s)
                    emit(s, e)
                    last = e
                }
            }
            emit(last, bytes.count)
            return
        }
        var spans: [(start: Int, end: Int, isMatch: Bool)] = []
        var last = 0
        bytes.withUnsafeBufferPointer { b in
            splitter.forEachMatch(in: b) { s, e in
                if s > last { spans.append((last, s, invert)) }
                spans.append((s, e, !invert))
                last = e
            }
        }
        if bytes.count > last { spans.append((last, bytes.count, invert)) }
        var kept: [(start: Int, end: Int)] = []
        switch behavior {
        case .isolated:
            kept = spans.map { ($0.start, $0.end) }
        case .removed:
            kept = spans.filter { !$0.isMatch }.map { ($0.start, $0.end) }
        case .contiguous:
            var previous = false
            for (i, s) in spans.enumerated() {
                if i > 0 && s.isMatch == previous { kept[kept.count - 1].end = s.end } else { kept.append((s.start, s.end)) }
                previous = s.isMatch
            }
        case .mergedWithPrevious:
            var previous = false
            for s in spans {
                if s.isMatch && !previous && !kept.isEmpty { kept[kept.count - 1].end = s.end } else { kept.append((s.start, s.end)) }
                previous = s.isMatch
            }
        case .mergedWithNext:
            var previous = false
            for s in spans.reversed() {
                if s.isMatch && !previous && !kept.isEmpty { kept[kept.count - 1].start = s.start } else { kept.append((s.start, s.end)) }
                previous = s.isMatch
            }
            kept.reverse()
        }
        for k in kept { emit(k.start, k.end) }
    }
}
