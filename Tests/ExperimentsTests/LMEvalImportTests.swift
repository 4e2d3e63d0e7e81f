import Experiments
import Foundation
import Reports
import TestSupport
import XCTest

/// `import --lmeval` on the output of lm-evaluation-harness 0.4.13 itself (`lm_eval run
/// --log_samples`, llama-tiny + the Trainer checkpoint-40 adapter through PEFT; made by
/// scripts/fixtures/make_trainer_runs.py).
final class LMEvalImportTests: XCTestCase {
    var dir: URL!
    override func setUp() { dir = Fixtures.temporaryDirectory("lmeval-import") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    static var lmeval: URL { Fixtures.root.appendingPathComponent("trainer/lmeval") }
    static var adapter: String { Fixtures.root.appendingPathComponent("trainer/runs/lora-r4/checkpoint-40").path }
    var tasksDirectory: String { Fixtures.packageRoot.appendingPathComponent("tasks").path }

    func experimentFile(_ output: String, limit: Int = 20, fewshot: Int = 0) throws -> String {
        let yaml = """
        name: imported
        base: \(Fixtures.model("llama-tiny"))
        output: \(dir.appendingPathComponent(output).path)
        targets: [basic_arithmetic]
        probes: [hellaswag, winogrande, arc_challenge]
        limit: \(limit)
        num_fewshot: \(fewshot)
        spectra: {enabled: false}
        variants:
          - {label: lora-r4-s40, method: lora, step: 40, adapter: \(Self.adapter)}
        """
        let path = dir.appendingPathComponent("\(output)-\(limit)-\(fewshot).yaml")
        try yaml.write(to: path, atomically: false, encoding: .utf8)
        return path.path
    }

    func run(_ e: Experiment, _ catalog: TaskCatalog, _ store: ResultsStore) throws -> [String: Int] {
        var scored: [String: Int] = [:]
        try ExperimentRunner(experiment: e, catalog: catalog, store: store).run { event in
            if case .taskFinished(let label, _, _, _, _, let s, _) = event { scored[label, default: 0] += s }
        }
        return scored
    }

    /// The numbers: the imported checkpoint's report rows equal those of scoring it with
    /// forgetlens (acc agrees item by item), and a later run scores only the base.
    func testImportGivesTheSameReportRowsAsScoring() throws {
        let catalog = try TaskCatalog(directory: tasksDirectory)
        let e = try Experiment.load(path: try experimentFile("imported"), knownTasks: catalog.names)
        let store = try ResultsStore(path: e.storePath)
        let output = try LMEvalOutput.locate(Self.lmeval.path)
        XCTAssertTrue(output.resultsFile.contains("/results_"), output.resultsFile)
        let outcome = try LMEvalImport.run(e, catalog: catalog, store: store, label: "lora-r4-s40", output: output, toolVersion: "test")
        XCTAssertEqual(outcome.tasks.map(\.task), ["basic_arithmetic", "hellaswag", "winogrande", "arc_challenge"])
        XCTAssertEqual(outcome.tasks.map(\.documents), [20, 20, 20, 20])
        XCTAssertTrue(outcome.missing.isEmpty)
        // Aggregates equal lm-eval's results.json.
        let results = try Fixtures.json(URL(fileURLWithPath: output.resultsFile)) as! [String: Any]
        for t in outcome.tasks {
            let theirs = ((results["results"] as! [String: Any])[t.task] as! [String: Any])["acc,none"] as! Double
            XCTAssertEqual(t.value, theirs, accuracy: 1e-12, t.task)
        }
        XCTAssertEqual(try run(e, catalog, store), ["base": 80, "lora-r4-s40": 0])

        let reference = try Experiment.load(path: try experimentFile("scored"), knownTasks: catalog.names)
        let scoredStore = try ResultsStore(path: reference.storePath)
        XCTAssertEqual(try run(reference, catalog, scoredStore), ["base": 80, "lora-r4-s40": 80])

        let a = try ExperimentSummary.build(e, catalog: catalog, store: store, toolVersion: "t", bootstrapResamples: 500)
        let b = try ExperimentSummary.build(reference, catalog: catalog, store: scoredStore, toolVersion: "t", bootstrapResamples: 500)
        XCTAssertEqual(a.rows.map(\.label), b.rows.map(\.label))
        for (x, y) in zip(a.rows, b.rows) {
            XCTAssertEqual(x.learning, y.learning, x.label)
            XCTAssertEqual(x.probeMean, y.probeMean, x.label)
            XCTAssertEqual(x.forgetting, y.forgetting, x.label)
            XCTAssertEqual(x.probeScores, y.probeScores, x.label)
            XCTAssertEqual(x.mcnemar, y.mcnemar, x.label)
            XCTAssertEqual(x.bootstrap?.pValue, y.bootstrap?.pValue, x.label)
            XCTAssertEqual(x.onFrontier, y.onFrontier, x.label)
        }
        XCTAssertEqual(a.rows[1].mcnemar["hellaswag"]?.items, 20)

        // Item by item: the same acc, log-likelihoods as close as float32 engines get.
        let fp = try XCTUnwrap(try store.checkpoint(label: "lora-r4-s40")).fingerprint
        XCTAssertEqual(try scoredStore.checkpoint(label: "lora-r4-s40")?.fingerprint, fp)
        for task in e.allTasks {
            let key = try e.taskKey(fp, task, catalog: catalog)
            let imported = try store.items(key), scored = try scoredStore.items(key)
            XCTAssertEqual(imported.count, 20)
            for (doc, i) in imported {
                let s = try XCTUnwrap(scored[doc])
                XCTAssertEqual(i.acc, s.acc, "\(task) \(doc)")
                for (p, q) in zip(i.outcomes!, s.outcomes!) {
                    XCTAssertEqual(p.loglikelihood, q.loglikelihood, accuracy: 2e-3, "\(task) \(doc)")
                    XCTAssertEqual(p.tokens, q.tokens, "\(task) \(doc)")
                }
            }
        }
    }

    /// A copy of the lm-eval folder whose samples file of `task` is edited by `edit` (line 1).
    func editedCopy(_ task: String, _ edit: (inout [String: Any]) -> Void) throws -> URL {
        let copy = dir.appendingPathComponent("lmeval-\(UUID().uuidString.prefix(6))")
        try FileManager.default.copyItem(at: Self.lmeval, to: copy)
        let output = try LMEvalOutput.locate(copy.path)
        let path = try XCTUnwrap(output.samplesFiles[task])
        var lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        var first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
        edit(&first)
        lines[0] = String(decoding: try JSONSerialization.data(withJSONObject: first), as: UTF8.self)
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: false, encoding: .utf8)
        return copy
    }

