import Foundation
import Reports
import XCTest

/// Rolling (bits-per-byte) probes beside accuracy probes, on synthetic report models whose
/// numbers are worked out by hand: never "at chance", never in the accuracy mean, their own
/// forgetting in bits per byte, and findings on bits per byte when they are all there is.
final class ProbeUnitsTests: XCTestCase {
    /// Per-document −bits per byte of a rolling probe: document d has 1.0 + 0.01 (d % 5) bits per
    /// byte on the base, plus `shift` on a variant.
    static func rolling(shift: Double, n: Int = 100) -> [Int: Double] {
        Dictionary(uniqueKeysWithValues: (0..<n).map { ($0, -(1.0 + 0.01 * Double($0 % 5) + shift)) })
    }

    static func withRolling(_ m: ReportModel, shifts: [String: Double], base bpb: Double = 1.02, se: Double = 0.003) -> ReportModel {
        var m = m
        m.probes.append("roll")
        m.probeMetrics["roll"] = "-bits_per_byte"
        m.itemCounts["roll"] = 100
        // What the store used to give a rolling probe (one outcome per item): "chance 1.0".
        m.probeChance["roll"] = 1.0
        for i in m.rows.indices {
            let shift = m.rows[i].isBase ? 0 : shifts[m.rows[i].label] ?? 0
            m.rows[i].probeItems["roll"] = rolling(shift: shift)
            m.rows[i].probeScores["roll"] = Estimate(-(bpb + shift), stderr: se)
        }
        return m
    }

    static var shifts: [String: Double] { ["full-s1": 0.10, "full-s2": 0.25, "lora-s1": 0.01, "lora-s2": 0.03] }

    func testRollingProbeIsNeverAtChance() {
        let m = Self.withRolling(FindingsTests.model(FindingsTests.planted), shifts: Self.shifts)
        XCTAssertEqual(m.unit("roll"), .bitsPerByte)
        XCTAssertEqual(m.probeStanding.counting, ["facts", "roll"])
        XCTAssertEqual(m.probeStanding.atChance, ["hellaswag"])
        let f = Findings(m)
        XCTAssertFalse(f.chanceProbes.contains("roll"))
        XCTAssertEqual(f.forgettingProbes, ["facts"])  // accuracy leads, bits per byte beside it
        XCTAssertEqual(f.secondaryProbes, ["roll"])
        // A non-finite base value is the one way a rolling probe drops out.
        var broken = m
        broken.rows[0].probeScores["roll"] = Estimate(-.infinity, stderr: nil)
        XCTAssertEqual(broken.probeStanding.nonFinite, ["roll"])
        XCTAssertFalse(broken.probeStanding.counting.contains("roll"))
        XCTAssertTrue(Findings(broken).report().notes.contains { $0.contains("not finite") && $0.contains("roll") })
    }

    func testAccuracyMeanIsUnchangedByARollingProbe() {
        var accOnly = FindingsTests.model(FindingsTests.planted)
        accOnly.probeMetrics = ["facts": "acc", "hellaswag": "acc"]
        accOnly.fillProbeSummaries()
        var both = Self.withRolling(accOnly, shifts: Self.shifts)
        both.fillProbeSummaries()
        for (a, b) in zip(accOnly.rows, both.rows) {
            XCTAssertEqual(a.probeMean, b.probeMean, a.label)
            XCTAssertEqual(a.forgetting, b.forgetting, a.label)
            XCTAssertEqual(a.bootstrap, b.bootstrap, a.label)
            XCTAssertNotNil(b.probeMean)
        }
        // by hand: full-s2 forgot 80 of 400 fact items, hellaswag moved by one item (mc[1] = 1)
        let full2 = both.rows.first { $0.label == "full-s2" }!
        XCTAssertEqual(full2.forgetting!.value, (80.0 / 400 - 1.0 / 400) / 2, accuracy: 1e-12)
        XCTAssertEqual(both.headlineUnit, .accuracy)
        XCTAssertEqual(both.objective("forgetting", of: full2), full2.forgetting)
        XCTAssertEqual(Findings(both).forgetting(full2)!.value, 0.2, accuracy: 1e-12)  // facts only: 80 / 400
    }

