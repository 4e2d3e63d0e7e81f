import Checkpoints
import Evaluation
import Foundation
import Spectra

public struct RunOptions: Sendable {
    /// Documents scored and committed together.
    public var chunkSize = 32
    public var threads: Int?
    public var batchSize = 64
    public var toolVersion = "0.1.0"
    public init() {}
}

/// What a run reports as it goes (the CLI draws it).
public enum RunEvent {
    case fingerprinting(String)
    case checkpoint(index: Int, total: Int, label: String)
    /// Documents of a task available so far (stored or just scored).
    case task(label: String, task: String, done: Int, total: Int)
    case taskFinished(label: String, task: String, metric: String, value: Double, stderr: Double?, scored: Int, total: Int)
    case spectra(label: String, done: Int, total: Int, tensor: String)
    case spectraFinished(label: String, computed: Int, total: Int)
}

/// `forgetlens run`: every checkpoint (base first) on every task, then every variant's spectra,
/// each unit committed to the store as it completes; what is stored is never recomputed.
public final class ExperimentRunner {
    public let experiment: Experiment
    public let catalog: TaskCatalog
    public let store: ResultsStore
    public let options: RunOptions

    public init(experiment: Experiment, catalog: TaskCatalog, store: ResultsStore, options: RunOptions = RunOptions()) {
        self.experiment = experiment
        self.catalog = catalog
        self.store = store
        self.options = options
    }

    public func run(events: (RunEvent) -> Void = { _ in }) throws {
        let runID = try store.beginRun(toolVersion: options.toolVersion, experiment: experiment.name, options: optionsJSON())
        do {
            let (base, variants) = try CheckpointIdentity.resolve(experiment) { events(.fingerprinting($0)) }
            let all = [base] + variants
            for c in all { try store.save(c.record) }
            for (i, c) in all.enumerated() {
                events(.checkpoint(index: i + 1, total: all.count, label: c.label))
                try evaluate(c, events: events)
            }
            if experiment.spectra.enabled {
                for (v, c) in zip(experiment.variants, variants) { try spectra(v, c, baseFingerprint: base.fingerprint, events: events) }
            }
            try store.finishRun(runID, status: "finished")
        } catch {
            try? store.finishRun(runID, status: "failed: \(error)")
            throw error
        }
    }

