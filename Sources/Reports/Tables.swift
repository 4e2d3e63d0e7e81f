import Foundation

/// summary.md, the Pareto CSV/JSON: plain text renderings of a ReportModel.
public enum SummaryTable {
    public static let header = ["label", "method", "rank", "step", "target score ± se", "probe mean ± se", "forgetting ± se",
                                "McNemar p (per probe)", "bootstrap p (probe mean)", "frontier"]
    /// Inserted before "frontier" when the experiment has bits-per-byte probes (their own unit:
    /// never averaged with accuracies), so experiments without them keep the table they had.
    public static let bitsPerByteHeader = ["probe bits/byte ± se", "Δ bits/byte ± se", "bootstrap p (bits/byte)"]

    public static func header(_ model: ReportModel) -> [String] {
        model.probes(in: .bitsPerByte).isEmpty ? header : Array(header.dropLast()) + bitsPerByteHeader + ["frontier"]
    }

    static func bootstrapCell(_ r: VariantRow, _ b: BootstrapResult?) -> String {
        if r.isBase { return "—" }
        guard let b else { return "n/a" }
        return String(format: "%@ (Δ %+.3f, 95%% CI %+.3f..%+.3f)", PValue.format(b.pValue), b.difference, b.low, b.high)
    }

    /// McNemar is listed for the accuracy probes only (it is a test of right/wrong items).
    public static func cells(_ r: VariantRow, model: ReportModel) -> [String] {
        let accuracy = model.probes(in: .accuracy)
        let mcnemar = r.isBase ? "—" : accuracy.map { p in r.mcnemar[p].map { "\(p) \(PValue.format($0.pValue))" } ?? "\(p) n/a" }.joined(separator: ", ")
        var cells = [r.label, r.method, r.rank.map(String.init) ?? "", r.step.map(String.init) ?? "",
                     r.learning?.formatted() ?? "n/a", r.probeMean?.formatted() ?? "n/a", r.forgetting?.formatted() ?? "n/a",
                     mcnemar, bootstrapCell(r, r.bootstrap)]
        if !model.probes(in: .bitsPerByte).isEmpty {
            cells += [r.probeBitsPerByte?.formatted() ?? "n/a", r.bitsPerByteForgetting.map { signed($0) } ?? "n/a", bootstrapCell(r, r.bitsPerByteBootstrap)]
        }
        return cells + [r.onFrontier ? "yes" : ""]
    }

    /// "+0.123 ± 0.004": a change, signed.
    static func signed(_ e: Estimate) -> String {
        String(format: "%+.3f", e.value) + (e.stderr.map { String(format: " ± %.3f", $0) } ?? "")
    }

    /// The probes with their units, and how the table's forgetting columns are defined.
    static func probeLines(_ model: ReportModel) -> (probes: String, definition: String) {
        let accuracy = model.probes(in: .accuracy), bpb = model.probes(in: .bitsPerByte), other = model.probes(in: .other)
        var groups: [String] = []
        if !accuracy.isEmpty { groups.append("\(accuracy.joined(separator: ", ")) (acc)") }
        if !bpb.isEmpty { groups.append("\(bpb.joined(separator: ", ")) (bits per byte)") }
        if !other.isEmpty { groups.append(other.map { "\($0) (\(model.probeMetrics[$0] ?? "?"), per probe only)" }.joined(separator: ", ")) }
        var definition = "forgetting = base probe mean - variant probe mean, the mean acc over the accuracy probes"
        if !bpb.isEmpty {
            definition += "; Δ bits/byte = variant - base mean bits per byte over \(bpb.joined(separator: ", ")) (positive = forgotten; a unit of its own, never averaged with accuracies)"
        }
        definition += ". Headline forgetting (tradeoff plot, Pareto frontier): \(model.headlineForgettingText)"
        return ("Probes (forgetting): \(groups.joined(separator: "; ")).", definition)
    }

    public static func markdown(_ model: ReportModel) -> String {
        func row(_ cells: [String]) -> String { "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |" }
        var out = "# \(model.name): learning and forgetting\n\n"
        out += FindingsText.markdown(Findings.generate(model))
        out += "Base: `\(model.base)`. Targets (learning): \(model.targets.map { "\($0) (\(model.targetMetrics[$0] ?? "?"))" }.joined(separator: ", ")). "
        let lines = probeLines(model)
        out += "\(lines.probes) \(model.fewshot)-shot.\n"
        out += "Items per task: \(model.itemCounts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")).\n\n"
        let extra = trainingColumns(model)
        let head = header(model) + extra.header
        out += row(head) + "\n" + row(head.map { _ in "---" }) + "\n"
        for r in model.rows { out += row(cells(r, model: model) + extra.cells(r)) + "\n" }
        out += "\n\(lines.definition). ± is one standard error (of a mean of k per-task means: sqrt(sum se^2)/k). "
        out += "Paired tests against the base on the same items: McNemar exact (binomial) per accuracy probe; paired bootstrap "
        out += "(\(model.bootstrapResamples) resamples, seeded) of the probe-mean difference (variant − base)"
        if !model.probes(in: .bitsPerByte).isEmpty { out += " and of the per-document bits per byte (variant − base)" }
        out += ". Frontier: not dominated on (learning max, forgetting min).\n"
        out += DiversityTable.markdown(model)
        for n in model.notes { out += "\n- \(n)" }
        if !model.notes.isEmpty { out += "\n" }
        return out
    }

    /// "tokens" and "train loss" after the standard columns, each only when some row has it and
    /// the report shows training curves (TrainingCurves.shown), so experiments written before
    /// keep the table they had.
    public static func trainingColumns(_ model: ReportModel) -> (header: [String], cells: (VariantRow) -> [String]) {
        let shown = TrainingCurves.shown(model)
        let tokens = shown && model.rows.contains { $0.tokens != nil }, loss = shown && model.rows.contains { $0.trainingLoss != nil }
        let header = (tokens ? ["tokens"] : []) + (loss ? ["train loss"] : [])
        return (header, { r in
            (tokens ? [r.tokens.map(String.init) ?? ""] : []) + (loss ? [r.trainingLoss.map { String(format: "%.4f", $0) } ?? ""] : [])
        })
    }

    /// RFC 4180 field quoting.
    public static func csvField(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}

