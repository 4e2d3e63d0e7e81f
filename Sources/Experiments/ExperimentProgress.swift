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

    /// `spectraUnits`: `e.spectraUnits()`, listed once for all the stores read.
    public static func read(_ e: Experiment, catalog: TaskCatalog, path: String, spectraUnits: [Experiment.SpectraUnit]) throws -> StoreProgress {
        let store = try ResultsStore.existing(path: path)
        let runs = try store.runs()
        // A shard store: every run in it did the same part (a merged or whole-run store mixes).
        let options = runs.map { run -> [String: Any]? in
            guard run.status != "merged" else { return nil }
            return try? JSONSerialization.jsonObject(with: Data(run.options.utf8)) as? [String: Any]
        }
        let parts = options.map { $0?["shard"] as? String }
        let shard = Set(parts).count == 1 ? parts.first!.flatMap { try? Shard(parsing: $0) } : nil
        // A shard that watched a run split each checkpoint on its own (Experiment.stableShardPlan).
        var e = e
        e.stableShardPlan = shard != nil && options.last??["shard_plan"] as? String == "per_checkpoint"
        let checkpoints = Dictionary(uniqueKeysWithValues: try store.checkpoints().map { ($0.label, $0) })
        // Spectra tensors due per variant (from the checkpoints' headers).
        let tensorCounts = shard.map { e.stableShardPlan ? Experiment.stableSpectraPlan(spectraUnits, shard: $0).mapValues(\.count)
                                                         : Experiment.spectraPlan(spectraUnits, shard: $0).mapValues(\.count) }
            ?? Dictionary(grouping: spectraUnits, by: \.label).mapValues(\.count)
        let labels = ["base"] + e.variants.map(\.label)
        var rows: [Row] = []
        for (c, label) in labels.enumerated() {
            let cp = checkpoints[label]
            var docs: [String: (Int, Int)] = [:]
            var aggregated = shard == nil && cp != nil
            for task in e.allTasks {
                let range = try e.documents(checkpoint: c, task: task, shard: shard, catalog: catalog)
                guard let cp else { docs[task] = (0, range.count); continue }
                let key = try e.taskKey(cp.fingerprint, task, catalog: catalog)
                docs[task] = (range.isEmpty ? 0 : try store.storedCount(key, in: range), range.count)
                if aggregated, try store.taskResult(key, limit: e.limit.limit(for: task) ?? 0) == nil { aggregated = false }
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
