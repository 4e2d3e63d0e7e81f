import Checkpoints
import Evaluation
import Foundation
import Spectra

public struct RunOptions: Sendable {
    /// Documents scored and committed together.
    public var chunkSize = 32
    public var threads: Int?
    public var batchSize = 64
    public var toolVersion = "0.2.0"
    /// Trust the store's fingerprints of files whose stat key (inode, size, times) is unchanged.
    public var reuseFingerprints = true
    public init() {}
}

/// What a run reports as it goes (the CLI draws it).
public enum RunEvent {
    case fingerprinting(String)
    /// A served checkpoint: its server, name and the request forms the probe settled on.
    case served(label: String, description: String)
    case checkpoint(index: Int, total: Int, label: String)
    /// Documents of a task available so far (stored or just scored).
    case task(label: String, task: String, done: Int, total: Int)
    case taskFinished(label: String, task: String, metric: String, value: Double, stderr: Double?, scored: Int, total: Int)
    case spectra(label: String, done: Int, total: Int, tensor: String)
    case spectraFinished(label: String, computed: Int, total: Int)
    case spectraSkipped(label: String, reason: String)
    /// A shard's documents of a task are stored (its aggregate waits for `merge`).
    case partFinished(label: String, task: String, documents: Range<Int>, scored: Int)
    /// A checkpoint's files, evaluation or spectra failed; the run goes on with the others and
    /// ends with `RunFailures`.
    case failed(CheckpointFailure)
}

/// `forgetlens run`: every checkpoint (base first) on every task, then every variant's spectra,
/// each unit committed to the store as it completes; what is stored is never recomputed. A
/// checkpoint that fails (unreadable files, NaN weights, a spectrum that cannot be computed) is
/// recorded and the others carry on; the run then throws `RunFailures` listing each.
public final class ExperimentRunner {
    public let experiment: Experiment
    public let catalog: TaskCatalog
    public let store: ResultsStore
    public let options: RunOptions

    /// The sandbox for code tasks, made on first use.
    private var sandboxChecks: ProgramChecks?
    func codeChecks() throws -> ProgramChecks {
        if let sandboxChecks { return sandboxChecks }
        let checks = ProgramChecks(sandbox: try Sandbox())
        sandboxChecks = checks
        return checks
    }

    public init(experiment: Experiment, catalog: TaskCatalog, store: ResultsStore, options: RunOptions = RunOptions()) {
        self.experiment = experiment
        self.catalog = catalog
        self.store = store
        self.options = options
    }

