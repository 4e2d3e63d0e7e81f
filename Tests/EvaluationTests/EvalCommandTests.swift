@testable import Evaluation
import Foundation
import TestSupport
import XCTest

/// `forgetlens eval` / `forgetlens tasks` as a user runs them, including every bad input the issue lists.
final class EvalCommandTests: XCTestCase {
    var tmp: URL!
    override func setUp() { tmp = Fixtures.temporaryDirectory("forgetlens-eval") }
    override func tearDown() { try? FileManager.default.removeItem(at: tmp) }

    var llama: String { Fixtures.model("llama-tiny") }

    /// A task directory with one multiple-choice task over `rows`.
    func taskDir(_ rows: [String], choice: String = "\"{{choices}}\"", target: String = "\"{{gold}}\"") throws -> String {
        let dir = tmp.appendingPathComponent("tasks-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try rows.joined(separator: "\n").write(to: dir.appendingPathComponent("t.jsonl"), atomically: false, encoding: .utf8)
        try """
        task: toy
        data: t.jsonl
        output_type: multiple_choice
        doc_to_text: "Q: {{question}}\\nA:"
        doc_to_target: \(target)
        doc_to_choice: \(choice)
        metric_list:
          - metric: acc
        """.write(to: dir.appendingPathComponent("toy.yaml"), atomically: false, encoding: .utf8)
        return dir.path
    }

    func assertFailsCleanly(_ args: [String], mentions: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let out = tmp.appendingPathComponent("out-\(UUID().uuidString.prefix(6))")
        let r = try CommandRunner.run(["eval", "--model", llama, "--output", out.path] + args)
        XCTAssertEqual(r.status, 2, r.stderr, file: file, line: line)
        for m in mentions { XCTAssertTrue(r.stderr.contains(m), "stderr lacks '\(m)': \(r.stderr)", file: file, line: line) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("results.json").path), "partial results.json", file: file, line: line)
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []
        XCTAssertTrue(leftovers.isEmpty, "files left: \(leftovers)", file: file, line: line)
    }

    func testUnknownTaskListsTheKnownOnes() throws {
        try assertFailsCleanly(["--tasks", "arc_easy,nosuchtask"], mentions: ["unknown task 'nosuchtask'", "hellaswag", "winogrande"])
    }

