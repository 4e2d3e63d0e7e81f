import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Reports
import XCTest

final class ParetoTests: XCTestCase {
    let maxMin: [Objective.Direction] = [.max, .min]

    func testDominatedPointsAreDropped() {
        // (learning, forgetting): c is dominated by a (less learning, more forgetting).
        let points: [[Double]] = [[0.8, 0.10], [0.6, 0.02], [0.5, 0.12], [0.9, 0.30]]
        XCTAssertEqual(Pareto.frontier(points, directions: maxMin), [0, 1, 3])
    }

    func testTiesOnOneObjective() {
        // Same learning: the one that forgets less dominates; same forgetting: more learning dominates.
        XCTAssertEqual(Pareto.frontier([[0.7, 0.1], [0.7, 0.2]], directions: maxMin), [0])
        XCTAssertEqual(Pareto.frontier([[0.6, 0.1], [0.7, 0.1]], directions: maxMin), [1])
    }

    func testDuplicatesStayTogether() {
        XCTAssertEqual(Pareto.frontier([[0.7, 0.1], [0.7, 0.1], [0.5, 0.3]], directions: maxMin), [0, 1])
    }

    func testNaNNeverOnFrontierAndNeverDominates() {
        XCTAssertEqual(Pareto.frontier([[.nan, 0.0], [0.1, 0.5]], directions: maxMin), [1])
    }

    func testSinglePointAndEmpty() {
        XCTAssertEqual(Pareto.frontier([[0.1, 0.2]], directions: maxMin), [0])
        XCTAssertEqual(Pareto.frontier([], directions: maxMin), [])
    }

    func testObjectiveParsing() throws {
        XCTAssertEqual(try Objective.parseList("learning:max,forgetting:min"), [Objective("learning", .max), Objective("forgetting", .min)])
        XCTAssertThrowsError(try Objective.parseList("learning:up"))
        XCTAssertThrowsError(try Objective.parseList("learning"))
    }
}

final class SignificanceTests: XCTestCase {
    func testMcNemarExactAgainstScipy() {
        // python3 -c "from scipy.stats import binomtest; print(binomtest(b, b + c, 0.5).pvalue)"  (scipy 1.x, alternative='two-sided')
        let cases: [(Int, Int, Double)] = [
            (3, 10, 0.09228515625), (0, 5, 0.0625), (7, 7, 1.0), (12, 30, 0.007915897334896727),
            (1, 0, 1.0), (50, 70, 0.08240747932752648), (2, 9, 0.0654296875),
        ]
        for (b, c, p) in cases {
            XCTAssertEqual(McNemar.exactPValue(b: b, c: c), p, accuracy: 1e-12 + p * 1e-9, "b=\(b) c=\(c)")
            XCTAssertEqual(McNemar.exactPValue(b: c, c: b), p, accuracy: 1e-12 + p * 1e-9, "symmetric b=\(c) c=\(b)")
        }
        XCTAssertEqual(McNemar.exactPValue(b: 0, c: 0), 1)
    }

    func testDiscordantCounts() {
        let (b, c) = McNemar.discordant(base: [1, 1, 0, 0, 1], variant: [0, 1, 1, 0, 0])
        XCTAssertEqual(b, 2)
        XCTAssertEqual(c, 1)
    }

    func testBootstrapIsDeterministic() throws {
        var rng = SplitMix64(seed: 7)
        let groups: [(base: [Double], variant: [Double])] = (0..<3).map { _ in
            let base = (0..<60).map { _ in Double(rng.below(2)) }
            let variant = base.map { x in rng.below(5) == 0 ? 1 - x : x }
            return (base, variant)
        }
        let a = try XCTUnwrap(PairedBootstrap.meanDifference(groups: groups, resamples: 2000, seed: 42))
        let b = try XCTUnwrap(PairedBootstrap.meanDifference(groups: groups, resamples: 2000, seed: 42))
        XCTAssertEqual(a, b)
        let c = try XCTUnwrap(PairedBootstrap.meanDifference(groups: groups, resamples: 2000, seed: 43))
        XCTAssertNotEqual(a.low, c.low)
        XCTAssertEqual(a.difference, c.difference)  // the observed difference does not depend on the seed
        XCTAssertLessThanOrEqual(a.low, a.difference)
        XCTAssertGreaterThanOrEqual(a.high, a.difference)
    }

    func testBootstrapOfIdenticalScoresIsNull() throws {
        let g: [(base: [Double], variant: [Double])] = [([1, 0, 1, 1], [1, 0, 1, 1])]
        let r = try XCTUnwrap(PairedBootstrap.meanDifference(groups: g, resamples: 500, seed: 1))
        XCTAssertEqual(r.difference, 0)
        XCTAssertEqual(r.pValue, 1)
        XCTAssertEqual(r.stderr, 0)
    }

