import Foundation

extension Experiment {
    /// The few-shot count a task runs with: the experiment's num_fewshot, else the task's own.
    public func fewshot(_ task: String, catalog: TaskCatalog) throws -> Int {
        try numFewshot ?? catalog.task(task).definition.numFewshot
    }

    /// What keys a checkpoint's stored items and aggregate of a task.
    /// A sampled task's key also names its sampling settings, repeats and the experiment's seed
    /// (greedy tasks keep their plain content hash, so existing stores stay valid).
    public func taskKey(_ fingerprint: String, _ task: String, catalog: TaskCatalog) throws -> ResultsStore.TaskKey {
        ResultsStore.TaskKey(fingerprint: fingerprint, task: task, taskHash: try taskHash(task, catalog: catalog), fewshot: try fewshot(task, catalog: catalog))
    }

    /// The task's content hash, plus `|sample:...` for a sampled task (see taskKey).
    public func taskHash(_ task: String, catalog: TaskCatalog) throws -> String {
        let hash = try catalog.hash(task)
        let def = try catalog.task(task).definition
        guard def.samplesGenerations else { return hash }
        let s = def.sampling.map { "t=\($0.temperature),k=\($0.topK ?? 0),p=\($0.topP ?? 1)" } ?? "greedy"
        return hash + "|sample:\(s),n=\(def.repeats),seed=\(seed)"
    }

    /// Documents of `task` that checkpoint `checkpoint` (0 = base, i = variant i) scores: all
    /// under the limit, or a shard's part of them. With `stableShardPlan` each checkpoint is cut
    /// into the N parts on its own, so a shard's part of a checkpoint does not move when
    /// checkpoints are added (a watched run), at the price of every shard loading every model.
    public func documents(checkpoint: Int, task: String, shard: Shard?, catalog: TaskCatalog) throws -> Range<Int> {
        let n = try catalog.count(task, limit: limit.limit(for: task))
        if stableShardPlan { return shard?.documents(checkpoint: 0, of: 1, documents: n) ?? 0..<n }
        return shard?.documents(checkpoint: checkpoint, of: variants.count + 1, documents: n) ?? 0..<n
    }
}
