import Experiments
import Foundation
import TestSupport
import XCTest

/// `forgetlens run FILE --watch` while this test writes Trainer checkpoint folders (copied from
/// the Trainer fixture run, in the order Trainer writes them: weights first, trainer_state.json
/// last). Every wait is bounded; the watcher must stop by itself (--until-step) or on SIGINT.
final class WatchTests: XCTestCase {
    var dir: URL!
    var runFolder: URL { dir.appendingPathComponent("run") }
    override func setUp() {
        dir = Fixtures.temporaryDirectory("watch")
        try? FileManager.default.createDirectory(at: dir.appendingPathComponent("run"), withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    static let source = Fixtures.root.appendingPathComponent("trainer/runs/lora-r4")
    var tasksDirectory: String { Fixtures.packageRoot.appendingPathComponent("tasks").path }

    func experiment(_ name: String) throws -> String {
        let yaml = """
        name: \(name)
        base: \(Fixtures.model("llama-tiny"))
        output: \(dir.appendingPathComponent(name).path)
        targets: [basic_arithmetic]
        probes: [hellaswag, arc_challenge]
        limit: 3
        variants:
          - {runs: \(runFolder.path)/checkpoint-*, label: live}
        """
        let path = dir.appendingPathComponent("\(name).yaml")
        try yaml.write(to: path, atomically: false, encoding: .utf8)
        return path.path
    }

    /// Writes checkpoint-STEP as Trainer does; with `stateLater` the trainer_state.json is left out.
    func writeCheckpoint(_ step: Int, withoutState: Bool = false) throws {
        let from = Self.source.appendingPathComponent("checkpoint-\(step)"), to = runFolder.appendingPathComponent("checkpoint-\(step)")
        try FileManager.default.createDirectory(at: to, withIntermediateDirectories: true)
        for f in try FileManager.default.contentsOfDirectory(atPath: from.path).sorted() where f != "trainer_state.json" {
            try FileManager.default.copyItem(at: from.appendingPathComponent(f), to: to.appendingPathComponent(f))
        }
        if !withoutState { try writeState(step) }
    }

    func writeState(_ step: Int) throws {
        let name = "checkpoint-\(step)/trainer_state.json"
        try FileManager.default.copyItem(at: Self.source.appendingPathComponent(name), to: runFolder.appendingPathComponent(name))
    }

    /// `interrupted`: the process will be stopped by a signal while it holds its experiment. Under
    /// AddressSanitizer its leak check is off: LeakSanitizer cannot follow Swift's pointers that
    /// carry enum tag bits, so what is still alive at such an exit reads as leaked
    /// (llvm/llvm-project#56751); the runs that end normally keep the check.
    func launch(_ args: [String], log: URL, interrupted: Bool = false) throws -> Process {
        let p = Process()
        p.executableURL = CommandRunner.executable
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["FORGETLENS_TASKS"] = tasksDirectory
        if interrupted, ProcessInfo.processInfo.environment["FORGETLENS_SANITIZER"] == "address" {
            env["ASAN_OPTIONS"] = [env["ASAN_OPTIONS"], "detect_leaks=0"].compactMap { $0 }.joined(separator: ":")
        }
        p.environment = env
        FileManager.default.createFile(atPath: log.path, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: log)
        p.standardError = try FileHandle(forWritingTo: log)
        try p.run()
        return p
    }

    func text(_ log: URL) -> String { String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self) }

    /// Waits (bounded) until the log contains `s`; fails and kills the watcher otherwise.
    func waitFor(_ s: String, in log: URL, _ p: Process, seconds: Double = 300) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !text(log).contains(s) && Date() < deadline && p.isRunning { usleep(20_000) }
        if !text(log).contains(s) {
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
            XCTFail("waited for '\(s)':\n\(text(log))")
            throw XCTSkip("watcher did not get there")
        }
    }

