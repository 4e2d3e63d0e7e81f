import Foundation
import GRDB

// The results store's rows, one Codable struct per table. The schema itself is in StoreSchema.

/// One `forgetlens run` invocation.
public struct RunRecord: Codable, Sendable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "runs"
    public var id: Int64?
    public var toolVersion: String
    public var experiment: String
    /// The options as JSON (limit, few-shot, tasks, spectra settings).
    public var options: String
    public var startedAt: Date
    public var finishedAt: Date?
    public var status: String

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
    enum CodingKeys: String, CodingKey {
        case id, experiment, options, status
        case toolVersion = "tool_version", startedAt = "started_at", finishedAt = "finished_at"
    }
}

/// A checkpoint as the experiment names it; results are keyed by its fingerprint.
public struct CheckpointRecord: Codable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "checkpoints"
    public var label: String
    public var method: String
    public var rank: Int?
    public var step: Int?
    public var tokens: Int?
    public var modelPath: String
    public var adapterPath: String?
    public var fingerprint: String
    public var isBase: Bool
    public var updatedAt: Date
    /// The served model name when an OpenAI-compatible server scores this checkpoint.
    public var servedModel: String?
    enum CodingKeys: String, CodingKey {
        case label, method, rank, step, tokens, fingerprint
        case modelPath = "model_path", adapterPath = "adapter_path", isBase = "is_base", updatedAt = "updated_at", servedModel = "served_model"
    }
}

/// A backend's raw answer for one choice (multiple choice) or request.
public struct ChoiceOutcome: Codable, Sendable, Equatable {
    public var loglikelihood: Double
    public var isGreedy: Bool
    public var tokens: Int
    enum CodingKeys: String, CodingKey { case loglikelihood = "ll", isGreedy = "is_greedy", tokens }
}

/// A per-item metric: a number, or (loglikelihood, count) for perplexities and bits per byte.
public struct ItemMetric: Codable, Sendable, Equatable {
    public var value: Double
    public var weight: Int?
}

/// One document of one task scored for one checkpoint. Keyed by what determines the answer:
/// checkpoint fingerprint, task, task definition hash, few-shot count and document id (never
/// the limit, so a larger limit reuses the first documents).
public struct ItemRecord: Codable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "item_results"
    public var fingerprint: String
    public var task: String
    public var taskHash: String
    public var fewshot: Int
    public var docId: Int
    /// multiple_choice: per choice. loglikelihood_rolling: one entry (tokens = 0).
    public var outcomes: [ChoiceOutcome]?
    public var generation: String?
    /// Filled once the task's metrics are computed (nil while only raw outcomes are stored).
    public var gold: Int?
    public var target: String?
    public var metrics: [String: ItemMetric]?
    public var acc: Double?
    public var accNorm: Double?
    enum CodingKeys: String, CodingKey {
        case fingerprint, task, fewshot, outcomes, generation, gold, target, metrics, acc
        case taskHash = "task_hash", docId = "doc_id", accNorm = "acc_norm"
    }
}

/// A task's aggregate for one checkpoint and limit.
public struct TaskResultRecord: Codable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "task_results"
    public struct Aggregate: Codable, Sendable, Equatable {
        public var value: Double
        public var stderr: Double?
    }
    public var fingerprint: String
    public var task: String
    public var taskHash: String
    public var fewshot: Int
    /// 0 = every document.
    public var limit: Int
    public var documents: Int
    public var metrics: [String: Aggregate]
    public var computedAt: Date
    enum CodingKeys: String, CodingKey {
        case fingerprint, task, fewshot, limit, documents, metrics
        case taskHash = "task_hash", computedAt = "computed_at"
    }
}

/// One tensor's spectrum of a variant against the base.
public struct SpectrumRecord: Codable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "spectra"
    public var baseFingerprint: String
    public var fingerprint: String
    public var tensor: String
    public var variance: Double
    public var kind: String
    public var rows: Int
    public var cols: Int
    public var singularValues: [Double]
    public var rank90: Int
    public var gaussianRank90: Int
    public var stableRank: Double
    public var effectiveRank: Double
    public var frobeniusNorm: Double
    public var spectralNorm: Double
    public var relativeChange: Double?
    enum CodingKeys: String, CodingKey {
        case fingerprint, tensor, variance, kind, rows, cols, rank90
        case baseFingerprint = "base_fingerprint", singularValues = "singular_values", gaussianRank90 = "gaussian_rank90"
        case stableRank = "stable_rank", effectiveRank = "effective_rank", frobeniusNorm = "frobenius_norm"
        case spectralNorm = "spectral_norm", relativeChange = "relative_change"
    }
}

/// Marks a variant's spectra as complete for (base, variant, variance, module filter), so a
/// rerun need not enumerate the checkpoints again.
public struct SpectraPassRecord: Codable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "spectra_passes"
    public var baseFingerprint: String
    public var fingerprint: String
    public var variance: Double
    public var modules: String
    public var tensors: Int
    enum CodingKeys: String, CodingKey {
        case variance, modules, tensors, fingerprint
        case baseFingerprint = "base_fingerprint"
    }
}

/// The spectra Biderman et al. (2024) compare Delta's with, for a few chosen tensors of a
/// variant (spectra.weights): W_base, W_ft, the Gaussian G of Delta's shape and Frobenius norm,
/// and W_base + G (descending singular values; Delta's own are in `spectra`).
public struct WeightSpectrumRecord: Codable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "weight_spectra"
    public var baseFingerprint: String
    public var fingerprint: String
    public var tensor: String
    public var baseSingularValues: [Double]
    public var finetunedSingularValues: [Double]
    public var gaussianSingularValues: [Double]
    public var basePlusGaussianSingularValues: [Double]
    /// The seed of G, as text (SQLite integers are signed 64-bit).
    public var gaussianSeed: String
    enum CodingKeys: String, CodingKey {
        case fingerprint, tensor
        case baseFingerprint = "base_fingerprint", baseSingularValues = "base_singular_values"
        case finetunedSingularValues = "finetuned_singular_values", gaussianSingularValues = "gaussian_singular_values"
        case basePlusGaussianSingularValues = "base_plus_gaussian_singular_values", gaussianSeed = "gaussian_seed"
    }
}