    /// Runs everything (shard nil) or one shard's part. `server` is the openai backend's
    /// connection (nil for native experiments). A whole run also stores each task's aggregates
    /// and marks finished spectra passes; a shard stores only its documents and tensors, and
    /// `merge` finishes the aggregates once the shards are together.
    public func run(shard: Shard? = nil, server: RemoteOptions? = nil, events: (RunEvent) -> Void = { _ in }) throws {
        if !experiment.allowCodeExecution, let code = try experiment.allTasks.first(where: { try catalog.task($0).definition.runsCode }) {
            throw EvaluationError.codeExecutionNotAllowed(code)
        }
        for t in experiment.diversity where !(try catalog.task(t).definition.metrics.contains { Diversity.metrics.contains($0.name) }) {
            throw EvaluationError("\(experiment.file): diversity task \(t) has none of \(Diversity.metrics.sorted().joined(separator: ", ")) in its metric_list")
        }
        let runID = try store.beginRun(toolVersion: options.toolVersion, experiment: experiment.name, options: optionsJSON(shard: shard))
        do {
            try store.save(definition: try ExperimentDefinition(experiment, catalog: catalog))
            let spectraParts = try shard.map { try experiment.spectraPlan(shard: $0) }
            // A shard fingerprints only the checkpoints it has work for (and the base, which
            // LoRA fingerprints and spectra keys need).
            var only: Set<String>? = nil
            if let shard {
                only = Set(try experiment.variants.enumerated().filter { i, v in
                    try experiment.allTasks.contains { !(try experiment.documents(checkpoint: i + 1, task: $0, shard: shard, catalog: catalog)).isEmpty }
                        || !(spectraParts?[v.label]?.isEmpty ?? true)
                }.map(\.element.label))
            }
            var failures: [CheckpointFailure] = []
            func record(_ label: String, _ stage: CheckpointFailure.Stage, _ error: Error) throws {
                if endsTheRun(error) { throw error }
                let failure = CheckpointFailure(label: label, stage: stage, error: error)
                failures.append(failure)
                events(.failed(failure))
            }
            let (base, variants) = try CheckpointIdentity.resolve(experiment, server: server, only: only,
                                                                  cache: options.reuseFingerprints ? store.fingerprintCache : nil,
                                                                  progress: { events(.fingerprinting($0)) },
                                                                  failed: { try record($0, .files, $1) })
            let index = Dictionary(uniqueKeysWithValues: experiment.variants.enumerated().map { ($1.label, $0 + 1) })
            // the base in each 4-bit form QLoRA variants use: quantization's own cost (whole runs only)
            let quantizedBases = shard == nil ? CheckpointIdentity.quantizedBases(experiment, base: base) : []
            let all = [base] + quantizedBases + variants
            for c in all { try store.save(c.record) }
            for c in all { if let r = c.remote { events(.served(label: c.label, description: "\(r.name) (\(r.form))")) } }
            for (i, c) in all.enumerated() {
                events(.checkpoint(index: i + 1, total: all.count, label: c.label))
                do { try evaluate(c, checkpoint: c.isBase ? 0 : index[c.label] ?? 0, shard: shard, events: events) } catch {
                    try record(c.label, .evaluation, error)
                }
            }
            if experiment.spectra.enabled {
                for c in variants {
                    let v = experiment.variants[index[c.label]! - 1]
                    guard v.hasLocalWeights else {
                        if shard == nil { events(.spectraSkipped(label: c.label, reason: "served only (no local model: or adapter:)")) }
                        continue
                    }
                    let mine = spectraParts.map { $0[c.label] ?? [] }  // nil: every tensor
                    if mine?.isEmpty == true { continue }
                    do {
                        try spectra(v, c, baseFingerprint: base.fingerprint, only: mine, events: events)
                        try weightSpectra(v, c, baseFingerprint: base.fingerprint, only: mine)
                    } catch {
                        try record(c.label, .spectra, error)
                    }
                }
            }
            if !failures.isEmpty {
                throw RunFailures(failures: failures, checkpoints: 1 + experiment.variants.filter { only?.contains($0.label) ?? true }.count + quantizedBases.count)
            }
            try store.finishRun(runID, status: "finished")
        } catch {
            try? store.finishRun(runID, status: "failed: \(error)")
            throw error
        }
    }

    func optionsJSON(shard: Shard?) -> String {
        var o: [String: Any] = ["targets": experiment.targets, "probes": experiment.probes, "spectra_enabled": experiment.spectra.enabled,
                                "variance": experiment.spectra.variance, "chunk_size": options.chunkSize, "file": experiment.file,
                                "backend": experiment.backend.kind.rawValue]
        if let shard { o["shard"] = shard.description }
        if shard != nil && experiment.stableShardPlan { o["shard_plan"] = "per_checkpoint" }  // `status` splits the same way
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
        try experiment.taskKey(c.fingerprint, task, catalog: catalog)
    }

