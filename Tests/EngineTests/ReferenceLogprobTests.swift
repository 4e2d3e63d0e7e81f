import Foundation
import XCTest
@testable import Engine

/// Every fixture model (all architectures, f32/bf16/fp16, sharded, every adapter merged and
/// unmerged) against transformers' float64 log-probs.
final class ReferenceLogprobTests: XCTestCase {
    static let tolerance = 1e-4

    func check(_ label: String, mode: AdapterMode) throws -> Double {
        let (modelPath, adapterPath) = Fixtures.paths(label)
        let model = try LanguageModel(directory: modelPath, adapter: adapterPath, mode: mode, threads: 1)
        var worst = 0.0
        for ref in try Fixtures.references(label) {
            let (ids, lps) = try model.tokenLogProbs(ref.ids)
            XCTAssertEqual(ids, ref.ids)
            XCTAssertEqual(lps.count, ref.logprobs.count, "\(label)/\(ref.id)")
            for (a, b) in zip(lps, ref.logprobs) { worst = max(worst, abs(a - b)) }
            // greedy tokens agree wherever the reference's top two logits are not a near tie
            let logits = try model.logits([ref.ids])[0]
            var disagreements = 0
            for (row, expected) in ref.argmax.enumerated() {
                let r = logits[(row * model.vocabSize)..<((row + 1) * model.vocabSize)]
                let best = r.indices.max { r[$0] < r[$1] || (r[$0] == r[$1] && $0 > $1) }! - row * model.vocabSize
                if best != expected && abs(r[r.startIndex + best] - r[r.startIndex + expected]) > 1e-4 { disagreements += 1 }
            }
            XCTAssertEqual(disagreements, 0, "\(label)/\(ref.id): argmax differs from transformers")
        }
        XCTAssertLessThan(worst, Self.tolerance, "\(label) (\(mode)): max |engine - HF float64| = \(worst)")
        return worst
    }

    func testEveryFixtureMatchesTransformers() throws {
        try Fixtures.requireReferences()
        var report: [String] = []
        for label in Fixtures.referenceLabels() {
            let hasAdapter = Fixtures.paths(label).adapter != nil
            for mode in hasAdapter ? [AdapterMode.merged, .unmerged] : [.merged] {
                do {
                    let worst = try check(label, mode: mode)
                    report.append(String(format: "%-48@ %-9@ max|err| %.2e", label as NSString, (hasAdapter ? mode.rawValue : "-") as NSString, worst))
                } catch {
                    XCTFail("\(label) (\(mode)): \(error)")
                }
            }
        }
        print("reference log-prob errors:\n" + report.joined(separator: "\n"))
    }

    /// Each architecture family is covered by the fixtures (guards against a silently empty run).
    func testFixturesCoverEveryArchitecture() throws {
        try Fixtures.requireReferences()
        let labels = Set(Fixtures.referenceLabels())
        for needed in ["llama-tiny", "llama-tiny-tied", "llama-tiny-llama3", "mistral-tiny", "qwen2-tiny", "gpt2-tiny",
                       "neox-tiny", "neox-tiny-seq", "llama-tiny-ft-bf16", "llama-tiny-ft-fp16",
                       // issue 15's families (scripts/fixtures/make_family_fixtures.py), each with a LoRA
                       "qwen3-tiny", "qwen3-tiny__lora-qwen3", "olmo2-tiny", "olmo2-tiny__lora-olmo2", "gemma2-tiny", "gemma2-tiny__lora-gemma2",
                       "gemma3-tiny", "gemma3-tiny__lora-gemma3", "phi3-tiny", "phi3-tiny__lora-phi3"] {
            XCTAssertTrue(labels.contains(needed), "missing reference \(needed)")
        }
        XCTAssertTrue(labels.contains { $0.contains("__") }, "no adapter references")
    }
}
