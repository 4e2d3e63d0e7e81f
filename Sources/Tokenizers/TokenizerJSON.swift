import Foundation
import JSONReader

/// A JSON value that remembers where it came from, so that every accessor can throw a
/// `TokenizerError` naming the exact path (`model.merges[12]`).
struct JSONNode {
    let value: JSON
    let path: String

    init(_ value: JSON, path: String) {
        self.value = value
        self.path = path
    }

    static func parse(_ data: Data) throws -> JSONNode {
        do {
            let value = try data.withUnsafeBytes { raw in try JSONReader.parse(raw) }
            return JSONNode(value, path: "")
        } catch let f as JSONSyntaxError {
            throw TokenizerError(.unreadable, path: "", "not valid JSON (\(f.message) at byte \(f.offset))")
        }
    }

    private func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    var isNull: Bool { if case .null = value { return true } else { return false } }

    private func members() throws -> [JSONMember] {
        guard case .object(let m) = value else { throw malformed("expected an object") }
        return m
    }

    /// The member `key`, or nil when absent or JSON null (HF writes optional fields as null).
    func optional(_ key: String) throws -> JSONNode? {
        // Last duplicate wins, as in a serde_json map (keys compared by their exact scalars).
        guard let v = try members().last(where: { JSON.sameKey($0.key, key) })?.value else { return nil }
        if case .null = v { return nil }
        return JSONNode(v, path: childPath(key))
    }

    func required(_ key: String) throws -> JSONNode {
        guard let node = try optional(key) else {
            throw TokenizerError(.malformed, path: childPath(key), "required field is missing")
        }
        return node
    }

    func has(_ key: String) -> Bool {
        guard case .object(let m) = value else { return false }
        return m.contains { JSON.sameKey($0.key, key) }
    }

    func string() throws -> String {
        guard case .string(let s) = value else { throw malformed("expected a string") }
        return s
    }

    var stringValue: String? { if case .string(let s) = value { return s } else { return nil } }

    func bool() throws -> Bool {
        guard case .bool(let b) = value else { throw malformed("expected true or false") }
        return b
    }

    func int() throws -> Int {
        guard case .number(let n) = value else { throw malformed("expected an integer") }
        if let i = n.int, i.magnitude < 9_000_000_000_000_000 { return i }
        // 2.0 or 1e3 are integers too (the value, not the spelling, counts).
        let d = n.double
        guard d == d.rounded(), abs(d) < 9e15 else { throw malformed("expected an integer") }
        return Int(d)
    }

    func double() throws -> Double {
        guard case .number(let n) = value else { throw malformed("expected a number") }
        return n.double
    }

    func array() throws -> [JSONNode] {
        guard case .array(let a) = value else { throw malformed("expected an array") }
        return a.enumerated().map { JSONNode($1, path: "\(path)[\($0)]") }
    }

    /// Members in file order, keys exact (not merged by Unicode canonical equivalence).
    func object() throws -> [(key: String, node: JSONNode)] {
        try members().map { (key: $0.key, node: JSONNode($0.value, path: childPath($0.key))) }
    }

    /// Optional field helpers with defaults, for the many HF flags that may be absent.
    func bool(_ key: String, default def: Bool) throws -> Bool { try optional(key)?.bool() ?? def }
    func string(_ key: String) throws -> String? { try optional(key)?.string() }

    func malformed(_ message: String) -> TokenizerError {
        TokenizerError(.malformed, path: path, message)
    }

    func unsupported(_ message: String) -> TokenizerError {
        TokenizerError(.unsupported, path: path, message)
    }

    /// The `type` member of a component, refused unless it is one of `supported`.
    func componentType(_ supported: [String]) throws -> String {
        let typeNode = try required("type")
        let t = try typeNode.string()
        guard supported.contains(t) else {
            throw typeNode.unsupported("\"\(t)\" is not supported (supported: \(supported.joined(separator: ", ")))")
        }
        return t
    }
}
