import Checkpoints
import Evaluation
import Foundation
import Reports

/// Reads an experiment's store into the Reports layer's value types: scores with standard
/// errors, forgetting, paired tests against the base, spectra.
public enum ExperimentSummary {
    public static func build(_ e: Experiment, catalog: TaskCatalog, store: ResultsStore, toolVersion: String,
                             bootstrapResamples: Int = 10_000, seed: UInt64 = 20240605, trainingAxis: TrainingAxis? = nil) throws -> ReportModel {
        let stored = try store.checkpoints()
        let checkpoints = Dictionary(uniqueKeysWithValues: stored.map { ($0.label, $0) })
        let (variants, vanished) = e.variantsWithVanishedCheckpoints(stored: stored)
        var notes: [String] = vanished
        var targetMetrics: [String: String] = [:]
        for t in e.targets { targetMetrics[t] = TaskCatalog.displayName(try catalog.primaryMetric(t)) }
        // A probe's score: its primary metric (acc for multiple choice, -bits_per_byte for a rolling
        // log-likelihood probe: forgetting is then the bits-per-byte increase).
        var probeMetric: [String: (String, Bool)] = [:]
        for p in e.probes { probeMetric[p] = try catalog.primaryMetric(p) }
        var itemCounts: [String: Int] = [:]
        for t in e.allTasks { itemCounts[t] = try catalog.count(t, limit: e.limit.limit(for: t)) }

        func key(_ fp: String, _ task: String) throws -> ResultsStore.TaskKey { try e.taskKey(fp, task, catalog: catalog) }
        func score(_ fp: String, _ task: String, metric: String, negate: Bool) throws -> Estimate? {
            let limit = e.limit.limit(for: task)
            guard let r = try store.taskResult(try key(fp, task), limit: limit ?? 0), let a = r.metrics[metric] else { return nil }
            return Estimate(negate ? -a.value : a.value, stderr: a.stderr)
        }
        /// Per-document probe scores in the report's orientation: acc for multiple-choice probes;
        /// for a rolling log-likelihood probe each document's -bits per byte (ll / bytes / ln 2),
        /// so paired tests compare per-document means there.
        func accByDoc(_ fp: String, _ task: String) throws -> [Int: Double] {
            let items = try store.items(try key(fp, task), below: itemCounts[task])
            guard let (metric, negate) = probeMetric[task], metric != "acc" else { return items.compactMapValues(\.acc) }
            return items.compactMapValues { item -> Double? in
                guard let m = item.metrics?[metric] else { return nil }
                guard let w = m.weight else { return negate ? -m.value : m.value }
                guard metric == "bits_per_byte", w > 0 else { return nil }
                return (negate ? 1 : -1) * m.value / Double(w) / log(2.0)
            }
        }

        /// Per-document (numerator, weight) whose ratio of sums is the task's score as the report
        /// shows it: a mean metric (±value, 1); bits per byte (−(−ll) / ln 2 with its bytes: the
        /// stored value is the loglikelihood); nil for other weighted metrics (perplexities).
        func targetItems(_ fp: String, _ task: String, metric: String, negate: Bool) throws -> [Int: (value: Double, weight: Double)]? {
            let items = try store.items(try key(fp, task), below: itemCounts[task])
            var out: [Int: (value: Double, weight: Double)] = [:]
            for (doc, item) in items {
                guard let m = item.metrics?[metric] else { continue }
                if let w = m.weight {
                    guard metric == "bits_per_byte", w > 0 else { return nil }
                    // bpb = −Σll / Σbytes / ln 2; the report's score is ∓ that
                    out[doc] = ((negate ? 1 : -1) * m.value / log(2.0), Double(w))
                } else {
                    out[doc] = (negate ? -m.value : m.value, 1)
                }
            }
            return out.isEmpty ? nil : out
        }

        /// (task, metric) of every diversity measure the diversity tasks list.
        func diversityColumns() throws -> [(String, String)] {
            try e.diversity.flatMap { t in try catalog.task(t).definition.metrics.map(\.name).filter { Diversity.metrics.contains($0) }.map { (t, $0) } }
        }
        struct Partial { var row: VariantRow; var fingerprint: String? }
        var partials: [Partial] = []
        let entries: [(label: String, method: String, rank: Int?, step: Int?, tokens: Int?, isBase: Bool)] =
            [("base", "base", nil, nil, nil, true)]
            + e.quantizedBases.map { (Experiment.quantizedBaseLabel($0), "base-4bit", nil, nil, nil, false) }
            + variants.map { ($0.label, $0.method.rawValue, $0.rank, $0.step, $0.tokens, false) }
        let fromRuns = Dictionary(uniqueKeysWithValues: variants.map { ($0.label, $0) })
        notes += e.skipped
        // A run that ended with failed checkpoints (RunFailures) says which in its first line.
        if let last = try store.runs().last, last.status.hasPrefix("failed: ") {
            notes.append("The last `forgetlens run` failed: " + (last.status.dropFirst(8).split(separator: "\n").first.map(String.init) ?? ""))
        }
        for entry in entries {
            var row = VariantRow(label: entry.label, method: entry.method, rank: entry.rank ?? checkpoints[entry.label]?.rank,
                                 step: entry.step, tokens: entry.tokens, isBase: entry.isBase, learning: nil, probeMean: nil, forgetting: nil)
            row.run = fromRuns[entry.label]?.run
            row.series = fromRuns[entry.label]?.series
            row.trainingLoss = fromRuns[entry.label]?.trainingLoss
            guard let cp = checkpoints[entry.label] else {
                notes.append("\(entry.label): not evaluated yet (run `forgetlens run`).")
                partials.append(Partial(row: row, fingerprint: nil))
                continue
            }
            for t in e.targets {
                let (m, neg) = try catalog.primaryMetric(t)
                row.targetScores[t] = try score(cp.fingerprint, t, metric: m, negate: neg)
                row.targetItems[t] = try targetItems(cp.fingerprint, t, metric: m, negate: neg)
            }
            for p in e.probes { row.probeScores[p] = try score(cp.fingerprint, p, metric: probeMetric[p]!.0, negate: probeMetric[p]!.1) }
            for (t, m) in try diversityColumns() { row.diversity["\(t) \(m)"] = try score(cp.fingerprint, t, metric: m, negate: false) }
            let targets = e.targets.compactMap { row.targetScores[$0] }
            if targets.count == e.targets.count { row.learning = Estimate.meanOfMeans(targets) }
            let probes = e.probes.compactMap { row.probeScores[$0] }
            if targets.count < e.targets.count || probes.count < e.probes.count {
                notes.append("\(entry.label): some tasks are not evaluated yet (run `forgetlens run`).")
            }
            partials.append(Partial(row: row, fingerprint: cp.fingerprint))
        }

        // Per-item probe scores, McNemar per multiple-choice probe, then the per-unit means,
        // forgetting and paired bootstraps (ProbeSummaries: accuracies and bits per byte apart).
        let baseFP = partials.first?.fingerprint
        var baseAcc: [String: [Int: Double]] = [:]
        var probeChance: [String: Double] = [:]
        if let baseFP {
            for p in e.probes {
                baseAcc[p] = try accByDoc(baseFP, p)
                // Chance accuracy (mean over items of 1 / choices scored) only for a multiple-choice
                // probe: a rolling probe's item also stores one outcome, which would read as
                // "chance 1.0" and call every bits-per-byte probe at chance.
                guard probeMetric[p]!.0 == "acc" else { continue }
                let items = try store.items(try key(baseFP, p), below: itemCounts[p])
                let choices = items.values.compactMap { $0.outcomes?.count }.filter { $0 > 0 }
                if !choices.isEmpty { probeChance[p] = choices.reduce(0) { $0 + 1 / Double($1) } / Double(choices.count) }
            }
            partials[0].row.probeItems = ItemScores(baseAcc)
        }
        for i in partials.indices where !partials[i].row.isBase {
            guard let fp = partials[i].fingerprint else { continue }
            for p in e.probes { partials[i].row.probeItems[p] = try accByDoc(fp, p) }
            for p in e.probes where probeMetric[p]!.0 == "acc" {  // McNemar is for right/wrong items
                guard let b = baseAcc[p], !b.isEmpty else { continue }
                let v = partials[i].row.probeItems[p] ?? [:]
                let docs = b.keys.filter { v[$0] != nil }.sorted()
                guard !docs.isEmpty else { continue }
                let (dc, dd) = McNemar.discordant(base: docs.map { b[$0]! }, variant: docs.map { v[$0]! })
                partials[i].row.mcnemar[p] = McNemarSummary(items: docs.count, b: dc, c: dd)
            }
        }
        let displayMetrics = probeMetric.mapValues { TaskCatalog.displayName(($0.0, $0.1)) }
        var rows = partials.map(\.row)
        ProbeSummaries.fill(&rows, probes: e.probes, metrics: displayMetrics, resamples: bootstrapResamples, seed: seed)
        for i in partials.indices { partials[i].row = rows[i] }

        var spectra: [SpectrumSummary] = []
        var weightSpectra: [WeightSpectrumSummary] = []
        if let baseFP, e.spectra.enabled {
            for p in partials where !p.row.isBase {
                guard let fp = p.fingerprint else { continue }
                let rows = try store.spectra(base: baseFP, fingerprint: fp, variance: e.spectra.variance).values
                for r in rows.sorted(by: { $0.tensor < $1.tensor }) {
                    spectra.append(SpectrumSummary(variant: p.row.label, tensor: r.tensor, rank90: r.rank90,
                                                   gaussianRank90: r.gaussianRank90, singularValues: r.singularValues))
                }
                for w in try store.weightSpectra(base: baseFP, fingerprint: fp).values.sorted(by: { $0.tensor < $1.tensor }) {
                    weightSpectra.append(WeightSpectrumSummary(variant: p.row.label, tensor: w.tensor, base: w.baseSingularValues,
                                                               finetuned: w.finetunedSingularValues, gaussian: w.gaussianSingularValues,
                                                               basePlusGaussian: w.basePlusGaussianSingularValues))
                }
            }
        }
        let servedOnly = e.variants.filter { $0.servedModel != nil && !$0.hasLocalWeights }.map(\.label)
        if e.spectra.enabled && !servedOnly.isEmpty {
            notes.append("No spectra for \(servedOnly.joined(separator: ", ")): served only (give adapter: or model: to compute them locally).")
        }
        // QLoRA as trained: each variant on a 4-bit base; its forgetting split into quantization
        // (quantized base vs base, the row's own paired tests) and adapter (variant vs quantized base).
        let defaulted = e.variants.filter(\.quantizationDefaulted).map(\.label)
        if !defaulted.isEmpty {
            notes.append("\(defaulted.joined(separator: ", ")): method qlora without quantization: evaluated on the base quantized as QLoRA trains it (\(QuantizationSettings.qlora.descriptor): NF4, double quantization, bf16 compute).")
        }
        for v in e.variants {
            guard let q = v.quantization, let vi = partials.firstIndex(where: { $0.row.label == v.label }),
                  let qi = partials.firstIndex(where: { $0.row.label == Experiment.quantizedBaseLabel(q) }),
                  let vfp = partials[vi].fingerprint, let qfp = partials[qi].fingerprint else { continue }
            // the split is of the accuracy forgetting (the row's forgetting): accuracy probes only
            let accuracy = e.probes.filter { ProbeUnit.of(metric: displayMetrics[$0]) == .accuracy }
            var groups: [(base: [Double], variant: [Double])] = []
            for p in accuracy {
                let b = try accByDoc(qfp, p), x = try accByDoc(vfp, p)
                let docs = b.keys.filter { x[$0] != nil }.sorted()
                if !docs.isEmpty { groups.append((docs.map { b[$0]! }, docs.map { x[$0]! })) }
            }
            let adapter = !accuracy.isEmpty && groups.count == accuracy.count
                ? PairedBootstrap.meanDifference(groups: groups, resamples: bootstrapResamples, seed: seed) : nil
            notes.append(quantizationSplit(variant: v.label, quantizedBase: partials[qi].row.label, total: partials[vi].row.forgetting,
                                           quantization: partials[qi].row.bootstrap, adapter: adapter))
        }
        let formatter = ISO8601DateFormatter()
        var model = ReportModel(name: e.name, base: Self.displayPath(e.base, experimentFile: e.file), generated: formatter.string(from: Date()), toolVersion: toolVersion,
                                targets: e.targets, targetMetrics: targetMetrics, probes: e.probes, itemCounts: itemCounts,
                                fewshot: e.numFewshot ?? 0, rows: partials.map(\.row), spectra: spectra,
                                bootstrapResamples: bootstrapResamples, notes: notes)
        model.trainingAxis = trainingAxis
        model.probeChance = probeChance
        model.probeMetrics = displayMetrics
        model.weightSpectra = weightSpectra
        model.diversityColumns = try diversityColumns().map { "\($0.0) \($0.1)" }
        model.markFrontier()
        return model
    }
}

