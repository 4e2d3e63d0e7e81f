import Experiments
import Foundation
import TestSupport
import XCTest

/// An experiment whose checkpoints are served by a real OpenAI-compatible server
/// (llama-cpp-python on the committed GGUF of llama-tiny, under two names as vLLM serves a base
/// and its LoRA modules): run, cache, shards and merge, against the native engine's numbers.
/// Tasks whose first documents fit the fixture's 128 positions: a text-only server cannot
/// reproduce lm-eval's left truncation (RemoteBackend refuses it with a clear error).
final class RemoteExperimentTests: XCTestCase {
    var dir: URL!
    override func setUp() { dir = Fixtures.temporaryDirectory("remote-experiment") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    var tasksDirectory: String { Fixtures.packageRoot.appendingPathComponent("tasks").path }
    let secret = "sk-forgetlens-test-\(UInt32.random(in: 0...UInt32.max))"

    func writeExperiment(_ name: String, backend: String?, variant: String) throws -> String {
        var yaml = """
        name: \(name)
        base: \(Fixtures.model("llama-tiny"))
        output: \(dir.appendingPathComponent(name).path)
        targets: [basic_arithmetic]
        probes: [arc_easy, copa]
        limit: 5
        num_fewshot: 0
        variants:
          - \(variant)

        """
        if let backend { yaml += backend }
        let path = dir.appendingPathComponent("\(name).yaml")
        try yaml.write(to: path, atomically: false, encoding: .utf8)
        return path.path
    }

    func run(_ file: String, shard: Shard? = nil, store: String? = nil, baseURL: String? = nil, chunkSize: Int = 32,
             onEvent: (RunEvent) -> Void = { _ in }) throws -> (store: ResultsStore, scored: Int, events: [RunEvent]) {
        let catalog = try TaskCatalog(directory: tasksDirectory)
        let e = try Experiment.load(path: file, knownTasks: catalog.names)
        let s = try ResultsStore(path: store ?? e.storePath)
        var scored = 0
        var events: [RunEvent] = []
        var server = try e.serverOptions(baseURLOverride: baseURL)
        server?.maxAttempts = 2  // a dead server fails the run within seconds
        server?.initialBackoff = 0.1
        var options = RunOptions()
        options.chunkSize = chunkSize
        try ExperimentRunner(experiment: e, catalog: catalog, store: s, options: options).run(shard: shard, server: server) { ev in
            if case .taskFinished(_, _, _, _, _, let n, _) = ev { scored += n }
            if case .partFinished(_, _, _, let n) = ev { scored += n }
            events.append(ev)
            onEvent(ev)
        }
        return (s, scored, events)
    }

    func testServedCheckpointsMatchTheNativeEngineAndShardAndMerge() throws {
        let server = try LocalServer.llamaCpp(aliases: ["tiny-base", "tiny-copy"])
        defer { server.stop() }
        setenv("FORGETLENS_TEST_KEY", secret, 1)
        defer { unsetenv("FORGETLENS_TEST_KEY") }
        let backend = """
        backend:
          type: openai
          base_url: \(server.url.absoluteString)
          api_key_env: FORGETLENS_TEST_KEY
          served_model: tiny-base
          concurrency: 4
          timeout: 60

        """
        let remoteFile = try writeExperiment("remote", backend: backend, variant: "{label: copy, method: full, served_model: tiny-copy}")
        let nativeFile = try writeExperiment("native", backend: nil, variant: "{label: ft, method: full, model: \(Fixtures.model("llama-tiny-ft-bf16"))}")

        let remote = try run(remoteFile)
        XCTAssertEqual(remote.scored, 2 * 3 * 5)
        XCTAssertTrue(remote.events.contains { if case .spectraSkipped(label: "copy", _) = $0 { return true }; return false })
        let cps = Dictionary(uniqueKeysWithValues: try remote.store.checkpoints().map { ($0.label, $0) })
        XCTAssertEqual(cps["base"]?.servedModel, "tiny-base")
        XCTAssertEqual(cps["copy"]?.servedModel, "tiny-copy")
        XCTAssertTrue(cps["base"]!.fingerprint.hasPrefix("remote-xxh64:"))
        XCTAssertNotEqual(cps["base"]?.fingerprint, cps["copy"]?.fingerprint)

        // Native base vs served base: the tolerance and its reason are RemoteServerTests'.
        let native = try run(nativeFile)
        let nativeBase = try native.store.checkpoint(label: "base")!.fingerprint
        let n = Dictionary(uniqueKeysWithValues: try native.store.allItems().filter { $0.fingerprint == nativeBase }.map { ("\($0.task) \($0.docId)", $0) })
        let r = Dictionary(uniqueKeysWithValues: try remote.store.allItems().filter { $0.fingerprint == cps["base"]!.fingerprint }.map { ("\($0.task) \($0.docId)", $0) })
        let c = Dictionary(uniqueKeysWithValues: try remote.store.allItems().filter { $0.fingerprint == cps["copy"]!.fingerprint }.map { ("\($0.task) \($0.docId)", $0) })
        XCTAssertEqual(Set(n.keys), Set(r.keys))
        XCTAssertEqual(n.count, 3 * 5)
        var maxDelta = 0.0
        for (k, x) in n {
            let y = try XCTUnwrap(r[k]), z = try XCTUnwrap(c[k])
            XCTAssertEqual(x.acc, y.acc, k)
            XCTAssertEqual(x.accNorm, y.accNorm, k)
            XCTAssertEqual(y.acc, z.acc, k)  // the same weights under another name
            for (o, p) in zip(x.outcomes!, y.outcomes!) { maxDelta = max(maxDelta, abs(o.loglikelihood - p.loglikelihood)) }
        }
        XCTAssertLessThan(maxDelta, 2e-3, "max |served - native| log-likelihood")
        print(String(format: "REMOTE-EXPERIMENT served vs native base: max |dll| = %.3g over %d documents", maxDelta, n.count))

        // A rerun reconnects, gets the same fingerprints (nothing time-dependent in them), scores nothing.
        XCTAssertEqual(try run(remoteFile).scored, 0)

        // Two shards against the server, merged: the whole run's decisions and aggregates.
        var parts: [String] = []
        for i in 1...2 {
            parts.append(dir.appendingPathComponent("part\(i).sqlite").path)
            _ = try run(remoteFile, shard: Shard(index: i, count: 2), store: parts.last!)
        }
        let merged = dir.appendingPathComponent("merged.sqlite").path
        let summary = try StoreMerger.merge(into: merged, from: parts, catalog: try TaskCatalog(directory: tasksDirectory), toolVersion: "t")
        XCTAssertTrue(summary.incomplete.isEmpty, "\(summary.incomplete)")
        let whole = Dictionary(uniqueKeysWithValues: try remote.store.allTaskResults().map { ("\($0.fingerprint) \($0.task)", $0.metrics["acc"]?.value) })
        let joined = Dictionary(uniqueKeysWithValues: try ResultsStore.existing(path: merged).allTaskResults().map { ("\($0.fingerprint) \($0.task)", $0.metrics["acc"]?.value) })
        XCTAssertEqual(whole, joined)

        // One experiment, one report: the base served, a variant scored by the native engine.
        let mixedFile = try writeExperiment("mixed", backend: backend,
                                            variant: "{label: ft, method: full, backend: native, model: \(Fixtures.model("llama-tiny-ft-bf16"))}")
        let mixed = try run(mixedFile)
        XCTAssertEqual(mixed.scored, 2 * 3 * 5)
        let m = Dictionary(uniqueKeysWithValues: try mixed.store.checkpoints().map { ($0.label, $0) })
        XCTAssertEqual(m["base"]?.fingerprint, cps["base"]?.fingerprint)
        XCTAssertEqual(m["ft"]?.fingerprint, try native.store.checkpoint(label: "ft")?.fingerprint)  // content-addressed, as in any native run
        XCTAssertNil(m["ft"]?.servedModel)
        let nativeFT = Dictionary(uniqueKeysWithValues: try native.store.allItems().filter { $0.fingerprint == m["ft"]!.fingerprint }.map { ("\($0.task) \($0.docId)", $0) })
        for item in try mixed.store.allItems() where item.fingerprint == m["ft"]!.fingerprint {
            let other = try XCTUnwrap(nativeFT["\(item.task) \(item.docId)"])
            XCTAssertEqual(item.acc, other.acc)
            for (o, p) in zip(item.outcomes!, other.outcomes!) { XCTAssertEqual(o.loglikelihood, p.loglikelihood, accuracy: 1e-9) }
        }
        XCTAssertGreaterThan(try mixed.store.allSpectra().count, 0)  // the native variant's weights are local
        let catalog = try TaskCatalog(directory: tasksDirectory)
        let report = try ExperimentSummary.build(try Experiment.load(path: mixedFile, knownTasks: catalog.names), catalog: catalog,
                                                 store: mixed.store, toolVersion: "t", bootstrapResamples: 20)
        XCTAssertEqual(report.rows.map { $0.learning != nil && $0.forgetting != nil }, [true, true])

        // The API key is in no store.
        for path in [remote.store.path, mixed.store.path, merged] + parts {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            XCTAssertNil(bytes.range(of: Data(secret.utf8)), path)
        }
    }

    func testAnUnservedNameIsAClearErrorAndAVariantMayHaveItsOwnServer() throws {
        let server = try LocalServer.llamaCpp(aliases: ["tiny-base"])
        defer { server.stop() }
        let file = try writeExperiment("missing", backend: """
        backend: {type: openai, base_url: "\(server.url.absoluteString)", served_model: tiny-base}

        """, variant: "{label: r8, method: lora, served_model: r8-adapter}")
        XCTAssertThrowsError(try run(file)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("r8:"), text)
            XCTAssertTrue(text.contains("r8-adapter"), text)
            XCTAssertTrue(text.contains("--lora-modules"), text)
        }
        // The variant on a server of its own (vLLM serves one full model per server).
        let other = try LocalServer.llamaCpp(aliases: ["r8-adapter"])
        defer { other.stop() }
        let own = try writeExperiment("own-server", backend: """
        backend: {type: openai, base_url: "\(server.url.absoluteString)", served_model: tiny-base}

        """, variant: "{label: r8, method: lora, served_model: r8-adapter, base_url: \"\(other.url.absoluteString)\"}")
        let r = try run(own)
        XCTAssertEqual(r.scored, 2 * 3 * 5)
        XCTAssertEqual(try r.store.checkpoint(label: "r8")?.servedModel, "r8-adapter")
    }

