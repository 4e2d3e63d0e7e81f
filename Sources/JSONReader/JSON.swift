/// One JSON value exactly as the text wrote it: the one representation every layer of forgetlens
/// reads JSON into (safetensors headers, config.json, adapter_config.json, tokenizer.json, task
/// data rows, server responses, trainer_state.json).
///
/// Why not Foundation's JSONSerialization or a `[String: ...]` dictionary: Swift String keys
/// compare by Unicode canonical equivalence, so "é" (U+00E9) and "e\u{301}" (two different tokens
/// of a vocabulary, two different fields of a data row) would merge into one; object members lose
/// the order PEFT's rank_pattern depends on; and numbers become Double, which cannot hold the
/// integers above 2^53 a safetensors offset may be. Here object members keep file order and
/// duplicates (each consumer applies the rule of the tool it stands in for), keys and strings
/// keep their exact Unicode scalars, and numbers keep their literal text.
public enum JSON: Sendable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSON])
    /// Members in file order; a key written twice appears twice.
    case object([JSONMember])
}

/// One member of a JSON object.
public struct JSONMember: Sendable {
    public var key: String
    public var value: JSON

    public init(key: String, value: JSON) {
        self.key = key
        self.value = value
    }
}

/// A JSON number kept as its literal text, so that the caller converts it exactly to the type
/// the field needs: Int64 and UInt64 without passing through Double, Double correctly rounded
/// from the full literal.
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    /// The literal as written (RFC 8259 grammar), or "NaN", "Infinity", "-Infinity" when the
    /// reader was asked to accept Python's json extensions.
    public let literal: String

    public init(literal: String) { self.literal = literal }

    /// Written without fraction or exponent (so `2` but not `2.0` or `2e0`), and finite.
    public var isInteger: Bool {
        !literal.utf8.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E")
            || $0 == UInt8(ascii: "N") || $0 == UInt8(ascii: "I") }
    }

    /// The value when the literal is an integer that fits (nil for 2.0, 1e3 or overflow).
    public var int: Int? { isInteger ? Int(literal) : nil }
    public var int64: Int64? { isInteger ? Int64(literal) : nil }
    public var uint64: UInt64? { isInteger ? UInt64(literal) : nil }

    /// The nearest Double (correctly rounded; a literal beyond Double's range gives +-infinity, as
    /// Python's float() does).
    public var double: Double { Double(literal) ?? .nan }

    public var description: String { literal }
}

extension JSON {
    public var isNull: Bool { if case .null = self { return true } else { return false } }
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var numberValue: JSONNumber? { if case .number(let n) = self { return n } else { return nil } }
    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var arrayValue: [JSON]? { if case .array(let a) = self { return a } else { return nil } }
    /// Object members in file order, duplicates included.
    public var members: [JSONMember]? { if case .object(let m) = self { return m } else { return nil } }

    /// The member `key` (compared by exact Unicode scalars); when the key is written more than
    /// once, the last one, as Python's json, serde_json maps and JSONSerialization all keep.
    public subscript(key: String) -> JSON? {
        guard case .object(let members) = self else { return nil }
        return members.last { JSON.sameKey($0.key, key) }?.value
    }

    /// The members as a Python dict (or a serde map) holds them: one per key, the last value
    /// written, at the position of the key's first appearance.
    public var dictionaryMembers: [JSONMember]? {
        guard case .object(let members) = self else { return nil }
        var position: [JSONKey: Int] = [:]
        var out: [JSONMember] = []
        out.reserveCapacity(members.count)
        for m in members {
            if let p = position[JSONKey(m.key)] {
                out[p].value = m.value
            } else {
                position[JSONKey(m.key)] = out.count
                out.append(m)
            }
        }
        return out
    }

    /// Keys are equal when their Unicode scalars are (Swift's == on String would also call
    /// canonically equivalent spellings equal).
    public static func sameKey(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }

    /// "a string", "an object"... for error messages.
    public var kindDescription: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return "the number \(n.literal)"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

extension JSON: Equatable {
    /// Exact equality: strings and keys by Unicode scalars, numbers by literal text, members in
    /// order.
    public static func == (a: JSON, b: JSON) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)): return x == y
        case (.string(let x), .string(let y)): return sameKey(x, y)
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { sameKey($0.key, $1.key) && $0.value == $1.value }
        default: return false
        }
    }
}

/// A String usable as a dictionary key that hashes and compares by exact UTF-8 bytes.
public struct JSONKey: Hashable, Sendable {
    public let text: String

    public init(_ text: String) { self.text = text }

    public static func == (a: JSONKey, b: JSONKey) -> Bool { JSON.sameKey(a.text, b.text) }

    public func hash(into hasher: inout Hasher) {
        var text = text
        text.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