    func optionsJSON() -> String {
        var o: [String: Any] = ["targets": experiment.targets, "probes": experiment.probes, "spectra_enabled": experiment.spectra.enabled,
                                "variance": experiment.spectra.variance, "chunk_size": options.chunkSize, "file": experiment.file]
        if let f = experiment.numFewshot { o["num_fewshot"] = f }
        if let m = experiment.spectra.modules { o["modules"] = m }
        var limits: [String: Int] = experiment.limit.perTask
        if let d = experiment.limit.defaultLimit { limits["default"] = d }
        o["limit"] = limits
        let data = (try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    // MARK: evaluation

    public func taskKey(_ c: CheckpointIdentity, _ task: String) throws -> ResultsStore.TaskKey {
        let shots = try experiment.numFewshot ?? catalog.task(task).definition.numFewshot
        return ResultsStore.TaskKey(fingerprint: c.fingerprint, task: task, taskHash: try catalog.hash(task), fewshot: shots)
    }

    func evaluate(_ c: CheckpointIdentity, events: (RunEvent) -> Void) throws {
        var loaded: EvaluationBackend? = nil
        let opts = options
        let load: () throws -> EvaluationBackend = {
            if let loaded { return loaded }
            let b = try NativeBackend.load(model: c.model, adapter: c.adapter, unmerged: false, threads: opts.threads, batchSize: opts.batchSize)
            loaded = b
            return b
        }
        for task in experiment.allTasks {
            let limit = experiment.limit.limit(for: task)
            let key = try taskKey(c, task)
            let count = try catalog.count(task, limit: limit)
            if let done = try store.taskResult(key, limit: limit ?? 0), done.documents == count {
                let (metric, negate) = try catalog.primaryMetric(task)
                if let a = done.metrics[metric] {
                    events(.taskFinished(label: c.label, task: task, metric: TaskCatalog.displayName((metric, negate)),
                                         value: negate ? -a.value : a.value, stderr: a.stderr, scored: 0, total: count))
                }
                continue
            }
            _ = try evaluateTask(c, task: task, key: key, limit: limit, backend: load, events: events)
        }
    }

    /// Runs one task through the caching backend and stores per-item metrics and the aggregate.
    func evaluateTask(_ c: CheckpointIdentity, task: String, key: ResultsStore.TaskKey, limit: Int?,
                      backend: @escaping () throws -> EvaluationBackend, events: (RunEvent) -> Void) throws -> TaskResult {
        let evalTask = try catalog.task(task)
        let count = try catalog.count(task, limit: limit)
        let caching = try CachingBackend(name: c.model, store: store, key: key, docIDs: Array(0..<count),
                                         chunkSize: options.chunkSize, makeInner: backend)
        events(.task(label: c.label, task: task, done: count - caching.missing.count, total: count))
        let evaluator = Evaluator(backend: caching)
        let result = try withoutActuallyEscaping(events) { ev in
            caching.chunkCommitted = { done, total in ev(.task(label: c.label, task: task, done: done, total: total)) }
            defer { caching.chunkCommitted = { _, _ in } }
            return try evaluator.run(evalTask, options: EvaluationOptions(limit: limit, numFewshot: key.fewshot))
        }
        try storeMetrics(result, key: key, limit: limit, cached: caching.cached)
        let (metric, negate) = try catalog.primaryMetric(task)
        if let a = result.aggregates.first(where: { $0.metric == metric }) {
            events(.taskFinished(label: c.label, task: task, metric: TaskCatalog.displayName((metric, negate)),
                                 value: negate ? -a.value : a.value, stderr: a.stderr, scored: caching.computed, total: count))
        }
        return result
    }

    func storeMetrics(_ result: TaskResult, key: ResultsStore.TaskKey, limit: Int?, cached: [Int: ItemRecord]) throws {
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
            r.acc = m["acc"]?.value ?? m["exact_match"]?.value
            r.accNorm = m["acc_norm"]?.value
            updated.append(r)
        }
        try store.save(items: updated)
        var aggregates: [String: TaskResultRecord.Aggregate] = [:]
        for a in result.aggregates { aggregates[a.metric] = .init(value: a.value, stderr: a.stderr) }
        try store.save(TaskResultRecord(fingerprint: key.fingerprint, task: key.task, taskHash: key.taskHash, fewshot: key.fewshot,
                                        limit: limit ?? 0, documents: result.documents.count, metrics: aggregates, computedAt: Date()))
    }

    static func text(_ v: JSONValue) -> String {
        switch v {
        case .string(let s): return s
        case .int(let i): return String(i)
        default: return v.serialized()
        }
    }

    // MARK: spectra

    func spectra(_ v: Variant, _ c: CheckpointIdentity, baseFingerprint: String, events: (RunEvent) -> Void) throws {
        let settings = experiment.spectra
        let modules = settings.modules ?? ""
        if let pass = try store.spectraPass(base: baseFingerprint, fingerprint: c.fingerprint, variance: settings.variance, modules: modules) {
            events(.spectraFinished(label: c.label, computed: 0, total: pass.tensors))
            return
        }
        let baseModel = try ModelDirectory(path: experiment.base)
        let source: PerturbationSource
        switch v.method {
        case .full: source = .finetuned(base: baseModel, finetuned: try ModelDirectory(path: v.model!))
        case .lora, .qlora: source = .adapter(base: baseModel, adapter: try LoRAAdapter(path: v.adapter!, base: baseModel.tensors))
        }
        let filter = try settings.modules.map { pattern -> (String) -> Bool in
            let regex = try NSRegularExpression(pattern: pattern)
            return { name in regex.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)) != nil }
        }
        let perturbations = try source.perturbations(matching: filter).perturbations
        let stored = try store.spectra(base: baseFingerprint, fingerprint: c.fingerprint, variance: settings.variance)
        var options = SpectraOptions()
        options.variance = settings.variance
        let analyzer = SpectraAnalyzer(options: options)
        var computed = 0
        for (i, p) in perturbations.enumerated() {
            events(.spectra(label: c.label, done: i, total: perturbations.count, tensor: p.name))
            if stored[p.name] != nil { continue }
            let t = try analyzer.analyze(p, base: baseModel)
            try store.save(SpectrumRecord(baseFingerprint: baseFingerprint, fingerprint: c.fingerprint, tensor: t.name, variance: settings.variance,
                                          kind: t.kind.rawValue, rows: t.shape[0], cols: t.shape[1], singularValues: t.singularValues,
                                          rank90: t.rank90, gaussianRank90: t.gaussianRank90, stableRank: t.stableRank,
                                          effectiveRank: t.effectiveRank, frobeniusNorm: t.frobeniusNorm, spectralNorm: t.spectralNorm,
                                          relativeChange: t.relativeChange))
            computed += 1
        }
        events(.spectra(label: c.label, done: perturbations.count, total: perturbations.count, tensor: ""))
        try store.save(SpectraPassRecord(baseFingerprint: baseFingerprint, fingerprint: c.fingerprint, variance: settings.variance,
                                         modules: modules, tensors: perturbations.count))
        events(.spectraFinished(label: c.label, computed: computed, total: perturbations.count))
    }
}
