import Foundation
import XCTest
@testable import Engine

/// The same request scored alone, in a batch of 64, with and without prefix sharing, gives the
/// same log-probs (the engine keeps every row's arithmetic independent of its neighbours).
final class BatchIndependenceTests: XCTestCase {
    struct LCG {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
    }

    /// 16 questions x 4 choices: shared contexts of varying length, endings of varying length.
    func requests(vocab: Int, seed: UInt64) -> [LoglikelihoodRequest] {
        var rng = LCG(state: seed)
        var out: [LoglikelihoodRequest] = []
        for _ in 0..<16 {
            let context = (0..<(10 + rng.next(50))).map { _ in rng.next(vocab) }
            for _ in 0..<4 {
                out.append(LoglikelihoodRequest(context: context, continuation: (0..<(1 + rng.next(20))).map { _ in rng.next(vocab) }))
            }
        }
        return out
    }

    func checkIndependence(_ modelName: String, adapter: String? = nil, mode: AdapterMode = .merged) throws {
        let model = try LanguageModel(directory: Fixtures.model(modelName), adapter: adapter.map(Fixtures.model), mode: mode, threads: 2)
        let reqs = requests(vocab: model.vocabSize, seed: 7)
        XCTAssertEqual(reqs.count, 64)
        let shared = try model.loglikelihood(reqs, options: ScoringOptions(sharePrefixes: true))
        let unshared = try model.loglikelihood(reqs, options: ScoringOptions(sharePrefixes: false))
        let smallForwards = try model.loglikelihood(reqs, options: ScoringOptions(sharePrefixes: true, tokensPerForward: 40))
        var worst = 0.0
        for (i, r) in reqs.enumerated() where i % 5 == 0 || i == 63 {
            let alone = try model.loglikelihood([r], options: ScoringOptions(sharePrefixes: false))[0]
            for other in [shared[i], unshared[i], smallForwards[i]] {
                XCTAssertEqual(other.tokenLogProbs.count, alone.tokenLogProbs.count)
                for (a, b) in zip(other.tokenLogProbs, alone.tokenLogProbs) { worst = max(worst, abs(a - b)) }
                XCTAssertEqual(other.isGreedy, alone.isGreedy)
            }
        }
        for (a, b) in zip(shared, unshared) {
            for (x, y) in zip(a.tokenLogProbs, b.tokenLogProbs) { worst = max(worst, abs(x - y)) }
        }
        print("batch independence \(modelName)\(adapter.map { " + \($0) (\(mode))" } ?? ""): max |diff| \(worst)")
        XCTAssertLessThanOrEqual(worst, 1e-5)
    }

    func testLlamaBatchIndependence() throws { try checkIndependence("llama-tiny") }
    func testMistralSlidingWindowBatchIndependence() throws { try checkIndependence("mistral-tiny") }
    func testNeoXBatchIndependence() throws { try checkIndependence("neox-tiny") }
    func testGPT2BatchIndependence() throws { try checkIndependence("gpt2-tiny") }
    func testUnmergedLoRABatchIndependence() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: Fixtures.model("dora-llama")), "no dora-llama fixture")
        try checkIndependence("llama-tiny", adapter: "dora-llama", mode: .unmerged)
    }

    /// Prefix sharing really shares: requests with one context form one group.
    func testChoicesOfOneQuestionShareTheirContext() {
        let p = (0..<4).map { i in
            LanguageModel.Prepared(index: i, inputs: [5, 6, 7, 8, 9, 10] + [i, i], targets: [i, i, 1], firstScored: 5)
        }
        let groups = LanguageModel.prefixGroups(p, minimum: 4)
        XCTAssertEqual(groups.count, 1)
        XCTAssertEqual(groups[0].prefix, 5)
        XCTAssertEqual(Set(groups[0].members), [0, 1, 2, 3])
    }
}
