import Checkpoints
import Evaluation
import Foundation

/// `forgetlens import --lmeval`: lm-evaluation-harness results of one checkpoint into the
/// experiment's store, as if `run` had scored them. Every task is checked before anything is
/// written: lm-eval must have scored the same documents (doc_hash) with the same prompts
/// (prompt_hash, few-shot examples included) and the same number of requests, and the metrics
/// the experiment's task definition computes from lm-eval's log-likelihoods must equal the
/// per-item metrics lm-eval wrote. The store then keeps the raw outcomes (log-likelihood and
/// greedy flag per choice, generations) under the checkpoint's fingerprint, so paired tests,
/// reports and later runs treat them exactly as scored items.
public enum LMEvalImport {
    public struct TaskImported: Sendable {
        public var task: String
        public var documents: Int
        public var metric: String
        public var value: Double
        /// Stored items of this checkpoint and task that the import replaced.
        public var replaced: Int
        /// Documents lm-eval scored beyond the experiment's limit (not imported).
        public var ignored: Int
    }

    public struct Outcome: Sendable {
        public var label: String
        public var fingerprint: String
        public var tasks: [TaskImported]
        /// Experiment tasks lm-eval has no results for (left to `forgetlens run`).
        public var missing: [String]
    }

    public static func run(_ e: Experiment, catalog: TaskCatalog, store: ResultsStore, label: String, output: LMEvalOutput,
                           toolVersion: String, reuseFingerprints: Bool = true, progress: (String) -> Void = { _ in }) throws -> Outcome {
        try run(e, catalog: catalog, openStore: { store }, fingerprints: reuseFingerprints ? store.fingerprintCache : nil,
                label: label, output: output, toolVersion: toolVersion, progress: progress)
    }

    /// The store is opened (or created) only once every task has been checked, so a refused
    /// import leaves no trace; `fingerprints` (an existing store's cache) spares hashing again.
    public static func run(_ e: Experiment, catalog: TaskCatalog, openStore: () throws -> ResultsStore, fingerprints: FingerprintCache?,
                           label: String, output: LMEvalOutput, toolVersion: String, progress: (String) -> Void = { _ in }) throws -> Outcome {
        let checkpoint = try identity(e, label: label, cache: fingerprints, progress: progress)
        let encoder = try RequestEncoder.load(directory: e.base)
        var checked: [(task: String, key: ResultsStore.TaskKey, limit: Int?, result: TaskResult, records: [Int: ItemRecord], ignored: Int)] = []
        var missing: [String] = []
        for task in e.allTasks {
            guard output.results["results"]?[task] != nil else { missing.append(task); continue }
            progress("checking \(task)")
            let key = try e.taskKey(checkpoint.fingerprint, task, catalog: catalog)
            let limit = e.limit.limit(for: task)
            let (result, records, ignored) = try check(task, key: key, limit: limit, catalog: catalog, output: output, encoder: encoder)
            checked.append((task, key, limit, result, records, ignored))
        }
        guard !checked.isEmpty else {
            throw ExperimentError(file: output.resultsFile, line: nil,
                                  "none of the experiment's tasks (\(e.allTasks.joined(separator: ", "))) is in lm-eval's results (it has: \(output.tasks.joined(separator: ", ")))")
        }

        // Everything matched: write.
        let store = try openStore()
        let runID = try store.beginRun(toolVersion: toolVersion, experiment: e.name,
                                       options: "{\"import\":\(JSONValue.string(output.resultsFile).serialized()),\"label\":\(JSONValue.string(label).serialized())}")
        var imported: [TaskImported] = []
        do {
            try store.save(definition: try ExperimentDefinition(e, catalog: catalog))
            try store.save(checkpoint.record)
            for c in checked {
                let replaced = try store.items(c.key).count
                try store.saveMetrics(c.result, key: c.key, limit: c.limit, cached: c.records, aggregate: true)
                let (metric, negate) = try catalog.primaryMetric(c.task)
                let value = c.result.aggregate(metric) ?? .nan
                imported.append(TaskImported(task: c.task, documents: c.records.count, metric: TaskCatalog.displayName((metric, negate)),
                                             value: negate ? -value : value, replaced: replaced, ignored: c.ignored))
            }
            try store.finishRun(runID, status: "finished")
        } catch {
            try? store.finishRun(runID, status: "failed: \(error)")
            throw error
        }
        return Outcome(label: label, fingerprint: checkpoint.fingerprint, tasks: imported, missing: missing)
    }