    func testMissingFieldNamesRowAndField() throws {
        let dir = try taskDir([#"{"question": "a", "choices": ["x", "y"], "gold": 0}"#, #"{"choices": ["x", "y"], "gold": 1}"#])
        try assertFailsCleanly(["--tasks", "toy", "--tasks-dir", dir], mentions: ["row 2", "'question'"])
    }

    func testGoldOutOfRange() throws {
        let dir = try taskDir([#"{"question": "a", "choices": ["x", "y"], "gold": 2}"#])
        try assertFailsCleanly(["--tasks", "toy", "--tasks-dir", dir], mentions: ["row 1", "out of range"])
    }

    func testEmptyChoices() throws {
        let dir = try taskDir([#"{"question": "a", "choices": [], "gold": 0}"#])
        try assertFailsCleanly(["--tasks", "toy", "--tasks-dir", dir], mentions: ["row 1", "no choices"])
    }

    func testAdapterForAnotherBase() throws {
        let out = tmp.appendingPathComponent("out-adapter")
        let r = try CommandRunner.run(["eval", "--model", Fixtures.model("gpt2-tiny"), "--adapter", Fixtures.model("lora-llama-r8"),
                                       "--tasks", "copa", "--limit", "2", "--output", out.path])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("lora-llama-r8"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("results.json").path))
    }

    func testResultsAndSamplesHaveLMEvalsLayout() throws {
        let out = tmp.appendingPathComponent("out")
        let r = try CommandRunner.run(["eval", "--model", llama, "--adapter", Fixtures.model("lora-llama-r8"),
                                       "--tasks", "arc_easy,arith_text", "--limit", "5", "--output", out.path, "--log-samples"])
        XCTAssertEqual(r.status, 0, r.stderr)
        guard case .object(let ours) = try JSONValue.parse(Data(contentsOf: out.appendingPathComponent("results.json"))),
              case .object(let theirs) = try JSONValue.parse(Data(contentsOf: Fixtures.root.appendingPathComponent("lmeval/format/results.json"))) else {
            return XCTFail("results.json is not an object")
        }
        for key in ["results", "n-samples", "configs", "versions", "config"] { XCTAssertNotNil(ours[key], key) }
        let arc = ours["results"]!["arc_easy"]!.objectValue!
        let theirArc = theirs["results"]!["flref_arc_easy"]!.objectValue!
        for key in theirArc.keys where key.contains(",") { XCTAssertNotNil(arc[key], "results.arc_easy.\(key)") }
        XCTAssertEqual(ours["n-samples"]!["arc_easy"], .object(JSONObject([("original", 570), ("effective", 5)])))
        XCTAssertEqual(ours["results"]!["arith_text"]!["bits_per_byte_stderr,none"], .string("N/A"))
        let config = ours["config"]!.objectValue!
        XCTAssertEqual(config["limit"], .int(5))
        XCTAssertNotNil(config["model_fingerprint"]?.stringValue)
        XCTAssertNotNil(config["adapter_fingerprint"]?.stringValue)

        let lines = try String(contentsOf: out.appendingPathComponent("samples_arc_easy.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 5)
        let first = try JSONValue.parse(String(lines[0])).objectValue!
        for key in ["doc_id", "doc", "target", "arguments", "resps", "filtered_resps", "filter", "metrics", "doc_hash", "prompt_hash", "target_hash", "acc", "acc_norm"] {
            XCTAssertNotNil(first[key], "samples key \(key)")
        }
        // lm-eval writes responses as strings: [["-60.21...", "False"], ...]
        let pair = first["filtered_resps"]!.arrayValue![0].arrayValue!
        XCTAssertNotNil(Double(pair[0].stringValue!))
        XCTAssertTrue(["True", "False"].contains(pair[1].stringValue!))
        XCTAssertEqual(first["arguments"]!["gen_args_0"]!["arg_1"], .string(" cellular telephone"))
        XCTAssertEqual(first["target"], .string("0"))
        XCTAssertEqual(first["doc_hash"], .string("41d1271af0de6129ba515fd33fc5f99b9a183420961f28708f3662c54c077818"))  // lm-eval's
        XCTAssertEqual(first["prompt_hash"], .string("36e376f9723a15d490a18d1fc45b55514e8318856bdba68c323152e5bbcd0345"))
    }

    /// Issue 15's families run through `eval` on a probe, base and with their LoRA (unmerged and
    /// merged must agree: the same adapter applied two ways scores the same choices).
    func testNewFamiliesEvaluateOnAProbe() throws {
        for (model, adapter) in [("qwen3-tiny", "lora-qwen3"), ("olmo2-tiny", "lora-olmo2"), ("gemma2-tiny", "lora-gemma2"), ("gemma3-tiny", "lora-gemma3"), ("phi3-tiny", "lora-phi3")] {
            var firstResponses: [String: [JSONValue]] = [:]
            for variant in ["base", "merged", "unmerged"] {
                let out = tmp.appendingPathComponent("\(model)-\(variant)")
                var args = ["eval", "--model", Fixtures.model(model), "--tasks", "arc_easy", "--limit", "3",
                            "--output", out.path, "--log-samples"]
                if variant != "base" { args += ["--adapter", Fixtures.model(adapter)] }
                if variant == "unmerged" { args.append("--unmerged") }
                let r = try CommandRunner.run(args)
                XCTAssertEqual(r.status, 0, "\(model) \(variant): \(r.stderr)")
                let results = try JSONValue.parse(Data(contentsOf: out.appendingPathComponent("results.json")))
                XCTAssertNotNil(results["results"]?["arc_easy"]?["acc,none"], "\(model) \(variant)")
                let line = try String(contentsOf: out.appendingPathComponent("samples_arc_easy.jsonl"), encoding: .utf8)
                    .split(separator: "\n")[0]
                firstResponses[variant] = try JSONValue.parse(String(line))["filtered_resps"]?.arrayValue ?? []
            }
            XCTAssertFalse(firstResponses["base"]!.isEmpty)
            XCTAssertNotEqual(firstResponses["base"], firstResponses["merged"], "\(model): the adapter changed nothing")
            let merged = firstResponses["merged"]!.compactMap { Double($0.arrayValue?[0].stringValue ?? "") }
            let unmerged = firstResponses["unmerged"]!.compactMap { Double($0.arrayValue?[0].stringValue ?? "") }
            XCTAssertEqual(merged.count, unmerged.count)
            for (a, b) in zip(merged, unmerged) { XCTAssertEqual(a, b, accuracy: 1e-3, model) }
        }
    }

    func testTasksListsSizes() throws {
        let r = try CommandRunner.run(["tasks"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("hellaswag"))
        XCTAssertTrue(r.stdout.contains("10042"))
        XCTAssertTrue(r.stdout.contains("validation"))
    }
}
