import Foundation

public struct EvaluationOptions: Sendable {
    /// First N documents, as lm-eval's --limit.
    public var limit: Int?
    /// Overrides the task's num_fewshot.
    public var numFewshot: Int?
    public var fewshotSeed = FewShotSampler.defaultSeed
    /// Only these document ids are scored (nil: all under the limit). Every document's prompt is
    /// still built, in order, so each one's few-shot examples are the ones a full run draws
    /// (the sampler's random state advances document by document). Aggregates then cover
    /// only these documents.
    public var documents: Set<Int>?
    /// Seeds every sample (with SampleSeed) when a task samples; lm-eval's default seed.
    public var samplingSeed: UInt64 = 1234
    /// Runs generated code for pass_at_k (nil: code execution not allowed, and a code task is an error).
    public var codeChecks: ProgramChecks?
    public init(limit: Int? = nil, numFewshot: Int? = nil) {
        self.limit = limit
        self.numFewshot = numFewshot
    }
}

/// Everything scored for one task: documents, raw responses, per-item metrics and aggregates.
public struct TaskResult: Sendable {
    public var task: EvaluationTask
    public var documents: [PreparedDocument]
    /// multiple_choice: one outcome per choice of each document.
    public var outcomes: [[LoglikelihoodOutcome]] = []
    /// loglikelihood_rolling: one log-likelihood per document.
    public var rolling: [Double] = []
    /// generate_until: the raw generation and the filtered answer per document.
    public var generations: [String] = []
    public var filtered: [String] = []
    public var filterName = "none"
    /// The filters after the first (gsm8k's flexible-extract): their answers and exact_match
    /// aggregates, reported as `metric,filter` in results.json as lm-eval does. The store and
    /// the samples file keep the first filter's.
    public var otherFilters: [(name: String, filtered: [String], aggregates: [(metric: String, value: Double, stderr: Double?)])] = []
    /// Every sample of each document (tasks that sample or repeat; `generations` holds the first).
    public var samples: [[String]] = []
    /// pass_at_k tasks: how each document's program ended.
    public var programOutcomes: [SandboxOutcome] = []
    public var itemMetrics: [[(String, ItemValue)]] = []
    public var aggregates: [(metric: String, value: Double, stderr: Double?)] = []
    public var numFewshot = 0
    public var originalCount = 0

    public func aggregate(_ metric: String) -> Double? { aggregates.first { $0.metric == metric }?.value }
}

/// Runs tasks against a backend, lm-eval's evaluator loop: build requests per document, score them
/// all, then per-item metrics and aggregates.
public final class Evaluator {
    public let backend: EvaluationBackend
    public init(backend: EvaluationBackend) { self.backend = backend }

    /// Builds every document's requests first (so a bad row fails before any scoring).
    public func prepare(_ task: EvaluationTask, options: EvaluationOptions) throws -> (docs: [PreparedDocument], shots: Int) {
        let def = task.definition
        if def.runsCode && options.codeChecks == nil { throw EvaluationError.codeExecutionNotAllowed(def.name) }
        let count = min(options.limit ?? task.documents.count, task.documents.count)
        let shots = options.numFewshot ?? def.numFewshot
        var sampler: FewShotSampler? = nil
        if shots > 0 {
            guard def.outputType != .loglikelihoodRolling else {
                throw EvaluationError("\(def.name): loglikelihood_rolling tasks take no few-shot examples")
            }
            let pool = task.fewshotPool ?? task.documents
            sampler = FewShotSampler(kind: FewShotSampler.Kind(rawValue: def.fewshotSampler) ?? .random, pool: pool,
                                     excludeEvalDoc: def.fewshotExcludesEvaluated ?? (task.fewshotPool == nil), seed: options.fewshotSeed)
        }
        var docs: [PreparedDocument] = []
        for i in 0..<count {
            let fewshot: [JSONObject]
            do { fewshot = try sampler?.sample(shots, evalDoc: task.documents[i]) ?? [] } catch let e as EvaluationError {
                throw EvaluationError("\(def.name) (\(def.file)): \(shots)-shot: \(e.description)")
            }
            docs.append(try task.prepare(docID: i, fewshot: fewshot))
        }
        return (docs, shots)
    }