/// The non-dominated variants and their scores, for `forgetlens pareto`.
public struct FrontierExport: Codable, Sendable {
    public struct Entry: Codable, Sendable {
        public var label: String
        public var method: String
        public var rank: Int?
        public var step: Int?
        public var tokens: Int?
        public var scores: [String: Estimate]
        /// Forgetting in each unit the experiment has, whatever the objectives: "accuracy" (base −
        /// variant probe mean) and "bits_per_byte" (variant − base mean bits per byte).
        public var forgettingByUnit: [String: Estimate]
    }
    public var experiment: String
    public var objectives: [String]
    /// What the `forgetting` and `probe_mean` objectives measure (ReportModel.headlineUnit):
    /// "accuracy" or "bits_per_byte", and in words.
    public var headlineUnit: String
    public var headlineForgetting: String
    public var frontier: [Entry]
    /// Each variant's forgetting against spectral summaries of its Delta, with Spearman's rho
    /// (nil without spectra).
    public var spectralForgetting: SpectralForgetting?

    public init(model: ReportModel, objectives: [Objective]) {
        spectralForgetting = SpectralForgetting.compute(model)
        experiment = model.name
        self.objectives = objectives.map(\.description)
        headlineUnit = model.headlineUnit.rawValue
        headlineForgetting = model.headlineForgettingText
        let variants = model.variants
        let points = variants.map { v in objectives.map { model.objective($0.name, of: v)?.value ?? .nan } }
        let idx = Pareto.frontier(points, directions: objectives.map(\.direction))
        frontier = idx.map { i in
            let v = variants[i]
            var scores: [String: Estimate] = [:]
            for o in objectives { scores[o.name] = model.objective(o.name, of: v) }
            var byUnit: [String: Estimate] = [:]
            byUnit[ProbeUnit.accuracy.rawValue] = v.forgetting
            byUnit[ProbeUnit.bitsPerByte.rawValue] = v.bitsPerByteForgetting
            return Entry(label: v.label, method: v.method, rank: v.rank, step: v.step, tokens: v.tokens, scores: scores, forgettingByUnit: byUnit)
        }
    }

    public func csv() -> String {
        var header = ["label", "method", "rank", "step", "tokens"]
        for o in objectives.map({ String($0.split(separator: ":")[0]) }) { header += [o, "\(o)_stderr"] }
        var lines = [header.joined(separator: ",")]
        for e in frontier {
            var cells = [e.label, e.method, e.rank.map(String.init) ?? "", e.step.map(String.init) ?? "", e.tokens.map(String.init) ?? ""]
            for o in objectives.map({ String($0.split(separator: ":")[0]) }) {
                let s = e.scores[o]
                cells += [s.map { String($0.value) } ?? "", s?.stderr.map { String($0) } ?? ""]
            }
            lines.append(cells.map(SummaryTable.csvField).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public func json() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try e.encode(self)
    }
}

/// Generation diversity per variant beside learning and forgetting (Biderman et al. 2024, Fig. 5:
/// does the fine-tune collapse the base's output distribution?).
public enum DiversityTable {
    public static let note = "distinct_fraction: distinct outputs among a document's samples / samples; distinct_2: distinct word bigrams / bigrams of its samples; token_entropy: mean entropy (nats) of the model's next-token distribution along its samples. Mean over documents ± one standard error; higher is more diverse."

    /// Forgetting here is the headline one (ReportModel.headlineUnit), named by its unit.
    public static func header(_ model: ReportModel) -> [String] {
        ["label", "learning ± se", model.headlineUnit == .bitsPerByte ? "forgetting (Δ bits/byte) ± se" : "forgetting ± se"] + model.diversityColumns
    }

    public static func cells(_ r: VariantRow, _ model: ReportModel) -> [String] {
        [r.label, r.learning?.formatted() ?? "n/a", model.objective("forgetting", of: r)?.formatted() ?? "n/a"] + model.diversityColumns.map { r.diversity[$0]?.formatted() ?? "n/a" }
    }

    public static func markdown(_ model: ReportModel) -> String {
        guard !model.diversityColumns.isEmpty else { return "" }
        func row(_ cells: [String]) -> String { "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |" }
        var out = "\n## Generation diversity\n\n" + row(header(model)) + "\n" + row(header(model).map { _ in "---" }) + "\n"
        for r in model.rows { out += row(cells(r, model)) + "\n" }
        return out + "\n" + note + "\n"
    }
}

/// The findings as Markdown (summary.md puts them first).
public enum FindingsText {
    public static func markdown(_ report: FindingsReport) -> String {
        var out = "## Findings\n\n"
        for f in report.findings {
            out += "- **(\(f.id)) \(f.claim)** (\(f.source)): *\(f.verdict.rawValue)*. \(f.sentence)\n"
        }
        if !report.notes.isEmpty { out += "\n" + report.notes.map { "- \($0)" }.joined(separator: "\n") + "\n" }
        return out + "\n## Summary\n\n"
    }
}
