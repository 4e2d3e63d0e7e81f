import Foundation
import Reports
import TestSupport
import XCTest

/// The findings generator on synthetic report models whose truth is planted: per-item probe
/// scores are built so that each checkpoint forgets exactly the items we say.
final class FindingsTests: XCTestCase {
    static let items = 400

    /// Base right on 90% of the fact items (i % 10 != 0) and at chance (25%) on a 4-choice probe.
    static func baseItems(_ n: Int = items) -> (facts: [Int: Double], mc: [Int: Double]) {
        (Dictionary(uniqueKeysWithValues: (0..<n).map { ($0, $0 % 10 == 0 ? 0.0 : 1.0) }),
         Dictionary(uniqueKeysWithValues: (0..<n).map { ($0, $0 % 4 == 0 ? 1.0 : 0.0) }))
    }

    static func estimate(_ items: [Int: Double]) -> Estimate {
        let v = Array(items.values), n = Double(v.count)
        let p = v.reduce(0, +) / n
        return Estimate(p, stderr: (p * (1 - p) / max(1, n - 1)).squareRoot())
    }

    /// A checkpoint that forgets `forgotten` of the base's right fact items (the first ones).
    static func row(_ label: String, method: String, rank: Int? = nil, step: Int?, run: String?, learning: Double,
                    forgotten: Int, n: Int = items) -> VariantRow {
        var (facts, mc) = baseItems(n)
        var left = forgotten
        for i in 0..<n where left > 0 && facts[i] == 1 { facts[i] = 0; left -= 1 }
        mc[1] = 1  // noise on the chance probe
        var r = VariantRow(label: label, method: method, rank: rank, step: step, isBase: false,
                           learning: Estimate(learning, stderr: 0.005), probeMean: nil, forgetting: nil,
                           probeScores: ["facts": estimate(facts), "hellaswag": estimate(mc)])
        r.run = run
        r.probeItems = ItemScores(["facts": facts, "hellaswag": mc])
        return r
    }

    static func model(_ variants: [VariantRow], n: Int = items, bpb: Bool = false) -> ReportModel {
        let (facts, mc) = baseItems(n)
        var base = VariantRow(label: "base", method: "base", isBase: true, learning: Estimate(0.3, stderr: 0.005), probeMean: nil, forgetting: nil,
                              probeScores: ["facts": estimate(facts), "hellaswag": estimate(mc)])
        base.probeItems = ItemScores(["facts": facts, "hellaswag": mc])
        var m = ReportModel(name: "synthetic", base: "b", generated: "now", toolVersion: "test", targets: ["arith"],
                            targetMetrics: ["arith": bpb ? "-bits_per_byte" : "acc"], probes: ["facts", "hellaswag"],
                            itemCounts: ["facts": n, "hellaswag": n], fewshot: 0, rows: [base] + variants, spectra: [],
                            bootstrapResamples: 2000)
        m.probeChance = ["facts": 0.25, "hellaswag": 0.25]
        return m
    }

    /// Full fine-tuning forgets 10 then 20 points; LoRA 1 then 2; at step 1 full and LoRA's step 2 learn alike.
    static var planted: [VariantRow] {
        [row("full-s1", method: "full", step: 1, run: "full", learning: 0.55, forgotten: 40),
         row("full-s2", method: "full", step: 2, run: "full", learning: 0.70, forgotten: 80),
         row("lora-s1", method: "lora", rank: 16, step: 1, run: "lora-r16", learning: 0.50, forgotten: 4),
         row("lora-s2", method: "lora", rank: 16, step: 2, run: "lora-r16", learning: 0.56, forgotten: 8)]
    }

    func row(_ label: String, method: String, rank: Int? = nil, step: Int?, run: String?, learning: Double, forgotten: Int, n: Int = FindingsTests.items) -> VariantRow {
        Self.row(label, method: method, rank: rank, step: step, run: run, learning: learning, forgotten: forgotten, n: n)
    }

    func find(_ r: FindingsReport, _ id: String) -> Finding { r.findings.first { $0.id == id }! }

