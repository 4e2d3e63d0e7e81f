import Evaluation
import Foundation
import Yams

/// Where an experiment's checkpoints are scored: the native engine (default), or an
/// OpenAI-compatible completions server (vLLM, llama-cpp-python) that serves the base and each
/// variant under a name. `kind` is the default; a variant may choose the other with its own
/// `backend:`, so one experiment (and one report) can mix served and native checkpoints. The
/// API key is never in the file, only the name of the environment variable that holds it.
public struct BackendSettings: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable { case native, openai }
    public var kind: Kind = .native
    /// nil until given here or with `run --base-url`.
    public var baseURL: String?
    public var apiKeyEnv: String?
    /// The base model's served name (nil: the only model the server lists).
    public var servedModel: String?
    public var concurrency = 8
    public var timeout: Double = 300

    public init(kind: Kind = .native, baseURL: String? = nil, apiKeyEnv: String? = nil, servedModel: String? = nil,
                concurrency: Int = 8, timeout: Double = 300) {
        (self.kind, self.baseURL, self.apiKeyEnv, self.servedModel, self.concurrency, self.timeout) =
            (kind, baseURL, apiKeyEnv, servedModel, concurrency, timeout)
    }

    static let keys: Set<String> = ["type", "base_url", "api_key_env", "served_model", "concurrency", "timeout"]

    /// `backend: native`, or a mapping {type: openai|native, base_url:, api_key_env:, served_model:, concurrency:, timeout:}
    /// (with type native, the server settings are for the variants that choose `backend: openai`).
    static func parse(_ n: Node, fail: (Node?, String) -> ExperimentError) throws -> BackendSettings {
        var s = BackendSettings()
        let kinds = Kind.allCases.map(\.rawValue).joined(separator: " or ")
        func kind(_ node: Node) throws -> Kind {
            guard node.scalar != nil, let text = node.string, let k = Kind(rawValue: text) else {
                throw fail(node, "backend type: expected \(kinds), got '\(node.string ?? "a \(Experiment.kind(node))")'")
            }
            return k
        }
        if n.scalar != nil {
            s.kind = try kind(n)
            if s.kind == .openai { throw fail(n, "backend: openai needs a mapping {type: openai, base_url: http://HOST:PORT/v1, served_model: NAME}") }
            return s
        }
        guard case .mapping(let m) = n else { throw fail(n, "backend: expected \(kinds), or a mapping {type: openai, base_url:, ...}") }
        for (k, _) in m where !keys.contains(k.string ?? "") {
            throw fail(k, "unknown key '\(k.string ?? "?")' in backend (known: \(keys.sorted().joined(separator: ", ")))")
        }
        guard let t = m["type"] else { throw fail(n, "backend: missing field 'type' (\(kinds))") }
        s.kind = try kind(t)
        func text(_ key: String) throws -> String? {
            guard let v = m[key] else { return nil }
            guard v.scalar != nil, !Experiment.tag(v, .null), let x = v.string, !x.isEmpty else { throw fail(v, "backend.\(key): expected a non-empty string") }
            return x
        }
        s.baseURL = try text("base_url")
        if let u = s.baseURL { try checkURL(u) { fail(m["base_url"], $0) } }
        s.apiKeyEnv = try text("api_key_env")
        if let v = s.apiKeyEnv, v.range(of: #"^[A-Za-z_][A-Za-z0-9_]*$"#, options: .regularExpression) == nil {
            throw fail(m["api_key_env"], "backend.api_key_env: expected the NAME of an environment variable (the key itself never goes in the file)")
        }
        s.servedModel = try text("served_model")
        if let c = m["concurrency"] {
            guard let i = YAMLInteger.int(c), i >= 1, i <= 1024 else { throw fail(c, "backend.concurrency: expected an integer from 1 to 1024\(YAMLInteger.rangeNote(c))") }
            s.concurrency = i
        }
        if let t = m["timeout"] {
            guard Experiment.tag(t, .int) || Experiment.tag(t, .float), let x = t.float, x > 0 else { throw fail(t, "backend.timeout: expected seconds > 0") }
            s.timeout = x
        }
        if s.kind == .native, let n = m["served_model"] {
            throw fail(n, "backend.served_model names the base on the server, but type native scores the base locally (use type: openai)")
        }
        return s
    }

    /// http(s)://HOST[:PORT][/...]
    static func checkURL(_ text: String, fail: (String) -> ExperimentError) throws {
        guard let u = URL(string: text), let scheme = u.scheme?.lowercased(), ["http", "https"].contains(scheme), u.host != nil else {
            throw fail("base_url: expected http(s)://HOST:PORT[/v1], got '\(text)'")
        }
    }
}

extension BackendSettings {
    /// The server's options: base_url (or the override), the API key read from the named
    /// environment variable, concurrency and timeout.
    func remoteOptions(file: String, baseURLOverride: String?, environment: [String: String]) throws -> RemoteOptions {
        guard let text = baseURLOverride ?? baseURL else {
            throw ExperimentError(file: file, line: nil, "backend.base_url is not set: give it in the file or with `forgetlens run --base-url URL`")
        }
        try Self.checkURL(text) { ExperimentError(file: file, line: nil, $0) }
        var key: String? = nil
        if let variable = apiKeyEnv {
            guard let value = environment[variable], !value.isEmpty else {
                throw ExperimentError(file: file, line: nil, "backend.api_key_env: the environment variable \(variable) is not set or empty")
            }
            key = value
        }
        return RemoteOptions(baseURL: URL(string: text)!, apiKey: key, concurrency: concurrency, timeout: timeout)
    }
}
