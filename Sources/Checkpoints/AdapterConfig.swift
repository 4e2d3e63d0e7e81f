import Foundation
import JSONReader
import RegexDeadline

/// The keys of a PEFT adapter_config.json that change what the adapter does to the weights.
/// Keys that only matter for training (dropout, init, task type) are ignored on purpose.
public struct AdapterConfig: Sendable {
    public var path: String
    public var rank: Int
    public var alpha: Double
    public var useRSLoRA: Bool
    /// Ordered as written: PEFT takes the first matching key.
    public var rankPattern: [(pattern: String, value: Int)]
    public var alphaPattern: [(pattern: String, value: Double)]
    public var fanInFanOut: Bool
    public var targetModules: [String]
    public var loraBias: Bool
    public var modulesToSave: [String]
    public var useDoRA: Bool
    public var baseModelNameOrPath: String?

    public static func load(path: String) throws -> AdapterConfig {
        try AdapterConfig(fields: JSONFields.load(path))
    }

    init(fields f: JSONFields) throws {
        path = f.file
        let peftType = try f.string("peft_type") ?? "LORA"
        guard peftType == "LORA" else {
            throw f.error("peft_type", "\"\(peftType)\" is not supported (only LORA adapters, which includes QLoRA and DoRA)")
        }
        rank = try f.requireInt("r")
        alpha = try f.double("lora_alpha") ?? 8
        // A scale this large (or infinite) only turns every logit into inf/NaN downstream.
        guard alpha.isFinite, abs(alpha) <= 1e6 else { throw f.error("lora_alpha", "\(alpha) is not a usable scale (expected a finite number up to 1e6 in size)") }
        useRSLoRA = try f.bool("use_rslora") ?? false
        fanInFanOut = try f.bool("fan_in_fan_out") ?? false
        loraBias = try f.bool("lora_bias") ?? false
        useDoRA = try f.bool("use_dora") ?? false
        baseModelNameOrPath = try? f.string("base_model_name_or_path")
        if let list = try? f.strings("target_modules") {
            targetModules = list
        } else {
            targetModules = (try? f.string("target_modules")).flatMap { $0.map { [$0] } } ?? []
        }
        modulesToSave = try f.strings("modules_to_save") ?? []
        if let parameters = f.value("target_parameters")?.arrayValue, !parameters.isEmpty {
            throw f.error("target_parameters", "adapters on raw parameters (MoE experts) are not supported")
        }
        // Options that change the model beyond W0 + scaling * B A. Silently ignoring any of
        // them would analyse or evaluate a different model than the one trained.
        for key in ["layer_replication", "trainable_token_indices", "alora_invocation_tokens"] where Self.isSet(f.value(key)) {
            throw f.error(key, "is set, which forgetlens does not support (it changes the model beyond LoRA weight deltas)")
        }
        for key in ["use_qalora", "use_bdlora"] where f.value(key)?.boolValue == true {
            throw f.error(key, "is true, which forgetlens does not support")
        }
        rankPattern = try Self.pattern(f, key: "rank_pattern") { value, field in
            guard let n = JSONFields.integer(value), n > 0 else { throw f.error(field, "expected a positive integer rank") }
            return n
        }
        alphaPattern = try Self.pattern(f, key: "alpha_pattern") { value, field in
            guard let a = JSONFields.number(value) else { throw f.error(field, "expected a number") }
            guard a.isFinite, abs(a) <= 1e6 else { throw f.error(field, "\(a) is not a usable scale (expected a finite number up to 1e6 in size)") }
            return a
        }
    }

    /// Present, not null and not an empty list or object.
    static func isSet(_ value: JSON?) -> Bool {
        switch value {
        case nil, .null?: return false
        case .array(let list)?: return !list.isEmpty
        case .object(let members)?: return !members.isEmpty
        case .bool(let flag)?: return flag
        default: return true
        }
    }

    /// The patterns in the order the file wrote them (the order of the Python dict PEFT builds:
    /// a key written twice keeps its first place and its last value).
    private static func pattern<T>(_ f: JSONFields, key: String,
                                   _ convert: (JSON, String) throws -> T) throws -> [(pattern: String, value: T)] {
        guard let nested = try f.nested(key) else { return [] }
        return try nested.members.map { member in
            let p = member.key, v = member.value
            // PEFT raises re.error on a bad pattern; skipping it would apply the default r/alpha
            // to modules the user meant to change, without a word.
            do { _ = try NSRegularExpression(pattern: Self.anchored(p)) } catch {
                throw f.error("\(key).\(p)", "is not a valid regular expression (PEFT matches these keys as regexes)")
            }
            return (p, try convert(v, "\(key).\(p)"))
        }
    }

    static func anchored(_ p: String) -> String { "^(?:.*\\.)?(?:\(p))$" }

    /// How much CPU time one module may spend matching a config's patterns. Patterns come
    /// from the file, and a backtracking engine (ICU's, as Python's re) takes exponential time
    /// on some (`(.*)*x`); real keys are module names and alternations, matched in microseconds.
    static let matchTimeLimit = 0.1

    /// PEFT's `get_pattern_key`: the first pattern p with re.match(rf"(.*\.)?({p})$", module) wins.
    /// Throws, naming the key, when matching runs past `matchTimeLimit`.
    func firstMatch(_ patterns: [String], key: String, module: String) throws -> String? {
        let deadline = RegexDeadline.cpuTime() + Self.matchTimeLimit
        for p in patterns {
            guard let regex = try? NSRegularExpression(pattern: Self.anchored(p)) else { continue }  // checked when read
            var matched = false
            let finished = RegexDeadline.enumerateMatches(regex, in: module, range: NSRange(module.startIndex..., in: module),
                                                          options: .anchored, deadline: deadline) { _ in
                matched = true
                return false
            }
            guard finished else {
                throw CheckpointError(file: path, field: "\(key).\(p)",
                                      "took over \(Self.matchTimeLimit) s of CPU to match the module name \(module) (a pattern that backtracks exponentially; PEFT's re would hang on it too): use module names or simple alternations")
            }
            if matched { return p }
        }
        return nil
    }

    /// Rank and alpha of one module after rank_pattern / alpha_pattern.
    public func rankAndAlpha(module: String) throws -> (rank: Int, alpha: Double) {
        let r = try firstMatch(rankPattern.map(\.pattern), key: "rank_pattern", module: module)
            .flatMap { p in rankPattern.first { $0.pattern == p }?.value } ?? rank
        let a = try firstMatch(alphaPattern.map(\.pattern), key: "alpha_pattern", module: module)
            .flatMap { p in alphaPattern.first { $0.pattern == p }?.value } ?? alpha
        return (r, a)
    }

    /// PEFT's scaling: alpha / r, or alpha / sqrt(r) with rsLoRA.
    public func scaling(rank r: Int, alpha a: Double) -> Double {
        useRSLoRA ? a / Double(r).squareRoot() : a / Double(r)
    }
}
