import Foundation
import JSONReader

/// A JSON value as Python's json gives it to lm-eval: ordered dicts, int or float by how the
/// number was written, booleans apart from numbers. Documents, template values and the results
/// files all use it; text is read by the one JSON reader (JSONReader) and converted here.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    public var objectValue: JSONObject? { if case .object(let o) = self { return o }; return nil }
    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }
    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    /// The name of the value's Python type, for error messages.
    public var typeName: String {
        switch self {
        case .null: return "None"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .array: return "list"
        case .object: return "dict"
        }
    }
}

/// An ordered JSON object (insertion order, as Python dicts). Keys are told apart by their exact
/// Unicode scalars, as Python's str keys are: "é" and "e\u{301}" are two fields, although Swift's
/// String == calls them equal.
public struct JSONObject: Sendable, Equatable {
    public private(set) var keys: [String] = []
    private var values: [JSONKey: JSONValue] = [:]

    public init() {}
    public init(_ pairs: [(String, JSONValue)]) { for (k, v) in pairs { self[k] = v } }

    public subscript(key: String) -> JSONValue? {
        get { values[JSONKey(key)] }
        set {
            if let newValue {
                if values.updateValue(newValue, forKey: JSONKey(key)) == nil { keys.append(key) }
            } else if values.removeValue(forKey: JSONKey(key)) != nil {
                keys.removeAll { JSON.sameKey($0, key) }
            }
        }
    }

    public var count: Int { keys.count }
    public var pairs: [(String, JSONValue)] { keys.map { ($0, values[JSONKey($0)]!) } }

    public static func == (a: JSONObject, b: JSONObject) -> Bool {
        a.values == b.values  // Python dict equality ignores order
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
                     ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
}

// MARK: - Parsing

extension JSONValue {
    /// Python's json reads NaN, Infinity and -Infinity (and serialized() writes them, as
    /// json.dumps does), so they read here too.
    static let readerOptions = JSONReader.Options(allowsNonFiniteLiterals: true)

    /// Parses one JSON text (RFC 8259 plus Python's non-finite literals); errors are
    /// `JSONSyntaxError`s giving the byte offset.
    public static func parse(_ bytes: some Collection<UInt8>) throws -> JSONValue {
        JSONValue(try JSONReader.parse(bytes, options: readerOptions))
    }

    public static func parse(_ text: String) throws -> JSONValue {
        JSONValue(try JSONReader.parse(text, options: readerOptions))
    }

    /// The value Python's json.loads would give: an integer literal is an int (a float when it
    /// does not fit 64 bits), anything else a float; a key written twice keeps its first place
    /// and its last value.
    public init(_ json: JSON) {
        switch json {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .number(let n):
            if let i = n.int { self = .int(i) } else { self = .double(n.double) }
        case .string(let s): self = .string(s)
        case .array(let items): self = .array(items.map(JSONValue.init))
        case .object(let members):
            var object = JSONObject()
            for m in members { object[m.key] = JSONValue(m.value) }
            self = .object(object)
        }
    }
}

// MARK: - Writing

extension JSONValue {
    /// JSON text. `indent` nil: compact, Python json.dumps style separators (", " and ": ").
    public func serialized(indent: Int? = nil, sortKeys: Bool = false) -> String {
        var out = ""
        write(to: &out, indent: indent, level: 0, sortKeys: sortKeys)
        return out
    }

    func write(to out: inout String, indent: Int?, level: Int, sortKeys: Bool) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += Self.pythonFloat(d)
        case .string(let s): Self.writeString(s, to: &out)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += indent == nil ? ", " : "," }
                if let indent { out += "\n" + String(repeating: " ", count: indent * (level + 1)) }
                item.write(to: &out, indent: indent, level: level + 1, sortKeys: sortKeys)
            }
            if let indent { out += "\n" + String(repeating: " ", count: indent * level) }
            out += "]"
        case .object(let object):
            if object.count == 0 { out += "{}"; return }
            out += "{"
            // Python's sort_keys orders by code point (Swift's String < would order canonically).
            let keys = sortKeys ? object.keys.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) } : object.keys
            for (i, key) in keys.enumerated() {
                if i > 0 { out += indent == nil ? ", " : "," }
                if let indent { out += "\n" + String(repeating: " ", count: indent * (level + 1)) }
                Self.writeString(key, to: &out)
                out += ": "
                object[key]!.write(to: &out, indent: indent, level: level + 1, sortKeys: sortKeys)
            }
            if let indent { out += "\n" + String(repeating: " ", count: indent * level) }
            out += "}"
        }
    }

    /// Python's repr of a float (shortest round-trip digits), NaN/Infinity as json.dumps writes them.
    static func pythonFloat(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d > 0 ? "Infinity" : "-Infinity" }
        return PythonRepr.float(d)
    }

    static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

/// Python's str()/repr() of values, as Jinja renders them into prompts.
enum PythonRepr {
    static func float(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d > 0 ? "inf" : "-inf" }
        if d == d.rounded(), abs(d) < 1e16 { return String(format: "%.1f", d) }
        var s = "\(d)"  // Swift prints the shortest round-trip digits, as Python's repr does
        // Swift: 1e-05 -> "1e-05"; Python agrees. Swift "5e+20" vs Python "5e+20": agree.
        if s.hasSuffix(".0") && s.contains("e") { s = s.replacingOccurrences(of: ".0e", with: "e") }
        return s
    }

    /// str(value): strings as they are, everything else as repr.
    static func str(_ v: JSONValue) -> String {
        if case .string(let s) = v { return s }
        return repr(v)
    }

    static func repr(_ v: JSONValue) -> String {
        switch v {
        case .null: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return float(d)
        case .string(let s): return quoted(s)
        case .array(let a): return "[" + a.map(repr).joined(separator: ", ") + "]"
        case .object(let o): return "{" + o.pairs.map { quoted($0.0) + ": " + repr($0.1) }.joined(separator: ", ") + "}"
        }
    }

    /// Python's string repr: single quotes unless the text holds a single quote and no double quote.
    static func quoted(_ s: String) -> String {
        // The usual text has nothing to escape: one pass over its bytes instead of per-scalar work.
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "'") || $0 == UInt8(ascii: "\"") }) {
            return "'" + s + "'"
        }
        let quote: Character = s.contains("'") && !s.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if Character(scalar) == quote { out += "\\" + String(quote) }
                else if scalar.value < 0x20 || scalar.value == 0x7F { out += String(format: "\\x%02x", scalar.value) }
                else { out.unicodeScalars.append(scalar) }
            }
        }
        out.append(quote)
        return out
    }
}
