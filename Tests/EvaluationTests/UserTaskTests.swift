@testable import Evaluation
import Foundation
import TestSupport
import XCTest

/// The user's own tasks (issue 12): lm-eval local-data YAMLs given with --include-path score as
/// `lm_eval --include_path` scores the same files (Tests/Fixtures/usertasks, made by
/// scripts/fixtures/make_user_task_reference.py), and every malformed definition is a clear error.
final class UserTaskTests: XCTestCase {
    var tmp: URL!
    override func setUp() { tmp = Fixtures.temporaryDirectory("forgetlens-usertasks") }
    override func tearDown() { try? FileManager.default.removeItem(at: tmp) }

    static var shipped: String { Fixtures.packageRoot.appendingPathComponent("tasks").path }
    static var userTasks: String { Fixtures.root.appendingPathComponent("usertasks/tasks").path }
    static var referenceDir: URL { Fixtures.root.appendingPathComponent("usertasks/reference/llama-tiny") }

    func testUserTasksInLMEvalLocalDataFormMatchLMEvalItemByItem() throws {
        let registry = try TaskRegistry(directory: Self.shipped, includePaths: [Self.userTasks])
        let evaluator = Evaluator(backend: try NativeBackend.load(model: Fixtures.model("llama-tiny"), adapter: nil, unmerged: false))
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.referenceDir.path).filter { $0.hasSuffix(".json") }.sorted()
        XCTAssertEqual(files, ["user_larger.json", "user_sums.json"])
        for file in files {
            guard case .object(let ref) = try JSONValue.parse(try Data(contentsOf: Self.referenceDir.appendingPathComponent(file))) else { return XCTFail(file) }
            let def = try registry.definition(ref["task"]!.stringValue!)
            XCTAssertEqual(def.numFewshot, 2)
            let result = try evaluator.run(try EvaluationTask(definition: def), options: EvaluationOptions())
            XCTAssertEqual(result.numFewshot, 2)
            _ = try LMEvalReferenceTests.compare(result, ref, label: file)
            // the few-shot prompts themselves, for the generation task too
            for (i, args) in (ref["arguments"]?.arrayValue ?? []).enumerated() {
                if case .generate(let context, _, _) = result.documents[i].requests[0] {
                    XCTAssertEqual(context, args.arrayValue![0].arrayValue![0].stringValue!, "\(file) doc \(i) prompt")
                }
            }
        }
    }

    func testLocalDataFormResolvesSplitsAsLMEvalDoes() throws {
        let registry = try TaskRegistry(directory: Self.shipped, includePaths: [Self.userTasks])
        let larger = try registry.definition("user_larger")
        XCTAssertEqual(larger.split, "validation")
        XCTAssertTrue(larger.dataFile.hasSuffix("usertasks/tasks/data/larger.validation.jsonl"))
        XCTAssertTrue(larger.fewshotFile!.hasSuffix("usertasks/tasks/data/larger.train.jsonl"))
        XCTAssertEqual(larger.fewshotExcludesEvaluated, false)  // fewshot_split train != test_split (unset)
        let sums = try registry.definition("user_sums")
        XCTAssertEqual(sums.split, "test")
        XCTAssertNil(sums.fewshotFile)
        XCTAssertEqual(sums.fewshotExcludesEvaluated, true)  // fewshot_split == test_split
    }

    func testIncludePathOnTheCommandLine() throws {
        let out = tmp.appendingPathComponent("out")
        let r = try CommandRunner.run(["eval", "--model", Fixtures.model("llama-tiny"), "--tasks", "user_larger,arith_gen", "--limit", "5",
                                       "--include-path", Self.userTasks, "--output", out.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let results = try Fixtures.json(out.appendingPathComponent("results.json")) as! [String: Any]
        let scores = results["results"] as! [String: Any]
        XCTAssertNotNil(scores["user_larger"])
        XCTAssertNotNil(scores["arith_gen"])
        let listing = try CommandRunner.run(["tasks", "--include-path", Self.userTasks])
        XCTAssertEqual(listing.status, 0, listing.stderr)
        XCTAssertTrue(listing.stdout.contains("user_larger") && listing.stdout.contains("user_sums") && listing.stdout.contains("hellaswag"), listing.stdout)
        let without = try CommandRunner.run(["eval", "--model", Fixtures.model("llama-tiny"), "--tasks", "user_larger", "--output", out.path])
        XCTAssertEqual(without.status, 2)
        XCTAssertTrue(without.stderr.contains("unknown task 'user_larger'"), without.stderr)
    }

    // MARK: bad definitions

    /// A directory with `yaml` as t.yaml (and a two-row data file d.jsonl).
    func include(_ yaml: String, name: String = "t.yaml") throws -> String {
        let dir = tmp.appendingPathComponent("inc-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "{\"q\": \"a\", \"c\": [\"x\", \"y\"], \"l\": 0}\n{\"q\": \"b\", \"c\": [\"x\", \"y\"], \"l\": 1}\n"
            .write(to: dir.appendingPathComponent("d.jsonl"), atomically: false, encoding: .utf8)
        try yaml.write(to: dir.appendingPathComponent(name), atomically: false, encoding: .utf8)
        return dir.path
    }

    func definitionError(_ yaml: String) throws -> String {
        let dir = try include(yaml)
        do {
            let registry = try TaskRegistry(directory: Self.shipped, includePaths: [dir])
            _ = try EvaluationTask(definition: try registry.definition("mine"))
        } catch { return "\(error)" }
        XCTFail("no error for\n\(yaml)")
        return ""
    }

    let valid = """
    task: mine
    data: d.jsonl
    output_type: multiple_choice
    doc_to_text: "{{q}}"
    doc_to_choice: "{{c}}"
    doc_to_target: l

    """

    func testValidDefinitionLoads() throws {
        let dir = try include(valid)
        let registry = try TaskRegistry(directory: Self.shipped, includePaths: [dir])
        XCTAssertEqual(try EvaluationTask(definition: try registry.definition("mine")).documents.count, 2)
    }

    func testUnknownKeyIsAnErrorWithItsLine() throws {
        let e = try definitionError(valid + "doc_to_txet: \"{{q}}\"\n")
        XCTAssertTrue(e.contains("t.yaml") && e.contains("line 7") && e.contains("unknown key 'doc_to_txet'"), e)
        let m = try definitionError(valid + "metric_list:\n  - metric: acc\n    higher_is_beter: true\n")
        XCTAssertTrue(m.contains("line 9") && m.contains("unknown key 'higher_is_beter'"), m)
        let g = try definitionError(valid.replacingOccurrences(of: "multiple_choice", with: "generate_until") + "generation_kwargs:\n  max_new_tokens: 3\n")
        XCTAssertTrue(g.contains("line 8") && g.contains("max_new_tokens"), g)
    }

    func testLMEvalNoOpKeysAreAccepted() throws {
        let dir = try include(valid + """
        tag: [mine_group]
        task_alias: My task
        should_decontaminate: true
        doc_to_decontamination_query: "{{q}}"
        metric_list:
          - metric: acc
            aggregation: mean
            higher_is_better: true
        metadata:
          version: 2.0
          note: anything
        """)
        let registry = try TaskRegistry(directory: Self.shipped, includePaths: [dir])
        XCTAssertEqual(try registry.definition("mine").metrics.map(\.name), ["acc"])
    }

    func testScoringKeysForgetlensDoesNotImplementAreErrors() throws {
        XCTAssertTrue(try definitionError(valid + "include: base.yaml\n").contains("'include' changes scoring"))
        XCTAssertTrue(try definitionError(valid + "process_results: !function utils.process\n").contains("'process_results'"))
        let agg = try definitionError(valid + "metric_list:\n  - metric: acc\n    aggregation: median\n")
        XCTAssertTrue(agg.contains("line 9") && agg.contains("aggregates by mean"), agg)
        let gen = valid.replacingOccurrences(of: "multiple_choice", with: "generate_until")
        let sample = try definitionError(gen + "generation_kwargs:\n  temperature: 0.7\n")
        XCTAssertTrue(sample.contains("line 8") && sample.contains("without do_sample"), sample)
        let flag = try definitionError(gen + "generation_kwargs:\n  do_sample: maybe\n")
        XCTAssertTrue(flag.contains("line 8") && flag.contains("do_sample: expected true or false"), flag)
    }

    func testUnknownFunctionIsNamed() throws {
        let e = try definitionError(valid.replacingOccurrences(of: "doc_to_text: \"{{q}}\"", with: "doc_to_text: !function utils.doc_to_text"))
        XCTAssertTrue(e.contains("line 4") && e.contains("!function utils.doc_to_text") && e.contains("forgetlens has no such function"), e)
        let m = try definitionError(valid + "metric_list:\n  - metric: !function utils.pass_at_k\n")
        XCTAssertTrue(m.contains("!function utils.pass_at_k"), m)
    }

    func testHubDatasetGetsTheDatasetsCommand() throws {
        let yaml = valid.replacingOccurrences(of: "data: d.jsonl\n", with: "dataset_path: org/medqa\ndataset_name: en\ntest_split: test\n")
        let e = try definitionError(yaml)
        let dir = e.components(separatedBy: "t.yaml")[0]
        XCTAssertTrue(e.contains("python3 -c \"import datasets; datasets.load_dataset('org/medqa', 'en', split='test').to_json('\(dir)data/mine.test.jsonl')\""), e)
        XCTAssertTrue(e.contains("add `data: data/mine.test.jsonl`"), e)
        // a named local file that is missing: the command writes exactly that file
        let missing = try definitionError(valid.replacingOccurrences(of: "data: d.jsonl\n", with: "data: data/medqa.jsonl\ndataset_path: org/medqa\n"))
        let missingDir = missing.components(separatedBy: "t.yaml")[0]
        XCTAssertTrue(missing.contains("not found") && missing.contains("load_dataset('org/medqa', split='validation').to_json('\(missingDir)data/medqa.jsonl')"), missing)
    }

    func testDataFilesErrors() throws {
        let form = valid.replacingOccurrences(of: "data: d.jsonl\n", with: "dataset_path: json\ndataset_kwargs:\n  data_files:\n    train: d.jsonl\n")
        XCTAssertTrue(try definitionError(form).contains("set test_split or validation_split"))
        XCTAssertTrue(try definitionError(form + "validation_split: validation\n").contains("no 'validation' split (it has train)"))
        let ok = try include(form + "test_split: train\n")
        let def = try TaskRegistry(directory: Self.shipped, includePaths: [ok]).definition("mine")
        XCTAssertEqual(def.split, "train")
        XCTAssertTrue(def.dataFile.hasSuffix("/d.jsonl"))
    }

    func testTheSameNameTwiceNamesBothFiles() throws {
        let a = try include(valid), b = try include(valid)
        XCTAssertThrowsError(try TaskRegistry(directory: Self.shipped, includePaths: [a, b])) { error in
            XCTAssertTrue("\(error)".contains("defined twice") && "\(error)".contains(a) && "\(error)".contains(b), "\(error)")
        }
        let shadow = try include(valid.replacingOccurrences(of: "task: mine", with: "task: hellaswag"))
        XCTAssertThrowsError(try TaskRegistry(directory: Self.shipped, includePaths: [shadow])) { error in
            XCTAssertTrue("\(error)".contains("hellaswag.yaml") && "\(error)".contains(shadow), "\(error)")
        }
    }

    func testGroupFilesInAnIncludePathAreSkippedAndSubdirectoriesSearched() throws {
        let dir = try include("group: my_group\ntask:\n  - mine\n", name: "group.yaml")
        let sub = URL(fileURLWithPath: dir).appendingPathComponent("sub")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        try valid.replacingOccurrences(of: "d.jsonl", with: "../d.jsonl").write(to: sub.appendingPathComponent("mine.yaml"), atomically: false, encoding: .utf8)
        let registry = try TaskRegistry(directory: Self.shipped, includePaths: [dir])
        XCTAssertEqual(try EvaluationTask(definition: try registry.definition("mine")).documents.count, 2)
    }

    /// tasks/README.md's worked example: lm-eval's medqa.yaml after the three steps loads and renders.
    func testTheWorkedExampleOfTheREADMELoads() throws {
        let dir = try include("""
        task: medqa_4options
        dataset_path: json
        dataset_kwargs:
          data_files:
            train: data/medqa.train.jsonl
            test: data/medqa.test.jsonl
        output_type: multiple_choice
        training_split: train
        test_split: test
        doc_to_text: "Question: {{sent1}}\\nA. {{ending0}}\\nB. {{ending1}}\\nC. {{ending2}}\\nD. {{ending3}}\\nAnswer:"
        doc_to_target: label
        doc_to_choice: [ 'A', 'B', 'C', 'D' ]
        metric_list:
          - metric: acc
            aggregation: mean
            higher_is_better: true
          - metric: acc_norm
            aggregation: mean
            higher_is_better: true
        """, name: "medqa.yaml")
        let data = URL(fileURLWithPath: dir).appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let row = "{\"sent1\": \"Q?\", \"ending0\": \"a\", \"ending1\": \"b\", \"ending2\": \"c\", \"ending3\": \"d\", \"label\": 2}\n"
        for split in ["train", "test"] { try row.write(to: data.appendingPathComponent("medqa.\(split).jsonl"), atomically: false, encoding: .utf8) }
        let task = try EvaluationTask(definition: try TaskRegistry(directory: Self.shipped, includePaths: [dir]).definition("medqa_4options"))
        let doc = try task.prepare(docID: 0, fewshot: [])
        XCTAssertEqual(doc.contexts, ["Question: Q?\nA. a\nB. b\nC. c\nD. d\nAnswer:"])
        XCTAssertEqual(doc.gold, 2)
    }

    func testInstalledBinaryFindsItsShareDirectory() throws {
        let prefix = tmp.appendingPathComponent("prefix")
        let bin = prefix.appendingPathComponent("bin"), share = prefix.appendingPathComponent("share/forgetlens/tasks")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: share, withIntermediateDirectories: true)
        try "task: x\n".write(to: share.appendingPathComponent("x.yaml"), atomically: false, encoding: .utf8)
        try "".write(to: bin.appendingPathComponent("forgetlens"), atomically: false, encoding: .utf8)
        XCTAssertEqual(TaskRegistry.installedDirectory(executable: bin.appendingPathComponent("forgetlens").path), share.path)
        XCTAssertNil(TaskRegistry.installedDirectory(executable: tmp.appendingPathComponent("elsewhere/forgetlens").path))
    }
}