    func testPlantedEffectIsSupportedWithItsNumbers() {
        let r = Findings.generate(Self.model(Self.planted))
        XCTAssertEqual(r.findings.map(\.id), ["a", "b", "c", "d", "e", "f", "g", "h", "i"])
        XCTAssertEqual(find(r, "a").verdict, .supported, find(r, "a").sentence)
        XCTAssertEqual(find(r, "b").verdict, .supported, find(r, "b").sentence)
        let c = find(r, "c")
        XCTAssertEqual(c.verdict, .supported, c.sentence)
        // matched pair: full-s1 (0.550) and lora-s2 (0.560); forgetting 40/400 = 10.0 and 8/400 = 2.0 points
        XCTAssertTrue(c.sentence.contains("lora-s2 forgot 2.0 points"), c.sentence)
        XCTAssertTrue(c.sentence.contains("full-s1 10.0 points"), c.sentence)
        XCTAssertTrue(c.sentence.contains("full − LoRA forgetting 8.0 points"), c.sentence)
        XCTAssertEqual(find(r, "e").verdict, .supported, find(r, "e").sentence)
        XCTAssertTrue(find(r, "e").sentence.contains("full 10.0 → 20.0 points"), find(r, "e").sentence)
        // the 4-choice probe at 25% is at chance on the base: left out, and said so
        XCTAssertTrue(r.notes.contains { $0.contains("At chance on the base") && $0.contains("hellaswag") }, "\(r.notes)")
        XCTAssertEqual(Findings(Self.model(Self.planted)).countingProbes, ["facts"])
        // nothing measured for these
        for id in ["d", "f", "g", "h", "i"] { XCTAssertEqual(find(r, id).verdict, .notMeasurable, id) }
        XCTAssertTrue(find(r, "h").sentence.contains("not measured"))
        XCTAssertTrue(find(r, "f").sentence.contains("No spectra"))
    }

    /// With per-document target scores, learning differences get a paired bootstrap over the
    /// documents (bits per byte: ratio of sums, as the task aggregates).
    func testLearningDifferenceBootstrapsTargetDocuments() {
        var rows = Self.planted
        for i in rows.indices {
            let right = Int((rows[i].learning!.value * 100).rounded())
            rows[i].targetItems["arith"] = Dictionary(uniqueKeysWithValues: (0..<100).map { ($0, (value: $0 < right ? 1.0 : 0.0, weight: 1.0)) })
        }
        let a = find(Findings.generate(Self.model(rows)), "a")
        XCTAssertEqual(a.verdict, .supported, a.sentence)
        XCTAssertTrue(a.sentence.contains("difference +0.140 (95% CI") && a.sentence.contains("paired bootstrap over target documents"), a.sentence)
        // weighted items: learning = Σ value / Σ weight per row
        var x = Self.planted[1], y = Self.planted[3]
        x.targetItems["arith"] = [0: (-10, 5), 1: (-30, 5)]  // -4.0
        y.targetItems["arith"] = [0: (-20, 5), 1: (-30, 5)]  // -5.0
        let b = Findings(Self.model([x, y])).learningDifference([x], [y])!
        XCTAssertEqual(b.difference, 1.0, accuracy: 1e-12)
    }

    /// Only a bits-per-byte probe above chance: forgetting is its increase, in bits per byte.
    func testBitsPerByteProbeForgetting() {
        func rolling(_ r: VariantRow, shift: Double) -> VariantRow {
            var r = r
            let items = Dictionary(uniqueKeysWithValues: (0..<100).map { ($0, -1.0 - Double($0 % 7) * 0.01 - shift) })
            r.probeItems["roll"] = items
            r.probeScores["roll"] = Estimate(items.values.reduce(0, +) / 100, stderr: 0.002)
            return r
        }
        var m = Self.model([rolling(Self.planted[1], shift: 0.2), rolling(Self.planted[3], shift: 0.02)])
        m.rows[0] = rolling(m.rows[0], shift: 0)
        m.probes = ["hellaswag", "roll"]
        m.probeMetrics = ["hellaswag": "acc", "roll": "-bits_per_byte"]
        let f = Findings(m)
        XCTAssertEqual(f.forgettingProbes, ["roll"])
        XCTAssertTrue(f.bitsPerByte)
        XCTAssertEqual(f.forgetting(m.rows[1])!.value, 0.2, accuracy: 1e-9)
        let r = f.report()
        XCTAssertEqual(find(r, "b").verdict, .supported, find(r, "b").sentence)
        XCTAssertTrue(find(r, "b").sentence.contains("0.200 ± ") && find(r, "b").sentence.contains("bits per byte"), find(r, "b").sentence)
    }