    func waitForExit(_ p: Process, log: URL, seconds: Double = 300) {
        let deadline = Date().addingTimeInterval(seconds)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        if p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            XCTFail("the watcher did not stop by itself:\n\(text(log))")
        }
        p.waitUntilExit()
    }

    func testWatchEvaluatesCheckpointsAsTheyAreWrittenAndStopsAtTheStep() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CommandRunner.executable.path), "build the forgetlens executable first")
        let file = try experiment("live")
        let log = dir.appendingPathComponent("watch.log")
        let p = try launch(["run", file, "--watch", "--interval", "0.2", "--until-step", "6"], log: log)
        try waitFor("[watch] looking again", in: log, p)  // round 1: the base, no checkpoint yet

        try writeCheckpoint(2, withoutState: true)  // being written: weights there, no trainer_state.json
        try waitFor("checkpoint-2: not a complete checkpoint yet (no trainer_state.json yet", in: log, p)
        XCTAssertFalse(text(log).contains("live-s2"))
        try writeState(2)
        try waitFor("new: live-s2 (1 checkpoints)", in: log, p)
        try writeCheckpoint(4)
        try waitFor("new: live-s4 (2 checkpoints)", in: log, p)
        try writeCheckpoint(6)
        waitForExit(p, log: log)
        XCTAssertEqual(p.terminationStatus, 0, text(log))
        XCTAssertTrue(text(log).contains("[watch] every run has reached step 6"), text(log))

        // Everything is in the store and the refreshed report; a plain run finds nothing to do.
        let store = try ResultsStore.existing(path: dir.appendingPathComponent("live/results.sqlite").path)
        XCTAssertEqual(Set(try store.checkpoints().map(\.label)), ["base", "live-s2", "live-s4", "live-s6"])
        XCTAssertEqual(try store.counts()["task_results"], 4 * 3)
        let html = try String(contentsOf: dir.appendingPathComponent("live/index.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("live-s6") && html.contains("Forgetting and learning during training"))
        let again = try CommandRunner.run(["run", file])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertFalse(again.stderr.contains("scored now"), again.stderr)
        XCTAssertTrue((try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("live").path)).allSatisfy { !$0.contains(".tmp") })
    }

    func testInterruptStopsWatchingAndKeepsWhatIsCommitted() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CommandRunner.executable.path), "build the forgetlens executable first")
        try writeCheckpoint(2)
        let file = try experiment("stopped")
        let log = dir.appendingPathComponent("stop.log")
        let p = try launch(["run", file, "--watch", "--interval", "0.2"], log: log, interrupted: true)
        try waitFor("[watch] looking again", in: log, p)
        kill(p.processIdentifier, SIGINT)
        waitForExit(p, log: log)
        XCTAssertEqual(p.terminationStatus, 130, text(log))
        XCTAssertTrue(text(log).contains("stopped: everything finished so far is committed"), text(log))
        let store = try ResultsStore.existing(path: dir.appendingPathComponent("stopped/results.sqlite").path)
        XCTAssertEqual(try store.counts()["task_results"], 2 * 3)
    }

    /// Two shards watch (one after the other here) until step 4; merged, they equal a plain run.
    func testWatchWithShardsMergesToTheUnshardedResults() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CommandRunner.executable.path), "build the forgetlens executable first")
        try writeCheckpoint(2)
        try writeCheckpoint(4)
        let file = try experiment("sharded")
        for i in 1...2 {
            let r = try CommandRunner.run(["run", file, "--watch", "--interval", "0.2", "--until-step", "4", "--shard", "\(i)/2"], timeout: 300)
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let status = try CommandRunner.run(["status", file])
        XCTAssertEqual(status.status, 0, status.stderr)
        for i in 1...2 {  // status splits the work as the watching shard did (each checkpoint on its own)
            XCTAssertTrue(status.stdout.contains("shard \(i)/2: ") && status.stdout.components(separatedBy: "(100.0%)").count == 3, status.stdout)
        }
        let out = dir.appendingPathComponent("sharded")
        let merged = out.appendingPathComponent("results.sqlite").path
        let m = try CommandRunner.run(["merge", merged, out.appendingPathComponent("shards/shard-1-of-2.sqlite").path, out.appendingPathComponent("shards/shard-2-of-2.sqlite").path])
        XCTAssertEqual(m.status, 0, m.stderr)
        let plain = try CommandRunner.run(["run", file, "--store", dir.appendingPathComponent("plain.sqlite").path])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        func aggregates(_ path: String) throws -> [String: Double] {
            let store = try ResultsStore.existing(path: path)
            return Dictionary(uniqueKeysWithValues: try store.allTaskResults().map { ("\($0.fingerprint)|\($0.task)", $0.metrics["acc"]!.value) })
        }
        XCTAssertEqual(try aggregates(merged).count, 3 * 3)
        XCTAssertEqual(try aggregates(merged), try aggregates(dir.appendingPathComponent("plain.sqlite").path))
        XCTAssertEqual(try ResultsStore.existing(path: merged).counts()["spectra"], try ResultsStore.existing(path: dir.appendingPathComponent("plain.sqlite").path).counts()["spectra"])
    }

    func testWatchUsageErrors() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CommandRunner.executable.path), "build the forgetlens executable first")
        let file = try experiment("usage")
        XCTAssertEqual(try CommandRunner.run(["run", file, "--until-step", "4"]).status, 64)
        XCTAssertEqual(try CommandRunner.run(["run", file, "--watch", "--interval", "0"]).status, 64)
        let plain = dir.appendingPathComponent("plain.yaml")
        try """
        name: plain
        base: \(Fixtures.model("llama-tiny"))
        output: \(dir.appendingPathComponent("plain").path)
        targets: [basic_arithmetic]
        variants:
          - {label: r8, method: lora, adapter: \(Fixtures.model("lora-llama-r8"))}
        """.write(to: plain, atomically: false, encoding: .utf8)
        let r = try CommandRunner.run(["run", plain.path, "--watch", "--interval", "0.2"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--watch: the experiment has no `runs:` variants"), r.stderr)
    }
}
