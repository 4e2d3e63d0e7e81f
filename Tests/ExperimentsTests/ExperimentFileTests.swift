import Experiments
import Foundation
import TestSupport
import XCTest

final class ExperimentFileTests: XCTestCase {
    var dir: URL!
    let known: Set<String> = ["basic_arithmetic", "hellaswag", "winogrande", "arc_challenge"]

    override func setUpWithError() throws {
        dir = Fixtures.temporaryDirectory("experiment-file")
        let fm = FileManager.default
        for d in ["checkpoints/base", "checkpoints/full/step-100", "checkpoints/lora-r8/step-100"] {
            try fm.createDirectory(at: dir.appendingPathComponent(d), withIntermediateDirectories: true)
        }
    }

    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    let good = """
    name: demo
    base: checkpoints/base
    targets: [basic_arithmetic]
    probes: [hellaswag, winogrande, arc_challenge]
    limit: {hellaswag: 100, default: 200}
    num_fewshot: 0
    spectra: {enabled: true, modules: "self_attn|mlp", variance: 0.9}
    variants:
      - {label: full-s100, method: full, step: 100, tokens: 51200, model: checkpoints/full/step-100}
      - {label: lora-r8-s100, method: lora, rank: 8, step: 100, adapter: checkpoints/lora-r8/step-100}
    """

    func parse(_ text: String) throws -> Experiment {
        try Experiment.parse(text, file: dir.appendingPathComponent("exp.yaml").path, knownTasks: known)
    }

    func assertError(_ text: String, line: Int?, contains fragment: String, file: StaticString = #filePath, l: UInt = #line) {
        XCTAssertThrowsError(try parse(text), file: file, line: l) { error in
            guard let e = error as? ExperimentError else { return XCTFail("\(error)", file: file, line: l) }
            XCTAssertEqual(e.line, line, "\(e)", file: file, line: l)
            XCTAssertTrue(e.description.contains(fragment), "\(e)", file: file, line: l)
        }
    }

    func testParsesTheDocumentedShape() throws {
        let e = try parse(good)
        XCTAssertEqual(e.name, "demo")
        XCTAssertEqual(e.base, dir.appendingPathComponent("checkpoints/base").standardized.path)
        XCTAssertEqual(e.output, dir.appendingPathComponent("reports/demo").standardized.path)
        XCTAssertEqual(e.limit.limit(for: "hellaswag"), 100)
        XCTAssertEqual(e.limit.limit(for: "winogrande"), 200)
        XCTAssertEqual(e.numFewshot, 0)
        XCTAssertEqual(e.spectra.modules, "self_attn|mlp")
        XCTAssertEqual(e.variants.map(\.label), ["full-s100", "lora-r8-s100"])
        XCTAssertEqual(e.variants[0].tokens, 51200)
        XCTAssertEqual(e.variants[1].rank, 8)
        XCTAssertEqual(e.variants[1].adapter, dir.appendingPathComponent("checkpoints/lora-r8/step-100").standardized.path)
    }

    /// YAML 1.1 integers read as PyYAML reads them (hex, base 60, `_`); one past 64 bits is an
    /// error naming the line and field (it trapped inside Yams: the fuzz-experiment finding).
    func testYAML11IntegersAndOverflowingOnes() throws {
        let e = try parse(good.replacingOccurrences(of: "num_fewshot: 0", with: "num_fewshot: 0x2")
            .replacingOccurrences(of: "limit: {hellaswag: 100, default: 200}", with: "limit: {hellaswag: 1:40, default: 2_00}"))
        XCTAssertEqual(e.numFewshot, 2)
        XCTAssertEqual(e.limit.limit(for: "hellaswag"), 100)
        XCTAssertEqual(e.limit.limit(for: "winogrande"), 200)
        assertError(good.replacingOccurrences(of: "num_fewshot: 0", with: "num_fewshot: 9223372036854775807:0"), line: 6,
                    contains: "num_fewshot: expected an integer, got '9223372036854775807:0' ('9223372036854775807:0' is beyond the 64-bit integer range)")
        assertError(good.replacingOccurrences(of: "num_fewshot: 0", with: "num_fewshot: 0o17"), line: 6,
                    contains: "num_fewshot: expected an integer, got '0o17'")
        assertError(good.replacingOccurrences(of: "limit: {hellaswag: 100, default: 200}", with: "limit: {hellaswag: 1:0:0:0:0:0:0:0:0:0:0:0}"), line: 5,
                    contains: "limit.hellaswag: expected a positive integer ('1:0:0:0:0:0:0:0:0:0:0:0' is beyond the 64-bit integer range)")
        assertError(good + "\nseed: 9223372036854775807:0", line: 11, contains: "seed: expected a non-negative integer (")
    }

