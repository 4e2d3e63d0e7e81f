import Foundation

/// reports/NAME/index.html: one self-contained page (inline CSS and SVG, no scripts, no network).
public enum HTMLReport {
    public static func render(_ model: ReportModel) -> String {
        var html = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <title>\(SVG.escape(model.name)) — forgetlens report</title>
        <style>
        body { font-family: Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1320px; color: #222; padding: 0 16px; }
        h1 { font-size: 24px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
        .meta { color: #666; font-size: 13px; } .note { color: #555; font-size: 13px; max-width: 980px; }
        table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
        th, td { border-bottom: 1px solid #e3e3e3; padding: 4px 8px; text-align: right; white-space: nowrap; }
        th { background: #f6f6f6; } td.l, th.l { text-align: left; }
        tr.base td { background: #fffbe6; } tr.frontier td:first-child { font-weight: bold; }
        .grid { display: flex; flex-wrap: wrap; gap: 12px; } .fig { margin: 8px 0; }
        table.findings td { white-space: normal; text-align: left; vertical-align: top; } table.findings td.claim { width: 260px; } table.findings td.v { white-space: nowrap; }
        .v-supported { color: #1b7a1b; font-weight: bold; } .v-contradicted { color: #b22222; font-weight: bold; }
        .v-inconclusive { color: #8a6d00; font-weight: bold; } .v-unmeasurable { color: #777; }
        </style></head><body>
        <h1>\(SVG.escape(model.name)): what the fine-tunes learned and forgot</h1>
        <div class="meta">base <code>\(SVG.escape(model.base))</code> · \(model.variants.count) variants · targets \(SVG.escape(model.targets.joined(separator: ", "))) · probes \(SVG.escape(model.probes.joined(separator: ", "))) · \(model.fewshot)-shot · generated \(SVG.escape(model.generated)) by forgetlens \(SVG.escape(model.toolVersion))</div>

        """
        html += findingsSection(Findings.generate(model))
        html += "<h2>Learning–forgetting tradeoff</h2>\n<div class=\"fig\">\(tradeoff(model).render(width: 1100, height: 560))</div>\n"
        html += model.headlineUnit == .bitsPerByte
            ? "<p class=\"note\">x: −mean bits per byte over the bits-per-byte probes (\(SVG.escape(model.probes(in: .bitsPerByte).joined(separator: ", ")))): no accuracy probe is above chance on the base (right = less forgetting); y: mean target score "
            : "<p class=\"note\">x: mean accuracy over the accuracy probes (\(SVG.escape(model.probes(in: .accuracy).joined(separator: ", "))); right = less forgetting); y: mean target score "
        html += "(\(SVG.escape(model.targets.map { "\($0): \(model.targetMetrics[$0] ?? "?")" }.joined(separator: ", ")))). "
        html += "Lines join a method's checkpoints in training-step order; bars are ±1 standard error; the dashed line is the Pareto frontier "
        html += "(learning up, forgetting down); the star is the base model.</p>\n"
        html += "<h2>Summary</h2>\n" + summaryTable(model)
        let curves = TrainingCurves.charts(model)
        if !curves.isEmpty {
            html += "<h2>Forgetting and learning during training</h2>\n<p class=\"note\">Against \(TrainingCurves.axis(model).title), one line per run "
            html += "(or method and rank); the training loss is the last one trainer_state.json logged at or before each checkpoint's step.</p>\n"
            html += "<div class=\"grid\">" + curves.map { "<div>\($0.render(width: 430, height: 300))</div>" }.joined(separator: "\n") + "</div>\n"
        }
        html += "<h2>Forgetting per probe</h2>\n<div class=\"fig\">\(forgettingBars(model).render(width: 1100, height: 380))</div>\n"
        html += "<p class=\"note\">base accuracy − variant accuracy on each accuracy probe (positive = forgotten), ± standard error (independent; the paired tests are in the table below).</p>\n"
        if let bars = bitsPerByteForgettingBars(model) {
            html += "<div class=\"fig\">\(bars.render(width: 1100, height: 380))</div>\n"
            html += "<p class=\"note\">variant − base bits per byte on each bits-per-byte probe (positive = forgotten), ± standard error: a unit of its own, so these probes are in neither the accuracy bars nor the probe mean.</p>\n"
        }
        html += "<h2>Paired significance against the base</h2>\n" + significanceTable(model)
        if !model.diversityColumns.isEmpty { html += "<h2>Generation diversity</h2>\n" + diversityTable(model) }
        if !model.targets.isEmpty {
            html += "<h2>Target scores</h2>\n<div class=\"fig\">\(targetBars(model).render(width: 1100, height: 340))</div>\n"
        }
        let rankCharts = rankByLayer(model)
        if !rankCharts.isEmpty {
            html += "<h2>Rank of the weight change by layer</h2>\n<p class=\"note\">rank90 of Δ (smallest k whose top-k singular values hold 90% of ‖Δ‖²_F) per layer and module; dashed: the same rank for an i.i.d. Gaussian matrix of that shape (Marchenko–Pastur), the \"unstructured\" reference.</p>\n"
            html += sharedLegend(rankCharts) + "<div class=\"grid\">"
            html += rankCharts.map { "<div>\($0.render(width: 430, height: 280))</div>" }.joined(separator: "\n") + "</div>\n"
        }
        let weightCharts = WeightSpectraFigures.spectra(model)
        if !weightCharts.isEmpty {
            html += "<h2>Spectra of the weights and of the change</h2>\n<p class=\"note\">Normalised singular values σ_i / σ_1 (log scale) of the base weight, the fine-tuned weight, Δ, and, for comparison, a Gaussian i.i.d. matrix G of Δ's shape and Frobenius norm and W_base + G (Biderman et al. 2024, Fig. S8), for the chosen tensors (spectra.weights) of each run's final checkpoint.</p>\n"
            html += sharedLegend(weightCharts) + "<div class=\"grid\">"
            html += weightCharts.map { "<div>\($0.render(width: 430, height: 280))</div>" }.joined(separator: "\n") + "</div>\n"
        }
        if let chart = WeightSpectraFigures.rankAlongTraining(model) {
            html += "<h2>Rank of the change along training</h2>\n<div class=\"fig\">\(chart.render(width: 640, height: 340))</div>\n"
            html += "<p class=\"note\">Mean over the tensors each checkpoint changes of rank90 of Δ, one line per run.</p>\n"
        }
        if let sf = SpectralForgetting.compute(model) {
            html += "<h2>Does the weight change predict forgetting?</h2>\n<div class=\"grid\">"
            html += sf.charts().map { "<div>\($0.render(width: 430, height: 300))</div>" }.joined(separator: "\n") + "</div>\n"
            html += "<p class=\"note\">One point per checkpoint with spectra; forgetting = \(SVG.escape(sf.forgetting)). "
            html += SVG.escape(sf.summaries.map(SpectralForgetting.describe).joined(separator: "; ")) + ". Intervals: percentile bootstrap over checkpoints (seeded).</p>\n"
        } else if !model.spectra.isEmpty {
            html += "<h2>Does the weight change predict forgetting?</h2>\n<p class=\"note\">Not measurable here: no probe is above chance on the base, so no checkpoint has a forgetting to compare with its spectra.</p>\n"
        }
        let spectraCharts = spectra(model)
        if !spectraCharts.isEmpty {
            html += "<h2>Singular value spectra</h2>\n<p class=\"note\">Singular values of Δ (log scale) for a few tensors, every variant against the base.</p>\n"
            html += sharedLegend(spectraCharts) + "<div class=\"grid\">"
            html += spectraCharts.map { "<div>\($0.render(width: 430, height: 280))</div>" }.joined(separator: "\n") + "</div>\n"
        }
        if !model.notes.isEmpty {
            html += "<h2>Notes</h2><ul class=\"note\">" + model.notes.map { "<li>\(SVG.escape($0))</li>" }.joined() + "</ul>\n"
        }
        html += "</body></html>\n"
        return html
    }

    // MARK: figures

    /// x is the headline probe measure (ReportModel.headlineUnit): mean accuracy, or −mean bits
    /// per byte when only bits-per-byte probes count, so that right is less forgetting either way.
    public static func tradeoff(_ model: ReportModel) -> TradeoffChart {
        let x = { (r: VariantRow) in model.objective("probe_mean", of: r) }
        var bySeries: [(String, [VariantRow])] = []
        for r in model.variants where x(r) != nil && r.learning != nil {
            if let i = bySeries.firstIndex(where: { $0.0 == r.seriesLabel }) { bySeries[i].1.append(r) } else { bySeries.append((r.seriesLabel, [r])) }
        }
        func point(_ r: VariantRow) -> TradeoffPoint {
            TradeoffPoint(x: x(r)!.value, y: r.learning!.value, xErr: x(r)!.stderr, yErr: r.learning!.stderr,
                          step: r.step.map(Double.init), label: r.label)
        }
        let series = bySeries.map { name, rows in
            TradeoffSeries(name: name, points: rows.sorted { ($0.step ?? 0, $0.label) < ($1.step ?? 0, $1.label) }.map(point))
        }
        let base = model.baseRow.flatMap { x($0) != nil && $0.learning != nil ? point($0) : nil }
        let frontier = model.variants.filter { $0.onFrontier && x($0) != nil && $0.learning != nil }.map(point)
        let bpb = model.headlineUnit == .bitsPerByte
        return TradeoffChart(title: bpb ? "Learning vs. probe bits per byte" : "Learning vs. probe accuracy",
                             xTitle: bpb ? "−probe mean bits per byte (higher = less forgetting)" : "probe mean accuracy (higher = less forgetting)",
                             yTitle: "learning (target score)", series: series, base: base, frontier: frontier)
    }

    static let baseColor = "#9e9e9e"

    /// Colour of a checkpoint in every per-variant figure: the base grey, variants the palette in experiment order.
    static func colors(_ labels: [String], _ model: ReportModel) -> [String] {
        let variants = model.variants.map(\.label)
        return labels.map { l in variants.firstIndex(of: l).map(Palette.color) ?? baseColor }
    }

    /// The accuracy probes and their mean (bits-per-byte probes have their own chart).
    public static func forgettingBars(_ model: ReportModel) -> GroupedBarChart {
        let probes = model.probes(in: .accuracy)
        let base = model.baseRow
        let values: [[Estimate?]] = model.variants.map { v in
            probes.map { p -> Estimate? in
                guard let b = base?.probeScores[p], let s = v.probeScores[p] else { return nil }
                return Estimate.difference(b, s)
            } + [v.forgetting]
        }
        return GroupedBarChart(title: "Forgetting (base − variant accuracy)", yTitle: "forgetting", categories: probes + ["probe mean"],
                               series: model.variants.map(\.label), values: values, colors: colors(model.variants.map(\.label), model))
    }

    /// Variant − base bits per byte on each bits-per-byte probe and their mean; nil without such probes.
    public static func bitsPerByteForgettingBars(_ model: ReportModel) -> GroupedBarChart? {
        let probes = model.probes(in: .bitsPerByte)
        guard !probes.isEmpty else { return nil }
        let base = model.baseRow
        let values: [[Estimate?]] = model.variants.map { v in
            probes.map { p -> Estimate? in
                // scores are −bits per byte: base − variant is the increase in bits per byte
                guard let b = base?.probeScores[p], let s = v.probeScores[p] else { return nil }
                return Estimate.difference(b, s)
            } + (probes.count > 1 ? [v.bitsPerByteForgetting] : [])
        }
        return GroupedBarChart(title: "Forgetting (variant − base bits per byte)", yTitle: "Δ bits/byte", categories: probes + (probes.count > 1 ? ["mean"] : []),
                               series: model.variants.map(\.label), values: values, colors: colors(model.variants.map(\.label), model))
    }

    public static func targetBars(_ model: ReportModel) -> GroupedBarChart {
        GroupedBarChart(title: "Target score per task", yTitle: "score", categories: model.targets,
                        series: model.rows.map(\.label), values: model.rows.map { r in model.targets.map { r.targetScores[$0] } },
                        colors: colors(model.rows.map(\.label), model))
    }

    /// One panel per variant: rank90 by layer, a line per module, the Gaussian reference dashed.
    public static func rankByLayer(_ model: ReportModel) -> [LineChart] {
        let variants = orderedVariants(model)
        return variants.compactMap { label in
            let entries = model.spectra.filter { $0.variant == label }
            var modules: [String] = []
            var points: [String: [(Double, Double)]] = [:], gauss: [String: [(Double, Double)]] = [:]
            for e in entries {
                let (layer, module) = SpectrumSummary.layerAndModule(e.tensor)
                guard let layer else { continue }
                if points[module] == nil { modules.append(module) }
                points[module, default: []].append((Double(layer), Double(e.rank90)))
                gauss[module, default: []].append((Double(layer), Double(e.gaussianRank90)))
            }
            guard !modules.isEmpty else { return nil }
            modules.sort()
            var series: [LineSeries] = []
            // Modules sharing a shape share a Gaussian reference: draw each distinct reference once.
            var drawnReferences: [[Double]] = []
            for (i, m) in modules.enumerated() {
                series.append(LineSeries(name: m, points: points[m]!.sorted { $0.0 < $1.0 }, colorIndex: i))
                let ref = gauss[m]!.sorted { $0.0 < $1.0 }
                let key = ref.map(\.1)
                if !drawnReferences.contains(key) {
                    series.append(LineSeries(name: "Gaussian reference (i.i.d., same shape)", points: ref, colorIndex: i, dashed: true,
                                             markers: false, inLegend: drawnReferences.isEmpty, color: "#888888"))
                    drawnReferences.append(key)
                }
            }
            return LineChart(title: label, xTitle: "layer", yTitle: "rank90 of Δ", series: series, showLegend: false)
        }
    }

    /// Up to four tensors (present for most variants; first and last layer of the first attention
    /// and MLP modules), one line per variant.
    public static func spectra(_ model: ReportModel, maxTensors: Int = 4) -> [LineChart] {
        let variants = orderedVariants(model)
        var counts: [String: Int] = [:]
        for e in model.spectra { counts[e.tensor, default: 0] += 1 }
        let names = counts.keys.sorted()
        let layered = names.compactMap { n -> (String, Int, String)? in
            let (l, m) = SpectrumSummary.layerAndModule(n)
            return l.map { (n, $0, m) }
        }
        var chosen: [String] = []
        if !layered.isEmpty {
            let layers = layered.map(\.1)
            let (first, last) = (layers.min()!, layers.max()!)
            let modules = Array(Set(layered.map(\.2))).sorted()
            let attention = modules.first { $0.contains("attn") || $0.contains("attention") }
            let mlp = modules.first { $0.contains("mlp") || $0.contains("ffn") || $0.contains("feed_forward") }
            for m in [attention, mlp].compactMap({ $0 }) {
                for l in [first, last] {
                    if let n = layered.first(where: { $0.1 == l && $0.2 == m })?.0, !chosen.contains(n) { chosen.append(n) }
                }
            }
        }
        if chosen.isEmpty { chosen = Array(names.sorted { counts[$0]! > counts[$1]! }.prefix(maxTensors)) }
        return chosen.prefix(maxTensors).map { tensor in
            let series = variants.enumerated().compactMap { i, v -> LineSeries? in
                guard let e = model.spectra.first(where: { $0.variant == v && $0.tensor == tensor }) else { return nil }
                return LineSeries(name: v, points: e.singularValues.enumerated().map { (Double($0.offset + 1), $0.element) },
                                  colorIndex: i, markers: false, color: colors([v], model)[0])
            }
            let short = tensor.hasSuffix(".weight") ? String(tensor.dropLast(7)) : tensor
            return LineChart(title: short, xTitle: "index i", yTitle: "σ_i", series: series, logY: true, showLegend: false)
        }
    }

    /// One legend for a grid of charts: every distinct entry once.
    static func sharedLegend(_ charts: [LineChart]) -> String {
        var entries: [(label: String, color: String, mark: Legend.Mark)] = []
        for c in charts {
            for e in c.legend.entries where !entries.contains(where: { $0.label == e.label }) { entries.append(e) }
        }
        return "<div class=\"fig\">" + Legend(entries: entries).render(width: 1300) + "</div>"
    }

    static func orderedVariants(_ model: ReportModel) -> [String] {
        let withSpectra = Set(model.spectra.map(\.variant))
        return model.variants.map(\.label).filter { withSpectra.contains($0) }
    }

    // MARK: tables

    static func findingsSection(_ report: FindingsReport) -> String {
        var out = "<h2>Findings</h2>\n<table class=\"findings\"><tr><th class=\"l\">claim</th><th class=\"l\">verdict</th><th class=\"l\">evidence</th></tr>\n"
        for f in report.findings {
            let cls = f.verdict == .supported ? "v-supported" : f.verdict == .contradicted ? "v-contradicted" : f.verdict == .inconclusive ? "v-inconclusive" : "v-unmeasurable"
            out += "<tr><td class=\"claim\">(\(SVG.escape(f.id))) \(SVG.escape(f.claim)) <span class=\"meta\">\(SVG.escape(f.source))</span></td>"
            out += "<td class=\"v \(cls)\">\(SVG.escape(f.verdict.rawValue))</td><td>\(SVG.escape(f.sentence))</td></tr>\n"
        }
        out += "</table>\n<ul class=\"note\">" + report.notes.map { "<li>\(SVG.escape($0))</li>" }.joined() + "</ul>\n"
        return out
    }

    static func summaryTable(_ model: ReportModel) -> String {
        let extra = SummaryTable.trainingColumns(model)
        var out = "<table><tr>" + (SummaryTable.header(model) + extra.header).enumerated().map { "<th class=\"\($0.offset < 2 || $0.offset == 7 ? "l" : "")\">\(SVG.escape($0.element))</th>" }.joined() + "</tr>\n"
        for r in model.rows {
            let cls = r.isBase ? "base" : (r.onFrontier ? "frontier" : "")
            out += "<tr class=\"\(cls)\">" + (SummaryTable.cells(r, model: model) + extra.cells(r)).enumerated().map {
                "<td class=\"\($0.offset < 2 || $0.offset == 7 ? "l" : "")\">\(SVG.escape($0.element))</td>"
            }.joined() + "</tr>\n"
        }
        return out + "</table>\n<p class=\"note\">\(SVG.escape(SummaryTable.probeLines(model).definition)). ± one standard error. Frontier rows in bold. Items per task: \(SVG.escape(model.itemCounts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))).</p>\n"
    }

    static func diversityTable(_ model: ReportModel) -> String {
        var out = "<table><tr>" + DiversityTable.header(model).enumerated().map { "<th class=\"\($0.offset == 0 ? "l" : "")\">\(SVG.escape($0.element))</th>" }.joined() + "</tr>\n"
        for r in model.rows {
            out += "<tr class=\"\(r.isBase ? "base" : "")\">" + DiversityTable.cells(r, model).enumerated().map {
                "<td class=\"\($0.offset == 0 ? "l" : "")\">\(SVG.escape($0.element))</td>"
            }.joined() + "</tr>\n"
        }
        return out + "</table>\n<p class=\"note\">\(SVG.escape(DiversityTable.note))</p>\n"
    }

    /// McNemar per accuracy probe and the bootstrap of their mean; the bits-per-byte probes'
    /// bootstrap (per-document bits per byte) in columns of its own.
    static func significanceTable(_ model: ReportModel) -> String {
        let accuracy = model.probes(in: .accuracy), bpb = !model.probes(in: .bitsPerByte).isEmpty
        var out = "<table><tr><th class=\"l\">variant</th>"
        for p in accuracy { out += "<th>\(SVG.escape(p)): b / c</th><th>McNemar p</th>" }
        out += "<th>Δ probe mean (bootstrap 95% CI)</th><th>bootstrap p</th>"
        if bpb { out += "<th>Δ bits/byte (bootstrap 95% CI)</th><th>bootstrap p</th>" }
        out += "</tr>\n"
        func cells(_ b: BootstrapResult?) -> String {
            guard let b else { return "<td>n/a</td><td>n/a</td>" }
            return String(format: "<td>%+.4f (%+.4f .. %+.4f)</td><td>%@</td>", b.difference, b.low, b.high, PValue.format(b.pValue))
        }
        for v in model.variants {
            out += "<tr><td class=\"l\">\(SVG.escape(v.label))</td>"
            for p in accuracy {
                if let m = v.mcnemar[p] { out += "<td>\(m.b) / \(m.c)</td><td>\(PValue.format(m.pValue))</td>" } else { out += "<td>n/a</td><td>n/a</td>" }
            }
            out += cells(v.bootstrap) + (bpb ? cells(v.bitsPerByteBootstrap) : "") + "</tr>\n"
        }
        out += "</table>\n<p class=\"note\">b: items the base answered correctly and the variant did not; c: the reverse. McNemar: exact two-sided binomial test of b against b + c. "
        out += "Bootstrap: \(model.bootstrapResamples) paired resamples of items within each probe (seeded), difference variant − base of the accuracy probe mean"
        out += bpb ? "; for the bits-per-byte probes of the mean per-document bits per byte (positive = forgotten).</p>\n" : ".</p>\n"
        return out
    }
}