    public func run(_ task: EvaluationTask, options: EvaluationOptions, progress: (Int, Int) -> Void = { _, _ in }) throws -> TaskResult {
        let def = task.definition
        let (prepared, shots) = try prepare(task, options: options)
        let docs = options.documents.map { wanted in prepared.filter { wanted.contains($0.docID) } } ?? prepared
        var result = TaskResult(task: task, documents: docs)
        result.numFewshot = shots
        result.originalCount = task.documents.count
        let wanted = def.metrics.map(\.name)
        switch def.outputType {
        case .multipleChoice:
            var requests: [ScoringRequest] = []
            for d in docs {
                for r in d.requests {
                    if case .loglikelihood(let c, let k) = r { requests.append(ScoringRequest(context: c, continuation: k, group: d.docID)) }
                }
            }
            let outcomes = try backend.loglikelihood(requests) { progress($0, requests.count) }
            var offset = 0
            for d in docs {
                let mine = Array(outcomes[offset..<(offset + d.requests.count)])
                offset += d.requests.count
                result.outcomes.append(mine)
                result.itemMetrics.append(Metrics.multipleChoice(mine, choices: d.choices, gold: d.gold, wanted: wanted))
            }
        case .loglikelihoodRolling:
            let texts = docs.map { d -> String in if case .rolling(let t) = d.requests[0] { return t }; return "" }
            result.rolling = try backend.loglikelihoodRolling(texts) { progress($0, texts.count) }
            for (ll, text) in zip(result.rolling, texts) {
                result.itemMetrics.append(Metrics.rolling(logLikelihood: ll, text: text, wanted: wanted))
            }
        case .generateUntil where def.samplesGenerations:
            try runSampled(def, docs: docs, options: options, result: &result, progress: progress)
        case .generateUntil:
            let requests = docs.map { d -> GenerationRequest in
                if case .generate(let c, let u, let m) = d.requests[0] { return GenerationRequest(context: c, until: u, maxTokens: m) }
                return GenerationRequest(context: "", until: [], maxTokens: 0)
            }
            result.generations = try backend.generate(requests) { progress($0, requests.count) }
            let pipeline = def.filters.first ?? FilterPipeline(name: "none", steps: [])
            result.filterName = pipeline.name
            for (d, g) in zip(docs, result.generations) {
                let answer = GenerationFilters.apply(pipeline, to: g, doc: d.doc)
                result.filtered.append(answer)
                var items: [(String, ItemValue)] = []
                for m in def.metrics where m.name == "exact_match" {
                    items.append((m.name, .number(Metrics.exactMatch(prediction: answer, reference: PythonRepr.str(d.target), m))))
                }
                result.itemMetrics.append(items)
            }
            for other in def.filters.dropFirst() {
                let answers = zip(docs, result.generations).map { GenerationFilters.apply(other, to: $1, doc: $0.doc) }
                var aggregates: [(metric: String, value: Double, stderr: Double?)] = []
                for m in def.metrics where m.name == "exact_match" {
                    let items = zip(docs, answers).map { ItemValue.number(Metrics.exactMatch(prediction: $1, reference: PythonRepr.str($0.target), m)) }
                    let (v, se) = Metrics.aggregate(m.name, items)
                    aggregates.append((m.name, v, se))
                }
                result.otherFilters.append((other.name, answers, aggregates))
            }
            if def.runsCode, let checks = options.codeChecks {
                let programs = zip(docs, result.filtered).map { ProgramChecks.program(candidate: $1, test: PythonRepr.str($0.target)) }
                result.programOutcomes = try checks.run(programs)
                for (i, outcome) in result.programOutcomes.enumerated() {
                    // one sample per document (repeats: 1): n = 1, c = passed
                    for m in def.metrics where m.name == "pass_at_k" {
                        for k in m.k where k <= 1 {
                            result.itemMetrics[i].append(("pass@\(k)", .number(PassAtK.estimate(n: 1, c: outcome.passed ? 1 : 0, k: k))))
                        }
                    }
                }
            }
        }
        for name in def.metrics.flatMap(MetricRegistry.reportedNames) {
            let values = result.itemMetrics.compactMap { items in items.first { $0.0 == name }?.1 }
            guard !values.isEmpty else { continue }
            let (v, se) = Metrics.aggregate(name, values)
            result.aggregates.append((name, v, se))
        }
        return result
    }
}

extension EvaluationError {
    /// A code task without the user's consent to run the model's programs.
    public static func codeExecutionNotAllowed(_ task: String) -> EvaluationError {
        EvaluationError("\(task) is scored by running the model's generated code (pass_at_k): allow it with --allow-code-execution (eval) or allow_code_execution: true (experiment files). Each program then runs in a sandbox: its own process, time, memory and process limits, an empty directory, a scrubbed environment, no network where the kernel allows")
    }
}
