import Experiments
import Foundation
import TestSupport
import XCTest

/// `run --shard I/N` + `merge` against a whole run of the same experiment on the fixture models.
final class ShardMergeTests: XCTestCase {
    var dir: URL!
    override func setUp() { dir = Fixtures.temporaryDirectory("shard-merge") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    var tasksDirectory: String { Fixtures.packageRoot.appendingPathComponent("tasks").path }

    /// 7 documents (odd, so shard boundaries fall inside tasks), a rolling-free MC mix, spectra on.
    func writeExperiment(limit: Int = 7, name: String = "exp") throws -> String {
        let yaml = """
        name: sharded
        base: \(Fixtures.model("llama-tiny"))
        output: \(dir.appendingPathComponent("out").path)
        targets: [basic_arithmetic]
        probes: [hellaswag, arc_challenge]
        limit: \(limit)
        num_fewshot: 0
        variants:
          - {label: full, method: full, step: 100, model: \(Fixtures.model("llama-tiny-ft-bf16"))}
          - {label: lora, method: lora, step: 100, adapter: \(Fixtures.model("lora-llama-r8"))}
        """
        let path = dir.appendingPathComponent("\(name).yaml")
        try yaml.write(to: path, atomically: false, encoding: .utf8)
        return path.path
    }

    func run(_ file: String, shard: Shard?, store path: String) throws -> ResultsStore {
        let catalog = try TaskCatalog(directory: tasksDirectory)
        let e = try Experiment.load(path: file, knownTasks: catalog.names)
        let store = try ResultsStore(path: path)
        var options = RunOptions()
        options.chunkSize = 3
        try ExperimentRunner(experiment: e, catalog: catalog, store: store, options: options).run(shard: shard)
        return store
    }

    func shardPath(_ i: Int, _ n: Int) -> String { dir.appendingPathComponent("shards/\(i)-of-\(n).sqlite").path }

    func merge(_ out: String, _ inputs: [String]) throws -> StoreMerger.Summary {
        try StoreMerger.merge(into: out, from: inputs, catalog: try TaskCatalog(directory: tasksDirectory), toolVersion: "test")
    }

    func testShardsMergedEqualAWholeRun() throws {
        let file = try writeExperiment()
        let whole = try run(file, shard: nil, store: dir.appendingPathComponent("whole.sqlite").path)
        var parts: [String] = []
        for i in 1...3 {
            parts.append(shardPath(i, 3))
            let s = try run(file, shard: Shard(index: i, count: 3), store: parts.last!)
            XCTAssertEqual(try s.allTaskResults().count, 0, "a shard stores no aggregates")
            XCTAssertGreaterThan(try s.allItems().count, 0)
        }
        let out = dir.appendingPathComponent("merged.sqlite").path
        let summary = try merge(out, parts)
        XCTAssertEqual(summary.itemsDuplicate, 0)
        XCTAssertEqual(summary.itemsConflicting, 0)
        XCTAssertTrue(summary.incomplete.isEmpty, "\(summary.incomplete)")
        XCTAssertEqual(summary.aggregatesFinished, 3 * 3)
        let merged = try ResultsStore.existing(path: out)

        // Items: the same documents; log-likelihoods equal up to batch composition (OpenBLAS
        // rounds a row ~1 ulp differently by its place in the blocking; see GemmRowTests), every
        // decision equal.
        let a = Dictionary(uniqueKeysWithValues: try whole.allItems().map { ("\($0.fingerprint) \($0.task) \($0.docId)", $0) })
        let b = Dictionary(uniqueKeysWithValues: try merged.allItems().map { ("\($0.fingerprint) \($0.task) \($0.docId)", $0) })
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        XCTAssertEqual(a.count, 3 * 3 * 7)
        for (k, x) in a {
            let y = try XCTUnwrap(b[k])
            XCTAssertEqual(x.acc, y.acc, k)
            XCTAssertEqual(x.accNorm, y.accNorm, k)
            XCTAssertEqual(x.gold, y.gold, k)
            for (o, p) in zip(x.outcomes ?? [], y.outcomes ?? []) {
                XCTAssertEqual(o.loglikelihood, p.loglikelihood, accuracy: 1e-5, k)
                XCTAssertEqual(o.isGreedy, p.isGreedy, k)
                XCTAssertEqual(o.tokens, p.tokens, k)
            }
        }
        // Aggregates: same keys; accuracies are means of equal decisions.
        let ta = Dictionary(uniqueKeysWithValues: try whole.allTaskResults().map { ("\($0.fingerprint) \($0.task)", $0) })
        let tb = Dictionary(uniqueKeysWithValues: try merged.allTaskResults().map { ("\($0.fingerprint) \($0.task)", $0) })
        XCTAssertEqual(Set(ta.keys), Set(tb.keys))
        for (k, x) in ta {
            let y = try XCTUnwrap(tb[k])
            XCTAssertEqual(x.documents, y.documents)
            XCTAssertEqual(Set(x.metrics.keys), Set(y.metrics.keys))
            for (m, v) in x.metrics {
                XCTAssertEqual(v.value, y.metrics[m]!.value, accuracy: 1e-12, "\(k) \(m)")
                XCTAssertEqual(v.stderr ?? -1, y.metrics[m]!.stderr ?? -1, accuracy: 1e-12, "\(k) \(m)")
            }
        }
        // Spectra: every tensor once, computed by the same code on the same weights.
        let sa = try whole.allSpectra(), sb = try merged.allSpectra()
        XCTAssertGreaterThan(sa.count, 0)
        XCTAssertEqual(sa.map(\.tensor).sorted(), sb.map(\.tensor).sorted())
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: sa.map { ("\($0.fingerprint) \($0.tensor)", $0.singularValues) }),
                       Dictionary(uniqueKeysWithValues: sb.map { ("\($0.fingerprint) \($0.tensor)", $0.singularValues) }))
        XCTAssertEqual(try whole.definition()?.hash, try merged.definition()?.hash)
        XCTAssertEqual(try whole.checkpoints().map(\.fingerprint).sorted(), try merged.checkpoints().map(\.fingerprint).sorted())

