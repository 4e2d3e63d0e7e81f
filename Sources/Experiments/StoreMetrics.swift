import Evaluation
import Foundation

extension ResultsStore {
    /// Per-item metrics of the documents scored into `cached` (raw outcomes already stored), and
    /// the task's aggregate when `aggregate` (every document of the task is in `result`).
    func saveMetrics(_ result: TaskResult, key: TaskKey, limit: Int?, cached: [Int: ItemRecord], aggregate: Bool) throws {
        var updated: [ItemRecord] = []
        for (doc, items) in zip(result.documents, result.itemMetrics) {
            guard var r = cached[doc.docID], r.metrics == nil else { continue }
            var m: [String: ItemMetric] = [:]
            for (name, v) in items {
                switch v {
                case .number(let x): m[name] = ItemMetric(value: x, weight: nil)
                case .weighted(let ll, let n): m[name] = ItemMetric(value: ll, weight: n)
                }
            }
            r.metrics = m
            r.gold = doc.gold >= 0 ? doc.gold : nil
            r.target = Self.text(doc.target)
            r.acc = m["acc"]?.value ?? m["exact_match"]?.value ?? m["pass@1"]?.value
            r.accNorm = m["acc_norm"]?.value
            updated.append(r)
        }
        try save(items: updated)
        guard aggregate else { return }
        var aggregates: [String: TaskResultRecord.Aggregate] = [:]
        for a in result.aggregates { aggregates[a.metric] = .init(value: a.value, stderr: a.stderr) }
        try save(TaskResultRecord(fingerprint: key.fingerprint, task: key.task, taskHash: key.taskHash, fewshot: key.fewshot,
                                        limit: limit ?? 0, documents: result.documents.count, metrics: aggregates, computedAt: Date()))
    }

    static func text(_ v: JSONValue) -> String {
        switch v {
        case .string(let s): return s
        case .int(let i): return String(i)
        default: return v.serialized()
        }
    }

}
