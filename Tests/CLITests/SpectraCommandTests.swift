import Foundation
import TestSupport
import XCTest

/// The spectra command as a user runs it: exit codes, messages, and no partial output.
final class SpectraCommandTests: XCTestCase {
    var dir: URL!
    override func setUp() { dir = Fixtures.temporaryDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    /// A model directory with llama-tiny's config and the given tensors.
    func syntheticModel(_ name: String, tensors: [SafetensorsWriter.Entry]) throws -> String {
        let model = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Fixtures.model("llama-tiny") + "/config.json",
                                         toPath: model.appendingPathComponent("config.json").path)
        try SafetensorsWriter(tensors).write(to: model.appendingPathComponent("model.safetensors"))
        return model.path
    }

    func expectFailure(_ args: [String], mentions: [String], json: URL, file: StaticString = #filePath, line: UInt = #line) throws {
        try Data("previous".utf8).write(to: json)
        let r = try CommandRunner.run(["spectra"] + args + ["--json", json.path])
        XCTAssertEqual(r.status, 2, "stderr: \(r.stderr)", file: file, line: line)
        for text in mentions {
            XCTAssertTrue(r.stderr.contains(text), "stderr lacks \(text): \(r.stderr)", file: file, line: line)
        }
        XCTAssertEqual(try String(contentsOf: json, encoding: .utf8), "previous", "the old JSON must stay untouched", file: file, line: line)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: json.deletingLastPathComponent().path)
            .filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [], file: file, line: line)
    }

    /// `--threads 64` under an address-space limit spun at 100% CPU forever (OpenBLAS failing to
    /// start threads); threads are clamped to the cores, so the command finishes.
    func testManyThreadsUnderAnAddressSpaceLimitFinish() throws {
        if let sanitizer = ProcessInfo.processInfo.environment["FORGETLENS_SANITIZER"] {
            throw XCTSkip("under the \(sanitizer) sanitizer the binary reserves terabytes of shadow address space, so no address-space limit can apply")
        }
        let json = dir.appendingPathComponent("threads.json")
        let command = "ulimit -v 6000000; exec \"$0\" spectra --base \"$1\" --finetuned \"$2\" --threads 64 --json \"$3\" --quiet"
        let r = Subprocess.run(["bash", "-c", command, CommandRunner.executable.path, Fixtures.model("llama-tiny"),
                                Fixtures.model("llama-tiny-ft-bf16"), json.path], timeout: 120)
        XCTAssertFalse(r.timedOut, "spectra --threads 64 did not finish: \(r.output)")
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertNotNil(try Fixtures.json(json) as? [String: Any])
    }

    func testFullFineTuneWritesJSONAndTable() throws {
        let json = dir.appendingPathComponent("out/spectra.json")
        let r = try CommandRunner.run(["spectra", "--base", Fixtures.model("llama-tiny"),
                                       "--finetuned", Fixtures.model("llama-tiny-ft-bf16"), "--json", json.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("self_attn.q_proj"))
        let doc = try Fixtures.json(json) as! [String: Any]
        XCTAssertEqual(doc["variance"] as? Double, 0.9)
        XCTAssertNotNil(doc["finetuned"] as? String)
        let tensors = doc["tensors"] as! [[String: Any]]
        XCTAssertFalse(tensors.isEmpty)
        for key in ["name", "shape", "singular_values", "rank", "rank90", "stable_rank", "effective_rank",
                    "frobenius_norm", "spectral_norm", "relative_change", "gaussian_rank90"] {
            XCTAssertNotNil(tensors[0][key], "missing \(key)")
        }
    }

    func testModulesFilterAndAdapter() throws {
        let json = dir.appendingPathComponent("a.json")
        let r = try CommandRunner.run(["spectra", "--base", Fixtures.model("llama-tiny"), "--adapter", Fixtures.model("lora-llama-r8"),
                                       "--modules", "q_proj", "--json", json.path, "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let tensors = (try Fixtures.json(json) as! [String: Any])["tensors"] as! [[String: Any]]
        XCTAssertEqual(tensors.count, 2)
        XCTAssertTrue(tensors.allSatisfy { ($0["name"] as! String).contains("q_proj") })
        XCTAssertTrue(tensors.allSatisfy { ($0["singular_values"] as! [Double]).count == 8 })
    }

    /// --weights adds W_base's and W_ft's singular values (numpy values: WeightSpectraReferenceTests).
    func testWeightsAddsBaseAndFinetunedSpectra() throws {
        let json = dir.appendingPathComponent("w.json")
        let r = try CommandRunner.run(["spectra", "--base", Fixtures.model("llama-tiny"), "--adapter", Fixtures.model("lora-llama-r8"),
                                       "--modules", "layers.1.mlp.down_proj", "--weights", "--json", json.path, "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let tensors = (try Fixtures.json(json) as! [String: Any])["tensors"] as! [[String: Any]]
        XCTAssertEqual(tensors.count, 1)
        let doc = try Fixtures.json(Fixtures.reference("weight_spectra").appendingPathComponent("reference.json")) as! [String: Any]
        let want = (doc["weights"] as! [[String: Any]]).first { $0["variant"] as? String == "lora-llama-r8" && ($0["name"] as! String).contains("down_proj") }!
        for (key, ref) in [("base_singular_values", "base"), ("finetuned_singular_values", "finetuned")] {
            let got = tensors[0][key] as! [Double], expected = want[ref] as! [Double]
            XCTAssertEqual(got.count, expected.count, key)
            for (a, b) in zip(got, expected) { XCTAssertEqual(a, b, accuracy: 1e-6 * expected[0], key) }
        }
        // without the flag the JSON stays as it was
        let plain = dir.appendingPathComponent("p.json")
        XCTAssertEqual(try CommandRunner.run(["spectra", "--base", Fixtures.model("llama-tiny"), "--adapter", Fixtures.model("lora-llama-r8"),
                                              "--modules", "q_proj", "--json", plain.path, "--quiet"]).status, 0)
        let first = ((try Fixtures.json(plain) as! [String: Any])["tensors"] as! [[String: Any]])[0]
        XCTAssertNil(first["base_singular_values"])
    }

    func testDifferentArchitecturesAreRefused() throws {
        try expectFailure(["--base", Fixtures.model("llama-tiny"), "--finetuned", Fixtures.model("gpt2-tiny")],
                          mentions: ["gpt2", "model_type"], json: dir.appendingPathComponent("x.json"))
    }

    func testDifferentShapesAreRefused() throws {
        let base = try syntheticModel("base", tensors: [.init(name: "w", shape: [2, 2], floats: [1, 2, 3, 4])])
        let ft = try syntheticModel("ft", tensors: [.init(name: "w", shape: [1, 4], floats: [1, 2, 3, 4])])
        try expectFailure(["--base", base, "--finetuned", ft], mentions: ["w", "[1, 4]", "[2, 2]"], json: dir.appendingPathComponent("x.json"))
    }

    func testNaNInWeightIsReported() throws {
        let base = try syntheticModel("base", tensors: [.init(name: "w", shape: [2, 2], floats: [1, 2, 3, 4])])
        let ft = try syntheticModel("ft", tensors: [.init(name: "w", shape: [2, 2], floats: [1, .nan, 3, 4])])
        try expectFailure(["--base", base, "--finetuned", ft], mentions: ["NaN", "w", "[0, 1]", "ft/model.safetensors"],
                          json: dir.appendingPathComponent("x.json"))
        let inf = try syntheticModel("inf", tensors: [.init(name: "w", shape: [2, 2], floats: [1, 2, .infinity, 4])])
        try expectFailure(["--base", base, "--finetuned", inf], mentions: ["Inf", "[1, 0]"], json: dir.appendingPathComponent("z.json"))
    }

    func testTruncatedCheckpointIsRefused() throws {
        let model = dir.appendingPathComponent("trunc")
        try FileManager.default.copyItem(atPath: Fixtures.model("llama-tiny-ft-bf16"), toPath: model.path)
        let weights = model.appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: weights)
        try data.prefix(data.count / 2).write(to: weights)
        try expectFailure(["--base", Fixtures.model("llama-tiny"), "--finetuned", model.path],
                          mentions: ["trunc/model.safetensors", "data_offsets"], json: dir.appendingPathComponent("x.json"))
    }

    func testAdapterForAnotherModelIsRefused() throws {
        try expectFailure(["--base", Fixtures.model("gpt2-tiny"), "--adapter", Fixtures.model("lora-llama-r8")],
                          mentions: ["adapter for another model"], json: dir.appendingPathComponent("x.json"))
    }

    func testMissingAdapterConfigIsRefused() throws {
        let adapter = dir.appendingPathComponent("adapter")
        try FileManager.default.copyItem(atPath: Fixtures.model("lora-llama-r8"), toPath: adapter.path)
        try FileManager.default.removeItem(at: adapter.appendingPathComponent("adapter_config.json"))
        try expectFailure(["--base", Fixtures.model("llama-tiny"), "--adapter", adapter.path],
                          mentions: ["adapter_config.json", "missing"], json: dir.appendingPathComponent("x.json"))
    }

    func testUsageErrors() throws {
        let r = try CommandRunner.run(["spectra", "--base", Fixtures.model("llama-tiny")])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("exactly one of --finetuned"), r.stderr)
    }
}