    func testBootstrapDetectsAConsistentDrop() throws {
        let base = [Double](repeating: 1, count: 100), variant = (0..<100).map { $0 < 30 ? 0.0 : 1.0 }
        let r = try XCTUnwrap(PairedBootstrap.meanDifference(groups: [(base, variant)], resamples: 1000, seed: 3))
        XCTAssertEqual(r.difference, -0.3, accuracy: 1e-12)
        XCTAssertLessThan(r.pValue, 0.01)
    }

    func testStandardErrorOfMeanOfMeans() throws {
        let m = try XCTUnwrap(Estimate.meanOfMeans([Estimate(0.5, stderr: 0.03), Estimate(0.7, stderr: 0.04)]))
        XCTAssertEqual(m.value, 0.6, accuracy: 1e-12)
        XCTAssertEqual(m.stderr!, 0.05 / 2, accuracy: 1e-12)  // sqrt(0.03^2 + 0.04^2) / 2
        XCTAssertNil(Estimate.meanOfMeans([Estimate(0.5, stderr: nil), Estimate(0.7, stderr: 0.04)])!.stderr)
        XCTAssertEqual(Estimate.difference(Estimate(0.5, stderr: 0.03), Estimate(0.4, stderr: 0.04)).stderr!, 0.05, accuracy: 1e-12)
    }
}

final class RenderingTests: XCTestCase {
    /// A model with awkward labels (markup characters), a missing score and negative forgetting.
    static func sampleModel() -> ReportModel {
        var rows = [VariantRow(label: "base", method: "base", isBase: true, learning: Estimate(0.2, stderr: 0.02),
                               probeMean: Estimate(0.5, stderr: 0.01), forgetting: Estimate(0, stderr: 0),
                               targetScores: ["arith": Estimate(0.2, stderr: 0.02)], probeScores: ["hs": Estimate(0.5, stderr: 0.01)])]
        for (i, step) in [100, 200, 300].enumerated() {
            for (method, rank) in [("full", nil), ("lora", 8)] as [(String, Int?)] {
                let learning = 0.3 + 0.1 * Double(i) + (rank == nil ? 0.05 : 0)
                let probe = 0.48 - 0.02 * Double(i) - (rank == nil ? 0.03 : 0)
                var r = VariantRow(label: "\(method)<&>\"s\(step)", method: method, rank: rank, step: step, isBase: false,
                                   learning: Estimate(learning, stderr: 0.02), probeMean: Estimate(probe, stderr: 0.01),
                                   forgetting: Estimate(0.5 - probe, stderr: 0.014),
                                   targetScores: ["arith": Estimate(learning, stderr: 0.02)], probeScores: ["hs": Estimate(probe, stderr: 0.01)],
                                   mcnemar: ["hs": McNemarSummary(items: 100, b: 10, c: 4)])
                r.bootstrap = PairedBootstrap.meanDifference(groups: [([1, 1, 0, 1], [1, 0, 0, 1])], resamples: 100, seed: 1)
                rows.append(r)
            }
        }
        rows.append(VariantRow(label: "not-run", method: "lora", rank: 4, isBase: false, learning: nil, probeMean: nil, forgetting: nil))
        let spectra = (0..<4).flatMap { layer in
            ["self_attn.q_proj", "mlp.down_proj"].map { m in
                SpectrumSummary(variant: rows[1].label, tensor: "model.layers.\(layer).\(m).weight", rank90: 3 + layer,
                                gaussianRank90: 33, singularValues: (1...16).map { 1 / Double($0 * $0) })
            }
        }
        var model = ReportModel(name: "demo <x>", base: "/m/base", generated: "2026-01-01T00:00:00Z", toolVersion: "0.1.0",
                                targets: ["arith"], targetMetrics: ["arith": "acc"], probes: ["hs"], itemCounts: ["arith": 100, "hs": 100],
                                fewshot: 0, rows: rows, spectra: spectra, bootstrapResamples: 100, notes: ["a & b"])
        model.markFrontier()
        return model
    }

