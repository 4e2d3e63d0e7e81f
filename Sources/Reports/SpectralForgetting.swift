import Foundation

/// Does the weight change predict forgetting? (the open question of Biderman et al. 2024):
/// each variant's forgetting against a spectral summary of its Delta, with Spearman's rho and a
/// bootstrap interval over variants.
public struct SpectralForgetting: Codable, Sendable {
    public struct Point: Codable, Sendable {
        public var label: String
        public var series: String
        public var forgetting: Double
        public var value: Double
    }
    public struct Summary: Codable, Sendable {
        /// "rank90" (mean over the variant's changed tensors), "frobenius_norm" (sqrt of the sum
        /// over tensors of ||Delta||_F^2: the whole change's norm), "stable_rank" (mean over tensors).
        public var name: String
        public var points: [Point]
        /// nil with fewer than `minimumVariants` points or a constant variable.
        public var spearman: Spearman.Interval?
    }
    /// Forgetting as the findings define it (accuracy in points / 100, or bits per byte).
    public var forgetting: String
    public var bitsPerByte = false
    public var summaries: [Summary]
    public static let minimumVariants = 4

    public static func compute(_ model: ReportModel, resamples: Int = 2000, seed: UInt64 = 20240605) -> SpectralForgetting? {
        let findings = Findings(model, resamples: 200)
        let labels = Set(model.spectra.map(\.variant))
        let rows = model.variants.filter { labels.contains($0.label) && ["full", "lora", "qlora"].contains($0.method) }
        var rank90: [Point] = [], frob: [Point] = [], stable: [Point] = []
        for r in rows {
            guard let f = findings.forgetting(r)?.value else { continue }
            let entries = model.spectra.filter { $0.variant == r.label }
            var squares = 0.0, stableSum = 0.0
            for e in entries {
                let s2 = e.singularValues.reduce(0) { $0 + $1 * $1 }
                squares += s2
                if let s1 = e.singularValues.first, s1 > 0 { stableSum += s2 / (s1 * s1) }
            }
            let n = Double(entries.count)
            rank90.append(Point(label: r.label, series: r.seriesLabel, forgetting: f, value: Double(entries.reduce(0) { $0 + $1.rank90 }) / n))
            frob.append(Point(label: r.label, series: r.seriesLabel, forgetting: f, value: squares.squareRoot()))
            stable.append(Point(label: r.label, series: r.seriesLabel, forgetting: f, value: stableSum / n))
        }
        guard !rank90.isEmpty else { return nil }
        func summary(_ name: String, _ pts: [Point]) -> Summary {
            let rho = pts.count >= minimumVariants
                ? Spearman.bootstrap(pts.map(\.value), pts.map(\.forgetting), resamples: resamples, seed: seed) : nil
            return Summary(name: name, points: pts, spearman: rho)
        }
        var out = SpectralForgetting(forgetting: findings.bitsPerByte ? "variant − base bits per byte over \(findings.forgettingProbes.joined(separator: ", "))"
                                         : "base − variant accuracy over \(findings.forgettingProbes.joined(separator: ", ")), in points",
                                     summaries: [summary("rank90", rank90), summary("frobenius_norm", frob), summary("stable_rank", stable)])
        out.bitsPerByte = findings.bitsPerByte
        return out
    }

    /// "rank90: rho = 0.71 (95% CI 0.20..0.95, 12 variants)".
    public static func describe(_ s: Summary) -> String {
        guard let r = s.spearman else {
            return "\(s.name): Spearman's rho not computed (\(s.points.count) variants; needs \(minimumVariants) with distinct values)"
        }
        return "\(s.name): Spearman's rho = \(String(format: "%.2f", r.rho)) (95% bootstrap CI \(String(format: "%.2f", r.low))..\(String(format: "%.2f", r.high)), \(s.points.count) variants)"
    }

    /// One scatter per summary; colours by series.
    public func charts() -> [LineChart] {
        summaries.map { s in
            var names: [String] = []
            for p in s.points where !names.contains(p.series) { names.append(p.series) }
            let series = names.enumerated().map { i, n in
                LineSeries(name: n, points: s.points.filter { $0.series == n }.map { ($0.value, bitsPerByte ? $0.forgetting : $0.forgetting * 100) }, colorIndex: i, connected: false)
            }
            let title = s.name == "frobenius_norm" ? "‖Δ‖_F (all tensors)" : s.name == "rank90" ? "mean rank90 of Δ" : "mean stable rank of Δ"
            let rho = s.spearman.map { String(format: "ρ = %.2f [%.2f, %.2f]", $0.rho, $0.low, $0.high) } ?? "ρ: too few variants"
            return LineChart(title: "Forgetting vs \(title) · \(rho)", xTitle: title, yTitle: bitsPerByte ? "forgetting (bits per byte)" : "forgetting (points)", series: series,
                             integerX: false, showLegend: false)
        }
    }
}
