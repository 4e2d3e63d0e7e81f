import Evaluation
import Experiments
import Foundation
import TestSupport
import XCTest

/// humaneval as an experiment target: refused without `allow_code_execution: true`, run and
/// reported with it (pass@1, higher is better).
final class CodeTaskExperimentTests: XCTestCase {
    var dir: URL!
    override func setUp() { dir = Fixtures.temporaryDirectory("code-task-exp") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func write(allow: Bool?) throws -> String {
        let file = dir.appendingPathComponent("exp-\(allow.map(String.init) ?? "unset").yaml")
        try """
        name: code
        base: \(Fixtures.model("llama-tiny"))
        output: out-\(allow.map(String.init) ?? "unset")
        targets: [humaneval]
        probes: [arc_easy]
        limit: {default: 2}
        spectra: {enabled: false}
        \(allow.map { "allow_code_execution: \($0)" } ?? "")
        variants:
          - {label: lora-r8, method: lora, rank: 8, step: 1, adapter: \(Fixtures.model("lora-llama-r8"))}
        """.write(to: file, atomically: false, encoding: .utf8)
        return file.path
    }

    func testCodeTasksNeedConsentInTheExperimentFile() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CommandRunner.executable.path), "build the forgetlens executable first")
        for allow in [nil, false] as [Bool?] {
            let r = try CommandRunner.run(["run", try write(allow: allow)])
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertTrue(r.stderr.contains("allow_code_execution: true"), r.stderr)
        }
        let file = try write(allow: true)
        let run = try CommandRunner.run(["run", file])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue((run.stdout + run.stderr).contains("humaneval          pass@1"), run.stdout + run.stderr)
        let report = try CommandRunner.run(["report", file, "--bootstrap", "20"])
        XCTAssertEqual(report.status, 0, report.stderr)
        let bad = dir.appendingPathComponent("bad.yaml")
        try "name: x\nbase: \(Fixtures.model("llama-tiny"))\ntargets: [arc_easy]\nallow_code_execution: yes please\nvariants: []\n".write(to: bad, atomically: false, encoding: .utf8)
        let refused = try CommandRunner.run(["run", bad.path])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.contains("bad.yaml:4:") && refused.stderr.contains("allow_code_execution: expected true or false"), refused.stderr)
    }

    /// Shards store generations only; merging computes a code task's aggregate by running its
    /// programs again, so merge needs the same consent; export runs under the file's.
    func testShardedCodeTaskMergesWithConsent() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CommandRunner.executable.path), "build the forgetlens executable first")
        let file = try write(allow: true)
        for i in 1...2 {
            let r = try CommandRunner.run(["run", file, "--shard", "\(i)/2"])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let shards = dir.appendingPathComponent("out-true/shards")
        let parts = try FileManager.default.contentsOfDirectory(atPath: shards.path).filter { $0.hasSuffix(".sqlite") }.sorted().map { shards.appendingPathComponent($0).path }
        let out = dir.appendingPathComponent("out-true/results.sqlite").path
        let refused = try CommandRunner.run(["merge", out] + parts)
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.contains("--allow-code-execution"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "a refused merge leaves no store")
        let merged = try CommandRunner.run(["merge", out] + parts + ["--allow-code-execution"])
        XCTAssertEqual(merged.status, 0, merged.stderr)
        XCTAssertTrue(merged.stdout.contains("aggregates computed: 4"), merged.stdout)
        let export = try CommandRunner.run(["export", file])
        XCTAssertEqual(export.status, 0, export.stderr)
    }
}
