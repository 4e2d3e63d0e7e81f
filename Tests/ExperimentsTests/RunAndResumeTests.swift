import Checkpoints
import Experiments
import Foundation
import Reports
import TestSupport
import XCTest

/// Runs small experiments on the tiny fixture models, in process and through the binary.
final class RunAndResumeTests: XCTestCase {
    var dir: URL!
    override func setUp() { dir = Fixtures.temporaryDirectory("experiment-run") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    var tasksDirectory: String { Fixtures.packageRoot.appendingPathComponent("tasks").path }

    func writeExperiment(name: String, output: String, fullModel: String = Fixtures.model("llama-tiny-ft-bf16"), limit: Int = 6, spectra: Bool = true,
                         probes: String = "hellaswag, winogrande, arc_challenge") throws -> String {
        let yaml = """
        name: \(name)
        base: \(Fixtures.model("llama-tiny"))
        output: \(output)
        targets: [basic_arithmetic]
        probes: [\(probes)]
        limit: \(limit)
        num_fewshot: 0
        spectra: {enabled: \(spectra)}
        variants:
          - {label: full-s100, method: full, step: 100, model: \(fullModel)}
          - {label: lora-r8-s100, method: lora, step: 100, adapter: \(Fixtures.model("lora-llama-r8"))}
        """
        let path = dir.appendingPathComponent("\(name).yaml")
        try yaml.write(to: path, atomically: false, encoding: .utf8)
        return path.path
    }

    func runInProcess(_ file: String, reuseFingerprints: Bool = true) throws -> (store: ResultsStore, scored: Int, experiment: Experiment) {
        let catalog = try TaskCatalog(directory: tasksDirectory)
        let e = try Experiment.load(path: file, knownTasks: catalog.names)
        let store = try ResultsStore(path: e.storePath)
        var options = RunOptions()
        options.chunkSize = 2
        options.reuseFingerprints = reuseFingerprints
        var scored = 0
        try ExperimentRunner(experiment: e, catalog: catalog, store: store, options: options).run { event in
            if case .taskFinished(_, _, _, _, _, let s, _) = event { scored += s }
        }
        return (store, scored, e)
    }

    func testRerunComputesNothingAndChangedCheckpointIsReevaluated() throws {
        let model = dir.appendingPathComponent("ft")
        try FileManager.default.copyItem(atPath: Fixtures.model("llama-tiny-ft-bf16"), toPath: model.path)
        let file = try writeExperiment(name: "cache", output: dir.appendingPathComponent("out").path, fullModel: model.path, spectra: false)
        let first = try runInProcess(file)
        XCTAssertEqual(first.scored, 3 * 4 * 6)  // base + 2 variants, 4 tasks, 6 docs
        let second = try runInProcess(file)
        XCTAssertEqual(second.scored, 0)

        // A larger limit reuses the first documents.
        let bigger = try writeExperiment(name: "cache", output: dir.appendingPathComponent("out").path, fullModel: model.path, limit: 8, spectra: false)
        XCTAssertEqual(try runInProcess(bigger).scored, 3 * 4 * 2)

        // New weights in the same directory: new fingerprint, the variant is evaluated again (only it).
        try FileManager.default.removeItem(at: model)
        try FileManager.default.copyItem(atPath: Fixtures.model("llama-tiny-ft-fp16"), toPath: model.path)
        let third = try runInProcess(bigger)
        XCTAssertEqual(third.scored, 4 * 8)
        let cps = try third.store.checkpoints()
        XCTAssertEqual(Set(cps.map(\.fingerprint)).count, 3)
    }

    /// A rerun trusts the stored fingerprint of files whose stat key is unchanged (shown here by
    /// planting a different fingerprint under the base's key), and hashes again when asked to
    /// or when a file is rewritten, even to the same bytes' size.
    func testFingerprintsOfUnchangedFilesAreReused() throws {
        let model = dir.appendingPathComponent("base")
        try FileManager.default.copyItem(atPath: Fixtures.model("llama-tiny"), toPath: model.path)
        let yaml = try String(contentsOfFile: try writeExperiment(name: "fp", output: dir.appendingPathComponent("out").path, limit: 2, spectra: false), encoding: .utf8)
            .replacingOccurrences(of: "base: \(Fixtures.model("llama-tiny"))", with: "base: \(model.path)")
        let file = dir.appendingPathComponent("fp.yaml")
        try yaml.write(to: file, atomically: false, encoding: .utf8)
        let first = try runInProcess(file.path)
        let real = try XCTUnwrap(try first.store.checkpoint(label: "base")).fingerprint
        let files = [model.appendingPathComponent("config.json").path, model.appendingPathComponent("model.safetensors").path]
        let key = try XCTUnwrap(Fingerprint.statKey(paths: files))
        XCTAssertEqual(first.store.fingerprintCache.lookup(key), real)

        first.store.fingerprintCache.save(key, "xxh64:planted")
        XCTAssertEqual(try runInProcess(file.path).store.checkpoint(label: "base")?.fingerprint, "xxh64:planted")
        XCTAssertEqual(try runInProcess(file.path, reuseFingerprints: false).store.checkpoint(label: "base")?.fingerprint, real)

        // Rewrite the weights with the same bytes: new ctime, so hashed again (same fingerprint).
        first.store.fingerprintCache.save(key, "xxh64:planted")
        let weights = model.appendingPathComponent("model.safetensors")
        let bytes = try Data(contentsOf: weights)
        usleep(20_000)
        try bytes.write(to: weights)
        XCTAssertNotEqual(Fingerprint.statKey(paths: files), key)
        XCTAssertEqual(try runInProcess(file.path).store.checkpoint(label: "base")?.fingerprint, real)
    }

    func testReportExportAndParetoFromTheStore() throws {
        let file = try writeExperiment(name: "report", output: dir.appendingPathComponent("out").path)
        let r = try runInProcess(file)
        let catalog = try TaskCatalog(directory: tasksDirectory)
        let model = try ExperimentSummary.build(r.experiment, catalog: catalog, store: r.store, toolVersion: "test", bootstrapResamples: 200)
        XCTAssertEqual(model.rows.map(\.label), ["base", "full-s100", "lora-r8-s100"])
        for row in model.rows {
            XCTAssertNotNil(row.learning)
            XCTAssertNotNil(row.probeMean)
            XCTAssertNotNil(row.forgetting)
        }
        let lora = model.rows[2]
        XCTAssertEqual(lora.rank, 8)  // read from adapter_config.json
        XCTAssertEqual(Set(lora.mcnemar.keys), ["hellaswag", "winogrande", "arc_challenge"])
        XCTAssertEqual(lora.mcnemar["hellaswag"]?.items, 6)
        XCTAssertNotNil(lora.bootstrap)
        let base = model.rows[0]
        XCTAssertEqual(lora.forgetting!.value, base.probeMean!.value - lora.probeMean!.value, accuracy: 1e-12)
        XCTAssertFalse(model.spectra.isEmpty)
        XCTAssertTrue(model.spectra.contains { $0.variant == "full-s100" })
        XCTAssertFalse(model.variants.filter(\.onFrontier).isEmpty)

        let exports = try ResultsExport.results(r.experiment, catalog: catalog, store: r.store)
        XCTAssertEqual(exports.map(\.label), ["base", "full-s100", "lora-r8-s100"])
        let json = try JSONSerialization.jsonObject(with: Data(exports[1].json.utf8)) as! [String: Any]
        let results = json["results"] as! [String: [String: Any]]
        XCTAssertEqual(Set(results.keys), ["basic_arithmetic", "hellaswag", "winogrande", "arc_challenge"])
        let acc = try XCTUnwrap(results["hellaswag"]?["acc,none"] as? Double)
        XCTAssertEqual(acc, model.rows[1].probeScores["hellaswag"]!.value, accuracy: 1e-12)
    }

    /// The run stores W_base / W_ft / Gaussian spectra of the default tensors (middle layer: the
    /// first attention and MLP matrix), the summary carries them with the probes' chance levels,
    /// and the report draws them under its findings.
    func testWeightSpectraStoredAndReported() throws {
        let file = try writeExperiment(name: "weights", output: dir.appendingPathComponent("out").path, limit: 4)
        let r = try runInProcess(file)
        let catalog = try TaskCatalog(directory: tasksDirectory)
        let model = try ExperimentSummary.build(r.experiment, catalog: catalog, store: r.store, toolVersion: "test", bootstrapResamples: 200)
        let chosen = ["model.layers.1.mlp.down_proj.weight", "model.layers.1.self_attn.k_proj.weight"]
        for v in ["full-s100", "lora-r8-s100"] {
            XCTAssertEqual(model.weightSpectra.filter { $0.variant == v }.map(\.tensor).sorted(), chosen, v)
        }
        let w = model.weightSpectra.first { $0.variant == "lora-r8-s100" && $0.tensor.contains("down_proj") }!
        let doc = try Fixtures.json(Fixtures.reference("weight_spectra").appendingPathComponent("reference.json")) as! [String: Any]
        let want = (doc["weights"] as! [[String: Any]]).first { $0["variant"] as? String == "lora-llama-r8" && ($0["name"] as! String).contains("down_proj") }!
        XCTAssertEqual(w.base, want["base"] as! [Double], accuracy: 1e-6 * (want["base"] as! [Double])[0])
        XCTAssertEqual(w.finetuned, want["finetuned"] as! [Double], accuracy: 1e-6 * (want["finetuned"] as! [Double])[0])
        XCTAssertEqual(model.probeChance["hellaswag"]!, 0.25, accuracy: 1e-12)  // four endings
        XCTAssertEqual(model.probeChance["winogrande"]!, 0.5, accuracy: 1e-12)
        XCTAssertEqual(model.rows[1].probeItems["hellaswag"]?.count, 4)
        let html = HTMLReport.render(model)
        XCTAssertTrue(html.contains("<h2>Findings</h2>"))
        XCTAssertTrue(html.contains("Spectra of the weights and of the change"))
        XCTAssertTrue(html.contains("Does the weight change predict forgetting?"))
        // layers 0, 1, 3: the middle one is 1 (index count / 2 of the sorted layers)
        XCTAssertEqual(try WeightSpectraChoice.choose(["model.layers.0.self_attn.q_proj.weight", "model.layers.1.mlp.up_proj.weight",
                                                       "model.layers.1.self_attn.o_proj.weight", "model.layers.1.mlp.down_proj.weight",
                                                       "model.layers.3.self_attn.q_proj.weight", "lm_head.weight"],
                                                      pattern: nil), ["model.layers.1.self_attn.o_proj.weight", "model.layers.1.mlp.up_proj.weight"])
        XCTAssertEqual(try WeightSpectraChoice.choose(["a.q_proj.weight", "b.v_proj.weight"], pattern: "v_proj"), ["b.v_proj.weight"])
        // a rerun computes nothing new
        let before = try r.store.weightSpectra(base: try r.store.checkpoints().first { $0.isBase }!.fingerprint,
                                               fingerprint: try r.store.checkpoints().first { $0.label == "full-s100" }!.fingerprint)
        XCTAssertEqual(before.count, 2)
    }

    /// A rolling log-likelihood probe scores -bits per byte, gets no chance level (its items store
    /// one outcome, which once read as "chance 1.0"), no McNemar test (its items are not
    /// right/wrong), stays out of the accuracy probe mean, and has its own forgetting (variant −
    /// base bits per byte) and paired bootstrap on per-document bits per byte.
    func testRollingLoglikelihoodProbe() throws {
        let file = try writeExperiment(name: "rolling", output: dir.appendingPathComponent("out").path, limit: 4, spectra: false,
                                       probes: "arc_challenge, arith_text")
        let r = try runInProcess(file)
        let catalog = try TaskCatalog(directory: tasksDirectory)
        let model = try ExperimentSummary.build(r.experiment, catalog: catalog, store: r.store, toolVersion: "test", bootstrapResamples: 200)
        XCTAssertEqual(model.probeMetrics["arith_text"], "-bits_per_byte")
        XCTAssertEqual(model.probeMetrics["arc_challenge"], "acc")
        let bpb = { (label: String) -> Double in
            let fp = try! r.store.checkpoints().first { $0.label == label }!.fingerprint
            return try! r.store.allTaskResults().first { $0.fingerprint == fp && $0.task == "arith_text" }!.metrics["bits_per_byte"]!.value
        }
        for row in model.rows { XCTAssertEqual(row.probeScores["arith_text"]!.value, -bpb(row.label), accuracy: 1e-12) }
        let lora = model.rows[2]
        XCTAssertNil(lora.mcnemar["arith_text"])
        XCTAssertNotNil(lora.mcnemar["arc_challenge"])
        XCTAssertNotNil(lora.bootstrap)
        XCTAssertEqual(lora.probeItems["arith_text"]?.count, model.itemCounts["arith_text"])
        XCTAssertEqual(lora.forgetting!.value, model.rows[0].probeMean!.value - lora.probeMean!.value, accuracy: 1e-12)

        // Chance is for multiple choice only; the rolling probe counts.
        XCTAssertNil(model.probeChance["arith_text"])
        XCTAssertEqual(model.probeChance["arc_challenge"]!, 0.27, accuracy: 0.07)  // 3 to 5 choices
        XCTAssertTrue(model.probeStanding.counting.contains("arith_text"), "\(model.probeStanding)")
        // The accuracy mean is arc_challenge's alone (adding arith_text left it as it was), and so
        // are its forgetting and bootstrap.
        let base = model.rows[0]
        for row in model.rows { XCTAssertEqual(row.probeMean, row.probeScores["arc_challenge"], row.label) }
        let docs = base.probeItems["arc_challenge"]!.keys.sorted()
        let accOnly = PairedBootstrap.meanDifference(groups: [(docs.map { base.probeItems["arc_challenge"]![$0]! }, docs.map { lora.probeItems["arc_challenge"]![$0]! })],
                                                     resamples: 200, seed: 20240605)
        XCTAssertEqual(lora.bootstrap, accOnly)
        // Its own forgetting, by hand from the stored aggregates and items.
        XCTAssertEqual(lora.probeBitsPerByte!.value, bpb("lora-r8-s100"), accuracy: 1e-12)
        XCTAssertEqual(lora.bitsPerByteForgetting!.value, bpb("lora-r8-s100") - bpb("base"), accuracy: 1e-12)
        let rollingDocs = base.probeItems["arith_text"]!.keys.sorted()
        let perDoc = rollingDocs.map { -lora.probeItems["arith_text"]![$0]! + base.probeItems["arith_text"]![$0]! }
        XCTAssertEqual(lora.bitsPerByteBootstrap!.difference, perDoc.reduce(0, +) / Double(perDoc.count), accuracy: 1e-12)
        XCTAssertEqual(base.bitsPerByteForgetting, Estimate(0, stderr: base.probeBitsPerByte!.stderr.map { _ in 0 }))
    }

    // MARK: kill -9 and resume

    func launch(_ args: [String], log: URL) throws -> Process {
        let p = Process()
        p.executableURL = CommandRunner.executable
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["FORGETLENS_TASKS"] = tasksDirectory
        p.environment = env
        FileManager.default.createFile(atPath: log.path, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: log)
        p.standardError = try FileHandle(forWritingTo: log)
        try p.run()
        return p
    }

    func snapshot(_ path: String) throws -> (tasks: [String: String], items: [String: String]) {
        let store = try ResultsStore.existing(path: path)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        func json<T: Encodable>(_ v: T?) -> String { v.flatMap { try? encoder.encode($0) }.map { String(decoding: $0, as: UTF8.self) } ?? "" }
        var tasks: [String: String] = [:], items: [String: String] = [:]
        for t in try store.allTaskResults() { tasks["\(t.fingerprint)|\(t.task)|\(t.limit)"] = json(t.metrics) }
        for i in try store.allItems() { items["\(i.fingerprint)|\(i.task)|\(i.docId)"] = "\(json(i.outcomes))|\(i.generation ?? "")|\(json(i.metrics))" }
        return (tasks, items)
    }

    func itemCount(_ path: String) -> Int {
        guard FileManager.default.fileExists(atPath: path), let store = try? ResultsStore.existing(path: path) else { return 0 }
        return (try? store.allItems().filter { $0.outcomes != nil }.count) ?? 0
    }

    func testKillNineThenResumeEqualsAnUninterruptedRun() throws {
        let exe = CommandRunner.executable
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: exe.path), "build the forgetlens executable first")
        let limit = 10, total = 3 * 4 * limit
        let interrupted = try writeExperiment(name: "killed", output: dir.appendingPathComponent("killed").path, limit: limit)
        let clean = try writeExperiment(name: "clean", output: dir.appendingPathComponent("clean").path, limit: limit)
        let killedStore = dir.appendingPathComponent("killed/results.sqlite").path
        let cleanStore = dir.appendingPathComponent("clean/results.sqlite").path