    func evaluate(_ c: CheckpointIdentity, checkpoint: Int, shard: Shard?, events: (RunEvent) -> Void) throws {
        var loaded: EvaluationBackend? = nil
        let opts = options
        let load: () throws -> EvaluationBackend = {
            if let loaded { return loaded }
            let b: EvaluationBackend
            if let remote = c.remote {
                b = remote
            } else if let q = c.quantization {
                b = try NativeBackend.load(model: c.model, adapter: c.adapter, quantization: q, threads: opts.threads, batchSize: opts.batchSize)
            } else {
                // an adapter on a saved 4-bit base cannot be merged: it runs unmerged, as PEFT runs it
                let fourBitBase = (try? SavedQuantizationConfig.load(configPath: c.model + "/config.json")) ?? nil
                b = try NativeBackend.load(model: c.model, adapter: c.adapter, unmerged: fourBitBase != nil && c.adapter != nil,
                                           threads: opts.threads, batchSize: opts.batchSize,
                                           computeDType: c.computeDType == .bf16 && fourBitBase == nil ? .bf16 : nil)
            }
            loaded = b
            return b
        }
        for task in experiment.allTasks {
            let limit = experiment.limit.limit(for: task)
            let key = try taskKey(c, task)
            if shard != nil {
                let mine = try experiment.documents(checkpoint: checkpoint, task: task, shard: shard, catalog: catalog)
                if !mine.isEmpty { _ = try evaluateTask(c, task: task, key: key, limit: limit, documents: mine, backend: load, events: events) }
                continue
            }
            let count = try catalog.count(task, limit: limit)
            if let done = try store.taskResult(key, limit: limit ?? 0), done.documents == count {
                let (metric, negate) = try catalog.primaryMetric(task)
                if let a = done.metrics[metric] {
                    events(.taskFinished(label: c.label, task: task, metric: TaskCatalog.displayName((metric, negate)),
                                         value: negate ? -a.value : a.value, stderr: a.stderr, scored: 0, total: count))
                }
                continue
            }
            _ = try evaluateTask(c, task: task, key: key, limit: limit, documents: nil, backend: load, events: events)
        }
    }

    /// Runs one task through the caching backend and stores per-item metrics, and the aggregate
    /// when every document was scored (`documents` nil). A part (a shard's documents) stores
    /// only its items.
    func evaluateTask(_ c: CheckpointIdentity, task: String, key: ResultsStore.TaskKey, limit: Int?, documents: Range<Int>?,
                      backend: @escaping () throws -> EvaluationBackend, events: (RunEvent) -> Void) throws -> TaskResult {
        let evalTask = try catalog.task(task)
        let count = try catalog.count(task, limit: limit)
        let docIDs = documents.map(Array.init) ?? Array(0..<count)
        let caching = try CachingBackend(name: c.model, store: store, key: key, docIDs: docIDs,
                                         chunkSize: options.chunkSize, makeInner: backend)
        events(.task(label: c.label, task: task, done: docIDs.count - caching.missing.count, total: docIDs.count))
        let evaluator = Evaluator(backend: caching)
        var evalOptions = EvaluationOptions(limit: limit, numFewshot: key.fewshot)
        evalOptions.documents = documents.map(Set.init)
        evalOptions.samplingSeed = experiment.seed
        if evalTask.definition.runsCode && experiment.allowCodeExecution { evalOptions.codeChecks = try codeChecks() }
        let result = try withoutActuallyEscaping(events) { ev in
            caching.chunkCommitted = { done, total in ev(.task(label: c.label, task: task, done: done, total: total)) }
            defer { caching.chunkCommitted = { _, _ in } }
            return try evaluator.run(evalTask, options: evalOptions)
        }
        try store.saveMetrics(result, key: key, limit: limit, cached: caching.cached, aggregate: documents == nil)
        if let documents {
            events(.partFinished(label: c.label, task: task, documents: documents, scored: caching.computed))
            return result
        }
        let (metric, negate) = try catalog.primaryMetric(task)
        if let a = result.aggregates.first(where: { $0.metric == metric }) {
            events(.taskFinished(label: c.label, task: task, metric: TaskCatalog.displayName((metric, negate)),
                                 value: negate ? -a.value : a.value, stderr: a.stderr, scored: caching.computed, total: count))
        }
        return result
    }

    // MARK: spectra