    /// The checkpoint's identity from its local files, as `run` computes it, so that imported
    /// and scored results share one key.
    static func identity(_ e: Experiment, label: String, cache: FingerprintCache?, progress: (String) -> Void) throws -> CheckpointIdentity {
        let labels = ["base"] + e.variants.map(\.label)
        guard labels.contains(label) else {
            throw ExperimentError(file: e.file, line: nil, "--label \(label): not a checkpoint of this experiment (labels: \(labels.joined(separator: ", ")))")
        }
        guard !e.needsServer else {
            throw ExperimentError(file: e.file, line: nil, "import needs the checkpoints' local files to fingerprint them; this experiment is scored by a server (backend: openai)")
        }
        let (base, variants) = try CheckpointIdentity.resolve(e, only: [label], cache: cache) { progress("fingerprinting \($0)") }
        return label == "base" ? base : variants[0]
    }

    /// One task's lm-eval samples checked against the experiment's documents and turned into
    /// store records, with the TaskResult the experiment's metrics give on them and the number
    /// of documents lm-eval scored beyond the experiment's limit (left out).
    static func check(_ task: String, key: ResultsStore.TaskKey, limit: Int?, catalog: TaskCatalog, output: LMEvalOutput,
                      encoder: RequestEncoder) throws -> (TaskResult, [Int: ItemRecord], ignored: Int) {
        let results = output.resultsFile
        if let shots = output.results["n-shot"]?[task]?.intValue, shots != key.fewshot {
            throw ExperimentError(file: results, line: nil, "n-shot.\(task): lm-eval ran it \(shots)-shot, the experiment \(key.fewshot)-shot (num_fewshot)")
        }
        let evalTask = try catalog.task(task)
        let (docs, _) = try Evaluator(backend: StoreOnlyBackend(name: task)).prepare(evalTask, options: EvaluationOptions(limit: limit, numFewshot: key.fewshot))
        let samples = try output.samples(task)
        let path = output.samplesFiles[task]!
        let outputType = evalTask.definition.outputType
        var records: [Int: ItemRecord] = [:]
        for d in docs {
            guard let (line, s) = samples[d.docID] else {
                throw ExperimentError(file: path, line: nil, "lm-eval scored \(samples.count) documents of \(task) (doc_id \(samples.keys.min() ?? 0)...\(samples.keys.max() ?? 0)); the experiment needs the first \(docs.count) (limit:), doc_id \(d.docID) is missing")
            }
            func refuse(_ message: String) -> ExperimentError { ExperimentError(file: path, line: line, "\(task) doc_id \(d.docID): \(message)") }
            guard let docHash = s["doc_hash"]?.stringValue, let promptHash = s["prompt_hash"]?.stringValue else {
                throw refuse("no doc_hash / prompt_hash (lm-eval writes them since 0.4.3); cannot check that it scored the same task")
            }
            guard docHash == SampleHashes.doc(d) else {
                throw refuse("doc_hash differs: lm-eval scored another document (\(short(s["doc"]?.serialized() ?? "?"))) than the experiment's (\(short(JSONValue.object(d.doc).serialized())): another data file, split or order?")
            }
            let lmArgument = s["arguments"]?["gen_args_0"]?["arg_0"]?.stringValue ?? s["arguments"]?[0]?[0]?.stringValue
            guard promptHash == SampleHashes.prompt(d) else {
                throw refuse("prompt_hash differs: lm-eval prompted \(short(lmArgument ?? "?")), the experiment's task gives \(short(SampleHashes.firstArgument(d))) (another template, few-shot examples or task version)")
            }
            var record = ItemRecord(fingerprint: key.fingerprint, task: task, taskHash: key.taskHash, fewshot: key.fewshot, docId: d.docID,
                                    outcomes: nil, generation: nil, gold: nil, target: nil, metrics: nil, acc: nil, accNorm: nil)
            switch outputType {
            case .multipleChoice:
                guard let resps = s["filtered_resps"]?.arrayValue, resps.count == d.requests.count else {
                    throw refuse("filtered_resps: expected \(d.requests.count) [loglikelihood, is_greedy] pairs (one per choice), got \(s["filtered_resps"]?.arrayValue?.count ?? 0)")
                }
                record.outcomes = try zip(resps, d.requests).map { r, request in
                    guard let ll = number(r[0]), let greedy = flag(r[1]) else { throw refuse("filtered_resps: expected [loglikelihood, is_greedy] pairs, got \(r.serialized())") }
                    guard case .loglikelihood(let context, let continuation) = request else { throw refuse("not a loglikelihood request") }
                    return ChoiceOutcome(loglikelihood: ll, isGreedy: greedy, tokens: encoder.encodePair(context: context, continuation: continuation).continuation.count)
                }
            case .loglikelihoodRolling:
                let r = s["filtered_resps"]
                guard let ll = number(r) ?? number(r?[0]) else { throw refuse("filtered_resps: expected the document's log-likelihood") }
                record.outcomes = [ChoiceOutcome(loglikelihood: ll, isGreedy: false, tokens: 0)]
            case .generateUntil:
                guard let text = s["resps"]?[0]?[0]?.stringValue else { throw refuse("resps: expected [[generated text]]") }
                record.generation = text
            }
            records[d.docID] = record
        }

        // The experiment's metrics on lm-eval's outcomes must be lm-eval's per-item metrics.
        let result = try Evaluator(backend: ImportedBackend(task: task, records: records)).run(evalTask, options: EvaluationOptions(limit: limit, numFewshot: key.fewshot))
        for (d, items) in zip(result.documents, result.itemMetrics) {
            let (line, s) = samples[d.docID]!
            for (name, value) in items {
                let theirs: Double?, ours: Double
                switch value {
                case .number(let x): (theirs, ours) = (number(s[name]), x)
                case .weighted(let ll, _): (theirs, ours) = (number(s[name]?[0]), ll)
                }
                guard let theirs else { continue }  // a metric lm-eval's task does not compute (acc_norm_tokens)
                if abs(theirs - ours) > 1e-9 * max(1, abs(ours)) {
                    throw ExperimentError(file: path, line: line, "\(task) doc_id \(d.docID): lm-eval's \(name) is \(theirs), the experiment's task definition gives \(ours) from the same outcomes (a different metric definition)")
                }
            }
        }
        return (result, records, samples.count - records.count)
    }

