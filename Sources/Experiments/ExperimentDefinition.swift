import Checkpoints
import Foundation

/// What an experiment asks for, independent of where it runs: its tasks (with the content hash,
/// few-shot count and number of documents each is scored on), its variants and its spectra
/// settings. Two stores are results of the same experiment exactly when their definitions are
/// equal; `merge` refuses anything else. Paths, server URLs and shard numbers are deliberately
/// left out: shards of one experiment run on different machines with different mounts.
public struct ExperimentDefinition: Codable, Equatable, Sendable {
    public struct TaskEntry: Codable, Equatable, Sendable {
        public var hash: String
        public var fewshot: Int
        /// As stored in task_results (0 = every document).
        public var limit: Int
        public var documents: Int
    }
    public struct VariantEntry: Codable, Equatable, Sendable {
        public var label: String
        public var method: String
        public var rank: Int?
        public var step: Int?
        public var tokens: Int?
        public var servedModel: String?
        /// "native" or "openai": where this variant is scored.
        public var backend: String
        /// series: (absent when the file gives none, so older definitions keep their hash).
        public var series: String?
        enum CodingKeys: String, CodingKey { case label, method, rank, step, tokens, backend, series, servedModel = "served_model" }
    }
    public struct SpectraEntry: Codable, Equatable, Sendable {
        public var enabled: Bool
        public var modules: String
        public var variance: Double
    }

    public var name: String
    public var targets: [String]
    public var probes: [String]
    public var tasks: [String: TaskEntry]
    public var variants: [VariantEntry]
    public var spectra: SpectraEntry
    /// "native" or "openai", and the base's served name with a server.
    public var backend: String
    public var baseServedModel: String?

    enum CodingKeys: String, CodingKey {
        case name, targets, probes, tasks, variants, spectra, backend
        case baseServedModel = "base_served_model"
    }

    public init(_ e: Experiment, catalog: TaskCatalog) throws {
        name = e.name
        targets = e.targets
        probes = e.probes
        var tasks: [String: TaskEntry] = [:]
        for t in e.allTasks {
            let limit = e.limit.limit(for: t)
            tasks[t] = TaskEntry(hash: try e.taskHash(t, catalog: catalog), fewshot: try e.fewshot(t, catalog: catalog),
                                 limit: limit ?? 0, documents: try catalog.count(t, limit: limit))
        }
        self.tasks = tasks
        variants = e.variants.map {
            VariantEntry(label: $0.label, method: $0.method.rawValue, rank: $0.rank, step: $0.step, tokens: $0.tokens,
                         servedModel: $0.servedModel, backend: $0.backendKind.rawValue, series: $0.series)
        }
        spectra = SpectraEntry(enabled: e.spectra.enabled, modules: e.spectra.modules ?? "", variance: e.spectra.variance)
        backend = e.backend.kind.rawValue
        baseServedModel = e.backend.servedModel
    }

    /// Canonical JSON (sorted keys): what is stored and hashed.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    public var hash: String { String(format: "xxh64:%016llx", XXH64.hash(Array(json.utf8))) }

    public static func decode(_ json: String, file: String) throws -> ExperimentDefinition {
        do { return try JSONDecoder().decode(ExperimentDefinition.self, from: Data(json.utf8)) } catch {
            throw ExperimentError(file: file, line: nil, "the stored experiment definition cannot be read (\(error)); was the store written by another forgetlens version?")
        }
    }

    /// What differs from `other`, in words (for merge's refusal).
    public func differences(from other: ExperimentDefinition) -> [String] {
        var out: [String] = []
        if name != other.name { out.append("name '\(name)' vs '\(other.name)'") }
        if targets != other.targets { out.append("targets \(targets) vs \(other.targets)") }
        if probes != other.probes { out.append("probes \(probes) vs \(other.probes)") }
        for t in Set(tasks.keys).union(other.tasks.keys).sorted() where tasks[t] != other.tasks[t] {
            switch (tasks[t], other.tasks[t]) {
            case let (a?, b?):
                if a.hash != b.hash { out.append("task \(t): definition or data changed (\(a.hash) vs \(b.hash))") }
                if a.fewshot != b.fewshot { out.append("task \(t): num_fewshot \(a.fewshot) vs \(b.fewshot)") }
                if a.limit != b.limit || a.documents != b.documents { out.append("task \(t): \(a.documents) vs \(b.documents) documents") }
            default: out.append("task \(t) is in only one of them")
            }
        }
        if variants != other.variants {
            let a = variants.map(\.label), b = other.variants.map(\.label)
            out.append(a == b ? "variants differ in method, rank, step, tokens, backend, served_model or series" : "variants \(a) vs \(b)")
        }
        if spectra != other.spectra { out.append("spectra settings differ") }
        if backend != other.backend || baseServedModel != other.baseServedModel { out.append("backend \(backend) vs \(other.backend)") }
        return out
    }
}
