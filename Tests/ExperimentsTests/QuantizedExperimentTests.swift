import Checkpoints
import Experiments
import Foundation
import TestSupport
import XCTest

/// QLoRA variants in experiments (issue 11): evaluated on their base in 4 bits, the quantized
/// base scored too, fingerprints that keep 4-bit and 16-bit results apart, and the report's split.
final class QuantizedExperimentTests: XCTestCase {
    var dir: URL!
    override func setUp() { dir = Fixtures.temporaryDirectory("experiment-quant") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    var tasksDirectory: String { Fixtures.packageRoot.appendingPathComponent("tasks").path }

    func write(_ body: String) throws -> String {
        let yaml = """
        name: quant
        base: \(Fixtures.model("llama-tiny"))
        output: \(dir.appendingPathComponent("out").path)
        targets: [basic_arithmetic]
        probes: [hellaswag, arc_challenge]
        limit: 4
        num_fewshot: 0
        spectra: {enabled: false}
        \(body)
        """
        let path = dir.appendingPathComponent("quant-\(UUID().uuidString.prefix(6)).yaml")
        try yaml.write(to: path, atomically: false, encoding: .utf8)
        return path.path
    }

    func testQLoRAVariantRunsOnTheQuantizedBaseAndTheReportSplitsForgetting() throws {
        let file = try write("""
        variants:
          - {label: qlora-r8, method: qlora, adapter: \(Fixtures.model("lora-llama-r8"))}
          - {label: lora-r8, method: lora, adapter: \(Fixtures.model("lora-llama-r8"))}
          - label: qlora-fp4
            method: qlora
            adapter: \(Fixtures.model("lora-llama-r8"))
            quantization: {type: fp4, double_quant: false, blocksize: 128, compute_dtype: fp16}
        """)
        let catalog = try TaskCatalog(directory: tasksDirectory)
        let e = try Experiment.load(path: file, knownTasks: catalog.names)
        XCTAssertEqual(e.variants[0].quantization, .qlora)
        XCTAssertTrue(e.variants[0].quantizationDefaulted)
        XCTAssertNil(e.variants[1].quantization)
        XCTAssertEqual(e.variants[2].quantization?.descriptor, "fp4/b128/fp16")
        let store = try ResultsStore(path: e.storePath)
        try ExperimentRunner(experiment: e, catalog: catalog, store: store).run()

        let checkpoints = Dictionary(uniqueKeysWithValues: try store.checkpoints().map { ($0.label, $0) })
        let qbase = try XCTUnwrap(checkpoints["base-nf4-dq-b64-bf16"])
        XCTAssertEqual(qbase.fingerprint, checkpoints["base"]!.fingerprint + "+q4:nf4+dq/b64/bf16")
        XCTAssertNotNil(checkpoints["base-fp4-b128-fp16"])
        XCTAssertTrue(checkpoints["qlora-r8"]!.fingerprint.hasSuffix("+q4:nf4+dq/b64/bf16"))
        XCTAssertFalse(checkpoints["lora-r8"]!.fingerprint.contains("+q4:"))
        // the same adapter on the 4-bit base is another model: its item log-likelihoods differ
        let key4 = try e.taskKey(checkpoints["qlora-r8"]!.fingerprint, "hellaswag", catalog: catalog)
        let key16 = try e.taskKey(checkpoints["lora-r8"]!.fingerprint, "hellaswag", catalog: catalog)
        let ll4 = try store.items(key4).sorted { $0.key < $1.key }.flatMap { $0.value.outcomes?.map(\.loglikelihood) ?? [] }
        let ll16 = try store.items(key16).sorted { $0.key < $1.key }.flatMap { $0.value.outcomes?.map(\.loglikelihood) ?? [] }
        XCTAssertEqual(ll4.count, ll16.count)
        XCTAssertNotEqual(ll4, ll16)

        let report = try ExperimentSummary.build(e, catalog: catalog, store: store, toolVersion: "t", bootstrapResamples: 50)
        XCTAssertEqual(report.rows.map(\.label), ["base", "base-nf4-dq-b64-bf16", "base-fp4-b128-fp16", "qlora-r8", "lora-r8", "qlora-fp4"])
        XCTAssertNotNil(report.rows[1].forgetting)
        XCTAssertTrue(report.notes.contains { $0.contains("qlora-r8: method qlora without quantization") }, "\(report.notes)")
        XCTAssertTrue(report.notes.contains { $0.hasPrefix("qlora-r8: forgetting") && $0.contains("quantization") && $0.contains("adapter") }, "\(report.notes)")
        XCTAssertTrue(report.notes.contains { $0.hasPrefix("qlora-fp4: forgetting") && $0.contains("base-fp4-b128-fp16") }, "\(report.notes)")
    }

    func testSavedFourBitBaseEqualsQuantizingAtLoad() throws {
        // the same QLoRA model two ways: a base saved by transformers in NF4, and the 32-bit
        // base quantized at load (the qlora default): identical item log-likelihoods
        let catalog = try TaskCatalog(directory: tasksDirectory)
        let quantized = try Experiment.load(path: try write("""
        variants:
          - {label: q, method: qlora, adapter: \(Fixtures.model("lora-llama-r8"))}
        """), knownTasks: catalog.names)
        let storeA = try ResultsStore(path: quantized.storePath)
        try ExperimentRunner(experiment: quantized, catalog: catalog, store: storeA).run()

        let savedFile = dir.appendingPathComponent("saved.yaml")
        try """
        name: saved
        base: \(Fixtures.model("llama-tiny-nf4-dq"))
        output: \(dir.appendingPathComponent("out-saved").path)
        targets: [basic_arithmetic]
        probes: [hellaswag, arc_challenge]
        limit: 4
        num_fewshot: 0
        spectra: {enabled: false}
        variants:
          - {label: q, method: qlora, adapter: \(Fixtures.model("lora-llama-r8"))}
        """.write(to: savedFile, atomically: false, encoding: .utf8)
        let saved = try Experiment.load(path: savedFile.path, knownTasks: catalog.names)
        XCTAssertNil(saved.variants[0].quantization)
        XCTAssertTrue(saved.quantizedBases.isEmpty)
        let storeB = try ResultsStore(path: saved.storePath)
        try ExperimentRunner(experiment: saved, catalog: catalog, store: storeB).run()

        for (label, other) in [("q", "q"), ("base-nf4-dq-b64-bf16", "base")] {
            let a = try storeA.checkpoints().first { $0.label == label }!, b = try storeB.checkpoints().first { $0.label == other }!
            for task in ["hellaswag", "basic_arithmetic"] {
                let la = try storeA.items(try quantized.taskKey(a.fingerprint, task, catalog: catalog)).sorted { $0.key < $1.key }
                    .flatMap { $0.value.outcomes?.map(\.loglikelihood) ?? [] }
                let lb = try storeB.items(try saved.taskKey(b.fingerprint, task, catalog: catalog)).sorted { $0.key < $1.key }
                    .flatMap { $0.value.outcomes?.map(\.loglikelihood) ?? [] }
                XCTAssertFalse(la.isEmpty)
                XCTAssertEqual(la, lb, "\(label) \(task)")
            }
        }
    }

    func testBadQuantizationIsReportedWithItsLine() throws {
        let catalog = try TaskCatalog(directory: tasksDirectory)
        let cases: [(String, String)] = [
            ("quantization: {type: nf5}\nvariants:\n  - {label: a, method: lora, adapter: \(Fixtures.model("lora-llama-r8"))}", "quantization.type"),
            ("variants:\n  - {label: a, method: lora, adapter: \(Fixtures.model("lora-llama-r8")), quantization: {type: nf4, blocksize: 100}}", "blocksize"),
            ("variants:\n  - {label: a, method: full, model: \(Fixtures.model("llama-tiny-ft-bf16")), quantization: {type: nf4}}", "not to a full fine-tune"),
            ("variants:\n  - {label: a, method: lora, adapter: \(Fixtures.model("lora-llama-r8")), quantization: {type: nf4, colour: red}}", "unknown key 'colour'"),
        ]
        for (body, expected) in cases {
            let file = try write(body)
            XCTAssertThrowsError(try Experiment.load(path: file, knownTasks: catalog.names)) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error)")
                XCTAssertTrue("\(error)".contains(".yaml:"), "no line in \(error)")
            }
        }
    }
}
