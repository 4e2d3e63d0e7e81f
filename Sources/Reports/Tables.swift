import Foundation

/// summary.md, the Pareto CSV/JSON: plain text renderings of a ReportModel.
public enum SummaryTable {
    public static let header = ["label", "method", "rank", "step", "target score ± se", "probe mean ± se", "forgetting ± se",
                                "McNemar p (per probe)", "bootstrap p (probe mean)", "frontier"]

    public static func cells(_ r: VariantRow, probes: [String]) -> [String] {
        let mcnemar = r.isBase ? "—" : probes.map { p in r.mcnemar[p].map { "\(p) \(PValue.format($0.pValue))" } ?? "\(p) n/a" }.joined(separator: ", ")
        let boot: String
        if r.isBase { boot = "—" } else if let b = r.bootstrap {
            boot = String(format: "%@ (Δ %+.3f, 95%% CI %+.3f..%+.3f)", PValue.format(b.pValue), b.difference, b.low, b.high)
        } else { boot = "n/a" }
        return [r.label, r.method, r.rank.map(String.init) ?? "", r.step.map(String.init) ?? "",
                r.learning?.formatted() ?? "n/a", r.probeMean?.formatted() ?? "n/a", r.forgetting?.formatted() ?? "n/a",
                mcnemar, boot, r.onFrontier ? "yes" : ""]
    }

    public static func markdown(_ model: ReportModel) -> String {
        func row(_ cells: [String]) -> String { "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |" }
        var out = "# \(model.name): learning and forgetting\n\n"
        out += FindingsText.markdown(Findings.generate(model))
        out += "Base: `\(model.base)`. Targets (learning): \(model.targets.map { "\($0) (\(model.targetMetrics[$0] ?? "?"))" }.joined(separator: ", ")). "
        out += "Probes (forgetting, acc): \(model.probes.joined(separator: ", ")). \(model.fewshot)-shot.\n"
        out += "Items per task: \(model.itemCounts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")).\n\n"
        let extra = trainingColumns(model)
        out += row(header + extra.header) + "\n" + row((header + extra.header).map { _ in "---" }) + "\n"
        for r in model.rows { out += row(cells(r, probes: model.probes) + extra.cells(r)) + "\n" }
        out += "\nforgetting = base probe mean - variant probe mean; ± is one standard error (of a mean of k per-task means: sqrt(sum se^2)/k). "
        out += "Paired tests against the base on the same items: McNemar exact (binomial) per probe on acc; paired bootstrap "
        out += "(\(model.bootstrapResamples) resamples, seeded) of the probe-mean difference. Frontier: not dominated on (learning max, forgetting min).\n"
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
    }
    public var experiment: String
    public var objectives: [String]
    public var frontier: [Entry]
    /// Each variant's forgetting against spectral summaries of its Delta, with Spearman's rho
    /// (nil without spectra).
    public var spectralForgetting: SpectralForgetting?

    public init(model: ReportModel, objectives: [Objective]) {
        spectralForgetting = SpectralForgetting.compute(model)
        experiment = model.name
        self.objectives = objectives.map(\.description)
        let variants = model.variants
        let points = variants.map { v in objectives.map { v.objective($0.name)?.value ?? .nan } }
        let idx = Pareto.frontier(points, directions: objectives.map(\.direction))
        frontier = idx.map { i in
            let v = variants[i]
            var scores: [String: Estimate] = [:]
            for o in objectives { scores[o.name] = v.objective(o.name) }
            return Entry(label: v.label, method: v.method, rank: v.rank, step: v.step, tokens: v.tokens, scores: scores)
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

    public static func header(_ model: ReportModel) -> [String] { ["label", "learning ± se", "forgetting ± se"] + model.diversityColumns }

    public static func cells(_ r: VariantRow, _ model: ReportModel) -> [String] {
        [r.label, r.learning?.formatted() ?? "n/a", r.forgetting?.formatted() ?? "n/a"] + model.diversityColumns.map { r.diversity[$0]?.formatted() ?? "n/a" }
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
