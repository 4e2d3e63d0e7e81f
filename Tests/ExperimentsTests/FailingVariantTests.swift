import Experiments
import Foundation
import GRDB
import TestSupport
import XCTest

/// One variant that cannot be scored (its adapter holds a NaN) does not stop `run`: the other
/// checkpoints' results and spectra are stored, the run exits 2 naming the variant and the bad
/// tensor, the report lists the variant as not evaluated, and a rerun after the adapter is fixed
/// does only that variant's work.
extension RunAndResumeTests {
    static let badTensor = "base_model.model.model.layers.0.mlp.down_proj.lora_B.weight"

    /// A copy of the r=8 LoRA fixture with one element of `badTensor` set to NaN.
    private func adapterWithNaN() throws -> URL {
        let adapter = dir.appendingPathComponent("lora-nan")
        try FileManager.default.copyItem(atPath: Fixtures.model("lora-llama-r8"), toPath: adapter.path)
        let file = adapter.appendingPathComponent("adapter_model.safetensors")
        var bytes = try Data(contentsOf: file)
        let headerLength = Int(bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian })
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + headerLength))) as? [String: Any])
        let entry = try XCTUnwrap(header[Self.badTensor] as? [String: Any])
        XCTAssertEqual(entry["dtype"] as? String, "F32")
        let begin = try XCTUnwrap((entry["data_offsets"] as? [Int])?.first)
        let at = 8 + headerLength + begin + 3 * 4  // element 3
        withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { bytes.replaceSubrange(at..<(at + 4), with: $0) }
        try bytes.write(to: file)
        return adapter
    }

    func testAFailingVariantDoesNotStopTheOthers() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CommandRunner.executable.path), "build the forgetlens executable first")
        let adapter = try adapterWithNaN()
        let output = dir.appendingPathComponent("out")
        let yaml = """
        name: failing
        base: \(Fixtures.model("llama-tiny"))
        output: \(output.path)
        targets: [basic_arithmetic]
        probes: [\(Self.lightProbes)]
        limit: 4
        num_fewshot: 0
        spectra: {enabled: true}
        variants:
          - {label: lora-nan, method: lora, step: 100, adapter: \(adapter.path)}
          - {label: full-s100, method: full, step: 100, model: \(Fixtures.model("llama-tiny-ft-bf16"))}
        """
        let file = dir.appendingPathComponent("failing.yaml").path
        try yaml.write(toFile: file, atomically: false, encoding: .utf8)

        let failed = try CommandRunner.run(["run", file, "--chunk-size", "2"], timeout: 900)
        XCTAssertEqual(failed.status, 2, failed.stderr)
        XCTAssertTrue(failed.stderr.contains("1 of 3 checkpoints failed (lora-nan)"), failed.stderr)
        // Both the evaluation and the spectra failure name the variant and the NaN tensor, by file.
        for stage in ["lora-nan (evaluation):", "lora-nan (spectra):"] {
            let line = try XCTUnwrap(failed.stderr.split(separator: "\n").first { $0.contains(stage) }, failed.stderr)
            XCTAssertTrue(line.contains(Self.badTensor), String(line))
            XCTAssertTrue(line.contains(adapter.path), String(line))
        }
        XCTAssertTrue(failed.stderr.contains("the spectrum of model.layers.0.mlp.down_proj.weight is undefined"), failed.stderr)
        XCTAssertFalse(failed.stderr.contains("encode"), failed.stderr)
        // The good variant came after the bad one and was still scored, and its spectra stored.
        XCTAssertTrue(failed.stderr.contains("full-s100 spectra:"), failed.stderr)

        let storePath = output.appendingPathComponent("results.sqlite").path
        let store = try ResultsStore(path: storePath)
        let catalog = try TaskCatalog(directory: tasksDirectory)
        let experiment = try Experiment.load(path: file, knownTasks: catalog.names)
        let checkpoints = Dictionary(uniqueKeysWithValues: try store.checkpoints().map { ($0.label, $0) })
        XCTAssertEqual(Set(checkpoints.keys), ["base", "lora-nan", "full-s100"])
        for label in ["base", "full-s100"] {
            for task in experiment.allTasks {
                let key = try experiment.taskKey(checkpoints[label]!.fingerprint, task, catalog: catalog)
                let result = try store.taskResult(key, limit: 4)
                XCTAssertEqual(result?.documents, 4, "\(label) \(task)")
            }
        }
        for task in experiment.allTasks {
            let key = try experiment.taskKey(checkpoints["lora-nan"]!.fingerprint, task, catalog: catalog)
            XCTAssertNil(try store.taskResult(key, limit: 4), task)
        }
        let base = checkpoints["base"]!.fingerprint
        XCTAssertFalse(try store.spectra(base: base, fingerprint: checkpoints["full-s100"]!.fingerprint, variance: 0.9).isEmpty)
        XCTAssertNotNil(try store.spectraPass(base: base, fingerprint: checkpoints["full-s100"]!.fingerprint, variance: 0.9, modules: ""))
        XCTAssertNil(try store.spectraPass(base: base, fingerprint: checkpoints["lora-nan"]!.fingerprint, variance: 0.9, modules: ""))
        XCTAssertTrue(try store.runs().last?.status.hasPrefix("failed: 1 of 3 checkpoints failed") ?? false)
        try store.close()

        // The report draws what is there and lists the failed variant as not evaluated.
        let report = try CommandRunner.run(["report", file], timeout: 300)
        XCTAssertEqual(report.status, 0, report.stderr)
        let summary = try String(contentsOf: output.appendingPathComponent("summary.md"), encoding: .utf8)
        XCTAssertTrue(summary.contains("lora-nan: some tasks are not evaluated yet"), summary)
        XCTAssertTrue(summary.contains("The last `forgetlens run` failed: 1 of 3 checkpoints failed (lora-nan)"), summary)
        XCTAssertTrue(summary.contains("full-s100"), summary)

        // Fixed: the rerun scores only the repaired variant (the base and full-s100 are all stored).
        try FileManager.default.removeItem(at: adapter.appendingPathComponent("adapter_model.safetensors"))
        try FileManager.default.copyItem(atPath: Fixtures.model("lora-llama-r8") + "/adapter_model.safetensors",
                                         toPath: adapter.appendingPathComponent("adapter_model.safetensors").path)
        let rerun = try CommandRunner.run(["run", file, "--chunk-size", "2"], timeout: 900)
        XCTAssertEqual(rerun.status, 0, rerun.stderr)
        let lines = rerun.stderr.split(separator: "\n")
        XCTAssertEqual(lines.filter { $0.contains("scored now") }.count, experiment.allTasks.count, rerun.stderr)
        XCTAssertTrue(lines.contains { $0.contains("full-s100 spectra:") && $0.contains("all stored") }, rerun.stderr)
        XCTAssertTrue(lines.contains { $0.contains("lora-nan spectra:") && $0.contains("computed now") }, rerun.stderr)
    }
}