    func testOppositeEffectIsContradicted() {
        let rows = [row("full-s1", method: "full", step: 1, run: "full", learning: 0.55, forgotten: 4),
                    row("full-s2", method: "full", step: 2, run: "full", learning: 0.45, forgotten: 2),
                    row("lora-s1", method: "lora", rank: 16, step: 1, run: "lora", learning: 0.50, forgotten: 40),
                    row("lora-s2", method: "lora", rank: 16, step: 2, run: "lora", learning: 0.56, forgotten: 60)]
        let r = Findings.generate(Self.model(rows))
        XCTAssertEqual(find(r, "a").verdict, .contradicted, find(r, "a").sentence)
        XCTAssertEqual(find(r, "b").verdict, .contradicted, find(r, "b").sentence)
        XCTAssertEqual(find(r, "c").verdict, .contradicted, find(r, "c").sentence)
    }

    func testNoEffectIsInconclusive() {
        let rows = [row("full", method: "full", step: 1, run: "full", learning: 0.55, forgotten: 20),
                    row("lora", method: "lora", rank: 8, step: 1, run: "lora", learning: 0.55, forgotten: 20)]
        let r = Findings.generate(Self.model(rows))
        for id in ["a", "b", "c"] { XCTAssertEqual(find(r, id).verdict, .inconclusive, "\(id): \(find(r, id).sentence)") }
        XCTAssertEqual(Verdict.inconclusive.rawValue, "no clear effect")
    }

    func testTooFewItemsOrMissingMethodsAreNotMeasurable() {
        let few = Findings.generate(Self.model([row("full", method: "full", step: 1, run: "full", learning: 0.55, forgotten: 1, n: 12),
                                                row("lora", method: "lora", rank: 8, step: 1, run: "lora", learning: 0.55, forgotten: 0, n: 12)], n: 12))
        XCTAssertEqual(find(few, "c").verdict, .notMeasurable)
        let onlyFull = Findings.generate(Self.model([row("full", method: "full", step: 1, run: "full", learning: 0.55, forgotten: 10)]))
        for id in ["a", "b", "c", "d", "i"] { XCTAssertEqual(find(onlyFull, id).verdict, .notMeasurable, id) }
        XCTAssertEqual(find(onlyFull, "e").verdict, .notMeasurable)  // one checkpoint: nothing along training
        // every probe at chance: forgetting claims are not measurable, with the reason
        var atChance = Self.model(Self.planted)
        atChance.probeChance["facts"] = 0.95
        let r = Findings.generate(atChance)
        for id in ["b", "c", "d", "e"] {
            XCTAssertEqual(find(r, id).verdict, .notMeasurable, id)
            XCTAssertTrue(find(r, id).sentence.contains("at chance"), find(r, id).sentence)
        }
        XCTAssertEqual(find(r, "a").verdict, .supported)  // learning does not need the probes
    }

    func testMatchedLearningToleranceFollowsTheTargetMetric() {
        XCTAssertEqual(Findings(Self.model([], bpb: true)).learningTolerance, 0.05)
        XCTAssertEqual(Findings(Self.model([])).learningTolerance, 0.03)
        // no pair within 0.03: not measurable, saying the ranges
        let rows = [row("full", method: "full", step: 1, run: "full", learning: 0.70, forgotten: 20),
                    row("lora", method: "lora", rank: 8, step: 1, run: "lora", learning: 0.50, forgotten: 2)]
        let c = find(Findings.generate(Self.model(rows)), "c")
        XCTAssertEqual(c.verdict, .notMeasurable)
        XCTAssertTrue(c.sentence.contains("within 0.03"), c.sentence)
    }

