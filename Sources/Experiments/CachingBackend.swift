import Evaluation
import Foundation

/// An EvaluationBackend in front of the store: documents already stored are answered from it,
/// the others are scored by the real backend in chunks of `chunkSize` documents, and each chunk
/// is committed before the next starts. The real backend (a model load) is created only when
/// something is missing. Evaluator.run drives it exactly as it drives `forgetlens eval`, so the
/// numbers are the same code path's.
final class CachingBackend: SamplingBackend {
    let name: String
    let store: ResultsStore
    let key: ResultsStore.TaskKey
    /// Document ids in the order the Evaluator passes them (rolling and generation requests carry none).
    let docIDs: [Int]
    let chunkSize: Int
    private(set) var cached: [Int: ItemRecord]
    private let makeInner: () throws -> EvaluationBackend
    private var inner: EvaluationBackend?
    /// Documents scored by the real backend in this run.
    private(set) var computed = 0
    /// Called after each committed chunk: (documents stored so far, total).
    var chunkCommitted: (Int, Int) -> Void = { _, _ in }

    init(name: String, store: ResultsStore, key: ResultsStore.TaskKey, docIDs: [Int], chunkSize: Int,
         makeInner: @escaping () throws -> EvaluationBackend) throws {
        self.name = name
        self.store = store
        self.key = key
        self.docIDs = docIDs
        self.chunkSize = max(1, chunkSize)
        self.makeInner = makeInner
        cached = try store.items(key, below: (docIDs.max() ?? -1) + 1)
    }

    var missing: [Int] { docIDs.filter { cached[$0]?.outcomes == nil && cached[$0]?.generation == nil } }

    func innerBackend() throws -> EvaluationBackend { try backend() }
    func record(_ doc: Int, generation: String) -> ItemRecord { raw(doc, outcomes: nil, generation: generation) }
    func fillSamples(_ todo: [Int], progressBase: Int, progress: (Int) -> Void, score: ([Int]) throws -> [ItemRecord]) throws {
        try fill(todo, progressBase: progressBase, progress: progress, score: score)
    }

    private func backend() throws -> EvaluationBackend {
        if let inner { return inner }
        let b = try makeInner()
        inner = b
        return b
    }

    private func raw(_ doc: Int, outcomes: [ChoiceOutcome]?, generation: String?) -> ItemRecord {
        ItemRecord(fingerprint: key.fingerprint, task: key.task, taskHash: key.taskHash, fewshot: key.fewshot, docId: doc,
                   outcomes: outcomes, generation: generation, gold: nil, target: nil, metrics: nil, acc: nil, accNorm: nil)
    }

    /// Scores `todo` (doc ids) chunk by chunk with `score`, committing each chunk.
    private func fill(_ todo: [Int], progressBase: Int, progress: (Int) -> Void,
                      score: ([Int]) throws -> [ItemRecord]) throws {
        var done = 0
        for start in stride(from: 0, to: todo.count, by: chunkSize) {
            let chunk = Array(todo[start..<min(todo.count, start + chunkSize)])
            let records = try score(chunk)
            try store.save(items: records)
            for r in records { cached[r.docId] = r }
            computed += chunk.count
            done += chunk.count
            progress(progressBase + done)
            chunkCommitted(docIDs.count - missing.count, docIDs.count)
        }
    }

    func loglikelihood(_ requests: [ScoringRequest], progress: (Int) -> Void) throws -> [LoglikelihoodOutcome] {
        var byDoc: [Int: [Int]] = [:]
        var order: [Int] = []
        for (i, r) in requests.enumerated() {
            if byDoc[r.group] == nil { order.append(r.group) }
            byDoc[r.group, default: []].append(i)
        }
        let todo = order.filter { cached[$0]?.outcomes == nil }
        let base = order.count - todo.count
        progress(base)
        try fill(todo, progressBase: base, progress: progress) { chunk in
            let sub = chunk.flatMap { byDoc[$0]!.map { requests[$0] } }
            let outs = try backend().loglikelihood(sub) { _ in }
            var offset = 0
            return chunk.map { doc in
                let n = byDoc[doc]!.count
                let mine = outs[offset..<(offset + n)].map { ChoiceOutcome(loglikelihood: $0.logLikelihood, isGreedy: $0.isGreedy, tokens: $0.tokenCount) }
                offset += n
                return raw(doc, outcomes: mine, generation: nil)
            }
        }
        var out = [LoglikelihoodOutcome?](repeating: nil, count: requests.count)
        for doc in order {
            guard let stored = cached[doc]?.outcomes, stored.count == byDoc[doc]!.count else {
                throw EvaluationError("stored results for \(key.task) document \(doc) do not match its requests; delete the store to recompute")
            }
            for (j, i) in byDoc[doc]!.enumerated() {
                out[i] = LoglikelihoodOutcome(logLikelihood: stored[j].loglikelihood, isGreedy: stored[j].isGreedy, tokenCount: stored[j].tokens)
            }
        }
        return out.map { $0! }
    }