    /// A variant's spectra: every tensor (marking the pass complete) or, for a shard, `only` these.
    func spectra(_ v: Variant, _ c: CheckpointIdentity, baseFingerprint: String, only: Set<String>?, events: (RunEvent) -> Void) throws {
        let settings = experiment.spectra
        let modules = settings.modules ?? ""
        if only == nil, let pass = try store.spectraPass(base: baseFingerprint, fingerprint: c.fingerprint, variance: settings.variance, modules: modules) {
            events(.spectraFinished(label: c.label, computed: 0, total: pass.tensors))
            return
        }
        let baseModel = try experiment.spectraBase()
        let perturbations = try experiment.perturbations(v, baseModel: baseModel).filter { only?.contains($0.name) ?? true }
        let stored = try store.spectra(base: baseFingerprint, fingerprint: c.fingerprint, variance: settings.variance)
        var options = SpectraOptions()
        options.variance = settings.variance
        let analyzer = SpectraAnalyzer(options: options)
        var computed = 0
        for (i, p) in perturbations.enumerated() {
            events(.spectra(label: c.label, done: i, total: perturbations.count, tensor: p.name))
            if stored[p.name] != nil { continue }
            let t: TensorSpectrum
            do { t = try analyzer.analyze(p, base: baseModel) } catch { throw spectrumError(p, base: baseModel, underlying: error) }
            guard t.hasFiniteSingularValues else { throw spectrumError(p, base: baseModel, underlying: nil) }
            try store.save(SpectrumRecord(baseFingerprint: baseFingerprint, fingerprint: c.fingerprint, tensor: t.name, variance: settings.variance,
                                          kind: t.kind.rawValue, rows: t.shape[0], cols: t.shape[1], singularValues: t.singularValues,
                                          rank90: t.rank90, gaussianRank90: t.gaussianRank90, stableRank: t.stableRank,
                                          effectiveRank: t.effectiveRank, frobeniusNorm: t.frobeniusNorm, spectralNorm: t.spectralNorm,
                                          relativeChange: t.relativeChange))
            computed += 1
        }
        events(.spectra(label: c.label, done: perturbations.count, total: perturbations.count, tensor: ""))
        if only == nil {
            try store.save(SpectraPassRecord(baseFingerprint: baseFingerprint, fingerprint: c.fingerprint, variance: settings.variance,
                                             modules: modules, tensors: perturbations.count))
        }
        events(.spectraFinished(label: c.label, computed: computed, total: perturbations.count))
    }

    /// The chosen tensors' W_base, W_ft, G and W_base + G spectra (those not stored yet); a
    /// shard computes the chosen tensors whose Delta spectrum is its own.
    func weightSpectra(_ v: Variant, _ c: CheckpointIdentity, baseFingerprint: String, only: Set<String>?) throws {
        guard experiment.spectra.weightsEnabled else { return }
        let baseModel = try experiment.spectraBase()
        let all = try experiment.perturbations(v, baseModel: baseModel)
        let chosen = Set(try WeightSpectraChoice.choose(all.map(\.name), pattern: experiment.spectra.weights))
        let stored = try store.weightSpectra(base: baseFingerprint, fingerprint: c.fingerprint)
        var options = SpectraOptions()
        options.variance = experiment.spectra.variance
        let analyzer = SpectraAnalyzer(options: options)
        for p in all where chosen.contains(p.name) && stored[p.name] == nil && (only?.contains(p.name) ?? true) {
            let seed = GaussianMatrix.seed(tensor: p.name)
            let w = try analyzer.weightSpectra(p, base: baseModel, gaussianSeed: seed)
            try store.save(WeightSpectrumRecord(baseFingerprint: baseFingerprint, fingerprint: c.fingerprint, tensor: p.name,
                                                baseSingularValues: w.base, finetunedSingularValues: w.finetuned,
                                                gaussianSingularValues: w.gaussian ?? [], basePlusGaussianSingularValues: w.basePlusGaussian ?? [],
                                                gaussianSeed: String(seed)))
        }
    }
}