        // Start, wait until some (not all) items are committed, SIGKILL.
        let p = try launch(["run", interrupted, "--chunk-size", "2"], log: dir.appendingPathComponent("killed.log"))
        let deadline = Date().addingTimeInterval(300)
        while itemCount(killedStore) < 12 && p.isRunning && Date() < deadline { usleep(20_000) }
        XCTAssertTrue(p.isRunning, "the run finished before it could be killed: \(String(decoding: (try? Data(contentsOf: dir.appendingPathComponent("killed.log"))) ?? Data(), as: UTF8.self))")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .uncaughtSignal)
        let before = try snapshot(killedStore)
        XCTAssertGreaterThan(before.items.count, 0)
        XCTAssertLessThan(before.items.count, total)

        // Resume: finishes, scoring only what was missing.
        let resumeLog = dir.appendingPathComponent("resume.log")
        let r = try launch(["run", interrupted, "--chunk-size", "2"], log: resumeLog)
        r.waitUntilExit()
        let log = String(decoding: try Data(contentsOf: resumeLog), as: UTF8.self)
        XCTAssertEqual(r.terminationStatus, 0, log)
        let scoredNow = log.split(separator: "\n").compactMap { line -> Int? in
            guard let range = line.range(of: #"(\d+) scored now"#, options: .regularExpression) else { return nil }
            return Int(line[range].split(separator: " ")[0])
        }.reduce(0, +)
        let storedWithOutcomes = before.items.values.filter { !$0.hasPrefix("|") }.count
        XCTAssertEqual(scoredNow, total - storedWithOutcomes, log)

        // The uninterrupted run into another store.
        let c = try launch(["run", clean, "--chunk-size", "2"], log: dir.appendingPathComponent("clean.log"))
        c.waitUntilExit()
        XCTAssertEqual(c.terminationStatus, 0)

        let resumed = try snapshot(killedStore), reference = try snapshot(cleanStore)
        XCTAssertEqual(resumed.items.count, total)
        XCTAssertEqual(resumed.items, reference.items)
        XCTAssertEqual(resumed.tasks, reference.tasks)
        // Items stored before the kill were kept as they were.
        for (k, v) in before.items where !v.hasPrefix("|") {
            XCTAssertEqual(String(resumed.items[k]!.split(separator: "|", omittingEmptySubsequences: false)[0]), String(v.split(separator: "|", omittingEmptySubsequences: false)[0]))
        }
        // Spectra are complete too.
        let spectraCount = try ResultsStore.existing(path: killedStore).counts()["spectra"]
        let cleanSpectra = try ResultsStore.existing(path: cleanStore).counts()["spectra"]
        XCTAssertEqual(spectraCount, cleanSpectra)
        XCTAssertGreaterThan(cleanSpectra ?? 0, 0)
    }
}