    func testDefaultsProbesAndOutput() throws {
        let e = try parse("""
        name: d2
        base: checkpoints/base
        output: ../out
        targets: basic_arithmetic
        limit: 5
        variants:
          - {label: a, method: full, model: checkpoints/full/step-100}
        """)
        XCTAssertEqual(e.probes, ["hellaswag", "winogrande", "arc_challenge"])
        XCTAssertEqual(e.output, dir.deletingLastPathComponent().appendingPathComponent("out").standardized.path)
        XCTAssertNil(e.numFewshot)
        XCTAssertEqual(e.limit.limit(for: "hellaswag"), 5)
    }

    /// `forgetlens run examples/demo.yaml` passes a relative path; "../" in output: must
    /// resolve against the working directory, not the filesystem root.
    func testRelativeFilePathResolvesAgainstWorkingDirectory() throws {
        let previous = FileManager.default.currentDirectoryPath
        defer { FileManager.default.changeCurrentDirectoryPath(previous) }
        for sub in ["examples/checkpoints/base", "examples/checkpoints/full"] {
            try FileManager.default.createDirectory(at: dir.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        FileManager.default.changeCurrentDirectoryPath(dir.path)
        let e = try Experiment.parse("""
        name: rel
        base: checkpoints/base
        output: ../reports/rel
        targets: [basic_arithmetic]
        variants:
          - {label: a, method: full, model: checkpoints/full}
        """, file: "examples/demo.yaml", knownTasks: known)
        let root = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        XCTAssertEqual(e.output, root.appendingPathComponent("reports/rel").standardized.path)
        XCTAssertEqual(e.base, root.appendingPathComponent("examples/checkpoints/base").standardized.path)
    }

    func testReportShowsPathsRelativeToTheExperimentFile() {
        XCTAssertEqual(ExperimentSummary.displayPath("/x/examples/checkpoints/base", experimentFile: "/x/examples/demo.yaml"), "checkpoints/base")
        XCTAssertEqual(ExperimentSummary.displayPath("/elsewhere/base", experimentFile: "/x/examples/demo.yaml"), "/elsewhere/base")
    }

    func testUnknownKeyNamesItsLine() {
        assertError(good.replacingOccurrences(of: "num_fewshot: 0", with: "num_fewshots: 0"), line: 6, contains: "unknown key 'num_fewshots'")
        assertError(good.replacingOccurrences(of: "step: 100, tokens", with: "stp: 100, tokens"), line: 9, contains: "unknown key 'stp'")
    }

    func testMissingFields() {
        assertError(good.replacingOccurrences(of: "name: demo\n", with: ""), line: 1, contains: "missing field 'name'")
        assertError(good.replacingOccurrences(of: "model: checkpoints/full/step-100", with: "step2: 1").replacingOccurrences(of: "step2: 1", with: "rank: 2"),
                    line: 9, contains: "missing field 'model'")
    }

    func testWrongTypes() {
        assertError(good.replacingOccurrences(of: "num_fewshot: 0", with: "num_fewshot: zero"), line: 6, contains: "expected an integer")
        assertError(good.replacingOccurrences(of: "variance: 0.9", with: "variance: 2"), line: 7, contains: "(0, 1]")
        assertError(good.replacingOccurrences(of: "method: lora", with: "method: dora"), line: 10, contains: "not one of full, lora, qlora")
        assertError(good.replacingOccurrences(of: "targets: [basic_arithmetic]", with: "targets: {a: 1}"), line: 3, contains: "expected a list")
    }

    func testSeriesAndWeightSpectraSettings() throws {
        let e = try parse(good.replacingOccurrences(of: "step: 100, tokens", with: "series: full-wd, step: 100, tokens")
                              .replacingOccurrences(of: "variance: 0.9}", with: "variance: 0.9, weights: \"layers\\\\.1\\\\..*q_proj\"}"))
        XCTAssertEqual(e.variants[0].series, "full-wd")
        XCTAssertNil(e.variants[1].series)
        XCTAssertEqual(e.spectra.weights, "layers\\.1\\..*q_proj")
        XCTAssertTrue(e.spectra.weightsEnabled)
        XCTAssertFalse(try parse(good.replacingOccurrences(of: "variance: 0.9}", with: "variance: 0.9, weights: false}")).spectra.weightsEnabled)
        assertError(good.replacingOccurrences(of: "variance: 0.9}", with: "variance: 0.9, weights: \"([\"}"), line: 7, contains: "spectra.weights")
        assertError(good.replacingOccurrences(of: "step: 100, tokens", with: "series: [a], step: 100, tokens"), line: 9, contains: "series: expected a non-empty string")
    }

    func testUnknownTask() {
        assertError(good.replacingOccurrences(of: "winogrande, arc", with: "winogrand, arc"), line: 4, contains: "unknown task 'winogrand'")
    }

    func testMissingDirectory() {
        assertError(good.replacingOccurrences(of: "lora-r8/step-100", with: "lora-r8/step-999"), line: 10, contains: "does not exist")
        assertError(good.replacingOccurrences(of: "base: checkpoints/base", with: "base: nowhere"), line: 2, contains: "does not exist")
    }

    func testDuplicateLabels() {
        assertError(good.replacingOccurrences(of: "label: lora-r8-s100", with: "label: full-s100"), line: 10, contains: "duplicate label 'full-s100' (first used on line 9)")
        assertError(good.replacingOccurrences(of: "label: lora-r8-s100", with: "label: base"), line: 10, contains: "reserved")
    }

    func testEmptyTaskListsAreErrors() {
        assertError(good.replacingOccurrences(of: "targets: [basic_arithmetic]", with: "targets: []"), line: 3, contains: "at least one target-domain task")
    }

    /// Labels become file names (export/<label>/results.json): `../x` wrote outside the output.
    func testLabelsMustBeFileNames() {
        assertError(good.replacingOccurrences(of: "label: lora-r8-s100", with: "label: ../../escape"), line: 10, contains: "must not contain '/'")
        assertError(good.replacingOccurrences(of: "label: lora-r8-s100", with: "label: '..'"), line: 10, contains: "are not names")
        assertError(good.replacingOccurrences(of: "label: lora-r8-s100", with: "label: \"a\\tb\""), line: 10, contains: "control characters")
    }

    func testInvalidYAMLNamesALine() {
        XCTAssertThrowsError(try parse("name: x\nbase: [unclosed\n")) { e in
            XCTAssertNotNil((e as? ExperimentError)?.line, "\(e)")
        }
    }

    // MARK: backend: openai

    let served = """
    name: served
    base: checkpoints/base
    targets: [basic_arithmetic]
    backend:
      type: openai
      base_url: http://gpu01:8000/v1
      api_key_env: VLLM_API_KEY
      served_model: llama-7b
      concurrency: 32
      timeout: 600
    variants:
      - {label: lora-r8, method: lora, served_model: r8, adapter: checkpoints/lora-r8/step-100}
      - {label: full, method: full, served_model: full-ft, base_url: "http://gpu02:8000"}
    """

    func testParsesAServedExperiment() throws {
        let e = try parse(served)
        XCTAssertEqual(e.backend, BackendSettings(kind: .openai, baseURL: "http://gpu01:8000/v1", apiKeyEnv: "VLLM_API_KEY",
                                                  servedModel: "llama-7b", concurrency: 32, timeout: 600))
        XCTAssertEqual(e.variants.map(\.servedModel), ["r8", "full-ft"])
        XCTAssertEqual(e.variants.map(\.baseURL), [nil, "http://gpu02:8000"])
        XCTAssertTrue(e.variants[0].hasLocalWeights)  // spectra from the local adapter
        XCTAssertFalse(e.variants[1].hasLocalWeights)  // served only: no spectra
        // The key is read from the named variable; its absence is an error naming the variable.
        let options = try e.serverOptions(environment: ["VLLM_API_KEY": "sk-123"])
        XCTAssertEqual(options?.apiKey, "sk-123")
        XCTAssertEqual(options?.concurrency, 32)
        XCTAssertThrowsError(try e.serverOptions(environment: [:])) {
            XCTAssertTrue("\($0)".contains("VLLM_API_KEY is not set"), "\($0)")
        }
        XCTAssertEqual(try e.serverOptions(baseURLOverride: "http://node7:9000", environment: ["VLLM_API_KEY": "k"])?.baseURL.absoluteString,
                       "http://node7:9000")
        XCTAssertNil(try parse(good).serverOptions())
        XCTAssertEqual(try parse(good.replacingOccurrences(of: "num_fewshot: 0", with: "num_fewshot: 0\nbackend: native")).backend.kind, .native)
    }

    func testServedExperimentErrors() {
        assertError(served.replacingOccurrences(of: "served_model: full-ft", with: "step: 3"), line: 13,
                    contains: "the backend is openai: give served_model:")
        assertError(good.replacingOccurrences(of: "rank: 8,", with: "served_model: x,"), line: 10, contains: "served_model is for served variants")
        assertError(served.replacingOccurrences(of: "type: openai", with: "type: vllm"), line: 5, contains: "expected native or openai, got 'vllm'")
        assertError(served.replacingOccurrences(of: "http://gpu01:8000/v1", with: "gpu01:8000"), line: 6, contains: "expected http(s)://HOST:PORT")
        assertError(served.replacingOccurrences(of: "api_key_env: VLLM_API_KEY", with: "api_key_env: sk-abc123"), line: 7, contains: "NAME of an environment variable")
        assertError(served.replacingOccurrences(of: "concurrency: 32", with: "concurrency: 0"), line: 9, contains: "from 1 to 1024")
        assertError(served.replacingOccurrences(of: "timeout: 600", with: "api_key: sk-abc"), line: 10, contains: "unknown key 'api_key' in backend")
        assertError(served.replacingOccurrences(of: "served_model: full-ft", with: "served_model: r8"), line: 13, contains: "served_model 'r8' is already variant 'lora-r8''s name")
        assertError(served.replacingOccurrences(of: "served_model: full-ft", with: "served_model: llama-7b"), line: 13, contains: "already the base")
        assertError(good.replacingOccurrences(of: "num_fewshot: 0", with: "num_fewshot: 0\nbackend: openai"), line: 7, contains: "needs a mapping")
        assertError(served.replacingOccurrences(of: "http://gpu02:8000", with: "ftp://gpu02"), line: 13, contains: "variant 'full': base_url: expected http(s)")
        assertError(good.replacingOccurrences(of: "rank: 8,", with: "base_url: http://x:1,"), line: 10, contains: "base_url is for served variants")
        assertError(served.replacingOccurrences(of: "served_model: r8, adapter: checkpoints/lora-r8/step-100", with: "served_model: r8, adapter: nowhere"),
                    line: 12, contains: "does not exist")
    }

    /// One experiment may mix served and native checkpoints: a variant overrides the default.
    func testMixedBackends() throws {
        let mixed = try parse(served.replacingOccurrences(of: "{label: lora-r8, method: lora, served_model: r8, adapter: checkpoints/lora-r8/step-100}",
                                                          with: "{label: lora-r8, method: lora, backend: native, adapter: checkpoints/lora-r8/step-100}"))
        XCTAssertEqual(mixed.variants.map(\.backendKind), [.native, .openai])
        XCTAssertTrue(mixed.needsServer)
        // A native experiment with one served variant: the server settings serve that variant.
        let native = """
        name: mostly-native
        base: checkpoints/base
        targets: [basic_arithmetic]
        backend: {type: native, base_url: "http://gpu01:8000"}
        variants:
          - {label: full, method: full, model: checkpoints/full/step-100}
          - {label: big, method: full, backend: openai, served_model: big-ft}
        """
        let n = try parse(native)
        XCTAssertEqual(n.variants.map(\.backendKind), [.native, .openai])
        XCTAssertEqual(try n.serverOptions()?.baseURL.absoluteString, "http://gpu01:8000")
        XCTAssertNil(try parse(good).serverOptions())
        // A served variant with no server anywhere: said at run time (the URL may come from --base-url).
        let nowhere = try parse(good.replacingOccurrences(of: "rank: 8, step: 100, adapter: checkpoints/lora-r8/step-100", with: "backend: openai, served_model: r8"))
        XCTAssertThrowsError(try nowhere.serverOptions()) { XCTAssertTrue("\($0)".contains("backend.base_url is not set"), "\($0)") }
        XCTAssertEqual(try nowhere.serverOptions(baseURLOverride: "http://h:1")?.baseURL.absoluteString, "http://h:1")

        assertError(native.replacingOccurrences(of: "backend: openai, served_model: big-ft", with: "backend: vllm, served_model: big-ft"), line: 7,
                    contains: "backend: expected native or openai, got 'vllm'")
        assertError(native.replacingOccurrences(of: "backend: openai, served_model: big-ft", with: "backend: openai"), line: 7, contains: "give served_model:")
        assertError(native.replacingOccurrences(of: "model: checkpoints/full/step-100}", with: "model: checkpoints/full/step-100, served_model: x}"), line: 6,
                    contains: "served_model is for served variants")
        assertError(native.replacingOccurrences(of: "{type: native, base_url", with: "{type: native, served_model: b, base_url"), line: 4,
                    contains: "type native scores the base locally")
        assertError(served.replacingOccurrences(of: "served_model: r8, adapter: checkpoints/lora-r8/step-100", with: "backend: native"), line: 12,
                    contains: "missing field 'adapter'")
    }
}
