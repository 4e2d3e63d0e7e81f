/// A JSON text that cannot be read: the byte offset and what was expected there.
public struct JSONSyntaxError: Error, Sendable, CustomStringConvertible {
    public let offset: Int
    public let message: String

    public init(offset: Int, message: String) {
        self.offset = offset
        self.message = message
    }

    public var description: String { "invalid JSON at byte \(offset): \(message)" }
}

/// The one JSON reader (RFC 8259), strict where Python's json and serde_json are strict:
/// numbers follow the grammar exactly (no "01", "+1", "1."), strings hold no raw control
/// characters and only the standard escapes, the bytes are valid UTF-8 (the offset of the first
/// bad byte is reported), nothing but white space follows the value, and nesting stops at
/// `maxDepth` levels (parsing recurses once per level, so 50k brackets would otherwise overflow
/// the stack; real documents nest a handful of levels).
///
/// Lone UTF-16 surrogates in \u escapes (Python's json accepts them, serde_json refuses them)
/// cannot live in a Swift String; they read as U+FFFD, as they always have here.
///
/// The design is the one tokenizer.json needs to load fast (10-30 MB files): one pass over an
/// unsafe buffer, strings without escapes decoded straight from the input, no per-number
/// allocation (a number's literal of up to 15 bytes is a small String).
public struct JSONReader {
    public struct Options: Sendable {
        /// Python's json extensions NaN, Infinity and -Infinity (it writes them, so files it made
        /// may hold them). Off by default: serde_json and JSONSerialization refuse them.
        public var allowsNonFiniteLiterals: Bool
        /// Deepest nesting of arrays and objects accepted.
        public var maxDepth: Int

        public init(allowsNonFiniteLiterals: Bool = false, maxDepth: Int = JSONReader.defaultMaxDepth) {
            self.allowsNonFiniteLiterals = allowsNonFiniteLiterals
            self.maxDepth = maxDepth
        }
    }

    public static let defaultMaxDepth = 512