    func testWhatDoesNotMatchIsRefusedWithTheReasonAndNothingIsWritten() throws {
        let catalog = try TaskCatalog(directory: tasksDirectory)
        let cases: [(file: String, folder: URL, label: String, expected: [String])] = [
            (try experimentFile("a", limit: 30), Self.lmeval, "lora-r4-s40", ["the experiment needs the first 30", "samples_basic_arithmetic_"]),
            (try experimentFile("b", fewshot: 1), Self.lmeval, "lora-r4-s40", ["n-shot.basic_arithmetic: lm-eval ran it 0-shot, the experiment 1-shot", "results_"]),
            (try experimentFile("c"), Self.lmeval, "lora-r4-s9", ["--label lora-r4-s9: not a checkpoint", "base, lora-r4-s40"]),
            (try experimentFile("d"), try editedCopy("hellaswag") { $0["doc_hash"] = String(repeating: "0", count: 64) },
             "lora-r4-s40", ["hellaswag doc_id 0: doc_hash differs", ".jsonl:1:"]),
            (try experimentFile("e"), try editedCopy("arc_challenge") { s in
                // lm-eval's samples files: {"gen_args_0": {"arg_0": context, "arg_1": continuation}, ...}
                var args = s["arguments"] as! [String: [String: String]]
                for k in args.keys { args[k]!["arg_0"] = "Q: " + args[k]!["arg_0"]! }
                s["arguments"] = args
                s["prompt_hash"] = String(repeating: "1", count: 64)
             }, "lora-r4-s40", ["arc_challenge doc_id 0: prompt_hash differs: lm-eval prompted \"Q: Question:"]),
            (try experimentFile("f"), try editedCopy("winogrande") { $0["acc"] = 1 - ($0["acc"] as! Double) },
             "lora-r4-s40", ["winogrande doc_id 0: lm-eval's acc is", "different metric definition"]),
            (try experimentFile("g"), try editedCopy("hellaswag") { s in s["filtered_resps"] = Array((s["filtered_resps"] as! [Any]).dropLast()) },
             "lora-r4-s40", ["filtered_resps: expected 4 [loglikelihood, is_greedy] pairs", "got 3"]),
            (try experimentFile("h"), try editedCopy("hellaswag") { s in s.removeValue(forKey: "doc_hash") },
             "lora-r4-s40", ["no doc_hash / prompt_hash"]),
        ]
        for c in cases {
            let e = try Experiment.load(path: c.file, knownTasks: catalog.names)
            let store = try ResultsStore(path: e.storePath)
            XCTAssertThrowsError(try LMEvalImport.run(e, catalog: catalog, store: store, label: c.label,
                                                      output: try LMEvalOutput.locate(c.folder.path), toolVersion: "test")) { error in
                for s in c.expected { XCTAssertTrue("\(error)".contains(s), "\(c.file): expected '\(s)' in: \(error)") }
            }
            XCTAssertEqual(try store.counts()["item_results"], 0)
            XCTAssertEqual(try store.counts()["checkpoints"], 0)
        }

        // A folder without samples, a folder that is not lm-eval's.
        let bare = dir.appendingPathComponent("bare")
        try FileManager.default.createDirectory(at: bare, withIntermediateDirectories: true)
        XCTAssertThrowsError(try LMEvalOutput.locate(bare.path)) { XCTAssertTrue("\($0)".contains("no results_*.json"), "\($0)") }
        let output = try LMEvalOutput.locate(Self.lmeval.path)
        try FileManager.default.copyItem(atPath: output.resultsFile, toPath: bare.appendingPathComponent("results_2020-01-01T00-00-00.json").path)
        let e = try Experiment.load(path: try experimentFile("i"), knownTasks: catalog.names)
        XCTAssertThrowsError(try LMEvalImport.run(e, catalog: catalog, store: try ResultsStore(path: e.storePath), label: "lora-r4-s40",
                                                  output: try LMEvalOutput.locate(bare.path), toolVersion: "test")) {
            XCTAssertTrue("\($0)".contains("run lm-eval with --log_samples"), "\($0)")
        }
    }