    func loglikelihoodRolling(_ texts: [String], progress: (Int) -> Void) throws -> [Double] {
        precondition(texts.count == docIDs.count, "rolling requests must be one per document")
        let index = Dictionary(uniqueKeysWithValues: docIDs.enumerated().map { ($1, $0) })
        let todo = docIDs.filter { cached[$0]?.outcomes == nil }
        try fill(todo, progressBase: docIDs.count - todo.count, progress: progress) { chunk in
            let lls = try backend().loglikelihoodRolling(chunk.map { texts[index[$0]!] }) { _ in }
            return zip(chunk, lls).map { raw($0, outcomes: [ChoiceOutcome(loglikelihood: $1, isGreedy: false, tokens: 0)], generation: nil) }
        }
        return docIDs.map { cached[$0]!.outcomes![0].loglikelihood }
    }

    func generate(_ requests: [GenerationRequest], progress: (Int) -> Void) throws -> [String] {
        precondition(requests.count == docIDs.count, "generation requests must be one per document")
        let index = Dictionary(uniqueKeysWithValues: docIDs.enumerated().map { ($1, $0) })
        let todo = docIDs.filter { cached[$0]?.generation == nil }
        try fill(todo, progressBase: docIDs.count - todo.count, progress: progress) { chunk in
            let texts = try backend().generate(chunk.map { requests[index[$0]!] }) { _ in }
            return zip(chunk, texts).map { raw($0, outcomes: nil, generation: $1) }
        }
        return docIDs.map { cached[$0]!.generation! }
    }
}

extension CachingBackend {
    /// Sampled generations, `requests.count / documents` per document in document order: a
    /// document's samples (and their entropies) are stored together in its generation column as
    /// {"samples": [...], "entropies": [[...]]}, so a resumed run continues document by document.
    func generateDetailed(_ requests: [GenerationRequest], progress: (Int) -> Void) throws -> [GeneratedText] {
        precondition(!docIDs.isEmpty && requests.count % docIDs.count == 0, "sampled requests must be n per document")
        let n = requests.count / docIDs.count
        let index = Dictionary(uniqueKeysWithValues: docIDs.enumerated().map { ($1, $0) })
        let todo = docIDs.filter { cached[$0]?.generation == nil }
        try fillSamples(todo, progressBase: docIDs.count - todo.count, progress: progress) { chunk in
            let sub = chunk.flatMap { doc in (0..<n).map { requests[index[doc]! * n + $0] } }
            let outs = try innerBackend().generateSamples(sub) { _ in }
            return chunk.enumerated().map { k, doc in
                let mine = outs[(k * n)..<((k + 1) * n)]
                let json = JSONValue.object(JSONObject([("samples", .array(mine.map { .string($0.text) })),
                                                         ("entropies", .array(mine.map { .array($0.entropies.map(JSONValue.double)) }))]))
                return record(doc, generation: json.serialized())
            }
        }
        var out: [GeneratedText] = []
        for doc in docIDs {
            guard let text = cached[doc]?.generation, case .object(let o)? = try? JSONValue.parse(Data(text.utf8)),
                  let samples = o["samples"]?.arrayValue, samples.count == n else {
                throw EvaluationError("stored results for \(key.task) document \(doc) are not \(n) samples; delete the store to recompute")
            }
            let entropies = o["entropies"]?.arrayValue ?? []
            for (j, s) in samples.enumerated() {
                out.append(GeneratedText(text: s.stringValue ?? "", entropies: (j < entropies.count ? entropies[j].arrayValue ?? [] : []).compactMap(\.doubleValue)))
            }
        }
        return out
    }
}

/// A backend for reading the store only: anything missing is an error telling what to run.
final class StoreOnlyBackend: EvaluationBackend {
    init(name: String) { self.name = name }
    let name: String
    func loglikelihood(_ requests: [ScoringRequest], progress: (Int) -> Void) throws -> [LoglikelihoodOutcome] { throw missing() }
    func loglikelihoodRolling(_ texts: [String], progress: (Int) -> Void) throws -> [Double] { throw missing() }
    func generate(_ requests: [GenerationRequest], progress: (Int) -> Void) throws -> [String] { throw missing() }
    func missing() -> EvaluationError { EvaluationError("\(name): results are missing from the store; run `forgetlens run` first") }
}

extension ResultsStore {
    /// A task's Evaluator run over its stored items only (no model is loaded): how `export`
    /// rebuilds results.json and `merge` computes aggregates, by the code path `run` uses.
    /// Missing items are an error naming `label` and the task. Returns the result and the
    /// stored items it was answered from.
    func replay(_ task: EvaluationTask, key: TaskKey, documents: Int, limit: Int?, label: String,
                codeChecks: ProgramChecks? = nil) throws -> (result: TaskResult, items: [Int: ItemRecord]) {
        let backend = try CachingBackend(name: label, store: self, key: key, docIDs: Array(0..<documents), chunkSize: max(1, documents)) {
            StoreOnlyBackend(name: "\(label) (\(key.task))")
        }
        var options = EvaluationOptions(limit: limit, numFewshot: key.fewshot)
        options.codeChecks = task.definition.runsCode ? codeChecks : nil
        let result = try Evaluator(backend: backend).run(task, options: options)
        return (result, backend.cached)
    }
}
