import Foundation

/// HF normalizers, applied to each piece of input text that is not an added token.
indirect enum Normalizer {
    case nfc, nfd, nfkc, nfkd
    case lowercase
    case strip(left: Bool, right: Bool)
    case stripAccents
    case prepend(String)
    case replace(ReplacePattern, String)
    case sequence([Normalizer])

    static let supported = ["NFC", "NFD", "NFKC", "NFKD", "Lowercase", "Strip", "StripAccents", "Prepend",
                            "Replace", "Sequence"]

    init(json: JSONNode) throws {
        switch try json.componentType(Self.supported) {
        case "NFC": self = .nfc
        case "NFD": self = .nfd
        case "NFKC": self = .nfkc
        case "NFKD": self = .nfkd
        case "Lowercase": self = .lowercase
        case "Strip":
            self = .strip(left: try json.bool("strip_left", default: true), right: try json.bool("strip_right", default: true))
        case "StripAccents": self = .stripAccents
        case "Prepend": self = .prepend(try json.required("prepend").string())
        case "Replace":
            self = .replace(try ReplacePattern(json: try json.required("pattern")), try json.required("content").string())
        default:
            self = .sequence(try json.required("normalizers").array().map(Normalizer.init(json:)))
        }
        try growth.check(json, what: "normalizer")
    }

    /// True when the normalizer cannot change pure-ASCII text, so encode can skip it entirely
    /// (the common case for English text under NFC).
    var isIdentityOnASCII: Bool {
        switch self {
        case .nfc, .nfd, .nfkc, .nfkd, .stripAccents: return true
        case .sequence(let items): return items.allSatisfy(\.isIdentityOnASCII)
        default: return false
        }
    }

    func normalize(_ s: String) -> String {
        switch self {
        case .nfc: return s.precomposedStringWithCanonicalMapping
        case .nfd: return s.decomposedStringWithCanonicalMapping
        case .nfkc: return s.precomposedStringWithCompatibilityMapping
        case .nfkd: return s.decomposedStringWithCompatibilityMapping
        case .lowercase:
            // Rust's char::to_lowercase, scalar by scalar: no context-sensitive final sigma.
            var out = String.UnicodeScalarView()
            for u in s.unicodeScalars { out.append(contentsOf: u.properties.lowercaseMapping.unicodeScalars) }
            return String(out)
        case .strip(let left, let right):
            var scalars = Substring(s).unicodeScalars[...]
            if left { while let f = scalars.first, f.properties.isWhitespace { scalars.removeFirst() } }
            if right { while let l = scalars.last, l.properties.isWhitespace { scalars.removeLast() } }
            return String(String.UnicodeScalarView(scalars))
        case .stripAccents:
            var out = String.UnicodeScalarView()
            for u in s.unicodeScalars {
                switch u.properties.generalCategory {
                case .nonspacingMark, .spacingMark, .enclosingMark: continue
                default: out.append(u)
                }
            }
            return String(out)
        case .prepend(let p):
            return s.isEmpty ? s : p + s
        case .replace(let pattern, let content):
            return pattern.replaceAll(in: s, with: content)
        case .sequence(let items):
            return items.reduce(s) { $1.normalize($0) }
        }
    }
}

/// The `pattern` of Replace normalizers and decoders: `{"String": ...}` or `{"Regex": ...}`.
enum ReplacePattern: @unchecked Sendable {
    case string(String)
    case regex(BoundedRegex)

    init(json: JSONNode) throws {
        if let s = try json.optional("String") {
            self = .string(try s.string())
        } else if let r = try json.optional("Regex") {
            let pattern = try r.string()
            self = .regex(try BoundedRegex(RegexFallback.translate(pattern), pattern: pattern, path: r.path))
        } else {
            throw json.malformed("expected {\"String\": ...} or {\"Regex\": ...}")
        }
    }

    func replaceAll(in s: String, with content: String) -> String {
        switch self {
        case .string(let needle):
            guard !needle.isEmpty else {
                // HF compiles a String pattern as an escaped regex; an empty one matches before
                // every character and at the end: "He" -> content + "H" + content + "e" + content.
                var out = content
                for u in s.unicodeScalars { out.unicodeScalars.append(u); out += content }
                return out
            }
            // Byte-wise, not String.replacingOccurrences: that one compares Characters, so it
            // would not replace a " " that is followed by a combining mark.
            return Self.replaceBytes(Array(s.utf8), Array(needle.utf8), Array(content.utf8))
        case .regex(let re):
            // What stringByReplacingMatches with an escaped template does, under the deadline.
            let ns = s as NSString
            var matches: [NSRange] = []
            re.forEachMatch(in: s, length: ns.length) { matches.append($0) }
            guard !matches.isEmpty else { return s }  // the common case: nothing to copy
            var out = ""
            var last = 0
            for r in matches {
                out += ns.substring(with: NSRange(location: last, length: r.location - last))
                out += content
                last = r.location + r.length
            }
            out += ns.substring(from: last)
            return out
        }
    }

    static func replaceBytes(_ s: [UInt8], _ needle: [UInt8], _ content: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(s.count + 16)
        var i = 0
        while i < s.count {
            if s[i] == needle[0], i + needle.count <= s.count, s[i..<(i + needle.count)].elementsEqual(needle) {
                out.append(contentsOf: content)
                i += needle.count
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