    func testImportFromTheCommandLine() throws {
        let exe = CommandRunner.executable
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: exe.path), "build the forgetlens executable first")
        setenv("FORGETLENS_TASKS", tasksDirectory, 1)
        let file = try experimentFile("cli")
        let ok = try CommandRunner.run(["import", file, "--label", "lora-r4-s40", "--lmeval", Self.lmeval.path])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stdout.contains("hellaswag          acc 0.2500  (20 docs imported)"), ok.stdout)
        let again = try CommandRunner.run(["import", file, "--label", "lora-r4-s40", "--lmeval", Self.lmeval.path])
        XCTAssertTrue(again.stdout.contains("replacing 20 stored"), again.stdout)
        let fewer = try CommandRunner.run(["import", try experimentFile("fewer", limit: 15), "--label", "lora-r4-s40", "--lmeval", Self.lmeval.path])
        XCTAssertEqual(fewer.status, 0, fewer.stderr)
        XCTAssertTrue(fewer.stderr.contains("peft=") && fewer.stderr.contains("checkpoint-40"), fewer.stderr)  // lm-eval's model_args shown
        XCTAssertTrue(fewer.stdout.contains("(15 docs imported; 5 more lm-eval documents beyond the experiment's limit left out)"), fewer.stdout)
        let bad = try CommandRunner.run(["import", try experimentFile("refused", limit: 25), "--label", "lora-r4-s40", "--lmeval", Self.lmeval.path])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("forgetlens: error: ") && bad.stderr.contains("the experiment needs the first 25"), bad.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("refused").path))  // no store created
    }
}
