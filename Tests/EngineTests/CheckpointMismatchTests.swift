import Foundation
import XCTest
import Checkpoints
@testable import Engine

/// A checkpoint whose config.json and tensors disagree fails with a message naming the tensor,
/// the expected and the found shape.
final class CheckpointMismatchTests: XCTestCase {
    func modelWithConfig(_ base: String, edit: (inout [String: Any]) -> Void) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("engine-mismatch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let src = URL(fileURLWithPath: Fixtures.model(base))
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: src.appendingPathComponent("config.json"))) as! [String: Any]
        edit(&config)
        try JSONSerialization.data(withJSONObject: config).write(to: dir.appendingPathComponent("config.json"))
        try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent("model.safetensors"),
                                                   withDestinationURL: src.appendingPathComponent("model.safetensors"))
        return dir.path
    }

    func testWrongShapeNamesTensorAndShapes() throws {
        let dir = try modelWithConfig("llama-tiny") { $0["intermediate_size"] = 96 }
        XCTAssertThrowsError(try LanguageModel(directory: dir)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("model.layers.0.mlp.gate_proj.weight"), text)
            XCTAssertTrue(text.contains("[96, 64]") && text.contains("[128, 64]"), text)
        }
    }

    func testMissingTensorIsNamed() throws {
        let dir = try modelWithConfig("llama-tiny") { $0["num_hidden_layers"] = 3 }
        XCTAssertThrowsError(try LanguageModel(directory: dir)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("model.layers.2.") && text.contains("missing"), text)
        }
    }

    func testGPT2WrongWidthIsNamed() throws {
        let dir = try modelWithConfig("gpt2-tiny") { $0["n_inner"] = 100 }
        XCTAssertThrowsError(try LanguageModel(directory: dir)) { error in
            XCTAssertTrue("\(error)".contains("mlp.c_fc.weight"), "\(error)")
        }
    }
}
