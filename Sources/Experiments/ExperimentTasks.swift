import Foundation

extension Experiment {
    /// The few-shot count a task runs with: the experiment's num_fewshot, else the task's own.
    public func fewshot(_ task: String, catalog: TaskCatalog) throws -> Int {
        try numFewshot ?? catalog.task(task).definition.numFewshot
    }

    /// What keys a checkpoint's stored items and aggregate of a task.
    public func taskKey(_ fingerprint: String, _ task: String, catalog: TaskCatalog) throws -> ResultsStore.TaskKey {
        ResultsStore.TaskKey(fingerprint: fingerprint, task: task, taskHash: try catalog.hash(task), fewshot: try fewshot(task, catalog: catalog))
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
