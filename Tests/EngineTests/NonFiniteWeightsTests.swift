import Checkpoints
import Foundation
import TestSupport
import XCTest
@testable import Engine

/// NaN/Inf weights (or weights that overflow float32) used to score -1e308 per token and decide
/// multiple-choice answers by ties with exit 0; now scoring stops with the tensor named.
final class NonFiniteWeightsTests: XCTestCase {
    /// A copy of llama-tiny whose tensor `name` has `value` written at element `index` (float32).
    func patched(_ name: String, index: Int = 3, count: Int = 1, value: Float) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("engine-nonfinite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let src = URL(fileURLWithPath: Fixtures.model("llama-tiny"))
        for file in ["config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"] {
            try FileManager.default.copyItem(at: src.appendingPathComponent(file), to: dir.appendingPathComponent(file))
        }
        let weights = dir.appendingPathComponent("model.safetensors")
        let info = try XCTUnwrap(SafetensorsFile(path: weights.path).tensors[name])
        XCTAssertEqual(info.dtype, .f32)
        let handle = try FileHandle(forWritingTo: weights)
        try handle.seek(toOffset: UInt64(info.byteRange.lowerBound + 4 * index))
        for _ in 0..<count { handle.write(withUnsafeBytes(of: value.bitPattern.littleEndian) { Data($0) }) }
        try handle.close()
        return dir.path
    }

    func testNaNWeightIsNamed() throws {
        let dir = try patched("model.layers.1.mlp.down_proj.weight", value: .nan)
        let model = try LanguageModel(directory: dir)
        XCTAssertThrowsError(try model.loglikelihood([LoglikelihoodRequest(context: [1, 5, 9], continuation: [12, 40])])) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("non-finite log-probability"), text)
            XCTAssertTrue(text.contains("model.layers.1.mlp.down_proj.weight"), text)
            XCTAssertTrue(text.contains("element 3 is nan"), text)
        }
    }

    func testInfiniteEmbeddingIsNamedInGenerationToo() throws {
        let dir = try patched("model.embed_tokens.weight", index: 64 * 7, value: .infinity)  // row of token 7
        let model = try LanguageModel(directory: dir)
        XCTAssertThrowsError(try model.generate(prompt: [1, 7, 8], maxTokens: 3, decode: { _ in "" })) { error in
            XCTAssertTrue("\(error)".contains("model.embed_tokens.weight"), "\(error)")
        }
    }

    /// Finite but huge weights overflow float32 in the forward pass: said so, with no tensor to blame.
    func testOverflowIsExplained() throws {
        // 3e38 is a float32, but a row of them times the MLP's activations is not.
        let dir = try patched("model.layers.0.mlp.down_proj.weight", index: 0, count: 128, value: 3e38)
        let model = try LanguageModel(directory: dir)
        XCTAssertThrowsError(try model.loglikelihood([LoglikelihoodRequest(context: [1, 5, 9], continuation: [12, 40])])) { error in
            XCTAssertTrue("\(error)".contains("overflowed float32"), "\(error)")
        }
    }
}