    static func number(_ v: JSONValue?) -> Double? {
        switch v {
        case .double(let d)?: return d
        case .int(let i)?: return Double(i)
        case .string(let s)?: return Double(s)  // forgetlens eval writes str(float), as lm-eval's sanitize_list
        default: return nil
        }
    }

    static func flag(_ v: JSONValue?) -> Bool? {
        switch v {
        case .bool(let b)?: return b
        case .string("True")?: return true
        case .string("False")?: return false
        default: return nil
        }
    }

    static func short(_ s: String) -> String {
        let flat = s.replacingOccurrences(of: "\n", with: "\\n")
        return "\"" + (flat.count > 70 ? flat.prefix(70) + "…" : flat) + "\""
    }
}

/// Answers the Evaluator from imported records (by document id, in request order).
final class ImportedBackend: EvaluationBackend {
    let name: String
    let records: [Int: ItemRecord]
    init(task: String, records: [Int: ItemRecord]) { name = "lm-eval import (\(task))"; self.records = records }

    func loglikelihood(_ requests: [ScoringRequest], progress: (Int) -> Void) throws -> [LoglikelihoodOutcome] {
        var next: [Int: Int] = [:]
        return try requests.map { r in
            let j = next[r.group, default: 0]
            next[r.group] = j + 1
            guard let o = records[r.group]?.outcomes, j < o.count else { throw EvaluationError("\(name): no outcome for document \(r.group) request \(j)") }
            return LoglikelihoodOutcome(logLikelihood: o[j].loglikelihood, isGreedy: o[j].isGreedy, tokenCount: o[j].tokens)
        }
    }

    func loglikelihoodRolling(_ texts: [String], progress: (Int) -> Void) throws -> [Double] {
        let ids = records.keys.sorted()
        guard ids.count == texts.count else { throw EvaluationError("\(name): \(ids.count) documents imported, \(texts.count) asked") }
        return ids.map { records[$0]!.outcomes![0].loglikelihood }
    }

    func generate(_ requests: [GenerationRequest], progress: (Int) -> Void) throws -> [String] {
        let ids = records.keys.sorted()
        guard ids.count == requests.count else { throw EvaluationError("\(name): \(ids.count) documents imported, \(requests.count) asked") }
        return ids.map { records[$0]!.generation! }
    }
}

private extension JSONValue {
    /// The i-th element of an array (nil otherwise): lm-eval nests responses in lists.
    subscript(i: Int) -> JSONValue? {
        guard let a = arrayValue, a.indices.contains(i) else { return nil }
        return a[i]
    }
}
