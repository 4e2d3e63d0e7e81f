@testable import Evaluation
import Foundation
import TestSupport
import XCTest

/// The shipped gsm8k and humaneval definitions against lm-eval's own runs of its gsm8k.yaml and
/// humaneval.yaml (Tests/Fixtures/codegen, made by scripts/fixtures/make_generation_task_reference.py)
/// on llama-tiny with 2048 positions: the same 5-shot prompts, the same greedy generations (256
/// and 1024 tokens), the same answers under both gsm8k filters, the same pass@1 per problem.
final class GenerationTaskReferenceTests: XCTestCase {
    var tmp: URL!
    override func setUp() { tmp = Fixtures.temporaryDirectory("forgetlens-gen-ref") }
    override func tearDown() { try? FileManager.default.removeItem(at: tmp) }

    static var codegen: URL { Fixtures.root.appendingPathComponent("codegen") }

    func reference(_ name: String) throws -> JSONObject {
        guard case .object(let o) = try JSONValue.parse(try Data(contentsOf: Self.codegen.appendingPathComponent("reference/\(name).json"))) else {
            throw EvaluationError("bad reference")
        }
        return o
    }

    func evaluator() throws -> Evaluator {
        Evaluator(backend: try NativeBackend.load(model: Self.codegen.appendingPathComponent("llama-tiny-2k").path, adapter: nil, unmerged: false))
    }

    func testGSM8KMatchesLMEval() throws {
        // the shipped YAML, unchanged, next to the user-supplied data (here: synthetic rows)
        try FileManager.default.copyItem(at: Fixtures.packageRoot.appendingPathComponent("tasks/gsm8k.yaml"), to: tmp.appendingPathComponent("gsm8k.yaml"))
        try FileManager.default.copyItem(at: Self.codegen.appendingPathComponent("gsm8k/data"), to: tmp.appendingPathComponent("data"))
        let def = try TaskDefinition.load(path: tmp.appendingPathComponent("gsm8k.yaml").path)
        let result = try evaluator().run(try EvaluationTask(definition: def), options: EvaluationOptions())
        let ref = try reference("gsm8k")
        let items = ref["items"]!.arrayValue!
        XCTAssertEqual(result.numFewshot, 5)
        XCTAssertEqual(result.documents.count, items.count)
        for (i, p) in ref["prompts"]!.arrayValue!.enumerated() { XCTAssertEqual(result.documents[i].contexts[0], p.stringValue!, "prompt \(i)") }
        XCTAssertEqual(result.filterName, "strict-match")
        XCTAssertEqual(result.otherFilters.map(\.name), ["flexible-extract"])
        for (i, item) in items.enumerated() {
            let it = item.objectValue!
            XCTAssertEqual(result.generations[i], it["resp"]!.stringValue!, "doc \(i)")
            XCTAssertEqual(result.filtered[i], it["filtered"]!.objectValue!["strict-match"]!.stringValue!, "doc \(i) strict-match")
            XCTAssertEqual(result.otherFilters[0].filtered[i], it["filtered"]!.objectValue!["flexible-extract"]!.stringValue!, "doc \(i) flexible-extract")
        }
        let aggregates = ref["aggregates"]!.objectValue!
        XCTAssertEqual(result.aggregates.first { $0.metric == "exact_match" }?.value, aggregates["exact_match,strict-match"]!.doubleValue!)
        XCTAssertEqual(result.otherFilters[0].aggregates.first?.value, aggregates["exact_match,flexible-extract"]!.doubleValue!)
    }

    func testHumanEvalPassAt1PerProblemMatchesLMEval() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: Sandbox.defaultInterpreter), "no \(Sandbox.defaultInterpreter)")
        let registry = try TaskRegistry(directory: Fixtures.packageRoot.appendingPathComponent("tasks").path)
        let ref = try reference("humaneval")
        let items = ref["items"]!.arrayValue!
        var options = EvaluationOptions(limit: ref["limit"]!.intValue!)
        options.codeChecks = ProgramChecks(sandbox: try Sandbox())
        let result = try evaluator().run(try EvaluationTask(definition: try registry.definition("humaneval")), options: options)
        XCTAssertEqual(result.documents.count, items.count)
        for (i, item) in items.enumerated() {
            let it = item.objectValue!
            XCTAssertEqual(result.generations[i], it["resp"]!.stringValue!, "problem \(i) generation")
            let ours = result.itemMetrics[i].first { $0.0 == "pass@1" }?.1
            XCTAssertEqual(ours, .number(it["metrics"]!.objectValue!["pass@1,create_test"]!.doubleValue!), "problem \(i) pass@1")
        }
        XCTAssertEqual(result.aggregates.first { $0.metric == "pass@1" }?.value, ref["aggregates"]!.objectValue!["pass@1,create_test"]!.doubleValue!)
    }

    /// gsm8k's two filters on crafted answers; expected values are lm-eval 0.4.13's RegexFilter's
    /// own outputs on these strings (run once by hand: lm_eval.filters.extraction.RegexFilter).
    func testGSM8KFiltersAgreeWithLMEvalsRegexFilter() throws {
        let def = try TaskDefinition.load(path: Fixtures.packageRoot.appendingPathComponent("tasks/gsm8k.yaml").path)
        let cases: [(String, String, String)] = [
            ("The answer is 42.\n#### 42", "42", "42"), ("so 3 + 4 = 7 and $1,200.50 total", "[invalid]", "$1,200.50"),
            ("no numbers", "[invalid]", "[invalid]"), ("#### -3.5, then 9", "-3.5,", "9"), (" 7 ", "[invalid]", "7"), ("x 5", "[invalid]", "5"),
        ]
        for (text, strict, flexible) in cases {
            XCTAssertEqual(GenerationFilters.apply(def.filters[0], to: text), strict, text)
            XCTAssertEqual(GenerationFilters.apply(def.filters[1], to: text), flexible, text)
        }
    }
}
