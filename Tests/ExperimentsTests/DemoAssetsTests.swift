import Evaluation
import Experiments
import Foundation
import TestSupport
import XCTest

/// The committed demo (examples/: made by scripts/demo/train_demo_models.py) stays consistent:
/// the experiment file parses with every run folder expanded, the fact-recall probe is the size
/// the issue asks for and the base really knows the facts (scored by the evaluator, not taken
/// from the training log), and the checkpoints fit the size budget.
final class DemoAssetsTests: XCTestCase {
    static var examples: URL { Fixtures.packageRoot.appendingPathComponent("examples") }

    func testDemoFileParsesWithEveryMethodAtThreeOrMoreSteps() throws {
        let file = Self.examples.appendingPathComponent("demo.yaml").path
        let paths = try Experiment.taskPaths(path: file)
        let catalog = try TaskCatalog(directory: Fixtures.packageRoot.appendingPathComponent("tasks").path, includePaths: paths)
        let e = try Experiment.load(path: file, knownTasks: catalog.names)
        XCTAssertTrue(e.skipped.isEmpty, "\(e.skipped)")
        XCTAssertEqual(e.targets, ["arith_text"])
        XCTAssertEqual(e.probes.first, "world_facts")
        XCTAssertTrue(catalog.names.contains("english_heldout"))
        let runs = Dictionary(grouping: e.variants, by: { $0.run ?? $0.label })
        XCTAssertEqual(Set(runs.keys), ["full", "full-wd", "full-dropout", "lora-r4", "lora-r16", "lora-r64", "qlora-r16"])
        for (run, variants) in runs {
            XCTAssertGreaterThanOrEqual(variants.count, 3, run)
            XCTAssertEqual(Set(variants.compactMap(\.tokens)).count, variants.count, "\(run): tokens from trainer_state.json")
        }
        XCTAssertEqual(Set(runs["lora-r64"]!.compactMap(\.rank)), [64])  // from adapter_config.json
        XCTAssertEqual(Set(runs["qlora-r16"]!.map(\.method)), [.qlora])
        XCTAssertEqual(Set(runs["full"]!.map(\.method)), [.full])
        XCTAssertEqual(try catalog.count("world_facts", limit: nil), 800)  // 200 facts x 4 held-out frames
    }

    /// Committed checkpoints (base, full fine-tunes in bf16, adapters) total at most 80 MB.
    func testCheckpointsFitTheSizeBudget() throws {
        let dir = Self.examples.appendingPathComponent("checkpoints")
        var total = 0
        let files = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: [.fileSizeKey, .isRegularFileKey])!
        for case let url as URL in files {
            let values = try url.resourceValues(forKeys: [.fileSizeKey, .isRegularFileKey])
            if values.isRegularFile == true { total += values.fileSize ?? 0 }
        }
        XCTAssertGreaterThan(total, 1_000_000)
        XCTAssertLessThanOrEqual(total, 80_000_000, "examples/checkpoints is \(total) bytes")
    }

    /// The base knows its facts in the held-out phrasings (the bar: >= 0.8), as forgetlens
    /// scores it: all 800 items through `forgetlens eval` (a few seconds; the training script's
    /// transformers scorer gives the same 0.83625, see examples/README.md). Chance is 0.25.
    func testTheBaseRecallsItsFactsInHeldOutPhrasings() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CommandRunner.executable.path), "build the forgetlens executable first")
        let out = Fixtures.temporaryDirectory("demo-facts")
        defer { try? FileManager.default.removeItem(at: out) }
        let r = try CommandRunner.run(["eval", "--model", Self.examples.appendingPathComponent("checkpoints/base").path,
                                       "--include-path", Self.examples.appendingPathComponent("tasks").path,
                                       "--tasks", "world_facts", "--output", out.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let results = try Fixtures.json(out.appendingPathComponent("results.json")) as! [String: Any]
        let facts = (results["results"] as! [String: Any])["world_facts"] as! [String: Any]
        let acc = try XCTUnwrap((facts["acc,none"] as? NSNumber)?.doubleValue, "\(facts)")
        XCTAssertGreaterThanOrEqual(acc, 0.8, "fact recall of the demo base")
    }
}
