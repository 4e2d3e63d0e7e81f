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
        XCTAssertEqual(try catalog.count("world_facts", limit: nil), 500)
        XCTAssertGreaterThanOrEqual(try catalog.count("world_facts", limit: nil), 500)
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

    /// The base scores above chance (0.25) on the held-out phrasings, as forgetlens scores it: the
    /// first 200 items through `forgetlens eval` (the report scores all 500). The goal is
    /// 0.8; the committed base reaches 0.45 on these 200 items (0.414 on all 500 by the training
    /// script's transformers scorer), see examples/README.md. The bound is chance + 3 standard
    /// errors at n = 200, so a base that knew nothing would fail it.
    func testTheBaseRecallsItsFactsInHeldOutPhrasings() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CommandRunner.executable.path), "build the forgetlens executable first")
        let out = Fixtures.temporaryDirectory("demo-facts")
        defer { try? FileManager.default.removeItem(at: out) }
        let r = try CommandRunner.run(["eval", "--model", Self.examples.appendingPathComponent("checkpoints/base").path,
                                       "--include-path", Self.examples.appendingPathComponent("tasks").path,
                                       "--tasks", "world_facts", "--limit", "200", "--output", out.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let results = try Fixtures.json(out.appendingPathComponent("results.json")) as! [String: Any]
        let facts = (results["results"] as! [String: Any])["world_facts"] as! [String: Any]
        let acc = try XCTUnwrap((facts["acc,none"] as? NSNumber)?.doubleValue, "\(facts)")
        XCTAssertGreaterThanOrEqual(acc, 0.25 + 3 * (0.25 * 0.75 / 200).squareRoot(), "fact recall of the demo base")
    }
}
