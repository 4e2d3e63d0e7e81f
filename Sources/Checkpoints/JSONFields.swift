import Foundation

/// Typed access to a decoded JSON object that turns every missing or mistyped field into a
/// `CheckpointError` naming the file and the key path. config.json and adapter_config.json
/// vary too much between library versions for a strict Codable schema to report well.
public struct JSONFields: @unchecked Sendable {
    public let file: String
    public let prefix: String
    public let object: [String: Any]

    public init(file: String, prefix: String = "", object: [String: Any]) {
        self.file = file
        self.prefix = prefix
        self.object = object
    }

    /// Reads and parses a JSON object file.
    public static func load(_ path: String) throws -> JSONFields {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw CheckpointError(file: path, field: "", "cannot be read (\(error.localizedDescription))")
        }
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: data) } catch {
            throw CheckpointError(file: path, field: "", "is not valid JSON (\(error.localizedDescription))")
        }
        guard let object = parsed as? [String: Any] else {
            throw CheckpointError(file: path, field: "", "expected a JSON object at the top level")
        }
        return JSONFields(file: path, object: object)
    }

    func path(_ key: String) -> String { prefix.isEmpty ? key : "\(prefix).\(key)" }

    public func has(_ key: String) -> Bool {
        guard let v = object[key] else { return false }
        return !(v is NSNull)
    }

    /// The key is in the object, possibly as null (null and absent can mean different things:
    /// Gemma 2's soft-capping is on by default and off when set to null).
    public func contains(_ key: String) -> Bool { object[key] != nil }

    public func error(_ key: String, _ problem: String) -> CheckpointError {
        CheckpointError(file: file, field: path(key), problem)
    }

    public func int(_ key: String) throws -> Int? {
        guard has(key) else { return nil }
        if let n = object[key] as? Int { return n }
        if let d = object[key] as? Double, d == d.rounded(), abs(d) < 9e15 { return Int(d) }
        throw error(key, "expected an integer, got \(describe(object[key]))")
    }

    public func requireInt(_ key: String, positive: Bool = true) throws -> Int {
        guard let n = try int(key) else { throw error(key, "missing (expected an integer)") }
        if positive && n <= 0 { throw error(key, "expected a positive integer, got \(n)") }
        return n
    }

    public func double(_ key: String) throws -> Double? {
        guard has(key) else { return nil }
        if let d = object[key] as? Double { return d }
        if let n = object[key] as? Int { return Double(n) }
        throw error(key, "expected a number, got \(describe(object[key]))")
    }

    public func bool(_ key: String) throws -> Bool? {
        guard has(key) else { return nil }
        if let b = object[key] as? Bool { return b }
        throw error(key, "expected true or false, got \(describe(object[key]))")
    }

    public func string(_ key: String) throws -> String? {
        guard has(key) else { return nil }
        if let s = object[key] as? String { return s }
        throw error(key, "expected a string, got \(describe(object[key]))")
    }

    public func strings(_ key: String) throws -> [String]? {
        guard has(key) else { return nil }
        if let list = object[key] as? [Any] {
            return try list.map {
                guard let s = $0 as? String else { throw error(key, "expected a list of strings") }
                return s
            }
        }
        throw error(key, "expected a list of strings, got \(describe(object[key]))")
    }

    public func nested(_ key: String) throws -> JSONFields? {
        guard has(key) else { return nil }
        guard let dict = object[key] as? [String: Any] else {
            throw error(key, "expected an object, got \(describe(object[key]))")
        }
        return JSONFields(file: file, prefix: path(key), object: dict)
    }

    /// A list of numbers (longrope's short_factor and long_factor).
    public func doubles(_ key: String) throws -> [Double]? {
        guard has(key) else { return nil }
        if let list = object[key] as? [Any] {
            return try list.map {
                if let d = $0 as? Double { return d }
                if let n = $0 as? Int { return Double(n) }
                throw error(key, "expected a list of numbers")
            }
        }
        throw error(key, "expected a list of numbers, got \(describe(object[key]))")
    }

    /// A JSON integer or list of integers (eos_token_id may be either).
    public func intList(_ key: String) throws -> [Int]? {
        guard has(key) else { return nil }
        if let n = try? int(key) { return [n] }
        if let list = object[key] as? [Any] {
            return try list.map {
                guard let n = $0 as? Int else { throw error(key, "expected integers") }
                return n
            }
        }
        throw error(key, "expected an integer or a list of integers")
    }

    private func describe(_ value: Any?) -> String {
        guard let value else { return "nothing" }
        if let s = value as? String { return "\"\(s)\"" }
        return "\(value)"
    }
}
