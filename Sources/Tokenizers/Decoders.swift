/// HF decoders: they turn the list of token strings back into text. Each step maps the token
/// list to a new token list (HF `decode_chain`); the final list is concatenated.
indirect enum Decoder {
    case byteLevel
    case metaspace(replacement: Unicode.Scalar, prependScheme: PreTokenizer.PrependScheme)
    case replace(ReplacePattern, String)
    case byteFallback
    case fuse
    case strip(content: Unicode.Scalar, start: Int, stop: Int)
    case sequence([Decoder])

    static let supported = ["ByteLevel", "Metaspace", "Replace", "ByteFallback", "Fuse", "Strip", "Sequence"]

    init(json: JSONNode) throws {
        switch try json.componentType(Self.supported) {
        case "ByteLevel": self = .byteLevel
        case "Metaspace":
            let replacement = try json.string("replacement") ?? "\u{2581}"
            guard replacement.unicodeScalars.count == 1 else {
                throw try json.required("replacement").malformed("must be exactly one character")
            }
            var scheme = PreTokenizer.PrependScheme.always
            if let s = try json.optional("prepend_scheme") {
                guard let p = PreTokenizer.PrependScheme(rawValue: try s.string()) else {
                    throw s.unsupported("unknown prepend_scheme \"\(try s.string())\"")
                }
                scheme = p
            } else if json.has("add_prefix_space") {
                scheme = try json.bool("add_prefix_space", default: true) ? .always : .never
            }
            self = .metaspace(replacement: replacement.unicodeScalars.first!, prependScheme: scheme)
        case "Replace":
            self = .replace(try ReplacePattern(json: try json.required("pattern")), try json.required("content").string())
        case "ByteFallback": self = .byteFallback
        case "Fuse": self = .fuse
        case "Strip":
            let contentNode = try json.required("content")
            let content = try contentNode.string()
            guard content.unicodeScalars.count == 1 else { throw contentNode.malformed("must be exactly one character") }
            self = .strip(content: content.unicodeScalars.first!, start: try Self.count(json, "start"),
                          stop: try Self.count(json, "stop"))
        default:
            self = .sequence(try json.required("decoders").array().map(Decoder.init(json:)))
        }
        try growth.check(json, what: "decoder")
    }

    /// Strip's `start` / `stop`: HF reads them as usize, so serde refuses a negative value when
    /// the file is loaded; so do we (a negative count would otherwise make an empty range trap).
    private static func count(_ json: JSONNode, _ key: String) throws -> Int {
        guard let node = try json.optional(key) else { return 0 }
        let n = try node.int()
        guard n >= 0 else { throw node.malformed("must be a non-negative integer (HF reads it as usize), got \(n)") }
        return n
    }

    func decode(_ tokens: [String]) -> String { chain(tokens).joined() }

    func chain(_ tokens: [String]) -> [String] {
        switch self {
        case .byteLevel:
            // Characters outside the GPT-2 alphabet make HF keep that token's UTF-8 as is.
            var bytes: [UInt8] = []
            for t in tokens {
                if let raw = ByteLevelAlphabet.rawBytes(of: t) { bytes += raw } else { bytes += Array(t.utf8) }
            }
            return [String(decoding: bytes, as: UTF8.self)]  // lossy, like from_utf8_lossy
        case .metaspace(let replacement, let scheme):
            // On the first token every replacement character is dropped (HF does exactly this,
            // not just the leading one), elsewhere each becomes a space.
            return tokens.enumerated().map { i, t in
                var out = String.UnicodeScalarView()
                for u in t.unicodeScalars {
                    if u == replacement {
                        if i == 0 && scheme != .never { continue }
                        out.append(" ")
                    } else {
                        out.append(u)
                    }
                }
                return String(out)
            }
        case .replace(let pattern, let content):
            return tokens.map { pattern.replaceAll(in: $0, with: content) }
        case .byteFallback:
            var out: [String] = []
            var pending: [UInt8] = []
            func flush() {
                guard !pending.isEmpty else { return }
                if let s = String(validatingUTF8Bytes: pending) {
                    out.append(s)
                } else {
                    // HF: one U+FFFD per byte when the run is not valid UTF-8.
                    out.append(contentsOf: repeatElement("\u{FFFD}", count: pending.count))
                }
                pending.removeAll()
            }
            for t in tokens {
                let u = Array(t.utf8)
                if u.count == 6, t.hasPrefix("<0x"), u[5] == UInt8(ascii: ">"),
                   let b = UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16) {
                    pending.append(b)
                } else {
                    flush()
                    out.append(t)
                }
            }
            flush()
            return out
        case .fuse:
            return [tokens.joined()]
        case .strip(let content, let start, let stop):
            return tokens.map { t in
                let scalars = Array(t.unicodeScalars)
                var startCut = 0
                for i in 0..<min(start, scalars.count) {
                    if scalars[i] == content { startCut = i + 1 } else { break }
                }
                var stopCut = scalars.count
                for i in 0..<min(stop, scalars.count) {
                    let index = scalars.count - i - 1
                    if scalars[index] == content { stopCut = index } else { break }
                }
                guard startCut < stopCut else { return "" }
                var v = String.UnicodeScalarView()
                v.append(contentsOf: scalars[startCut..<stopCut])
                return String(v)
            }
        case .sequence(let items):
            return items.reduce(tokens) { $1.chain($0) }
        }
    }
}

extension String {
    /// Strict UTF-8 decoding (nil on invalid input), unlike String(decoding:) which repairs.
    init?(validatingUTF8Bytes bytes: [UInt8]) {
        var it = bytes.makeIterator()
        var decoder = UTF8()
        var scalars = String.UnicodeScalarView()
        while true {
            switch decoder.decode(&it) {
            case .scalarValue(let s): scalars.append(s)
            case .emptyInput:
                self = String(scalars)
                return
            case .error: return nil
            }
        }
    }
}
