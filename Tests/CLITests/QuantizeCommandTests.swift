import Foundation
import TestSupport
import XCTest

/// `--quantize` / saved 4-bit checkpoints from the command line (issue 11).
final class QuantizeCommandTests: XCTestCase {
    var dir: URL!
    override func setUp() { dir = Fixtures.temporaryDirectory("forgetlens-quant") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    let prompts = "\"The cat sat on the mat.\"\n\"12 + 35 = 47\"\n"

    func logprobs(_ args: [String]) throws -> [[Double]] {
        let r = try CommandRunner.run(["logprobs"] + args + ["--threads", "1"], stdin: prompts)
        XCTAssertEqual(r.status, 0, r.stderr)
        return try r.stdout.split(separator: "\n").map { line in
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            return (o["logprobs"] as! [NSNumber]).map(\.doubleValue)
        }
    }

    func testQuantizeAtLoadEqualsSavedCheckpointAndReference() throws {
        let atLoad = try logprobs(["--model", Fixtures.model("llama-tiny"), "--quantize", "nf4", "--double-quant"])
        let saved = try logprobs(["--model", Fixtures.model("llama-tiny-nf4-dq")])
        XCTAssertEqual(atLoad, saved)
        let ref = try String(contentsOf: Fixtures.root.appendingPathComponent("quant/logprobs/llama-tiny-nf4-dq.jsonl"), encoding: .utf8)
        let first = try JSONSerialization.jsonObject(with: Data(ref.split(separator: "\n")[0].utf8)) as! [String: Any]
        let expected = (first["logprobs"] as! [NSNumber]).map(\.doubleValue)
        XCTAssertEqual(first["text"] as? String, "The cat sat on the mat.")
        for (a, b) in zip(saved[0], expected) { XCTAssertEqual(a, b, accuracy: 1e-4) }
        // the 32-bit model is another model
        let full = try logprobs(["--model", Fixtures.model("llama-tiny")])
        XCTAssertNotEqual(full, saved)
    }

    func testBadFlagsAndMergeAreRefused() throws {
        let bad = try CommandRunner.run(["logprobs", "--model", Fixtures.model("llama-tiny"), "--blocksize", "128"], stdin: prompts)
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("--quantize"), bad.stderr)
        let merge = try CommandRunner.run(["logprobs", "--model", Fixtures.model("llama-tiny-nf4-dq"), "--adapter", Fixtures.model("lora-llama-r8")],
                                          stdin: prompts)
        XCTAssertEqual(merge.status, 2)
        XCTAssertTrue(merge.stderr.contains("--unmerged"), merge.stderr)
    }

    func testEvalFingerprintNamesTheQuantization() throws {
        let out = dir.appendingPathComponent("out")
        let tasks = Fixtures.packageRoot.appendingPathComponent("tasks").path
        let r = try CommandRunner.run(["eval", "--model", Fixtures.model("llama-tiny"), "--tasks", "arc_easy", "--limit", "2",
                                       "--tasks-dir", tasks, "--output", out.path, "--threads", "1",
                                       "--quantize", "nf4", "--double-quant"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let results = try Fixtures.json(out.appendingPathComponent("results.json")) as! [String: Any]
        let config = results["config"] as! [String: Any]
        XCTAssertEqual(config["quantization"] as? String, "nf4+dq/b64/bf16")
        XCTAssertTrue((config["model_fingerprint"] as! String).hasSuffix("+q4:nf4+dq/b64/bf16"), "\(config)")
        XCTAssertTrue((config["model_args"] as! String).hasSuffix(",load_in_4bit=True,bnb_4bit_quant_type=nf4,bnb_4bit_use_double_quant=True,bnb_4bit_compute_dtype=bfloat16"), "\(config)")
    }
}
