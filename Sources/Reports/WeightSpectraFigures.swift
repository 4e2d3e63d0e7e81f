import Foundation

/// The figures of Biderman et al. (2024) about the shape of the weight change.
public enum WeightSpectraFigures {
    /// One panel per chosen tensor of each series' final checkpoint: normalised singular values
    /// σ_i / σ_1 (log scale) of W_base, W_ft, Δ, W_base + G and G (G: Gaussian i.i.d. of Δ's shape
    /// and Frobenius norm).
    public static func spectra(_ model: ReportModel, maxPanels: Int = 12) -> [LineChart] {
        var finals: [String] = []
        var seen: [String: String] = [:]  // series -> last label (rows come in training order within a series)
        var order: [String] = []
        for r in model.variants {
            if seen[r.seriesLabel] == nil { order.append(r.seriesLabel) }
            if let prev = seen[r.seriesLabel], let a = model.variants.first(where: { $0.label == prev }), (a.step ?? 0) > (r.step ?? 0) { continue }
            seen[r.seriesLabel] = r.label
        }
        finals = order.compactMap { seen[$0] }
        var charts: [LineChart] = []
        for label in finals {
            for w in model.weightSpectra where w.variant == label {
                guard let delta = model.spectra.first(where: { $0.variant == label && $0.tensor == w.tensor })?.singularValues else { continue }
                func normalised(_ s: [Double]) -> [(Double, Double)] {
                    guard let s1 = s.first, s1 > 0 else { return [] }
                    return s.enumerated().map { (Double($0.offset + 1), $0.element / s1) }.filter { $0.1 > 1e-8 }
                }
                let series = [
                    LineSeries(name: "W_base", points: normalised(w.base), colorIndex: 0, markers: false, color: "#555555"),
                    LineSeries(name: "W_ft", points: normalised(w.finetuned), colorIndex: 0, markers: false, color: "#1f77b4"),
                    LineSeries(name: "Δ = W_ft − W_base", points: normalised(delta), colorIndex: 0, markers: false, color: "#d62728"),
                    LineSeries(name: "W_base + G", points: normalised(w.basePlusGaussian), colorIndex: 0, dashed: true, markers: false, color: "#2ca02c"),
                    LineSeries(name: "G (Gaussian, Δ's shape and ‖·‖_F)", points: normalised(w.gaussian), colorIndex: 0, dashed: true, markers: false, color: "#9467bd"),
                ]
                let short = w.tensor.hasSuffix(".weight") ? String(w.tensor.dropLast(7)) : w.tensor
                charts.append(LineChart(title: "\(label): \(short)", xTitle: "index i", yTitle: "σ_i / σ_1", series: series, logY: true, showLegend: false))
                if charts.count >= maxPanels { return charts }
            }
        }
        return charts
    }

    /// Mean rank90 of Δ (over the tensors each checkpoint changes) against training steps
    /// (or tokens), one line per series; empty unless some series has two points.
    public static func rankAlongTraining(_ model: ReportModel) -> LineChart? {
        let findings = Findings(model, resamples: 200)
        let axis = TrainingCurves.axis(model)
        var names: [String] = []
        var points: [String: [(Double, Double)]] = [:]
        for r in model.variants {
            guard let x = axis.value(r), let y = findings.meanRank90(r.label) else { continue }
            if points[r.seriesLabel] == nil { names.append(r.seriesLabel) }
            points[r.seriesLabel, default: []].append((x, y))
        }
        guard names.contains(where: { points[$0]!.count >= 2 }) else { return nil }
        let series = names.enumerated().map { LineSeries(name: $0.element, points: points[$0.element]!.sorted { $0.0 < $1.0 }, colorIndex: $0.offset) }
        return LineChart(title: "rank90 of Δ along training", xTitle: axis.title, yTitle: "mean rank90 of Δ", series: series, integerX: false)
    }
}
