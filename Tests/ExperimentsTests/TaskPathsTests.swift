import Evaluation
import Experiments
import Foundation
import TestSupport
import XCTest

/// `task_paths:` in an experiment file: the user's own tasks (lm-eval local-data YAMLs) as targets,
/// run, reported and listed beside the shipped probes (issue 12).
final class TaskPathsTests: XCTestCase {
    var dir: URL!
    override func setUp() { dir = Fixtures.temporaryDirectory("task-paths") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    /// The user tasks copied next to the experiment file, named relative to it.
    func writeExperiment(taskPaths: String = "[mytasks]") throws -> String {
        try FileManager.default.copyItem(at: Fixtures.root.appendingPathComponent("usertasks/tasks"), to: dir.appendingPathComponent("mytasks"))
        let file = dir.appendingPathComponent("exp.yaml")
        try """
        name: mine
        base: \(Fixtures.model("llama-tiny"))
        output: out
        task_paths: \(taskPaths)
        targets: [user_larger]
        probes: [arc_easy]
        limit: {default: 3}
        spectra: {enabled: false}
        variants:
          - {label: lora-r8, method: lora, rank: 8, step: 1, adapter: \(Fixtures.model("lora-llama-r8"))}
        """.write(to: file, atomically: false, encoding: .utf8)
        return file.path
    }

    func testTaskPathsAreRelativeToTheFileAndKnownToTheCatalog() throws {
        let file = try writeExperiment()
        let paths = try Experiment.taskPaths(path: file)
        XCTAssertEqual(paths, [dir.appendingPathComponent("mytasks").standardized.path])
        let catalog = try TaskCatalog(directory: Fixtures.packageRoot.appendingPathComponent("tasks").path, includePaths: paths)
        let e = try Experiment.load(path: file, knownTasks: catalog.names)
        XCTAssertEqual(e.targets, ["user_larger"])
        XCTAssertEqual(try catalog.primaryMetric("user_larger").negate, false)
        XCTAssertEqual(try catalog.primaryMetric("arith_text").negate, true)  // bits_per_byte: lower is better
    }

    func testAMissingTaskPathIsAnErrorWithItsLine() throws {
        let file = try writeExperiment(taskPaths: "[mytasks, nowhere]")
        XCTAssertThrowsError(try Experiment.taskPaths(path: file)) { error in
            guard let e = error as? ExperimentError else { return XCTFail("\(error)") }
            XCTAssertEqual(e.line, 4)
            XCTAssertTrue(e.description.contains("task_paths: directory \(self.dir.appendingPathComponent("nowhere").standardized.path) does not exist"), "\(e)")
        }
    }

    func testRunAndReportAUserTaskFromTheCommandLine() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CommandRunner.executable.path), "build the forgetlens executable first")
        let file = try writeExperiment()
        let run = try CommandRunner.run(["run", file])
        XCTAssertEqual(run.status, 0, run.stderr)
        let report = try CommandRunner.run(["report", file, "--bootstrap", "20"])
        XCTAssertEqual(report.status, 0, report.stderr)
        let summary = try String(contentsOf: dir.appendingPathComponent("out/summary.md"), encoding: .utf8)
        XCTAssertTrue(summary.contains("user_larger"), summary)
    }
}
