import Experiments
import Foundation
import Reports
import TestSupport
import XCTest

/// `runs:` globs over Trainer checkpoint folders written by transformers' Trainer + PEFT
/// (scripts/fixtures/make_trainer_runs.py), checked against what that script recorded.
final class TrainerRunsTests: XCTestCase {
    var dir: URL!
    override func setUp() { dir = Fixtures.temporaryDirectory("trainer-runs") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    static var trainer: URL { Fixtures.root.appendingPathComponent("trainer") }
    static func run(_ name: String) -> URL { trainer.appendingPathComponent("runs/\(name)") }

    /// MANIFEST.json: per run, the (step, loss) pairs of Trainer's log_history and the final token count.
    func manifestRun(_ name: String) throws -> [String: Any] {
        let m = try Fixtures.json(Self.trainer.appendingPathComponent("MANIFEST.json")) as! [String: Any]
        return try XCTUnwrap((m["runs"] as! [[String: Any]]).first { $0["name"] as? String == name })
    }

    func experiment(_ variants: String, name: String = "runs") throws -> Experiment {
        let yaml = """
        name: \(name)
        base: \(Fixtures.model("llama-tiny"))
        output: \(dir.appendingPathComponent("out").path)
        targets: [basic_arithmetic]
        limit: 2
        variants:
        \(variants)
        """
        let path = dir.appendingPathComponent("\(name).yaml")
        try yaml.write(to: path, atomically: false, encoding: .utf8)
        return try Experiment.load(path: path.path)
    }

    func testGlobExpandsATrainerRunInStepOrderWithTokensAndLoss() throws {
        let e = try experiment("  - {runs: \(Self.run("lora-r4").path)/checkpoint-*, label: lora-r4}")
        XCTAssertEqual(e.variants.map(\.label), stride(from: 2, through: 40, by: 2).map { "lora-r4-s\($0)" })  // not 10, 12, ..., 2
        XCTAssertTrue(e.skipped.isEmpty, "\(e.skipped)")
        let manifest = try manifestRun("lora-r4")
        let losses = Dictionary(uniqueKeysWithValues: (manifest["losses"] as! [[Any]]).map { ($0[0] as! Int, ($0[1] as! NSNumber).doubleValue) })
        for v in e.variants {
            XCTAssertEqual(v.method, .lora)
            XCTAssertEqual(v.rank, 4)  // adapter_config.json's r
            XCTAssertEqual(v.run, "lora-r4")
            XCTAssertEqual(v.adapter, Self.run("lora-r4").appendingPathComponent("checkpoint-\(v.step!)").path)
            XCTAssertEqual(v.trainingLoss!, losses[v.step!]!, accuracy: 1e-12)  // logged every step
            // Trainer counted tokens: each folder's own state.num_input_tokens_seen.
            let state = try Fixtures.json(URL(fileURLWithPath: v.adapter!).appendingPathComponent("trainer_state.json")) as! [String: Any]
            XCTAssertEqual(v.tokens, state["num_input_tokens_seen"] as? Int)
        }
        XCTAssertEqual(e.variants.last?.tokens, manifest["num_input_tokens_seen"] as? Int)
        XCTAssertEqual(Set(e.variants.compactMap(\.tokens)).count, 20)  // strictly increasing counts
    }

    func testRunWithoutTokenCountsUsesTokensPerStepAndTheLastLoggedLoss() throws {
        let e = try experiment("  - {runs: \(Self.run("lora-r8-steps").path)/checkpoint-*, label: r8, tokens_per_step: 64}")
        XCTAssertEqual(e.variants.map(\.label), ["r8-s3", "r8-s6", "r8-s9"])
        XCTAssertEqual(e.variants.map(\.tokens), [192, 384, 576])
        XCTAssertEqual(e.variants.map(\.rank), [8, 8, 8])
        let losses = (try manifestRun("lora-r8-steps")["losses"] as! [[Any]]).map { ($0[1] as! NSNumber).doubleValue }
        XCTAssertEqual(e.variants.map { $0.trainingLoss! }, losses)
        // Without tokens_per_step the tokens stay unknown (the run logged 0), and rank can be given.
        let plain = try experiment("  - {runs: \(Self.run("lora-r8-steps").path)/checkpoint-*, label: r8, method: qlora, rank: 2}")
        XCTAssertEqual(plain.variants.map(\.tokens), [nil, nil, nil])
        XCTAssertEqual(plain.variants.map(\.rank), [2, 2, 2])
        XCTAssertEqual(plain.variants.map(\.method), [.qlora, .qlora, .qlora])
    }

    /// Folders of a run being written are skipped with a note: no trainer_state.json yet (the
    /// Trainer writes it last), a half-written trainer_state.json, truncated weights.
    func testIncompleteFoldersAreSkippedWithANote() throws {
        let run = dir.appendingPathComponent("run")
        let fm = FileManager.default
        try fm.createDirectory(at: run, withIntermediateDirectories: true)
        for s in [2, 4, 6, 8, 10] {
            try fm.copyItem(at: Self.run("lora-r4").appendingPathComponent("checkpoint-\(s)"), to: run.appendingPathComponent("checkpoint-\(s)"))
        }
        try fm.removeItem(at: run.appendingPathComponent("checkpoint-6/trainer_state.json"))
        let state = run.appendingPathComponent("checkpoint-8/trainer_state.json")
        try Data(try Data(contentsOf: state).prefix(300)).write(to: state)
        let weights = run.appendingPathComponent("checkpoint-10/adapter_model.safetensors")
        try Data(try Data(contentsOf: weights).prefix(5000)).write(to: weights)
        let e = try experiment("  - {runs: \(run.path)/checkpoint-*, label: live}")
        XCTAssertEqual(e.variants.map(\.label), ["live-s2", "live-s4"])
        XCTAssertEqual(e.skipped.count, 3, "\(e.skipped)")
        for (s, why) in [(6, "no trainer_state.json yet"), (8, "trainer_state.json"), (10, "adapter_model.safetensors")] {
            XCTAssertTrue(e.skipped.contains { $0.contains("checkpoint-\(s):") && $0.contains(why) }, "\(s): \(e.skipped)")
        }
        // An empty match (training not started) is no error: nothing to evaluate yet.
        let later = try experiment("  - {runs: \(run.path)/nothing-*, label: later}")
        XCTAssertEqual(later.variants.count, 0)
        XCTAssertEqual(later.skipped, ["later: no folder matches \(run.path)/nothing-* yet"])
    }

    /// Trainer's save_total_limit deletes old checkpoints while a run goes on: the ones already
    /// evaluated stay in the report, from the store.
    func testEvaluatedCheckpointsWhoseFoldersWereDeletedStayInTheReport() throws {
        let run = dir.appendingPathComponent("rotating")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        for s in [2, 4, 6] {
            try FileManager.default.copyItem(at: Self.run("lora-r4").appendingPathComponent("checkpoint-\(s)"), to: run.appendingPathComponent("checkpoint-\(s)"))
        }
        let yaml = "  - {runs: \(run.path)/checkpoint-*, label: rot}"
        let catalog = try TaskCatalog(directory: Fixtures.packageRoot.appendingPathComponent("tasks").path)
        let e = try experiment(yaml, name: "rotating")
        let store = try ResultsStore(path: e.storePath)
        var options = RunOptions()
        options.chunkSize = 2
        try ExperimentRunner(experiment: e, catalog: catalog, store: store, options: options).run()
        let before = try ExperimentSummary.build(e, catalog: catalog, store: store, toolVersion: "t", bootstrapResamples: 50)

        try FileManager.default.removeItem(at: run.appendingPathComponent("checkpoint-2"))
        try FileManager.default.removeItem(at: run.appendingPathComponent("checkpoint-4"))
        try FileManager.default.copyItem(at: Self.run("lora-r4").appendingPathComponent("checkpoint-8"), to: run.appendingPathComponent("checkpoint-8"))
        let later = try experiment(yaml, name: "rotating")
        XCTAssertEqual(later.variants.map(\.label), ["rot-s6", "rot-s8"])
        let after = try ExperimentSummary.build(later, catalog: catalog, store: store, toolVersion: "t", bootstrapResamples: 50)
        XCTAssertEqual(after.rows.map(\.label), ["base", "rot-s2", "rot-s4", "rot-s6", "rot-s8"])
        for label in ["rot-s2", "rot-s4"] {
            let a = try XCTUnwrap(after.rows.first { $0.label == label }), b = try XCTUnwrap(before.rows.first { $0.label == label })
            XCTAssertEqual(a.learning, b.learning)
            XCTAssertEqual(a.tokens, b.tokens)
            XCTAssertEqual(a.step, b.step)
            XCTAssertEqual(a.run, "rot")
            XCTAssertTrue(after.notes.contains("\(label): its folder is gone (deleted by save_total_limit?); shown from the store"), "\(after.notes)")
        }
        XCTAssertNil(after.rows.first { $0.label == "rot-s8" }?.learning)  // not evaluated yet
    }

    /// Python's json writes an overflowed grad_norm as Infinity (or NaN): still a complete state.
    func testTrainerStateWithNonFiniteNumbers() throws {
        let run = dir.appendingPathComponent("inf")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        let folder = run.appendingPathComponent("checkpoint-4")
        try FileManager.default.copyItem(at: Self.run("lora-r4").appendingPathComponent("checkpoint-4"), to: folder)
        let state = folder.appendingPathComponent("trainer_state.json")
        var text = try String(contentsOf: state, encoding: .utf8)
        var replaced = 0
        for bad in ["Infinity", "-Infinity", "NaN"] {
            guard let r = text.range(of: #""grad_norm": [0-9][0-9.e-]*"#, options: .regularExpression) else { break }
            text.replaceSubrange(r, with: "\"grad_norm\": \(bad)")
            replaced += 1
        }
        XCTAssertEqual(replaced, 3)
        try text.write(to: state, atomically: false, encoding: .utf8)
        let e = try experiment("  - {runs: \(run.path)/checkpoint-*, label: inf}")
        XCTAssertEqual(e.variants.map(\.label), ["inf-s4"], "\(e.skipped)")
        guard e.variants.count == 1 else { return }
        let losses = Dictionary(uniqueKeysWithValues: (try manifestRun("lora-r4")["losses"] as! [[Any]]).map { ($0[0] as! Int, ($0[1] as! NSNumber).doubleValue) })
        XCTAssertEqual(e.variants[0].trainingLoss!, losses[4]!, accuracy: 1e-12)
    }

    /// Folders that are not from Trainer: the step comes from the name, the method from the files.
    func testPlainFoldersAndFullModels() throws {
        let run = dir.appendingPathComponent("plain")
        let fm = FileManager.default
        try fm.createDirectory(at: run, withIntermediateDirectories: true)
        try fm.copyItem(atPath: Fixtures.model("llama-tiny-ft-fp16"), toPath: run.appendingPathComponent("step_300").path)
        try fm.copyItem(atPath: Fixtures.model("llama-tiny-ft-bf16"), toPath: run.appendingPathComponent("step_1200").path)
        let e = try experiment("  - {runs: \(run.path)/step_*, label: full}")
        XCTAssertEqual(e.variants.map(\.label), ["full-s300", "full-s1200"])
        XCTAssertEqual(e.variants.map(\.method), [.full, .full])
        XCTAssertEqual(e.variants[0].model, run.appendingPathComponent("step_300").path)
        XCTAssertNil(e.variants[0].tokens)
        XCTAssertNil(e.variants[0].trainingLoss)

        XCTAssertThrowsError(try experiment("  - {runs: \(run.path)/step_*, label: full, method: lora}")) { error in
            XCTAssertTrue("\(error)".contains("holds a full model"), "\(error)")
        }
        try fm.copyItem(atPath: Fixtures.model("lora-llama-r8"), toPath: run.appendingPathComponent("step_final").path)
        XCTAssertThrowsError(try experiment("  - {runs: \(run.path)/step_*, label: full}")) { error in
            XCTAssertTrue("\(error)".contains("step_final") && "\(error)".contains("no step number"), "\(error)")
        }
    }

    func testBadRunEntriesAreRefusedWithTheLine() throws {
        let glob = "\(Self.run("lora-r8-steps").path)/checkpoint-*"
        let cases: [(String, String)] = [
            ("  - {runs: \(glob), label: r8, step: 3}", "unknown key 'step' in a variant with runs:"),
            ("  - {runs: \(glob), label: base}", "reserved"),
            ("  - {runs: \(glob)}", "missing field 'label'"),
            ("  - {runs: \(glob), label: r8, tokens_per_step: 0}", "tokens_per_step: must be at least 1"),
            // 2^62 tokens per step times step 3 overflowed (a trap) when computing the tokens seen
            ("  - {runs: \(glob), label: r8, tokens_per_step: 4611686018427387904}",
             "variant 'r8': \(Self.run("lora-r8-steps").path)/checkpoint-3: tokens_per_step 4611686018427387904 x step 3 is beyond the 64-bit integer range"),
            ("  - {runs: \(glob), label: r8, method: dora}", "method 'dora'"),
            ("  - {runs: \(glob), label: r8}\n  - {label: r8-s6, method: lora, adapter: \(Fixtures.model("lora-llama-r8"))}", "duplicate label 'r8-s6'"),
            ("  - {runs: \(glob), label: r8}\n  - {runs: \(glob), label: r8}", "checkpoint label 'r8-s3' is already used"),
        ]
        for (variants, expected) in cases {
            XCTAssertThrowsError(try experiment(variants)) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(variants): \(error)")
                XCTAssertTrue("\(error)".contains("runs.yaml:"), "\(error)")
            }
        }
    }

    /// One command on the 20-checkpoint folder: expand, run, report with training curves.
    func testTwentyCheckpointsRunAndReportInOneCommand() throws {
        let exe = CommandRunner.executable
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: exe.path), "build the forgetlens executable first")
        let yaml = """
        name: sweep
        base: \(Fixtures.model("llama-tiny"))
        output: \(dir.appendingPathComponent("out").path)
        targets: [basic_arithmetic]
        probes: [hellaswag, winogrande, arc_challenge]
        limit: 3
        variants:
          - {runs: \(Self.run("lora-r4").path)/checkpoint-*, label: lora-r4}
          - {runs: \(Self.run("lora-r8-steps").path)/checkpoint-*, label: lora-r8, tokens_per_step: 56}
        """
        let file = dir.appendingPathComponent("sweep.yaml")
        try yaml.write(to: file, atomically: false, encoding: .utf8)
        let env = ["FORGETLENS_TASKS": Fixtures.packageRoot.appendingPathComponent("tasks").path]
        setenv("FORGETLENS_TASKS", env["FORGETLENS_TASKS"]!, 1)
        let run = try CommandRunner.run(["run", file.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.contains("[24/24] lora-r8-s9"), run.stderr)
        let report = try CommandRunner.run(["report", file.path, "--bootstrap", "100"])
        XCTAssertEqual(report.status, 0, report.stderr)
        XCTAssertTrue(report.stdout.contains("| tokens | train loss |"), report.stdout)
        XCTAssertTrue(report.stdout.contains("| lora-r4-s40 |"))
        let html = try String(contentsOf: dir.appendingPathComponent("out/index.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("Forgetting and learning during training"))
        XCTAssertTrue(html.contains("Against training tokens"))
        let steps = try CommandRunner.run(["report", file.path, "--bootstrap", "100", "--x-axis", "steps"])
        XCTAssertEqual(steps.status, 0, steps.stderr)
        XCTAssertTrue(try String(contentsOf: dir.appendingPathComponent("out/index.html"), encoding: .utf8).contains("Against training steps"))
        XCTAssertEqual(try CommandRunner.run(["report", file.path, "--x-axis", "epochs"]).status, 64)
    }

    /// The training curves: one series per run, points in axis order, the loss as logged.
    func testTrainingCurvesFollowTheChosenAxis() throws {
        func row(_ label: String, run: String?, step: Int, tokens: Int?, loss: Double?, forgetting: Double) -> VariantRow {
            var r = VariantRow(label: label, method: "lora", rank: 4, step: step, tokens: tokens, isBase: false,
                               learning: Estimate(0.5, stderr: nil), probeMean: nil, forgetting: Estimate(forgetting, stderr: nil))
            r.run = run
            r.trainingLoss = loss
            return r
        }
        var model = ReportModel(name: "x", base: "b", generated: "", toolVersion: "", targets: [], targetMetrics: [:], probes: [],
                                itemCounts: [:], fewshot: 0,
                                rows: [row("a-s20", run: "a", step: 20, tokens: 2000, loss: 1.5, forgetting: 0.2),
                                       row("a-s10", run: "a", step: 10, tokens: 1000, loss: 2.5, forgetting: 0.1),
                                       row("b-s10", run: "b", step: 10, tokens: nil, loss: nil, forgetting: 0.3)],
                                spectra: [], bootstrapResamples: 0)
        XCTAssertEqual(TrainingAxis.preferred(model.rows), .steps)  // b logged no tokens
        let byStep = TrainingCurves.charts(model)
        XCTAssertEqual(byStep.map(\.title).count, 3)
        XCTAssertEqual(byStep[0].series.map(\.name), ["a", "b"])
        XCTAssertEqual(byStep[0].series[0].points.map(\.0), [10, 20])
        XCTAssertEqual(byStep[0].series[0].points.map(\.1), [0.1, 0.2])
        XCTAssertEqual(byStep[2].series.map(\.name), ["a"])
        XCTAssertEqual(byStep[2].series[0].points.map(\.1), [2.5, 1.5])
        model.trainingAxis = .tokens
        let byTokens = TrainingCurves.charts(model)
        XCTAssertEqual(byTokens[0].series.map(\.name), ["a"])
        XCTAssertEqual(byTokens[0].series[0].points.map(\.0), [1000, 2000])
        XCTAssertEqual(byTokens[0].xTitle, "training tokens")
        // Hand-listed variants (no run) get no curves unless an axis is asked for.
        model.trainingAxis = nil
        for i in model.rows.indices { model.rows[i].run = nil }
        XCTAssertTrue(TrainingCurves.charts(model).isEmpty)
        XCTAssertEqual(SummaryTable.trainingColumns(model).header, [])
    }
}