        // The report reads the merged store as it reads a whole run's.
        let catalog = try TaskCatalog(directory: tasksDirectory)
        let e = try Experiment.load(path: file, knownTasks: catalog.names)
        let ra = try ExperimentSummary.build(e, catalog: catalog, store: whole, toolVersion: "t", bootstrapResamples: 50)
        let rb = try ExperimentSummary.build(e, catalog: catalog, store: merged, toolVersion: "t", bootstrapResamples: 50)
        XCTAssertEqual(ra.rows.map { $0.learning?.value }, rb.rows.map { $0.learning?.value })
        XCTAssertEqual(ra.rows.map { $0.forgetting?.value }, rb.rows.map { $0.forgetting?.value })
        XCTAssertTrue(rb.notes.isEmpty, "\(rb.notes)")

        // Merging the same parts again adds nothing: identical work is kept once.
        let again = try merge(out, parts)
        XCTAssertEqual(again.itemsAdded, 0)
        XCTAssertEqual(again.itemsDuplicate, 3 * 3 * 7)
        XCTAssertEqual(again.spectraAdded, 0)
        XCTAssertEqual(again.aggregatesFinished, 0)
        XCTAssertEqual(try ResultsStore.existing(path: out).allItems().count, 3 * 3 * 7)
    }

    func testIncompletePartsAreListedAndFinishedLater() throws {
        let file = try writeExperiment()
        for i in 1...2 { _ = try run(file, shard: Shard(index: i, count: 2), store: shardPath(i, 2)) }
        let out = dir.appendingPathComponent("merged.sqlite").path
        let first = try merge(out, [shardPath(1, 2)])
        // Shard 1 of 2 covers the base and half of 'full': base's 3 tasks are complete.
        XCTAssertEqual(first.aggregatesFinished, 3)
        XCTAssertEqual(Set(first.incomplete.map(\.label)), ["full", "lora"])
        for i in first.incomplete where i.label == "lora" { XCTAssertEqual(i.present, 0) }
        for i in first.incomplete where i.label == "full" { XCTAssertEqual(i.present, 3, "\(i)") }  // floor(0.5 * 7)
        // Progress as `status` shows it: the shard against its own part, the merge against all.
        let catalog = try TaskCatalog(directory: tasksDirectory)
        let e = try Experiment.load(path: file, knownTasks: catalog.names)
        let part = try StoreProgress.read(e, catalog: catalog, path: shardPath(1, 2), spectraUnits: try e.spectraUnits())
        XCTAssertEqual(part.shard, Shard(index: 1, count: 2))
        XCTAssertEqual(part.documentTotals.stored, part.documentTotals.due)
        XCTAssertEqual(part.documentTotals.due, 3 * 7 + 3 * 3)  // base, and documents 0..<3 of 'full'
        XCTAssertEqual(part.spectraTotals.stored, part.spectraTotals.due)
        let partial = try StoreProgress.read(e, catalog: catalog, path: out, spectraUnits: try e.spectraUnits())
        XCTAssertNil(partial.shard)
        XCTAssertEqual(partial.documentTotals.stored, 3 * 7 + 3 * 3)
        XCTAssertEqual(partial.documentTotals.due, 3 * 3 * 7)
        XCTAssertEqual(partial.rows.map(\.aggregated), [true, false, false])

        let second = try merge(out, [shardPath(2, 2)])
        XCTAssertTrue(second.incomplete.isEmpty, "\(second.incomplete)")
        XCTAssertEqual(second.aggregatesFinished, 6)
        let done = try StoreProgress.read(e, catalog: catalog, path: out, spectraUnits: try e.spectraUnits())
        XCTAssertEqual(done.documentTotals.stored, done.documentTotals.due)
        XCTAssertEqual(done.spectraTotals.stored, done.spectraTotals.due)
        XCTAssertGreaterThan(done.spectraTotals.due, 0)
        XCTAssertEqual(done.rows.map(\.aggregated), [true, true, true])
    }

    func testMergeRefusesDifferentDefinitionsAndLeavesTheOutputAlone() throws {
        let seven = try writeExperiment(limit: 7, name: "seven")
        let eight = try writeExperiment(limit: 8, name: "eight")
        _ = try run(seven, shard: Shard(index: 1, count: 2), store: shardPath(1, 2))
        _ = try run(eight, shard: Shard(index: 2, count: 2), store: shardPath(2, 2))
        let out = dir.appendingPathComponent("merged.sqlite").path
        XCTAssertThrowsError(try merge(out, [shardPath(1, 2), shardPath(2, 2)])) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("different experiment definition"), text)
            XCTAssertTrue(text.contains("7 vs 8 documents"), text)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))

        // With an existing output: byte for byte unchanged, and no temporary files left.
        _ = try merge(out, [shardPath(1, 2)])
        let before = try Data(contentsOf: URL(fileURLWithPath: out))
        XCTAssertThrowsError(try merge(out, [shardPath(2, 2)]))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".") }, [])
    }

    func testMergeRefusesAChangedCheckpoint() throws {
        let file = try writeExperiment()
        let one = try run(file, shard: Shard(index: 1, count: 2), store: shardPath(1, 2))
        _ = try run(file, shard: Shard(index: 2, count: 2), store: shardPath(2, 2))
        // As if the base's files had changed between the two parts.
        var base = try XCTUnwrap(try one.checkpoint(label: "base"))
        base.fingerprint = "xxh64:0000000000000000"
        try one.save(base)
        XCTAssertThrowsError(try merge(dir.appendingPathComponent("m.sqlite").path, [shardPath(1, 2), shardPath(2, 2)])) {
            XCTAssertTrue("\($0)".contains("checkpoint 'base' has fingerprint"), "\($0)")
        }
    }

    func testMergeInputErrors() throws {
        let missing = dir.appendingPathComponent("nope.sqlite").path
        XCTAssertThrowsError(try merge(dir.appendingPathComponent("m.sqlite").path, [missing])) {
            XCTAssertTrue("\($0)".contains("nope.sqlite: no such results store"), "\($0)")
        }
        let notStore = dir.appendingPathComponent("x.sqlite")
        try Data("not a database at all, just text".utf8).write(to: notStore)
        XCTAssertThrowsError(try merge(dir.appendingPathComponent("m.sqlite").path, [notStore.path])) {
            XCTAssertTrue("\($0)".contains("x.sqlite"), "\($0)")
        }
        let out = dir.appendingPathComponent("m.sqlite").path
        XCTAssertThrowsError(try merge(out, [out])) { XCTAssertTrue("\($0)".contains("both the output and an input"), "\($0)") }
    }

    /// The CLI end to end: two parts through the binary, merge, report.
    func testCommandLine() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CommandRunner.executable.path), "build the forgetlens executable first")
        let file = try writeExperiment(limit: 3)
        let bad = try CommandRunner.run(["run", file, "--shard", "3/2"])
        XCTAssertEqual(bad.status, 64, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("--shard 3/2: I must be from 1 to 2"), bad.stderr)
        for i in 1...2 {
            let r = try CommandRunner.run(["run", file, "--shard", "\(i)/2"])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let shards = dir.appendingPathComponent("out/shards")
        let parts = try FileManager.default.contentsOfDirectory(atPath: shards.path).filter { $0.hasSuffix(".sqlite") }.sorted()
        XCTAssertEqual(parts, ["shard-1-of-2.sqlite", "shard-2-of-2.sqlite"])
        let out = dir.appendingPathComponent("out/results.sqlite").path
        let m = try CommandRunner.run(["merge", out] + parts.map { shards.appendingPathComponent($0).path })
        XCTAssertEqual(m.status, 0, m.stderr)
        XCTAssertTrue(m.stdout.contains("aggregates computed: 9"), m.stdout)
        let status = try CommandRunner.run(["status", file])
        XCTAssertEqual(status.status, 0, status.stderr)
        XCTAssertTrue(status.stdout.contains("results.sqlite: 27 of 27 documents (100.0%), last merge"), status.stdout)
        XCTAssertTrue(status.stdout.contains("shard-2-of-2.sqlite: shard 2/2:"), status.stdout)
        let report = try CommandRunner.run(["report", file, "--bootstrap", "50"])
        XCTAssertEqual(report.status, 0, report.stderr)
        XCTAssertFalse(report.stdout.contains("not evaluated yet"), report.stdout)
        let refused = try CommandRunner.run(["merge", out, dir.appendingPathComponent("missing.sqlite").path])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.contains("missing.sqlite: no such results store"), refused.stderr)
    }
}
