import Evaluation
import Experiments
import Foundation
import TestSupport
import XCTest

/// `diversity:` tasks in an experiment (issue 12): sampled per checkpoint, stored under a key that
/// names the sampling settings and seed, resumed from the store, reported beside learning and
/// forgetting.
final class DiversityExperimentTests: XCTestCase {
    var dir: URL!
    override func setUp() { dir = Fixtures.temporaryDirectory("diversity-exp") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func write(seed: Int) throws -> String {
        let tasks = dir.appendingPathComponent("tasks")
        try FileManager.default.createDirectory(at: tasks, withIntermediateDirectories: true)
        try """
        task: arith_sampled
        data: \(Fixtures.packageRoot.appendingPathComponent("tasks/data/arith_gen.validation.jsonl").path)
        output_type: generate_until
        doc_to_text: "Q: {{question}}=? A:"
        doc_to_target: "{{answer}}"
        generation_kwargs:
          until: ["\\n", "Q:"]
          max_gen_toks: 8
          do_sample: true
          temperature: 1.0
        repeats: 4
        metric_list:
          - metric: distinct_fraction
          - metric: distinct_2
          - metric: token_entropy
        """.write(to: tasks.appendingPathComponent("arith_sampled.yaml"), atomically: false, encoding: .utf8)
        let file = dir.appendingPathComponent("exp.yaml")
        try """
        name: div
        base: \(Fixtures.model("llama-tiny"))
        output: out
        task_paths: [tasks]
        targets: [arith_gen]
        probes: [arc_easy]
        diversity: [arith_sampled]
        seed: \(seed)
        limit: {default: 4}
        spectra: {enabled: false}
        variants:
          - {label: lora-r8, method: lora, rank: 8, step: 1, adapter: \(Fixtures.model("lora-llama-r8"))}
        """.write(to: file, atomically: false, encoding: .utf8)
        return file.path
    }

    func testDiversityPerVariantIsStoredResumedAndReported() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CommandRunner.executable.path), "build the forgetlens executable first")
        let file = try write(seed: 1234)
        let first = try CommandRunner.run(["run", file])
        XCTAssertEqual(first.status, 0, first.stderr)
        let again = try CommandRunner.run(["run", file])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertFalse((again.stdout + again.stderr).contains("scored now"), again.stdout + again.stderr)  // all from the store
        let report = try CommandRunner.run(["report", file, "--bootstrap", "20"])
        XCTAssertEqual(report.status, 0, report.stderr)
        let summary = try String(contentsOf: dir.appendingPathComponent("out/summary.md"), encoding: .utf8)
        XCTAssertTrue(summary.contains("## Generation diversity"), summary)
        for column in ["arith_sampled distinct_fraction", "arith_sampled distinct_2", "arith_sampled token_entropy"] {
            XCTAssertTrue(summary.contains(column), column)
        }
        let html = try String(contentsOf: dir.appendingPathComponent("out/index.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("Generation diversity"))
        // the seed is part of the task key: another seed samples again
        _ = try write(seed: 99)
        let reseeded = try CommandRunner.run(["run", file])
        XCTAssertEqual(reseeded.status, 0, reseeded.stderr)
        XCTAssertTrue((reseeded.stdout + reseeded.stderr).contains("arith_sampled") && (reseeded.stdout + reseeded.stderr).contains("4 scored now"), reseeded.stdout + reseeded.stderr)
    }

    /// Two shards and a merge give the same samples, hence the same diversity, as one whole run.
    func testShardsGiveTheSameDiversityAsOneRun() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CommandRunner.executable.path), "build the forgetlens executable first")
        let file = try write(seed: 7)
        XCTAssertEqual(try CommandRunner.run(["run", file]).status, 0)
        XCTAssertEqual(try CommandRunner.run(["report", file, "--bootstrap", "20"]).status, 0)
        let summary = dir.appendingPathComponent("out/summary.md")
        let whole = try String(contentsOf: summary, encoding: .utf8)
        for i in 1...2 {
            let r = try CommandRunner.run(["run", file, "--shard", "\(i)/2"])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let shards = dir.appendingPathComponent("out/shards")
        let parts = try FileManager.default.contentsOfDirectory(atPath: shards.path).filter { $0.hasSuffix(".sqlite") }.sorted().map { shards.appendingPathComponent($0).path }
        // without the experiment's task_paths, merge cannot know its own tasks: it says which flag is missing
        let bare = try CommandRunner.run(["merge", dir.appendingPathComponent("bare.sqlite").path] + parts)
        XCTAssertEqual(bare.status, 0, bare.stderr)
        XCTAssertTrue(bare.stdout.contains("arith_sampled: no such task") && bare.stdout.contains("--include-path"), bare.stdout)
        let merged = dir.appendingPathComponent("merged.sqlite").path
        let m = try CommandRunner.run(["merge", merged] + parts + ["--include-path", dir.appendingPathComponent("tasks").path])
        XCTAssertEqual(m.status, 0, m.stderr)
        XCTAssertTrue(m.stdout.contains("aggregates computed: 6"), m.stdout)
        let r = try CommandRunner.run(["report", file, "--store", merged, "--bootstrap", "20"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let fromShards = try String(contentsOf: summary, encoding: .utf8)
        func diversity(_ s: String) -> String { s.components(separatedBy: "## Generation diversity").last ?? "" }
        XCTAssertTrue(diversity(whole).contains("arith_sampled distinct_2"))
        XCTAssertEqual(diversity(fromShards), diversity(whole))
    }
}