/// lm-eval-layout results.json for each checkpoint, rebuilt from the store (no model is loaded).
public enum ResultsExport {
    public static func results(_ e: Experiment, catalog: TaskCatalog, store: ResultsStore) throws -> [(label: String, json: String)] {
        var out: [(String, String)] = []
        // code tasks' aggregates run their stored programs again, under the file's consent
        let checks = e.allowCodeExecution ? ProgramChecks(sandbox: try Sandbox()) : nil
        for cp in try orderedCheckpoints(e, store: store) {
            var results: [TaskResult] = []
            for task in e.allTasks {
                let limit = e.limit.limit(for: task)
                results.append(try store.replay(try catalog.task(task), key: try e.taskKey(cp.fingerprint, task, catalog: catalog),
                                                documents: try catalog.count(task, limit: limit), limit: limit, label: cp.label,
                                                codeChecks: checks).result)
            }
            var modelArgs = "pretrained=\(cp.modelPath)"
            if let a = cp.adapterPath { modelArgs += ",peft=\(a)" }
            if let served = cp.servedModel { modelArgs = "model=\(served),tokenizer=\(cp.modelPath)" }  // lm-eval's local-completions form
            var config = JSONObject()
            config["model"] = .string(cp.servedModel == nil ? "forgetlens" : "forgetlens-openai")
            config["model_args"] = .string(modelArgs)
            config["model_name"] = .string(cp.label)
            config["fingerprint"] = .string(cp.fingerprint)
            config["method"] = .string(cp.method)
            if let r = cp.rank { config["rank"] = .int(r) }
            if let s = cp.step { config["step"] = .int(s) }
            config["limit"] = e.limit.defaultLimit.map { .int($0) } ?? .null
            config["num_fewshot"] = e.numFewshot.map { .int($0) } ?? .null
            let json = ResultsWriter.results(results, config: config, seconds: 0)
            out.append((cp.label, json.serialized(indent: 2)))
        }
        return out
    }

    static func orderedCheckpoints(_ e: Experiment, store: ResultsStore) throws -> [CheckpointRecord] {
        let byLabel = Dictionary(uniqueKeysWithValues: try store.checkpoints().map { ($0.label, $0) })
        return try (["base"] + e.variants.map(\.label)).map { label in
            guard let c = byLabel[label] else {
                throw ExperimentError(file: e.file, line: nil, "\(label): not in the store yet; run `forgetlens run \(e.file)` first")
            }
            return c
        }
    }
}

extension ExperimentSummary {
    /// A path as seen from the experiment file's folder when it lies below it, so a committed
    /// report shows "checkpoints/base" rather than the absolute path of the machine that ran it.
    public static func displayPath(_ path: String, experimentFile: String) -> String {
        let absolute = experimentFile.hasPrefix("/") ? experimentFile : FileManager.default.currentDirectoryPath + "/" + experimentFile
        let folder = URL(fileURLWithPath: absolute).deletingLastPathComponent().standardized.path
        return path.hasPrefix(folder + "/") ? String(path.dropFirst(folder.count + 1)) : path
    }
}
