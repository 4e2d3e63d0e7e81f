import Foundation
import JSONReader

/// Typed access to a JSON object that turns every missing or mistyped field into a
/// `CheckpointError` naming the file and the key path. config.json and adapter_config.json
/// vary too much between library versions for a strict Codable schema to report well.
///
/// transformers and PEFT read these files with Python's json, so a key written twice means its
/// last value; keys are compared by their exact Unicode scalars (JSONReader).
public struct JSONFields: Sendable {
    public let file: String
    public let prefix: String
    /// The object's members, one per key (Python dict rule: last value, first position).
    public let members: [JSONMember]

    public init(file: String, prefix: String = "", members: [JSONMember]) {
        self.file = file
        self.prefix = prefix
        self.members = members
    }

    /// Reads and parses a JSON object file.
    public static func load(_ path: String) throws -> JSONFields {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw CheckpointError(file: path, field: "", "cannot be read (\(error.localizedDescription))")
        }
        return try parse(data, file: path)
    }

    /// Parses the bytes of a JSON object file (`file` names it in errors).
    public static func parse(_ data: Data, file: String) throws -> JSONFields {
        let parsed: JSON
        do { parsed = try JSONReader.parse(data) } catch {
            throw CheckpointError(file: file, field: "", "is not valid JSON (\(error))")
        }
        guard let members = parsed.dictionaryMembers else {
            throw CheckpointError(file: file, field: "", "expected a JSON object at the top level")
        }
        return JSONFields(file: file, members: members)
    }

    func path(_ key: String) -> String { prefix.isEmpty ? key : "\(prefix).\(key)" }

    /// The raw value of `key` (null included), nil when absent.
    public func value(_ key: String) -> JSON? {
        members.first { JSON.sameKey($0.key, key) }?.value
    }

    public func has(_ key: String) -> Bool {
        guard let v = value(key) else { return false }
        return !v.isNull
    }

    /// The key is in the object, possibly as null (null and absent can mean different things:
    /// Gemma 2's soft-capping is on by default and off when set to null).
    public func contains(_ key: String) -> Bool { value(key) != nil }

    public func error(_ key: String, _ problem: String) -> CheckpointError {
        CheckpointError(file: file, field: path(key), problem)
    }

    /// An integer written as one (`4`) or as an integral float (`4.0`).
    static func integer(_ value: JSON) -> Int? {
        guard case .number(let n) = value else { return nil }
        if let i = n.int { return i }
        let d = n.double
        guard d == d.rounded(), abs(d) < 9e15 else { return nil }
        return Int(d)
    }

    static func number(_ value: JSON) -> Double? {
        guard case .number(let n) = value else { return nil }
        return n.double
    }

    public func int(_ key: String) throws -> Int? {
        guard has(key), let v = value(key) else { return nil }
        if let n = Self.integer(v) { return n }
        throw error(key, "expected an integer, got \(Self.describe(v))")
    }

    public func requireInt(_ key: String, positive: Bool = true) throws -> Int {
        guard let n = try int(key) else { throw error(key, "missing (expected an integer)") }
        if positive && n <= 0 { throw error(key, "expected a positive integer, got \(n)") }
        return n
    }

    public func double(_ key: String) throws -> Double? {
        guard has(key), let v = value(key) else { return nil }
        if let d = Self.number(v) { return d }
        throw error(key, "expected a number, got \(Self.describe(v))")
    }

    public func bool(_ key: String) throws -> Bool? {
        guard has(key), let v = value(key) else { return nil }
        if let b = v.boolValue { return b }
        throw error(key, "expected true or false, got \(Self.describe(v))")
    }

    public func string(_ key: String) throws -> String? {
        guard has(key), let v = value(key) else { return nil }
        if let s = v.stringValue { return s }
        throw error(key, "expected a string, got \(Self.describe(v))")
    }

    public func strings(_ key: String) throws -> [String]? {
        guard has(key), let v = value(key) else { return nil }
        if let list = v.arrayValue {
            return try list.map {
                guard let s = $0.stringValue else { throw error(key, "expected a list of strings") }
                return s
            }
        }
        throw error(key, "expected a list of strings, got \(Self.describe(v))")
    }

    public func nested(_ key: String) throws -> JSONFields? {
        guard has(key), let v = value(key) else { return nil }
        guard let members = v.dictionaryMembers else {
            throw error(key, "expected an object, got \(Self.describe(v))")
        }
        return JSONFields(file: file, prefix: path(key), members: members)
    }

    /// A list of numbers (longrope's short_factor and long_factor).
    public func doubles(_ key: String) throws -> [Double]? {
        guard has(key), let v = value(key) else { return nil }
        if let list = v.arrayValue {
            return try list.map {
                guard let d = Self.number($0) else { throw error(key, "expected a list of numbers") }
                return d
            }
        }
        throw error(key, "expected a list of numbers, got \(Self.describe(v))")
    }

    /// A JSON integer or list of integers (eos_token_id may be either).
    public func intList(_ key: String) throws -> [Int]? {
        guard has(key), let v = value(key) else { return nil }
        if let n = Self.integer(v) { return [n] }
        if let list = v.arrayValue {
            return try list.map {
                guard let n = Self.integer($0) else { throw error(key, "expected integers") }
                return n
            }
        }
        throw error(key, "expected an integer or a list of integers")
    }

    /// A value as an error message shows it.
    static func describe(_ value: JSON) -> String {
        switch value {
        case .string(let s): return "\"\(s)\""
        case .number(let n): return n.literal
        default: return value.kindDescription
        }
    }
}
