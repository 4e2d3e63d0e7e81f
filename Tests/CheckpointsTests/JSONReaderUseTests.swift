import Checkpoints
import Engine
import Foundation
import TestSupport
import XCTest

/// Checkpoints reads every JSON file through the one reader (JSONReader). Where the reference
/// tools differ from a lenient reader, these pin the reference: the safetensors library (Rust,
/// serde_json) refuses float literals for shapes and offsets ("invalid type: floating point
/// `8.0`, expected usize"), keeps the last of a duplicated tensor name and takes a null
/// __metadata__ as none (checked with safetensors.numpy.load on the same bytes); Python's json
/// (transformers, PEFT) keeps canonically equivalent keys apart.
final class JSONReaderUseTests: XCTestCase {
    var dir: URL!
    override func setUp() { dir = Fixtures.temporaryDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    let one = SafetensorsWriter([.init(name: "a", shape: [2], floats: [1, 2])])

    private func header(_ json: String) throws -> URL {
        try one.write(to: dir.appendingPathComponent("\(UUID()).safetensors"), headerOverride: json)
    }

    func testFloatShapesAndOffsetsAreRefusedAsTheReferenceDoes() throws {
        for (json, field) in [(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8.0]}}"#, "a.data_offsets"),
                              (#"{"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}"#, "a.shape")] {
            let url = try header(json)
            XCTAssertThrowsError(try SafetensorsFile(path: url.path)) { error in
                let e = error as! CheckpointError
                XCTAssertEqual(e.file, url.path)
                XCTAssertEqual(e.field, field, e.description)
            }
        }
    }

    func testDuplicateNameKeepsTheLastAndNullMetadataIsNone() throws {
        let dup = try SafetensorsFile(path: header(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#).path)
        XCTAssertEqual(dup.names, ["a"])
        XCTAssertEqual(dup.tensors["a"]?.shape, [2])
        let null = try SafetensorsFile(path: header(#"{"__metadata__":null,"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#).path)
        XCTAssertEqual(null.metadata, [:])
        XCTAssertEqual(null.names, ["a"])
    }

    func testOffsetsBeyondTwoToThe53AreReadExactly() throws {
        // 2^53 + 1 is not a Double; read exactly, it is simply outside the data.
        let url = try header(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[9007199254740993,9007199254741001]}}"#)
        XCTAssertThrowsError(try SafetensorsFile(path: url.path)) { error in
            XCTAssertTrue("\(error)".contains("[9007199254740993, 9007199254741001] lies outside"), "\(error)")
        }
    }

    func testInvalidUTF8InConfigNamesTheFileAndOffset() throws {
        let url = dir.appendingPathComponent("config.json")
        try Data([0x7B, 0x22, 0x61, 0xFF, 0x22, 0x3A, 0x31, 0x7D]).write(to: url)  // {"a\xFF":1}
        XCTAssertThrowsError(try ModelFamilies.decode(path: url.path)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(url.path) && text.contains("invalid UTF-8") && text.contains("byte 3"), text)
        }
    }

    /// rank_pattern keys are regexes matched in file order; "é" and "e\u{301}" are two patterns
    /// (PEFT's Python dict has both), a key written twice keeps its first place and last value.
    func testAdapterPatternsKeepExactKeysAndPythonDictOrder() throws {
        let adapter = dir.appendingPathComponent("adapter")
        try FileManager.default.createDirectory(at: adapter, withIntermediateDirectories: true)
        let config = "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8, \"rank_pattern\": "
            + "{\"q_proj\": 2, \"\u{E9}\": 3, \"e\u{301}\": 5, \"q_proj\": 6}}"
        try Data(config.utf8).write(to: adapter.appendingPathComponent("adapter_config.json"))
        let c = try AdapterConfig.load(path: adapter.appendingPathComponent("adapter_config.json").path)
        XCTAssertEqual(c.rankPattern.map { Array($0.pattern.unicodeScalars) }, [Array("q_proj".unicodeScalars), ["\u{E9}"], ["e", "\u{301}"]])
        XCTAssertEqual(c.rankPattern.map(\.value), [6, 3, 5])
        XCTAssertEqual(try c.rankAndAlpha(module: "model.layers.0.self_attn.q_proj").rank, 6)
    }
}