    func testLowerRanksForgetLess() {
        let rows = [row("r4", method: "lora", rank: 4, step: 1, run: "lora-r4", learning: 0.40, forgotten: 2),
                    row("r16", method: "lora", rank: 16, step: 1, run: "lora-r16", learning: 0.45, forgotten: 12),
                    row("r64", method: "lora", rank: 64, step: 1, run: "lora-r64", learning: 0.50, forgotten: 40)]
        let d = find(Findings.generate(Self.model(rows)), "d")
        XCTAssertEqual(d.verdict, .supported, d.sentence)
        XCTAssertTrue(d.sentence.contains("r=4 forgot 0.5 points") && d.sentence.contains("r=64 forgot 10.0 points") && d.sentence.contains("learning rises"), d.sentence)
        let reversed = [row("r4", method: "lora", rank: 4, step: 1, run: "lora-r4", learning: 0.40, forgotten: 40),
                        row("r64", method: "lora", rank: 64, step: 1, run: "lora-r64", learning: 0.50, forgotten: 2)]
        XCTAssertEqual(find(Findings.generate(Self.model(reversed)), "d").verdict, .contradicted)
    }

    func testQLoRAMatchingLoRA() {
        var q = row("q16", method: "qlora", rank: 16, step: 1, run: "qlora-r16", learning: 0.50, forgotten: 8)
        let l = row("l16", method: "lora", rank: 16, step: 1, run: "lora-r16", learning: 0.51, forgotten: 8)
        XCTAssertEqual(find(Findings.generate(Self.model([q, l])), "i").verdict, .supported)
        q = row("q16", method: "qlora", rank: 16, step: 1, run: "qlora-r16", learning: 0.50, forgotten: 60)
        XCTAssertEqual(find(Findings.generate(Self.model([q, l])), "i").verdict, .contradicted)
    }

    func testRankOfChangeAndSpectrumShape() {
        var m = Self.model(Self.planted)
        let decaying = (1...32).map { 1.0 / Double($0) }, flat = (1...32).map { 1.0 - Double($0) / 40 }
        for (label, r90) in [("full-s1", 12), ("full-s2", 18), ("lora-s1", 3), ("lora-s2", 4)] {
            m.spectra.append(SpectrumSummary(variant: label, tensor: "model.layers.1.self_attn.q_proj.weight", rank90: r90, gaussianRank90: 20,
                                             singularValues: label.hasPrefix("full") ? decaying.map { $0 * 0.05 } : [0.1, 0.05, 0.01, 0.001]))
        }
        m.weightSpectra = [WeightSpectrumSummary(variant: "full-s2", tensor: "model.layers.1.self_attn.q_proj.weight",
                                                 base: decaying, finetuned: decaying, gaussian: flat, basePlusGaussian: decaying)]
        var r = Findings.generate(m)
        XCTAssertEqual(find(r, "f").verdict, .supported, find(r, "f").sentence)
        XCTAssertTrue(find(r, "f").sentence.contains("full 12.0 → 18.0"), find(r, "f").sentence)
        XCTAssertEqual(find(r, "g").verdict, .supported, find(r, "g").sentence)
        XCTAssertEqual(Findings.spectrumDistance(decaying, decaying.map { $0 * 3 })!, 0, accuracy: 1e-12)  // scale does not count
        // Delta shaped like the Gaussian: contradicted
        m.weightSpectra[0].gaussian = decaying
        m.weightSpectra[0].base = flat
        r = Findings.generate(m)
        XCTAssertEqual(find(r, "g").verdict, .contradicted, find(r, "g").sentence)
        // full's rank no higher than LoRA's: contradicted
        for i in m.spectra.indices where m.spectra[i].variant.hasPrefix("full") { m.spectra[i].rank90 = 2 }
        XCTAssertEqual(find(Findings.generate(m), "f").verdict, .contradicted)
    }

    func testDiversityComparedWhenMeasured() {
        var rows = Self.planted
        for i in rows.indices { rows[i].diversity["gen distinct_2"] = Estimate(rows[i].method == "lora" ? 0.8 : 0.5, stderr: 0.02) }
        var m = Self.model(rows)
        m.diversityColumns = ["gen distinct_2"]
        let h = find(Findings.generate(m), "h")
        XCTAssertEqual(h.verdict, .supported, h.sentence)
    }

    func testSeriesLabelPrefersRunThenSeriesThenMethodAndRank() {
        var r = VariantRow(label: "x", method: "lora", rank: 8, isBase: false, learning: nil, probeMean: nil, forgetting: nil)
        XCTAssertEqual(r.seriesLabel, "lora r=8")
        r.series = "lora-wd"
        XCTAssertEqual(r.seriesLabel, "lora-wd")
        r.run = "run-a"
        XCTAssertEqual(r.seriesLabel, "run-a")
        // per-item scores stay out of the JSON form
        let json = String(data: try! JSONEncoder().encode(Self.row("a", method: "full", step: 1, run: nil, learning: 0.5, forgotten: 3)), encoding: .utf8)!
        XCTAssertFalse(json.contains("byProbe"), json)
    }

