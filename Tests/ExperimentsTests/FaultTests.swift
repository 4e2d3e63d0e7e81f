import Experiments
import Foundation
import TestSupport
import XCTest

/// Faults a long run meets: a second run on the same store, a full disk, SIGKILL at random
/// moments of `run` and of `merge`. Each ends equal to an uninterrupted run.
extension RunAndResumeTests {
    /// hellaswag's 10k documents take most of a debug build's start-up; these tests restart runs
    /// dozens of times, so they probe with the two light tasks.
    static let lightProbes = "winogrande, arc_challenge"

    private func requireBinary() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CommandRunner.executable.path), "build the forgetlens executable first")
    }

    private func logText(_ url: URL) -> String { String(decoding: (try? Data(contentsOf: url)) ?? Data(), as: UTF8.self) }

    /// The reference: an uninterrupted run of the same experiment into its own store, with the
    /// seconds until its first line (task loading: most of a small run in a debug build) and in all.
    private func cleanRun(limit: Int) throws -> (tasks: [String: String], items: [String: String], startup: Double, total: Double) {
        let clean = try writeExperiment(name: "clean", output: dir.appendingPathComponent("clean").path, limit: limit, probes: Self.lightProbes)
        let log = dir.appendingPathComponent("clean.log")
        let started = Date()
        let c = try launch(["run", clean, "--chunk-size", "2"], log: log)
        var startup: Double? = nil
        while c.isRunning {
            if startup == nil, !logText(log).isEmpty { startup = Date().timeIntervalSince(started) }
            usleep(10_000)
        }
        c.waitUntilExit()
        let total = Date().timeIntervalSince(started)
        XCTAssertEqual(c.terminationStatus, 0, logText(log))
        let s = try snapshot(dir.appendingPathComponent("clean/results.sqlite").path)
        return (s.tasks, s.items, startup ?? total, total)
    }

    /// A second `run` on a store another `run` is writing refuses at once, naming the first.
    func testSecondRunOnTheSameStoreRefusesNamingTheFirst() throws {
        try requireBinary()
        let file = try writeExperiment(name: "shared", output: dir.appendingPathComponent("shared").path, limit: 10, probes: Self.lightProbes)
        let store = dir.appendingPathComponent("shared/results.sqlite").path
        let first = try launch(["run", file, "--chunk-size", "2"], log: dir.appendingPathComponent("first.log"))
        let deadline = Date().addingTimeInterval(300)
        while itemCount(store) < 4 && first.isRunning && Date() < deadline { usleep(20_000) }
        XCTAssertTrue(first.isRunning, "the first run ended before the second started: \(logText(dir.appendingPathComponent("first.log")))")
        let second = try CommandRunner.run(["run", file], timeout: 120)
        XCTAssertEqual(second.status, 2, second.stderr)
        XCTAssertTrue(second.stderr.contains("another `forgetlens run` (pid \(first.processIdentifier)"), second.stderr)
        XCTAssertTrue(second.stderr.contains(store), second.stderr)
        first.waitUntilExit()
        XCTAssertEqual(first.terminationStatus, 0)
        let again = try CommandRunner.run(["run", file], timeout: 300)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertFalse(again.stderr.contains("scored now"), "everything was stored by the first run: \(again.stderr)")
    }

    /// The store on a small tmpfs: the run fails naming the store and the full disk, what it
    /// committed stays readable, and after space is freed a rerun ends equal to a clean run.
    func testDiskFullThenRerunEqualsAnUninterruptedRun() throws {
        try requireBinary()
        try XCTSkipUnless(getuid() == 0, "mounting a tmpfs needs root")
        let reference = try cleanRun(limit: 10)
        let cleanSize = (try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent("clean/results.sqlite").path)[.size] as? Int) ?? 0
        XCTAssertGreaterThan(cleanSize, 0)
        let mountPoint = dir.appendingPathComponent("small-disk")
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        // The WAL grows beside the store until a checkpoint, so a disk the size of the finished
        // store fills part-way through the run.
        let size = max(2 * cleanSize / 4096 * 4096, 16 * 4096)
        let mounted = Subprocess.run(["mount", "-t", "tmpfs", "-o", "size=\(size)", "tmpfs", mountPoint.path])
        try XCTSkipUnless(mounted.status == 0, "cannot mount a tmpfs here: \(mounted.output)")
        defer { _ = Subprocess.run(["umount", "-l", mountPoint.path]) }

        let file = try writeExperiment(name: "full", output: dir.appendingPathComponent("full").path, limit: 10, probes: Self.lightProbes)
        let store = mountPoint.appendingPathComponent("results.sqlite").path
        let failed = try CommandRunner.run(["run", file, "--chunk-size", "2", "--store", store], timeout: 600)
        XCTAssertNotEqual(failed.status, 0, "the run fit in \(size) bytes; the store is \(cleanSize) bytes when complete")
        XCTAssertTrue(failed.stderr.contains(store), failed.stderr)
        XCTAssertTrue(failed.stderr.contains("full"), failed.stderr)
        let grown = Subprocess.run(["mount", "-o", "remount,size=64m", mountPoint.path])
        XCTAssertEqual(grown.status, 0, grown.output)
        let partial = try snapshot(store)  // what was committed before the disk filled
        XCTAssertLessThan(partial.items.count, reference.items.count)
        let rerun = try CommandRunner.run(["run", file, "--chunk-size", "2", "--store", store], timeout: 600)
        XCTAssertEqual(rerun.status, 0, rerun.stderr)
        let finished = try snapshot(store)
        XCTAssertEqual(finished.items, reference.items)
        XCTAssertEqual(finished.tasks, reference.tasks)
        print("DISK-FULL store (\(cleanSize) bytes when complete) on a \(size)-byte tmpfs: \(partial.items.count) of \(reference.items.count) items committed before the disk filled")
    }

    /// SIGKILL at 20 random moments (seeded) of one run, each followed by a rerun that is killed
    /// in turn; the last rerun finishes. Then the same for `merge` of two shard stores. Both end
    /// equal to uninterrupted work, with no row twice (every table's key is unique, and the
    /// counts equal the reference's).
    func testTwentyKillsOfRunAndOfMergeEndEqual() throws {
        try requireBinary()
        let limit = 5
        let reference = try cleanRun(limit: limit)
        var rng: UInt64 = 20_261_202
        func uniform(_ low: Double, _ high: Double) -> Double {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            return low + (high - low) * Double(rng >> 11) / Double(1 << 53)
        }

        let file = try writeExperiment(name: "killed", output: dir.appendingPathComponent("killed").path, limit: limit, probes: Self.lightProbes)
        let store = dir.appendingPathComponent("killed/results.sqlite").path
        var phases: [String: Int] = [:]
        var kills = 0, completed = 0
        for attempt in 0..<60 where kills < 20 {
            let log = dir.appendingPathComponent("kill-\(attempt).log")
            let p = try launch(["run", file, "--chunk-size", "2"], log: log)
            // Moments spread over a whole run's length. Committed work carries over, so a chain of
            // reruns gets through; when one finishes, its store must equal the reference, and the
            // chain starts again on a new store until 20 kills have landed.
            usleep(UInt32(uniform(0.8 * reference.startup, reference.total) * 1e6))
            guard p.isRunning else {
                p.waitUntilExit()
                XCTAssertEqual(p.terminationStatus, 0, logText(log))
                let finished = try snapshot(store)
                XCTAssertEqual(finished.items, reference.items)
                XCTAssertEqual(finished.tasks, reference.tasks)
                completed += 1
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: store + suffix) }
                continue
            }
            let text = logText(log)
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            kills += 1
            let phase = text.contains("spectra") ? "spectra" : text.contains("[") ? "scoring" : "start-up (tasks, fingerprints)"
            phases[phase, default: 0] += 1
        }
        XCTAssertEqual(kills, 20)
        let last = try CommandRunner.run(["run", file, "--chunk-size", "2"], timeout: 600)
        XCTAssertEqual(last.status, 0, last.stderr)
        let resumed = try snapshot(store)
        XCTAssertEqual(resumed.items, reference.items)
        XCTAssertEqual(resumed.tasks, reference.tasks)
        XCTAssertGreaterThan(kills, 0)
        print("RUN-KILLS (an uninterrupted run: first line after \(String(format: "%.1f", reference.startup)) s, done after \(String(format: "%.1f", reference.total)) s; kills drawn from 0.8 x the first and the end) \(kills) SIGKILLs by phase: \(phases.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")); \(completed) chains completed between kills")

        // merge: two shard stores merged while being killed at random moments.
        for part in ["1/2", "2/2"] {
            let r = try CommandRunner.run(["run", file, "--shard", part], timeout: 600)
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let shards = dir.appendingPathComponent("killed/shards")
        let inputs = try FileManager.default.contentsOfDirectory(atPath: shards.path).filter { $0.hasSuffix(".sqlite") }.sorted().map { shards.appendingPathComponent($0).path }
        XCTAssertEqual(inputs.count, 2)
        let merged = dir.appendingPathComponent("merged/merged.sqlite").path
        // The reference: an uninterrupted merge of the same shard stores (the shards batch their
        // documents differently from a whole run, so log-likelihoods may differ from it in the
        // last bits; ShardMergeTests bounds that).
        let wholePath = dir.appendingPathComponent("whole/merged.sqlite").path
        let mergeStarted = Date()
        let whole = try CommandRunner.run(["merge", wholePath] + inputs, timeout: 300)
        XCTAssertEqual(whole.status, 0, whole.stderr)
        let mergeSeconds = Date().timeIntervalSince(mergeStarted)
        let mergeReference = try snapshot(wholePath)
        var mergePhases: [String: Int] = [:]
        var mergeKills = 0
        for attempt in 0..<20 {
            let p = try launch(["merge", merged] + inputs, log: dir.appendingPathComponent("merge-\(attempt).log"))
            usleep(UInt32(uniform(0.1, 0.9) * mergeSeconds * 1e6))
            if p.isRunning {
                let mergedDir = dir.appendingPathComponent("merged").path
                let writing = ((try? FileManager.default.contentsOfDirectory(atPath: mergedDir)) ?? []).contains { $0.contains(".merging-") }
                kill(p.processIdentifier, SIGKILL)
                mergeKills += 1
                mergePhases[writing ? "writing the new store" : "reading and checking", default: 0] += 1
            }
            p.waitUntilExit()
            if FileManager.default.fileExists(atPath: merged) {
                XCTAssertNoThrow(try snapshot(merged), "a killed merge left a broken OUT")
            }
        }
        let finalMerge = try CommandRunner.run(["merge", merged] + inputs, timeout: 300)
        XCTAssertEqual(finalMerge.status, 0, finalMerge.stderr)
        let mergedSnapshot = try snapshot(merged)
        XCTAssertEqual(mergedSnapshot.items, mergeReference.items)
        XCTAssertEqual(mergedSnapshot.tasks, mergeReference.tasks)
        XCTAssertEqual(mergedSnapshot.items.count, reference.items.count)
        let litter = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("merged").path).filter { $0.contains(".merging-") }
        XCTAssertEqual(litter, [], "temporaries of killed merges were not cleaned up")
        print("MERGE-KILLS \(mergeKills) of 20 merges killed before they finished (an uninterrupted merge took \(String(format: "%.1f", mergeSeconds)) s; kills drawn from 0.1-0.9 x that), by phase: \(mergePhases.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
    }
}
