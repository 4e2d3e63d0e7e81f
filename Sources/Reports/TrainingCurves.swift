import Foundation

/// What the training curves are drawn against.
public enum TrainingAxis: String, Codable, Sendable, CaseIterable {
    case tokens, steps

    /// Tokens when every variant with a step also knows its tokens (Biderman et al. plot against
    /// tokens seen, which compares runs of different batch sizes), else steps.
    public static func preferred(_ rows: [VariantRow]) -> TrainingAxis {
        let stepped = rows.filter { !$0.isBase && $0.step != nil }
        return !stepped.isEmpty && stepped.allSatisfy { $0.tokens != nil } ? .tokens : .steps
    }

    public var title: String { self == .tokens ? "training tokens" : "training steps" }

    func value(_ r: VariantRow) -> Double? { (self == .tokens ? r.tokens : r.step).map(Double.init) }
}

/// Forgetting, learning and training loss against training tokens (or steps), one line per
/// run (or method and rank), as Biderman et al. 2024 figs. 3-4.
public enum TrainingCurves {
    /// The axis the report uses: the model's, else the preferred one.
    public static func axis(_ model: ReportModel) -> TrainingAxis { model.trainingAxis ?? .preferred(model.rows) }

    /// Training curves are drawn for checkpoints of training runs (`runs:` globs) or when an
    /// axis is asked for (`report --x-axis`); hand-listed variants keep the report they had.
    public static func shown(_ model: ReportModel) -> Bool {
        model.trainingAxis != nil || model.variants.contains { $0.run != nil }
    }

    /// Empty when not `shown` or no series has two points on the axis (nothing to draw a curve through).
    public static func charts(_ model: ReportModel) -> [LineChart] {
        guard shown(model) else { return [] }
        let axis = axis(model)
        var names: [String] = []
        var rows: [String: [VariantRow]] = [:]
        for r in model.variants where axis.value(r) != nil {
            let name = r.seriesLabel
            if rows[name] == nil { names.append(name) }
            rows[name, default: []].append(r)
        }
        guard names.contains(where: { rows[$0]!.count >= 2 }) else { return [] }
        func chart(_ title: String, _ yTitle: String, _ y: (VariantRow) -> Double?) -> LineChart? {
            let series = names.enumerated().compactMap { i, name -> LineSeries? in
                let points = rows[name]!.compactMap { r in y(r).map { (axis.value(r)!, $0) } }.sorted { $0.0 < $1.0 }
                return points.isEmpty ? nil : LineSeries(name: name, points: points, colorIndex: i)
            }
            return series.isEmpty ? nil : LineChart(title: title, xTitle: axis.title, yTitle: yTitle, series: series, integerX: false)
        }
        // Forgetting in each unit the experiment has, the headline one first (never a mix of units).
        let accuracy = chart("Forgetting (base − variant probe mean)", "forgetting", { $0.forgetting?.value })
        let bpb = model.probes(in: .bitsPerByte).isEmpty ? nil
            : chart("Forgetting (variant − base bits per byte)", "Δ bits/byte", { $0.bitsPerByteForgetting?.value })
        let forgetting = model.headlineUnit == .bitsPerByte ? [bpb, model.probes(in: .accuracy).isEmpty ? nil : accuracy] : [accuracy, bpb]
        return (forgetting + [chart("Learning (target score)", "learning", { $0.learning?.value }),
                              chart("Training loss (trainer_state.json)", "loss", { $0.trainingLoss })]).compactMap { $0 }
    }
}