    func testRollingProbeForgettingByHand() throws {
        var m = Self.withRolling(FindingsTests.model(FindingsTests.planted), shifts: Self.shifts)
        m.fillProbeSummaries()
        let base = m.rows[0], full2 = m.rows.first { $0.label == "full-s2" }!
        XCTAssertEqual(base.probeBitsPerByte!.value, 1.02, accuracy: 1e-12)
        XCTAssertEqual(full2.probeBitsPerByte!.value, 1.27, accuracy: 1e-12)
        // variant − base: 1.27 − 1.02 = 0.25 bits per byte, se sqrt(2) x 0.003
        XCTAssertEqual(full2.bitsPerByteForgetting!.value, 0.25, accuracy: 1e-12)
        XCTAssertEqual(full2.bitsPerByteForgetting!.stderr!, 0.003 * 2.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(base.bitsPerByteForgetting, Estimate(0, stderr: 0))
        // every document is 0.25 bits per byte worse: the paired difference is exactly that
        let b = try XCTUnwrap(full2.bitsPerByteBootstrap)
        XCTAssertEqual(b.difference, 0.25, accuracy: 1e-12)
        XCTAssertEqual(b.low, 0.25, accuracy: 1e-12)
        XCTAssertEqual(b.high, 0.25, accuracy: 1e-12)
        // two rolling probes: the mean of their increases (0.25 and 0.05)
        var two = m
        two.probes.append("roll2")
        two.probeMetrics["roll2"] = "-bits_per_byte"
        for i in two.rows.indices { two.rows[i].probeScores["roll2"] = Estimate(-(2.0 + (two.rows[i].label == "full-s2" ? 0.05 : 0)), stderr: 0.004) }
        two.fillProbeSummaries()
        let t = two.rows.first { $0.label == "full-s2" }!
        XCTAssertEqual(t.bitsPerByteForgetting!.value, (0.25 + 0.05) / 2, accuracy: 1e-12)
        XCTAssertEqual(t.bitsPerByteForgetting!.stderr!, (2 * 0.003 * 0.003 + 2 * 0.004 * 0.004).squareRoot() / 2, accuracy: 1e-12)
        XCTAssertNil(t.bitsPerByteBootstrap)  // roll2 has no items: no paired test

        // Findings report it in its own unit beside the accuracy verdicts.
        let r = Findings(m).report()
        let bFinding = r.findings.first { $0.id == "b" }!
        // final checkpoints: full-s2 +0.250, lora-s2 +0.030; difference +0.220
        XCTAssertTrue(bFinding.sentence.contains("On roll (bits per byte, not in the verdict): full +0.250, LoRA +0.030, difference +0.220"), bFinding.sentence)
        XCTAssertTrue(r.notes.contains { $0.contains("Bits-per-byte probes") && $0.contains("full-s2 +0.250") }, "\(r.notes)")

        // The tables: accuracy columns as before, bits per byte in columns of their own.
        let md = SummaryTable.markdown(m)
        XCTAssertTrue(md.contains("| probe bits/byte ± se | Δ bits/byte ± se | bootstrap p (bits/byte) | frontier |"), md)
        XCTAssertTrue(md.contains("| 1.270 ± 0.003 | +0.250 ± 0.004 |"), md)
        XCTAssertTrue(md.contains("Probes (forgetting): facts, hellaswag (acc); roll (bits per byte)."), md)
        XCTAssertFalse(md.contains("roll n/a"))  // no McNemar entry for a rolling probe
        let json = try JSONSerialization.jsonObject(with: FrontierExport(model: m, objectives: [Objective("learning", .max), Objective("forgetting", .min)]).json()) as! [String: Any]
        XCTAssertEqual(json["headlineUnit"] as? String, "accuracy")
        let entry = (json["frontier"] as! [[String: Any]]).first { $0["label"] as? String == "full-s2" }!
        let byUnit = entry["forgettingByUnit"] as! [String: [String: Double]]
        XCTAssertEqual(byUnit["bits_per_byte"]!["value"]!, 0.25, accuracy: 1e-12)
        XCTAssertEqual(byUnit["accuracy"]!["value"]!, full2.forgetting!.value, accuracy: 1e-12)
        let html = HTMLReport.render(m)
        XCTAssertTrue(html.contains("Forgetting (variant − base bits per byte)"))
    }

    /// Only a rolling probe: the findings, headline, tradeoff axis and Pareto all speak bits per byte.
    func testOnlyARollingProbeGivesFindingsOnBitsPerByte() throws {
        var m = Self.withRolling(FindingsTests.model(FindingsTests.planted), shifts: Self.shifts)
        m.probes = ["roll"]
        m.probeChance = ["roll": 1.0]
        m.fillProbeSummaries()
        XCTAssertEqual(m.headlineUnit, .bitsPerByte)
        let f = Findings(m)
        XCTAssertTrue(f.bitsPerByte)
        XCTAssertEqual(f.forgettingProbes, ["roll"])
        let full2 = m.rows.first { $0.label == "full-s2" }!, lora2 = m.rows.first { $0.label == "lora-s2" }!
        XCTAssertNil(full2.probeMean)
        XCTAssertNil(full2.forgetting)
        XCTAssertEqual(f.forgetting(full2)!.value, 0.25, accuracy: 1e-12)
        let r = f.report()
        let b = r.findings.first { $0.id == "b" }!
        XCTAssertEqual(b.verdict, .supported, b.sentence)
        XCTAssertTrue(b.sentence.contains("forgot 0.250 ± ") && b.sentence.contains("bits per byte"), b.sentence)
        let c = r.findings.first { $0.id == "c" }!
        // matched pair full-s1 (0.55) / lora-s2 (0.56): 0.100 vs 0.030 bits per byte, paired per document
        XCTAssertEqual(c.verdict, .supported, c.sentence)
        XCTAssertTrue(c.sentence.contains("full − LoRA forgetting 0.070 bits per byte"), c.sentence)
        XCTAssertTrue(r.notes.contains { $0.contains("variant − base bits per byte averaged over roll") }, "\(r.notes)")
        XCTAssertFalse(r.notes.contains { $0.contains("At chance") })
        // the headline objectives and the tradeoff axis
        XCTAssertEqual(m.objective("forgetting", of: full2), full2.bitsPerByteForgetting)
        XCTAssertEqual(m.objective("probe_mean", of: lora2)!.value, -1.05, accuracy: 1e-12)
        XCTAssertEqual(HTMLReport.tradeoff(m).xTitle, "−probe mean bits per byte (higher = less forgetting)")
        m.markFrontier()
        // (learning, Δ bpb): full-s1 (0.55, 0.10) is dominated by lora-s2 (0.56, 0.03); full-s2 (0.70, 0.25)
        // and lora-s1 (0.50, 0.01) are best on one axis each
        XCTAssertEqual(m.variants.filter(\.onFrontier).map(\.label), ["full-s2", "lora-s1", "lora-s2"])
        let json = try JSONSerialization.jsonObject(with: FrontierExport(model: m, objectives: [Objective("learning", .max), Objective("forgetting", .min)]).json()) as! [String: Any]
        XCTAssertEqual(json["headlineUnit"] as? String, "bits_per_byte")
        let first = (json["frontier"] as! [[String: Any]])[0]
        XCTAssertEqual(((first["scores"] as! [String: Any])["forgetting"] as! [String: Double])["value"]!, 0.25, accuracy: 1e-12)
        XCTAssertTrue(DiversityTable.header(m).contains("forgetting (Δ bits/byte) ± se"))
    }

    func testUnitsFromMetricNames() {
        XCTAssertEqual(ProbeUnit.of(metric: nil), .accuracy)
        XCTAssertEqual(ProbeUnit.of(metric: "acc"), .accuracy)
        XCTAssertEqual(ProbeUnit.of(metric: "acc_norm"), .accuracy)
        XCTAssertEqual(ProbeUnit.of(metric: "acc_bytes"), .accuracy)
        XCTAssertEqual(ProbeUnit.of(metric: "acc_norm_tokens"), .accuracy)
        XCTAssertEqual(ProbeUnit.of(metric: "exact_match"), .accuracy)
        XCTAssertEqual(ProbeUnit.of(metric: "pass@1"), .accuracy)
        XCTAssertEqual(ProbeUnit.of(metric: "-bits_per_byte"), .bitsPerByte)
        XCTAssertEqual(ProbeUnit.of(metric: "-word_perplexity"), .other)
        XCTAssertEqual(ProbeUnit.of(metric: "-byte_perplexity"), .other)
    }
}
