import Checkpoints
import Evaluation
import Foundation

/// The experiment's tasks, loaded once: definitions, documents, and a content hash that keys
/// stored items (a changed definition or data file never serves a stale score).
public final class TaskCatalog {
    public let registry: TaskRegistry
    private var loaded: [String: EvaluationTask] = [:]
    private var hashes: [String: String] = [:]

    /// `includePaths`: the experiment's task_paths (directories of the user's own tasks).
    public init(directory: String? = nil, includePaths: [String] = []) throws {
        guard let dir = directory ?? TaskRegistry.defaultDirectory() else {
            throw EvaluationError("cannot find the tasks/ directory: set FORGETLENS_TASKS, install with `make install PREFIX=...`, or run from the forgetlens checkout")
        }
        registry = try TaskRegistry(directory: dir, includePaths: includePaths)
    }

    public var names: Set<String> { Set(registry.names) }

    public func task(_ name: String) throws -> EvaluationTask {
        if let t = loaded[name] { return t }
        let t = try EvaluationTask(definition: try registry.definition(name))
        loaded[name] = t
        return t
    }

    /// xxh64 of the definition file, its data file and its few-shot file.
    public func hash(_ name: String) throws -> String {
        if let h = hashes[name] { return h }
        let def = try task(name).definition
        var h = XXH64(seed: 0x7461_736B)  // "task"
        for path in [def.file, def.dataFile] + (def.fewshotFile.map { [$0] } ?? []) {
            guard let data = FileManager.default.contents(atPath: path) else { throw EvaluationError("\(path): cannot be read") }
            h.update(Array(URL(fileURLWithPath: path).lastPathComponent.utf8))
            data.withUnsafeBytes { h.update($0) }
        }
        let s = String(format: "xxh64:%016llx", h.digest())
        hashes[name] = s
        return s
    }

    /// Documents evaluated under a limit.
    public func count(_ name: String, limit: Int?) throws -> Int {
        let n = try task(name).documents.count
        return min(limit ?? n, n)
    }

    /// The score that stands for a task: acc (multiple choice), exact_match (generation),
    /// -bits_per_byte (rolling loglikelihood). A metric where lower is better (the registry's, or the
    /// task's own higher_is_better) is negated, so that higher is better everywhere.
    public func primaryMetric(_ name: String) throws -> (metric: String, negate: Bool) {
        let def = try task(name).definition
        let wanted: String
        switch def.outputType {
        case .multipleChoice: wanted = "acc"
        case .generateUntil where def.runsCode:
            // pass@k at the smallest k (pass@1 for humaneval), higher is better
            let k = def.metrics.first { $0.name == "pass_at_k" }?.k.min() ?? 1
            return ("pass@\(k)", false)
        case .generateUntil where !def.metrics.contains(where: { $0.name == "exact_match" }):
            // a diversity task: its first diversity measure stands for it in progress lines
            if let d = def.metrics.first(where: { Diversity.metrics.contains($0.name) }) { return (d.name, false) }
            wanted = "exact_match"
        case .generateUntil: wanted = "exact_match"
        case .loglikelihoodRolling: wanted = "bits_per_byte"
        }
        guard let spec = def.metrics.first(where: { $0.name == wanted }) else {
            throw EvaluationError("\(def.file): task \(name) has no \(wanted) in its metric_list, which forgetlens uses as its score")
        }
        return (wanted, !MetricRegistry.higherIsBetter(spec))
    }

    public static func displayName(_ p: (metric: String, negate: Bool)) -> String { (p.negate ? "-" : "") + p.metric }
}
