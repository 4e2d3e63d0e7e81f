import Foundation
import TestSupport
import XCTest

/// `--compute-dtype bf16` on a 16/32-bit checkpoint from the command line (issue 17).
final class ComputeDTypeCommandTests: XCTestCase {
    var dir: URL!
    override func setUp() { dir = Fixtures.temporaryDirectory("forgetlens-bf16") }
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

    func testFP32IsTheDefaultAndBF16Differs() throws {
        let model = Fixtures.model("llama-tiny-ft-bf16")
        let plain = try logprobs(["--model", model])
        XCTAssertEqual(plain, try logprobs(["--model", model, "--compute-dtype", "fp32"]))
        let bf16 = try logprobs(["--model", model, "--compute-dtype", "bf16"])
        XCTAssertEqual(bf16.map(\.count), plain.map(\.count))
        let worst = zip(bf16.joined(), plain.joined()).map { abs($0 - $1) }.max() ?? 0
        // with AVX512-BF16 bf16 rounding moves log-probs a little; without, it runs fp32
        if worst == 0 { print("bf16 compute ran fp32 (no AVX512-BF16?)") } else { XCTAssertLessThan(worst, 0.1) }
    }

    func testFP16OnA16BitModelIsRefused() throws {
        let r = try CommandRunner.run(["logprobs", "--model", Fixtures.model("llama-tiny"), "--compute-dtype", "fp16"], stdin: prompts)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--compute-dtype fp16 applies to 4-bit models"), r.stderr)
        let bad = try CommandRunner.run(["logprobs", "--model", Fixtures.model("llama-tiny"), "--compute-dtype", "bf32"], stdin: prompts)
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("--compute-dtype must be"), bad.stderr)
    }

    func testEvalRecordsComputeDTypeAndFingerprint() throws {
        let tasks = Fixtures.packageRoot.appendingPathComponent("tasks").path
        var configs: [String: [String: Any]] = [:]
        for dtype in ["fp32", "bf16"] {
            let out = dir.appendingPathComponent(dtype)
            let r = try CommandRunner.run(["eval", "--model", Fixtures.model("llama-tiny"), "--tasks", "arc_easy", "--limit", "2",
                                           "--tasks-dir", tasks, "--output", out.path, "--threads", "1", "--compute-dtype", dtype])
            XCTAssertEqual(r.status, 0, r.stderr)
            let results = try Fixtures.json(out.appendingPathComponent("results.json")) as! [String: Any]
            configs[dtype] = results["config"] as? [String: Any]
        }
        let fp32 = try XCTUnwrap(configs["fp32"]), bf16 = try XCTUnwrap(configs["bf16"])
        XCTAssertEqual(fp32["compute_dtype"] as? String, "fp32")
        XCTAssertFalse((fp32["model_fingerprint"] as! String).contains("+compute"))
        XCTAssertTrue((fp32["model_args"] as! String).hasSuffix(",dtype=float32"))
        if bf16["compute_dtype"] as? String == "bf16" {
            XCTAssertEqual(bf16["model_fingerprint"] as? String, (fp32["model_fingerprint"] as! String) + "+compute:bf16")
            XCTAssertTrue((bf16["model_args"] as! String).hasSuffix(",dtype=bfloat16"), "\(bf16)")
        } else {
            // a CPU without AVX512-BF16 runs (and records) fp32
            XCTAssertEqual(bf16["model_fingerprint"] as? String, fp32["model_fingerprint"] as? String)
        }
    }
}