    /// The server dies mid-run: the run fails with the server named, what was committed stays;
    /// a rerun against a new server (another port: the URL is not part of the identity) scores
    /// only the rest, and the store equals an uninterrupted run's.
    func testKilledServerThenResumeOnAnotherServer() throws {
        let first = try LocalServer.llamaCpp(aliases: ["tiny-base", "tiny-copy"])
        defer { first.stop() }
        let file = try writeExperiment("killed", backend: """
        backend: {type: openai, base_url: "\(first.url.absoluteString)", served_model: tiny-base, concurrency: 2, timeout: 30}

        """, variant: "{label: copy, method: full, served_model: tiny-copy}")
        var committed = 0
        XCTAssertThrowsError(try run(file, chunkSize: 2) { event in
            if case .task(_, _, let done, _) = event, done > 0 {
                committed += 1
                if committed == 3 { first.killHard() }
            }
        }) { error in
            XCTAssertTrue("\(error)".contains("127.0.0.1:\(first.port)"), "\(error)")
        }
        let catalog = try TaskCatalog(directory: tasksDirectory)
        let stored = try ResultsStore.existing(path: try Experiment.load(path: file, knownTasks: catalog.names).storePath)
        let before = try stored.allItems().filter { $0.outcomes != nil }.count
        XCTAssertGreaterThan(before, 0)
        XCTAssertLessThan(before, 2 * 3 * 5)
        XCTAssertTrue(try stored.runs().last!.status.hasPrefix("failed"))

        let second = try LocalServer.llamaCpp(aliases: ["tiny-base", "tiny-copy"])
        defer { second.stop() }
        let resumed = try run(file, baseURL: second.url.absoluteString)
        XCTAssertEqual(resumed.scored, 2 * 3 * 5 - before)
        let fresh = try run(file, store: dir.appendingPathComponent("fresh.sqlite").path, baseURL: second.url.absoluteString)
        func items(_ s: ResultsStore) throws -> [String: ItemRecord] {
            Dictionary(uniqueKeysWithValues: try s.allItems().map { ("\($0.fingerprint) \($0.task) \($0.docId)", $0) })
        }
        let a = try items(resumed.store), b = try items(fresh.store)
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        for (k, x) in a {
            XCTAssertEqual(x.acc, b[k]!.acc, k)
            for (o, p) in zip(x.outcomes!, b[k]!.outcomes!) { XCTAssertEqual(o.loglikelihood, p.loglikelihood, accuracy: 1e-4, k) }
        }
    }
}