    /// Parses one JSON text.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, options: Options = Options()) throws -> JSON {
        var reader = JSONReader(bytes: bytes, options: options)
        reader.skipSpace()
        guard reader.i < bytes.count else { throw reader.fail("empty input (expected a JSON value)") }
        let value = try reader.value(depth: 0)
        reader.skipSpace()
        guard reader.i == bytes.count else { throw reader.fail("unexpected data after the JSON value") }
        return value
    }

    public static func parse(_ bytes: UnsafeRawBufferPointer, options: Options = Options()) throws -> JSON {
        try parse(bytes.bindMemory(to: UInt8.self), options: options)
    }

    /// Parses one JSON text from any byte collection (Data, [UInt8], a slice of either).
    public static func parse<Bytes: Collection>(_ bytes: Bytes, options: Options = Options()) throws -> JSON
        where Bytes.Element == UInt8 {
        if let result = try bytes.withContiguousStorageIfAvailable({ try parse($0, options: options) }) { return result }
        return try Array(bytes).withUnsafeBufferPointer { try parse($0, options: options) }
    }

    public static func parse(_ text: String, options: Options = Options()) throws -> JSON {
        var text = text
        return try text.withUTF8 { try parse($0, options: options) }
    }

    private let b: UnsafeBufferPointer<UInt8>
    private let options: Options
    private var i = 0

    private init(bytes: UnsafeBufferPointer<UInt8>, options: Options) {
        self.b = bytes
        self.options = options
    }

    private func fail(_ message: String, at offset: Int? = nil) -> JSONSyntaxError {
        JSONSyntaxError(offset: offset ?? i, message: message)
    }

    private mutating func skipSpace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    private mutating func value(depth: Int) throws -> JSON {
        guard i < b.count else { throw fail("unexpected end of input (expected a value)") }
        switch b[i] {
        case UInt8(ascii: "{"):
            guard depth < options.maxDepth else { throw fail("nesting deeper than \(options.maxDepth) levels") }
            i += 1
            var members: [JSONMember] = []
            skipSpace()
            if i < b.count && b[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
            while true {
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: "\"") else {
                    throw fail(i < b.count ? "expected a string key" : "unexpected end of input in an object")
                }
                let key = try string()
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: ":") else { throw fail("expected ':' after a key") }
                i += 1
                skipSpace()
                members.append(JSONMember(key: key, value: try value(depth: depth + 1)))
                skipSpace()
                guard i < b.count else { throw fail("unexpected end of input in an object") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
                throw fail("expected ',' or '}' in an object")
            }
        case UInt8(ascii: "["):
            guard depth < options.maxDepth else { throw fail("nesting deeper than \(options.maxDepth) levels") }
            i += 1
            var items: [JSON] = []
            skipSpace()
            if i < b.count && b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard i < b.count else { throw fail("unexpected end of input in an array") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                throw fail("expected ',' or ']' in an array")
            }
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "N") where options.allowsNonFiniteLiterals:
            try literal("NaN"); return .number(JSONNumber(literal: "NaN"))
        case UInt8(ascii: "I") where options.allowsNonFiniteLiterals:
            try literal("Infinity"); return .number(JSONNumber(literal: "Infinity"))
        case UInt8(ascii: "-") where options.allowsNonFiniteLiterals && i + 1 < b.count && b[i + 1] == UInt8(ascii: "I"):
            try literal("-Infinity"); return .number(JSONNumber(literal: "-Infinity"))
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try number())
        default:
            throw fail("unexpected character \(Self.show(b[i])) (expected a value)")
        }
    }

    private static func show(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x" + String(byte, radix: 16, uppercase: true)
    }

    private mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        let start = i
        for k in 0..<n {
            guard i + k < b.count, b[i + k] == word.utf8Start[k] else { throw fail("expected \(word)", at: start) }
        }
        i += n
    }

    private func isDigit(_ k: Int) -> Bool { k < b.count && b[k] >= 0x30 && b[k] <= 0x39 }

    /// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    private mutating func number() throws -> JSONNumber {
        let start = i
        if b[i] == UInt8(ascii: "-") { i += 1 }
        guard isDigit(i) else { throw fail("expected a digit in a number") }
        if b[i] == UInt8(ascii: "0") { i += 1 } else { while isDigit(i) { i += 1 } }
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            guard isDigit(i) else { throw fail("expected a digit after the decimal point") }
            while isDigit(i) { i += 1 }
        }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            guard isDigit(i) else { throw fail("expected a digit in the exponent") }
            while isDigit(i) { i += 1 }
        }
        return JSONNumber(literal: String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self))
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= b.count else { throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = b[i]
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x41...0x46: d = c - 0x41 + 10
            case 0x61...0x66: d = c - 0x61 + 10
            default: throw fail("invalid \\u escape (expected 4 hex digits)")
            }
            v = v << 4 | UInt32(d)
            i += 1
        }
        return v
    }

    /// A string literal at `i` (on its opening quote).
    private mutating func string() throws -> String {
        i += 1
        let start = i
        var high: UInt8 = 0
        // Fast path: a run without escapes, decoded straight from the input.
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") || c < 0x20 { break }
            high |= c
            i += 1
        }
        guard i < b.count else { throw fail("unterminated string", at: start - 1) }
        if b[i] < 0x20 { throw fail("control character \(Self.show(b[i])) in a string (it must be escaped)") }
        if b[i] == UInt8(ascii: "\"") {
            let run = UnsafeBufferPointer(rebasing: b[start..<i])
            i += 1
            if high < 0x80 { return String(decoding: run, as: UTF8.self) }
            if let s = String(validating: run, as: UTF8.self) { return s }
            throw fail("invalid UTF-8 in a string", at: start + UTF8Check.firstInvalidOffset(run))
        }
        var out = [UInt8](UnsafeBufferPointer(rebasing: b[start..<i]))
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                let end = i
                i += 1
                // Escapes are ASCII, so the literal's bytes are valid UTF-8 exactly when the
                // unescaped runs are.
                if high >= 0x80 {
                    let bad = UTF8Check.firstInvalidOffset(UnsafeBufferPointer(rebasing: b[start..<end]))
                    if bad < end - start { throw fail("invalid UTF-8 in a string", at: start + bad) }
                }
                return String(decoding: out, as: UTF8.self)
            }
            if c < 0x20 { throw fail("control character \(Self.show(c)) in a string (it must be escaped)") }
            if c != UInt8(ascii: "\\") {
                high |= c
                out.append(c)
                i += 1
                continue
            }
            i += 1
            guard i < b.count else { break }
            let e = b[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var v = try hex4()
                if v >= 0xD800 && v < 0xDC00, i + 6 <= b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") {
                    let save = i
                    i += 2
                    let low = try hex4()
                    if low >= 0xDC00 && low < 0xE000 {
                        v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        i = save  // the next escape is read on its own
                    }
                }
                let scalar = Unicode.Scalar(v) ?? "\u{FFFD}"  // a lone surrogate
                UTF8.encode(scalar) { out.append($0) }
            default:
                throw fail("invalid escape \\\(Character(Unicode.Scalar(e)))", at: i - 2)
            }
        }
        throw fail("unterminated string", at: start - 1)
    }
}

/// Where UTF-8 validation fails, for the error message (only run once Swift's own validation
/// has said the bytes are invalid, or on strings holding escapes).
enum UTF8Check {
    /// The offset of the first byte that does not start or continue a well-formed sequence
    /// (overlong forms, surrogates and code points above U+10FFFF are ill-formed); `bytes.count`
    /// when all are valid.
    static func firstInvalidOffset(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var k = 0
        let n = bytes.count
        func cont(_ j: Int) -> Bool { j < n && bytes[j] & 0xC0 == 0x80 }
        while k < n {
            let c = bytes[k]
            if c < 0x80 { k += 1; continue }
            if c >= 0xC2 && c <= 0xDF {
                guard cont(k + 1) else { return k }
                k += 2
            } else if c >= 0xE0 && c <= 0xEF {
                guard k + 1 < n else { return k }
                let c1 = bytes[k + 1]
                let okSecond = c == 0xE0 ? (c1 >= 0xA0 && c1 <= 0xBF) : c == 0xED ? (c1 >= 0x80 && c1 <= 0x9F) : (c1 & 0xC0 == 0x80)
                guard okSecond, cont(k + 2) else { return k }
                k += 3
            } else if c >= 0xF0 && c <= 0xF4 {
                guard k + 1 < n else { return k }
                let c1 = bytes[k + 1]
                let okSecond = c == 0xF0 ? (c1 >= 0x90 && c1 <= 0xBF) : c == 0xF4 ? (c1 >= 0x80 && c1 <= 0x8F) : (c1 & 0xC0 == 0x80)
                guard okSecond, cont(k + 2), cont(k + 3) else { return k }
                k += 4
            } else {
                return k
            }
        }
        return n
    }
}
