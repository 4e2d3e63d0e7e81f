import Foundation

/// How far an experiment's stores are: per checkpoint and task the documents stored of those due,
/// per variant the spectra tensors, and the last run. For the main store all work is due; for a
/// shard store (its last run recorded "shard": "I/N") only that shard's part.
public struct StoreProgress: Sendable {
    public struct Row: Sendable {
        public var label: String
        /// task -> (stored, due).
        public var documents: [String: (stored: Int, due: Int)]
        /// (stored, due); nil: no spectra expected (disabled, served only, or not in the store).
        public var spectra: (stored: Int, due: Int)?
        /// Every task's aggregate is stored (main stores only).
        public var aggregated: Bool
    }
    public var path: String
    public var shard: Shard?
    public var rows: [Row]
    public var lastRun: RunRecord?

    public var documentTotals: (stored: Int, due: Int) {
        rows.map(\.documents).flatMap(\.values).reduce((0, 0)) { ($0.0 + $1.stored, $0.1 + $1.due) }
    }
    public var spectraTotals: (stored: Int, due: Int) {
        rows.compactMap(\.spectra).reduce((0, 0)) { ($0.0 + $1.stored, $0.1 + $1.due) }
    }

    public static func read(_ e: Experiment, catalog: TaskCatalog, path: String) throws -> StoreProgress {
        let store = try ResultsStore.existing(path: path)
        let runs = try store.runs()
        // A shard store: every run in it did the same part (a merged or whole-run store mixes).
        let parts = runs.map { run -> String? in
            guard run.status != "merged", let object = try? JSONSerialization.jsonObject(with: Data(run.options.utf8)) as? [String: Any] else { return nil }
            return object["shard"] as? String
        }
        let shard = Set(parts).count == 1 ? parts.first!.flatMap { try? Shard(parsing: $0) } : nil
        let checkpoints = Dictionary(uniqueKeysWithValues: try store.checkpoints().map { ($0.label, $0) })
        // Spectra tensors due per variant (from the checkpoints' headers).
        let tensorCounts = try shard.map { try e.spectraPlan($0).mapValues(\.count) } ?? e.spectraTensorCounts()
        let labels = ["base"] + e.variants.map(\.label)
        var rows: [Row] = []
        for (c, label) in labels.enumerated() {
            let cp = checkpoints[label]
            var docs: [String: (Int, Int)] = [:]
            var aggregated = shard == nil && cp != nil
            for task in e.allTasks {
                let limit = e.limit.limit(for: task)
                let n = try catalog.count(task, limit: limit)
                let range = shard?.documents(checkpoint: c, of: labels.count, documents: n) ?? 0..<n
                guard let cp else { docs[task] = (0, range.count); continue }
                let key = ResultsStore.TaskKey(fingerprint: cp.fingerprint, task: task, taskHash: try catalog.hash(task),
                                               fewshot: try e.numFewshot ?? catalog.task(task).definition.numFewshot)
                docs[task] = (range.isEmpty ? 0 : try store.storedCount(key, in: range), range.count)
                if aggregated, try store.taskResult(key, limit: limit ?? 0) == nil { aggregated = false }
            }
            var spectra: (Int, Int)? = nil
            if c > 0, let due = tensorCounts[label] {
                if let cp, let base = checkpoints["base"] {
                    spectra = (try store.spectraCount(base: base.fingerprint, fingerprint: cp.fingerprint, variance: e.spectra.variance), due)
                } else {
                    spectra = (0, due)
                }
            }
            rows.append(Row(label: label, documents: docs, spectra: spectra, aggregated: aggregated))
        }
        return StoreProgress(path: path, shard: shard, rows: rows, lastRun: runs.last)
    }
}

extension Experiment {
    /// Spectra tensors per variant with local weights (headers only; empty when spectra are off).
    public func spectraTensorCounts() throws -> [String: Int] {
        guard spectra.enabled, variants.contains(where: \.hasLocalWeights) else { return [:] }
        let baseModel = try spectraBase()
        var out: [String: Int] = [:]
        for v in variants where v.hasLocalWeights { out[v.label] = try perturbations(v, baseModel: baseModel).count }
        return out
    }
}