    func testSpearmanAndBootstrapAgainstScipyReference() throws {
        let doc = try Fixtures.json(Fixtures.reference("weight_spectra").appendingPathComponent("reference.json")) as! [String: Any]
        let s = doc["spearman"] as! [String: Any]
        let x = s["x"] as! [Double], y = s["y"] as! [Double]
        XCTAssertEqual(Spearman.rho(x, y)!, s["rho"] as! Double, accuracy: 1e-12)
        let b = Spearman.bootstrap(x, y, resamples: s["resamples"] as! Int, seed: UInt64(s["seed"] as! Int))!
        XCTAssertEqual(b.resamples - b.undefined, s["defined"] as! Int)
        XCTAssertEqual(b.low, s["low"] as! Double, accuracy: 1e-12)
        XCTAssertEqual(b.high, s["high"] as! Double, accuracy: 1e-12)
        // by hand: ties share their mean rank; a constant variable has no rho
        XCTAssertEqual(Spearman.ranks([10, 20, 10, 30]), [1.5, 3, 1.5, 4])
        XCTAssertEqual(Spearman.rho([1, 2, 3], [3, 2, 1])!, -1, accuracy: 1e-15)
        XCTAssertNil(Spearman.rho([1, 1, 1], [1, 2, 3]))
    }

    func testSpectralForgettingScatterAndParetoJSON() throws {
        var rows = Self.planted
        rows.append(Self.row("lora-r64", method: "lora", rank: 64, step: 1, run: "lora-r64", learning: 0.6, forgotten: 20))
        var m = Self.model(rows)
        // rank90 ordered as forgetting (full-s2 > full-s1 > lora-r64 > lora-s2 > lora-s1): rho = 1
        for (label, r90) in [("full-s1", 30), ("full-s2", 40), ("lora-s1", 2), ("lora-s2", 3), ("lora-r64", 10)] {
            m.spectra.append(SpectrumSummary(variant: label, tensor: "t", rank90: r90, gaussianRank90: 20, singularValues: [3, 4].map(Double.init)))
        }
        let sf = try XCTUnwrap(SpectralForgetting.compute(m))
        let rank = sf.summaries.first { $0.name == "rank90" }!
        XCTAssertEqual(rank.points.count, 5)
        XCTAssertEqual(rank.spearman!.rho, 1, accuracy: 1e-12)
        let frob = sf.summaries.first { $0.name == "frobenius_norm" }!
        XCTAssertEqual(frob.points[0].value, 5, accuracy: 1e-12)  // sqrt(3^2 + 4^2)
        XCTAssertNil(frob.spearman)  // every variant has the same norm: rho undefined
        let stable = sf.summaries.first { $0.name == "stable_rank" }!
        XCTAssertEqual(stable.points[0].value, 25.0 / 9.0, accuracy: 1e-12)
        let json = String(data: try FrontierExport(model: m, objectives: [Objective("learning", .max)]).json(), encoding: .utf8)!
        XCTAssertTrue(json.contains("\"spectralForgetting\""), json)
        XCTAssertTrue(json.contains("\"rank90\""))
    }

    func testFindingsLeadTheHTMLAndMarkdownAndAreEscaped() {
        var rows = Self.planted
        rows[0].label = "<script>alert(1)</script>"
        let m = Self.model(rows)
        let html = HTMLReport.render(m)
        let findings = html.range(of: "<h2>Findings</h2>")!, tradeoff = html.range(of: "<h2>Learning–forgetting tradeoff</h2>")!
        XCTAssertLessThan(findings.lowerBound, tradeoff.lowerBound)
        XCTAssertFalse(html.contains("<script>"))
        XCTAssertTrue(html.contains("&lt;script&gt;"))
        let md = SummaryTable.markdown(m)
        XCTAssertTrue(md.contains("## Findings\n\n- **(a) Full fine-tuning learns more than LoRA**"), md)
        XCTAssertLessThan(md.range(of: "## Findings")!.lowerBound, md.range(of: "| label |")!.lowerBound)
    }
}
