import Foundation

/// How per-document values become a task's number (lm-eval's api/metrics.py aggregations).
public enum Aggregation: String, Sendable {
    /// The mean of per-document numbers, with the standard error of a mean.
    case mean
    /// exp(-sum ll / sum count) over (ll, count) pairs (lm-eval's weighted_perplexity).
    case weightedPerplexity = "weighted_perplexity"
    /// -sum ll / sum bytes / ln 2 (lm-eval's bits_per_byte).
    case bitsPerByte = "bits_per_byte"
}

/// One metric: its name, the output types that compute it, how it aggregates and which way is
/// better. One registry, as lm-eval's: task validation, results.json and the report's learning
/// direction all read it instead of matching names in several places.
public struct MetricInfo: Sendable {
    public var name: String
    public var outputTypes: Set<OutputType>
    public var aggregation: Aggregation
    public var higherIsBetter: Bool
}

public enum MetricRegistry {
    public static let all: [MetricInfo] = [
        MetricInfo(name: "acc", outputTypes: [.multipleChoice], aggregation: .mean, higherIsBetter: true),
        MetricInfo(name: "acc_norm", outputTypes: [.multipleChoice], aggregation: .mean, higherIsBetter: true),
        MetricInfo(name: "acc_bytes", outputTypes: [.multipleChoice], aggregation: .mean, higherIsBetter: true),
        MetricInfo(name: "acc_norm_tokens", outputTypes: [.multipleChoice], aggregation: .mean, higherIsBetter: true),
        MetricInfo(name: "exact_match", outputTypes: [.multipleChoice, .generateUntil], aggregation: .mean, higherIsBetter: true),
        // runs the generated code (opt-in): per document pass@k for each k of the metric's `k`
        MetricInfo(name: "pass_at_k", outputTypes: [.generateUntil], aggregation: .mean, higherIsBetter: true),
        // generation diversity (Sources/Evaluation/SampledGeneration.swift): higher = more diverse
        MetricInfo(name: "distinct_fraction", outputTypes: [.generateUntil], aggregation: .mean, higherIsBetter: true),
        MetricInfo(name: "distinct_2", outputTypes: [.generateUntil], aggregation: .mean, higherIsBetter: true),
        MetricInfo(name: "token_entropy", outputTypes: [.generateUntil], aggregation: .mean, higherIsBetter: true),
        MetricInfo(name: "word_perplexity", outputTypes: [.loglikelihoodRolling], aggregation: .weightedPerplexity, higherIsBetter: false),
        MetricInfo(name: "byte_perplexity", outputTypes: [.loglikelihoodRolling], aggregation: .weightedPerplexity, higherIsBetter: false),
        MetricInfo(name: "bits_per_byte", outputTypes: [.loglikelihoodRolling], aggregation: .bitsPerByte, higherIsBetter: false),
    ]

    static let byName: [String: MetricInfo] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    public static func info(_ name: String) -> MetricInfo? {
        byName[name] ?? (name.hasPrefix("pass@") ? byName["pass_at_k"] : nil)  // pass@1 is pass_at_k's value at k = 1
    }

    /// The names a metric's per-document values are reported under (lm-eval expands pass_at_k's
    /// dict into pass@1, pass@10, ...).
    public static func reportedNames(_ spec: MetricSpec) -> [String] {
        spec.name == "pass_at_k" ? spec.k.map { "pass@\($0)" } : [spec.name]
    }

    /// The metrics an output type computes, in registry order (the first is the default).
    public static func names(for type: OutputType) -> [String] {
        all.filter { $0.outputTypes.contains(type) }.map(\.name)
    }

    /// Which way is better for a metric of a task: the task's own `higher_is_better` when it
    /// writes one (lm-eval lets a task override it), else the registry's.
    public static func higherIsBetter(_ spec: MetricSpec) -> Bool {
        if case .object(let o) = spec.raw, case .bool(let b)? = o["higher_is_better"] { return b }
        return info(spec.name)?.higherIsBetter ?? true
    }

    /// The aggregation's name for results.json: the task's own when it writes one, else the registry's.
    public static func aggregationName(_ spec: MetricSpec) -> String {
        if case .object(let o) = spec.raw, case .string(let s)? = o["aggregation"] { return s }
        let agg = info(spec.name)?.aggregation ?? .mean
        return agg == .mean ? "mean" : agg.rawValue
    }
}
