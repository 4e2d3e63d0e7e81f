import Checkpoints
import Foundation
import LinearAlgebra
import XCTest
@testable import Engine

/// --compute-dtype bf16 against Hugging Face transformers run in bf16 on CPU
/// (scripts/fixtures/make_bf16_reference.py). The tolerance is HF's own spread: the largest
/// |HF bf16 - HF float64| per-token log-prob difference on the same model and inputs. The
/// engine must sit within that spread of float64, and so within twice it of HF bf16 (the two
/// round in different places: HF keeps the residual stream and every op's output in bf16, the
/// engine rounds only the linear layers' inputs and weights).
final class BF16ComputeTests: XCTestCase {
    static let dir = Fixtures.root.appendingPathComponent("bf16")

    struct Reference {
        let ids: [Int]
        let bf16: [Double]
        let f64: [Double]
    }

    func references(_ name: String) throws -> [Reference] {
        let text = try String(contentsOf: Self.dir.appendingPathComponent(name + ".jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            return Reference(ids: o["ids"] as! [Int], bf16: (o["bf16"] as! [NSNumber]).map(\.doubleValue),
                             f64: (o["f64"] as! [NSNumber]).map(\.doubleValue))
        }
    }

    func testAgreesWithTransformersBF16WithinItsOwnSpread() throws {
        try XCTSkipUnless(BF16Matmul.isSupported, "no AVX512-BF16 on this CPU: bf16 compute runs fp32")
        let names = ["llama-tiny", "llama-tiny-ft-bf16", "llama-tiny-tied", "mistral-tiny", "qwen2-tiny", "gpt2-tiny",
                     "neox-tiny", "neox-tiny-ft-bf16"]
        for name in names {
            let bf16 = try LanguageModel(directory: Fixtures.model(name), threads: 1, computeDType: .bf16)
            let fp32 = try LanguageModel(directory: Fixtures.model(name), threads: 1)
            XCTAssertEqual(bf16.linearCompute, .bf16)
            XCTAssertEqual(fp32.linearCompute, .f32)
            var spread = 0.0, toTruth = 0.0, toHF = 0.0, sumHF = 0.0, fromFP32 = 0.0, fp32Err = 0.0
            var n = 0
            for ref in try references(name) {
                let (_, lb) = try bf16.tokenLogProbs(ref.ids)
                let (_, lf) = try fp32.tokenLogProbs(ref.ids)
                XCTAssertEqual(lb.count, ref.f64.count)
                for i in 0..<min(lb.count, ref.f64.count) {
                    spread = max(spread, abs(ref.bf16[i] - ref.f64[i]))
                    toTruth = max(toTruth, abs(lb[i] - ref.f64[i]))
                    toHF = max(toHF, abs(lb[i] - ref.bf16[i]))
                    sumHF += abs(lb[i] - ref.bf16[i])
                    fromFP32 = max(fromFP32, abs(lb[i] - lf[i]))
                    fp32Err = max(fp32Err, abs(lf[i] - ref.f64[i]))
                    n += 1
                }
            }
            print("\(name): HF bf16-vs-f64 spread \(spread); engine bf16: max to f64 \(toTruth), max to HF bf16 \(toHF), mean to HF bf16 \(sumHF / Double(max(n, 1)))")
            XCTAssertLessThanOrEqual(toTruth, spread, "\(name): engine bf16 farther from float64 than HF bf16 is")
            XCTAssertLessThanOrEqual(toHF, 2 * spread, "\(name): engine bf16 vs HF bf16")
            // the bf16 path really ran (rounding moves log-probs), and fp32 is unchanged
            XCTAssertGreaterThan(fromFP32, 1e-4, "\(name): bf16 compute gave fp32 numbers")
            XCTAssertLessThan(fp32Err, 1e-4, "\(name): fp32 path moved")
        }
    }

    /// A 4-bit base with bf16 compute against transformers + bitsandbytes in its bf16 path
    /// (training mode): the engine rounds the dequantized weights to bf16 as Linear4bit does but
    /// keeps activations in fp32, so it must sit within bitsandbytes' own spread of float64.
    func testFourBitBF16ComputeAgreesWithBitsandbytesWithinItsSpread() throws {
        let model = try LanguageModel(directory: Fixtures.model("llama-tiny-nf4-dq"), threads: 1, computeDType: .bf16)
        XCTAssertEqual(model.quantization?.computeDType, .bf16)
        XCTAssertNil(model.linearCompute)
        XCTAssertEqual(model.computeDTypeName, "bf16")
        var spread = 0.0, toTruth = 0.0, toBnb = 0.0, sum = 0.0, n = 0
        for ref in try references("llama-tiny-nf4-dq") {
            let (_, lps) = try model.tokenLogProbs(ref.ids)
            XCTAssertEqual(lps.count, ref.bf16.count)
            for i in 0..<min(lps.count, ref.bf16.count) {
                spread = max(spread, abs(ref.bf16[i] - ref.f64[i]))
                toTruth = max(toTruth, abs(lps[i] - ref.f64[i]))
                toBnb = max(toBnb, abs(lps[i] - ref.bf16[i]))
                sum += abs(lps[i] - ref.bf16[i])
                n += 1
            }
        }
        print("llama-tiny-nf4-dq: transformers+bnb bf16-vs-f64 spread \(spread); engine: max to f64 \(toTruth), max to bnb bf16 \(toBnb), mean \(sum / Double(max(n, 1)))")
        XCTAssertGreaterThan(spread, 0)
        XCTAssertLessThanOrEqual(toTruth, spread)
        XCTAssertLessThanOrEqual(toBnb, 2 * spread)
    }

    func testFP16ComputeIsRefusedForA16BitModel() {
        XCTAssertThrowsError(try LanguageModel(directory: Fixtures.model("llama-tiny"), threads: 1, computeDType: .f16)) { error in
            XCTAssertTrue("\(error)".contains("fp16 applies to 4-bit models"), "\(error)")
        }
    }
}
