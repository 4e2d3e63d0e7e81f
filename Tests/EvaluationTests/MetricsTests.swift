@testable import Evaluation
import XCTest

final class MetricsTests: XCTestCase {
    func outcome(_ ll: Double, tokens: Int = 1) -> LoglikelihoodOutcome { LoglikelihoodOutcome(logLikelihood: ll, isGreedy: false, tokenCount: tokens) }

    func testNormalisations() {
        // lengths: "abcd" 4 code points / 4 bytes / 4 tokens; "éé" 2 code points / 4 bytes / 1 token
        let outcomes = [outcome(-2, tokens: 4), outcome(-1.5, tokens: 1)]
        let choices = ["abcd", "éé"]
        let m = Dictionary(uniqueKeysWithValues: Metrics.multipleChoice(outcomes, choices: choices, gold: 0,
                                                                        wanted: ["acc", "acc_norm", "acc_bytes", "acc_norm_tokens"]).map { ($0.0, $0.1) })
        XCTAssertEqual(m["acc"], .number(0))              // -2 < -1.5: picks 1
        XCTAssertEqual(m["acc_norm"], .number(1))         // -0.5 > -0.75: picks 0 (code points, not bytes)
        XCTAssertEqual(m["acc_bytes"], .number(0))        // -0.5 < -0.375: picks 1
        XCTAssertEqual(m["acc_norm_tokens"], .number(1))  // -0.5 > -1.5: picks 0
    }

    func testTiesGoToTheFirst() {
        XCTAssertEqual(Metrics.argmax([-1, -1, -2]), 0)
    }

    func testStderrIsLMEvals() {
        let xs: [Double] = [1, 0, 0, 1, 1]
        let p = 0.6
        XCTAssertEqual(Metrics.meanStderr(xs), (p * (1 - p) / 4).squareRoot(), accuracy: 1e-15)
        XCTAssertNil(Metrics.aggregate("acc", [.number(1)]).stderr)
    }

    func testPerplexities() {
        let items: [ItemValue] = [.weighted(-10, 5), .weighted(-6, 3)]
        XCTAssertEqual(Metrics.aggregate("word_perplexity", items).value, exp(2), accuracy: 1e-12)
        XCTAssertEqual(Metrics.aggregate("bits_per_byte", items).value, 2 / log(2), accuracy: 1e-12)
        XCTAssertNil(Metrics.aggregate("bits_per_byte", items).stderr)
    }

    func testExactMatchAndFilters() {
        var spec = MetricSpec(name: "exact_match", raw: .null)
        spec.ignoreCase = true
        XCTAssertEqual(Metrics.exactMatch(prediction: "ABC", reference: "abc", spec), 1)
        let pipeline = FilterPipeline(name: "get-answer", steps: [FilterStep(kind: .regex(pattern: "(-?[0-9]+)", group: 0, fallback: "[invalid]")), FilterStep(kind: .takeFirst)])
        XCTAssertEqual(GenerationFilters.apply(pipeline, to: " -12 and 5"), "-12")
        XCTAssertEqual(GenerationFilters.apply(pipeline, to: " none"), "[invalid]")
    }

    func testSchedulerKeepsDocumentsTogetherLongestFirst() {
        let batches = Scheduler.batches(groups: [0, 0, 1, 1, 2], lengths: [3, 4, 9, 9, 5], batchSize: 3)
        XCTAssertEqual(batches, [[2, 3, 4], [0, 1]])
    }
}
