@testable import Evaluation
import Foundation
import TestSupport
import XCTest

/// Task-file values lm-eval would reject (or that made forgetlens score nothing with exit 0) are
/// errors naming the file, the line and the field.
final class TaskFileValidationTests: XCTestCase {
    var dir: URL!
    override func setUp() { dir = Fixtures.temporaryDirectory("task-validation") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    let good = """
    task: sums
    data: sums.jsonl
    output_type: generate_until
    doc_to_text: "Q: {{question}}=? A:"
    doc_to_target: "{{answer}}"
    num_fewshot: 0
    generation_kwargs:
      until:
        - "\\n"
      max_gen_toks: 8
    metric_list:
      - metric: exact_match
    """

    private func load(_ yaml: String, data: String = #"{"question": "1+2", "answer": "3"}"# + "\n") throws -> TaskDefinition {
        try Data(data.utf8).write(to: dir.appendingPathComponent("sums.jsonl"))
        let file = dir.appendingPathComponent("sums.yaml")
        try Data(yaml.utf8).write(to: file)
        let def = try TaskDefinition.load(path: file.path)
        _ = try TaskData.readDocuments(path: def.dataFile)
        return def
    }

    private func assertError(_ yaml: String, data: String? = nil, _ expected: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try data.map { try load(yaml, data: $0) } ?? load(yaml), file: file, line: line) { error in
            for text in expected { XCTAssertTrue("\(error)".contains(text), "\(error) lacks \(text)", file: file, line: line) }
        }
    }

    func testGoodFileLoads() throws {
        let def = try load(good)
        XCTAssertEqual(def.until, ["\n"])
        XCTAssertEqual(def.maxGenTokens, 8)
        XCTAssertEqual(try load(good.replacingOccurrences(of: "    - \"\\n\"", with: "").replacingOccurrences(of: "until:\n", with: "until: \"Q:\"\n")).until, ["Q:"])
    }

    func testBadValuesAreErrors() {
        assertError(good.replacingOccurrences(of: "num_fewshot: 0", with: "num_fewshot: -1"), ["line 6", "num_fewshot: expected an integer >= 0"])
        assertError(good.replacingOccurrences(of: "num_fewshot: 0", with: "num_fewshot: 1.5"), ["num_fewshot: expected an integer >= 0"])
        assertError(good.replacingOccurrences(of: "num_fewshot: 0", with: "num_fewshot: two"), ["num_fewshot"])
        assertError(good.replacingOccurrences(of: "max_gen_toks: 8", with: "max_gen_toks: -5"), ["max_gen_toks: expected an integer >= 1"])
        assertError(good.replacingOccurrences(of: "max_gen_toks: 8", with: "max_gen_toks: 0"), ["max_gen_toks"])
        assertError(good.replacingOccurrences(of: "  until:\n    - \"\\n\"", with: "  until: 5"), ["until: expected a string or a list of strings"])
        assertError(good.replacingOccurrences(of: "    - \"\\n\"", with: "    - 5"), ["until: expected a string or a list of strings"])
    }

    /// Base-60 and hex integers read as PyYAML (lm-eval) reads them; one past 64 bits is an error
    /// naming the file, line and field (it trapped inside Yams: the fuzz-task target's finding).
    func testYAML11IntegersAndOverflowingOnes() throws {
        let def = try load(good.replacingOccurrences(of: "max_gen_toks: 8", with: "max_gen_toks: 1:30")
            .replacingOccurrences(of: "num_fewshot: 0", with: "num_fewshot: 0x3"))
        XCTAssertEqual(def.maxGenTokens, 90)
        XCTAssertEqual(def.numFewshot, 3)
        let beyond = "is beyond the 64-bit integer range"
        assertError(good + "\nrepeats: 1:0:0:0:0:0:0:0:0:0:0:0", ["sums.yaml", "line 13", "repeats", beyond])
        assertError(good.replacingOccurrences(of: "num_fewshot: 0", with: "num_fewshot: 9223372036854775807:0"), ["sums.yaml", "line 6", "num_fewshot", beyond])
        assertError(good.replacingOccurrences(of: "doc_to_text: \"Q: {{question}}=? A:\"", with: "doc_to_text: 9223372036854775807:0"),
                    ["sums.yaml", "line 4", "doc_to_text", beyond])
        assertError(good + "\nmetadata:\n  version: 9223372036854775807:0", ["line 14", "metadata.version", beyond])
        assertError(good + "\nrepeats: 0o2", ["repeats: expected an integer >= 1"])  // PyYAML reads 0o2 as text
    }

    func testEmptyDataFileIsAnError() {
        assertError(good, data: "", ["sums.jsonl", "no documents"])
        assertError(good, data: "\n  \n", ["no documents"])
    }

    final class NoModel: EvaluationBackend {
        var name: String { "none" }
        func loglikelihood(_ requests: [ScoringRequest], progress: (Int) -> Void) throws -> [LoglikelihoodOutcome] { [] }
        func loglikelihoodRolling(_ texts: [String], progress: (Int) -> Void) throws -> [Double] { [] }
        func generate(_ requests: [GenerationRequest], progress: (Int) -> Void) throws -> [String] { [] }
    }

    /// A few-shot count the pool cannot give names the task and its file.
    func testFewShotShortfallNamesTheTask() throws {
        let def = try load(good.replacingOccurrences(of: "num_fewshot: 0", with: "num_fewshot: 5"),
                           data: #"{"question": "1+2", "answer": "3"}"# + "\n" + #"{"question": "2+2", "answer": "4"}"# + "\n")
        let task = try EvaluationTask(definition: def)
        XCTAssertThrowsError(try Evaluator(backend: NoModel()).prepare(task, options: EvaluationOptions())) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("sums ("), text)
            XCTAssertTrue(text.contains("sums.yaml"), text)
            XCTAssertTrue(text.contains("5-shot"), text)
        }
    }
}
