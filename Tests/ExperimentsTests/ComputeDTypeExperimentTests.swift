import Checkpoints
import Experiments
import Foundation
import TestSupport
import XCTest

/// `compute_dtype:` in experiment files (issue 17): top level and per variant, in fingerprints.
final class ComputeDTypeExperimentTests: XCTestCase {
    var dir: URL!
    override func setUp() { dir = Fixtures.temporaryDirectory("experiment-bf16") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func write(_ body: String) throws -> String {
        let yaml = """
        name: bf16
        base: \(Fixtures.model("llama-tiny"))
        output: \(dir.appendingPathComponent("out").path)
        targets: [basic_arithmetic]
        probes: [hellaswag]
        limit: 2
        num_fewshot: 0
        spectra: {enabled: false}
        \(body)
        """
        let path = dir.appendingPathComponent("bf16-\(UUID().uuidString.prefix(6)).yaml")
        try yaml.write(to: path, atomically: false, encoding: .utf8)
        return path.path
    }

    func testTopLevelAndPerVariantComputeDTypeKeyTheFingerprint() throws {
        let e = try Experiment.load(path: try write("""
        compute_dtype: bf16
        variants:
          - {label: lora-bf16, method: lora, adapter: \(Fixtures.model("lora-llama-r8"))}
          - {label: lora-fp32, method: lora, adapter: \(Fixtures.model("lora-llama-r8")), compute_dtype: fp32}
          - {label: full, method: full, model: \(Fixtures.model("llama-tiny-ft-bf16"))}
        """))
        XCTAssertEqual(e.computeDType, .bf16)
        XCTAssertEqual(e.variants.map(\.computeDType), [.bf16, .fp32, .bf16])
        let (base, variants) = try CheckpointIdentity.resolve(e)
        XCTAssertTrue(base.fingerprint.hasSuffix("+compute:bf16"))
        XCTAssertTrue(variants[0].fingerprint.hasSuffix("+compute:bf16"))
        XCTAssertFalse(variants[1].fingerprint.contains("+compute"))
        XCTAssertEqual(variants[0].fingerprint, variants[1].fingerprint + "+compute:bf16")
        XCTAssertEqual(variants[2].computeDType, .bf16)

        // the default is fp32 with the fingerprints of before
        let plain = try Experiment.load(path: try write("""
        variants:
          - {label: lora, method: lora, adapter: \(Fixtures.model("lora-llama-r8"))}
        """))
        XCTAssertEqual(plain.computeDType, .fp32)
        let (plainBase, plainVariants) = try CheckpointIdentity.resolve(plain)
        XCTAssertEqual(base.fingerprint, plainBase.fingerprint + "+compute:bf16")
        XCTAssertEqual(plainVariants[0].fingerprint, variants[1].fingerprint)
    }

    func testBadComputeDTypeIsAClearError() throws {
        let cases: [(String, String)] = [
            ("compute_dtype: fp16\nvariants:\n  - {label: a, method: lora, adapter: \(Fixtures.model("lora-llama-r8"))}", "compute_dtype: expected fp32 or bf16"),
            ("variants:\n  - {label: a, method: lora, adapter: \(Fixtures.model("lora-llama-r8")), compute_dtype: [bf16]}", "variant 'a': compute_dtype: expected fp32 or bf16"),
            ("variants:\n  - {label: q, method: qlora, adapter: \(Fixtures.model("lora-llama-r8")), compute_dtype: bf16}", "set quantization.compute_dtype instead"),
        ]
        for (body, message) in cases {
            XCTAssertThrowsError(try Experiment.load(path: try write(body))) { error in
                XCTAssertTrue("\(error)".contains(message), "\(error)")
                XCTAssertTrue("\(error)".contains(".yaml:"), "names the file and line: \(error)")
            }
        }
    }
}
