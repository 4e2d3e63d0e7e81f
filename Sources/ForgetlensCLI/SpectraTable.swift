import Foundation
import Spectra

/// The terminal view of a spectra report: one row per tensor, grouped by layer, with the
/// Gaussian reference next to rank90 so "low rank" can be read at a glance.
enum SpectraTable {
    /// Splits "model.layers.3.self_attn.q_proj.weight" into ("3", "self_attn.q_proj").
    static func layerAndModule(_ name: String) -> (layer: Int?, module: String) {
        var parts = name.split(separator: ".").map(String.init)
        if parts.last == "weight" { parts.removeLast() }
        for (i, part) in parts.enumerated() {
            if let layer = Int(part), i > 0, ["layers", "h", "layer", "blocks"].contains(parts[i - 1]) {
                return (layer, parts[(i + 1)...].joined(separator: "."))
            }
        }
        return (nil, parts.joined(separator: "."))
    }

    static func number(_ x: Double?, _ digits: Int = 3) -> String {
        guard let x else { return "-" }
        if x == 0 { return "0" }
        if abs(x) >= 1e4 || abs(x) < 1e-3 { return String(format: "%.\(digits)e", x) }
        return String(format: "%.\(digits)g", x)
    }

    static func render(_ report: SpectraReport) -> String {
        let sorted = report.tensors.enumerated().sorted { a, b in
            let la = layerAndModule(a.element.name), lb = layerAndModule(b.element.name)
            return (la.layer ?? -1, a.offset) < (lb.layer ?? -1, b.offset)
        }.map(\.element)
        let pct = Int((report.variance * 100).rounded())
        var table = TextTable(header: ["layer", "module", "kind", "shape", "rank\(pct)", "gauss\(pct)", "stable", "eff.rank",
                                       "||D||_F", "||D||_2", "rel.change"],
                              numeric: [4, 5, 6, 7, 8, 9, 10])
        for t in sorted {
            let (layer, module) = layerAndModule(t.name)
            table.rows.append([layer.map(String.init) ?? "-", module, t.kind.rawValue,
                               t.shape.map(String.init).joined(separator: "x"),
                               String(t.rank90), String(t.gaussianRank90), number(t.stableRank), number(t.effectiveRank),
                               number(t.frobeniusNorm), number(t.spectralNorm), number(t.relativeChange)])
        }
        let against = report.finetuned ?? report.adapter ?? ""
        var out = "Spectra of \(against) against \(report.base) (\(report.tensors.count) tensors, \(report.svdMethod.rawValue))\n"
        out += table.render()
        return out
    }
}