    final class Collector: NSObject, XMLParserDelegate {
        var elements: [String: Int] = [:]
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            elements[name, default: 0] += 1
        }
    }

    func assertWellFormed(_ svg: String, file: StaticString = #filePath, line: UInt = #line) -> [String: Int] {
        let parser = XMLParser(data: Data(svg.utf8))
        let collector = Collector()
        parser.delegate = collector
        XCTAssertTrue(parser.parse(), "SVG not well-formed: \(parser.parserError.map { "\($0)" } ?? "")", file: file, line: line)
        return collector.elements
    }

    func testChartsAreWellFormedSVG() {
        let model = Self.sampleModel()
        let tradeoff = assertWellFormed(HTMLReport.tradeoff(model).render())
        XCTAssertEqual(tradeoff["svg"], 1)
        XCTAssertGreaterThanOrEqual(tradeoff["circle"] ?? 0, 6)
        XCTAssertGreaterThanOrEqual(tradeoff["polyline"] ?? 0, 3)  // two series and the frontier
        _ = assertWellFormed(HTMLReport.forgettingBars(model).render())
        _ = assertWellFormed(HTMLReport.targetBars(model).render())
        let ranks = HTMLReport.rankByLayer(model)
        XCTAssertEqual(ranks.count, 1)
        for c in ranks + HTMLReport.spectra(model) { _ = assertWellFormed(c.render()) }
        XCTAssertEqual(HTMLReport.spectra(model).count, 4)
        // Empty charts render too.
        _ = assertWellFormed(TradeoffChart(title: "t", xTitle: "x", yTitle: "y", series: [], base: nil, frontier: []).render())
    }

    func testHTMLEmbedsEverythingAndEscapes() {
        let html = HTMLReport.render(Self.sampleModel())
        XCTAssertFalse(html.contains("<script"))
        XCTAssertFalse(html.contains("http://") && !html.contains("http://www.w3.org/2000/svg"))
        XCTAssertTrue(html.contains("full&lt;&amp;&gt;&quot;s100"))
        XCTAssertFalse(html.contains("full<&>"))
        // Each inline SVG parses on its own.
        var rest = Substring(html)
        var count = 0
        while let start = rest.range(of: "<svg "), let end = rest.range(of: "</svg>", range: start.upperBound..<rest.endIndex) {
            _ = assertWellFormed(String(rest[start.lowerBound..<end.upperBound]))
            rest = rest[end.upperBound...]
            count += 1
        }
        // tradeoff, forgetting, targets; rank legend + one panel; spectra legend + four panels; three spectral-vs-forgetting scatters
        XCTAssertEqual(count, 3 + 2 + 5 + 3)
    }

    func testFrontierCSVAndJSON() throws {
        let model = Self.sampleModel()
        let export = FrontierExport(model: model, objectives: [Objective("learning", .max), Objective("forgetting", .min)])
        XCTAssertFalse(export.frontier.isEmpty)
        XCTAssertFalse(export.frontier.contains { $0.label == "not-run" })
        let lines = export.csv().split(separator: "\n")
        XCTAssertEqual(lines.first, "label,method,rank,step,tokens,learning,learning_stderr,forgetting,forgetting_stderr")
        XCTAssertEqual(lines.count, export.frontier.count + 1)
        XCTAssertTrue(lines.contains { $0.hasPrefix("\"full<&>\"\"s") }, export.csv())  // RFC 4180 quoting of the quote
        for l in lines.dropFirst() { XCTAssertEqual(l.filter { $0 == "," }.count, 8) }
        let json = try JSONSerialization.jsonObject(with: try export.json()) as! [String: Any]
        XCTAssertEqual(json["objectives"] as? [String], ["learning:max", "forgetting:min"])
        let first = (json["frontier"] as! [[String: Any]])[0]
        XCTAssertNotNil((first["scores"] as! [String: Any])["learning"])
    }

    func testMarkdownSummaryHasOneRowPerCheckpoint() {
        let md = SummaryTable.markdown(Self.sampleModel())
        let rows = md.split(separator: "\n").filter { $0.hasPrefix("| ") }
        XCTAssertEqual(rows.count, 2 + 8)  // header + separator + base + 6 variants + not-run
        XCTAssertTrue(md.contains("0.200 ± 0.020"))
    }

    func testLayerAndModuleParsing() {
        XCTAssertEqual(SpectrumSummary.layerAndModule("model.layers.12.self_attn.q_proj.weight").layer, 12)
        XCTAssertEqual(SpectrumSummary.layerAndModule("model.layers.12.self_attn.q_proj.weight").module, "self_attn.q_proj")
        XCTAssertEqual(SpectrumSummary.layerAndModule("transformer.h.3.attn.c_attn.weight").layer, 3)
        XCTAssertNil(SpectrumSummary.layerAndModule("lm_head.weight").layer)
    }

    func testNiceTicks() {
        XCTAssertEqual(LinearScale.niceTicks(0.12, 0.57, count: 5), [0.1, 0.2, 0.3, 0.4, 0.5, 0.6].map { $0 }, accuracy: 1e-12)
        XCTAssertEqual(LinearScale.format([0, 0.25, 0.5]), ["0.00", "0.25", "0.50"])
    }
}

func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(a) vs \(b)", file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, "\(a) vs \(b)", file: file, line: line) }
}
