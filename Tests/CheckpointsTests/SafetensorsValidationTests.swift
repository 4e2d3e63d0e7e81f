import Checkpoints
import Engine
import Foundation
import TestSupport
import XCTest

/// Every malformed-file case gets a CheckpointError naming the file and the field at fault.
final class SafetensorsValidationTests: XCTestCase {
    var dir: URL!
    override func setUp() { dir = Fixtures.temporaryDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    let good = SafetensorsWriter([
        .init(name: "a", shape: [2, 3], floats: [1, 2, 3, 4, 5, 6]),
        .init(name: "b", shape: [2], floats: [7, 8]),
    ])

    func expectError(_ url: URL, field: String, contains text: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafetensorsFile(path: url.path), file: file, line: line) { error in
            guard let e = error as? CheckpointError else { return XCTFail("not a CheckpointError: \(error)", file: file, line: line) }
            XCTAssertEqual(e.file, url.path, file: file, line: line)
            XCTAssertTrue(field.isEmpty || e.field.contains(field), "field \(e.field) lacks \(field)", file: file, line: line)
            XCTAssertTrue(e.description.contains(text), "\(e.description) lacks \(text)", file: file, line: line)
        }
    }

    func testReadsValidFile() throws {
        let url = try good.write(to: dir.appendingPathComponent("ok.safetensors"))
        let f = try SafetensorsFile(path: url.path)
        XCTAssertEqual(f.names, ["a", "b"])
        let store = try TensorStore.open(url.path)
        XCTAssertEqual(try store.floats("a"), [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(try store.doubles("b"), [7, 8])
    }

    func testConvertsHalfPrecisionTypes() throws {
        // 1.5, -2, 65504 (max half), 2^-24 (smallest subnormal) in F16; 1.5, -2 in BF16.
        let f16: [UInt16] = [0x3E00, 0xC000, 0x7BFF, 0x0001]
        let bf16: [UInt16] = [0x3FC0, 0xC000]
        let w = SafetensorsWriter([
            .init(name: "h", dtype: "F16", shape: [4], data: f16.withUnsafeBufferPointer { Data(buffer: $0) }),
            .init(name: "b", dtype: "BF16", shape: [2], data: bf16.withUnsafeBufferPointer { Data(buffer: $0) }),
            .init(name: "d", dtype: "F64", shape: [1], data: [0.1].withUnsafeBufferPointer { Data(buffer: $0) }),
            .init(name: "i", dtype: "I64", shape: [1], data: [Int64(-3)].withUnsafeBufferPointer { Data(buffer: $0) }),
        ])
        let url = try w.write(to: dir.appendingPathComponent("types.safetensors"))
        let store = try TensorStore.open(url.path)
        XCTAssertEqual(try store.floats("h"), [1.5, -2, 65504, Float(sign: .plus, exponent: -24, significand: 1)])
        XCTAssertEqual(try store.floats("b"), [1.5, -2])
        XCTAssertEqual(try store.doubles("d"), [0.1])
        XCTAssertEqual(try store.doubles("i"), [-3])
    }

    func testTruncatedFile() throws {
        let url = try good.write(to: dir.appendingPathComponent("t.safetensors"), truncateBy: 4)
        expectError(url, field: "", contains: "truncated")
    }

    func testTooShortForHeaderLength() throws {
        let url = dir.appendingPathComponent("short.safetensors")
        try Data([1, 2, 3]).write(to: url)
        expectError(url, field: "header length", contains: "8-byte")
    }

    func testHeaderLengthPastEOF() throws {
        let url = try good.write(to: dir.appendingPathComponent("h.safetensors"), lengthOverride: 10_000)
        expectError(url, field: "header length", contains: "past the end")
    }

    func testAbsurdHeaderLength() throws {
        let url = try good.write(to: dir.appendingPathComponent("h2.safetensors"), lengthOverride: UInt64(1) << 60)
        expectError(url, field: "header length", contains: "100 MB")
    }

    func testOffsetsOutsideData() throws {
        let header = #"{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"F32","shape":[2],"data_offsets":[24,4000]}}"#
        let url = try good.write(to: dir.appendingPathComponent("o.safetensors"), headerOverride: header)
        expectError(url, field: "b.data_offsets", contains: "outside")
    }

    func testOverlappingOffsets() throws {
        let header = #"{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"F32","shape":[2],"data_offsets":[20,28]},"c":{"dtype":"F32","shape":[1],"data_offsets":[28,32]}}"#
        let url = try good.write(to: dir.appendingPathComponent("ov.safetensors"), headerOverride: header)
        expectError(url, field: "b.data_offsets", contains: "overlaps")
    }

    func testByteLengthNotMatchingShape() throws {
        let header = #"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,24]},"b":{"dtype":"F32","shape":[2],"data_offsets":[24,32]}}"#
        let url = try good.write(to: dir.appendingPathComponent("len.safetensors"), headerOverride: header)
        expectError(url, field: "a.data_offsets", contains: "needs 16")
    }

    func testUnknownDtype() throws {
        let header = #"{"a":{"dtype":"F31","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"F32","shape":[2],"data_offsets":[24,32]}}"#
        let url = try good.write(to: dir.appendingPathComponent("dt.safetensors"), headerOverride: header)
        expectError(url, field: "a.dtype", contains: "unknown dtype \"F31\"")
    }

    func testHeaderNotJSON() throws {
        let url = try good.write(to: dir.appendingPathComponent("j.safetensors"), headerOverride: "{not json")
        expectError(url, field: "header", contains: "JSON")
    }

    func testGapBetweenTensors() throws {
        let header = #"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[24,32]}}"#
        let url = try good.write(to: dir.appendingPathComponent("gap.safetensors"), headerOverride: header)
        expectError(url, field: "b.data_offsets", contains: "contiguous")
    }

    func testMissingShard() throws {
        let model = dir.appendingPathComponent("sharded")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        try good.write(to: model.appendingPathComponent("model-00001-of-00002.safetensors"))
        let index = #"{"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors","c":"model-00002-of-00002.safetensors"}}"#
        try Data(index.utf8).write(to: model.appendingPathComponent("model.safetensors.index.json"))
        XCTAssertThrowsError(try TensorStore.open(model.path)) { error in
            let e = error as! CheckpointError
            XCTAssertTrue(e.file.hasSuffix("model.safetensors.index.json"))
            XCTAssertEqual(e.field, "weight_map")
            XCTAssertTrue(e.description.contains("model-00002-of-00002.safetensors"), e.description)
            XCTAssertTrue(e.description.contains("missing"), e.description)
        }
    }

    /// An index entry naming a file outside the checkpoint directory is refused before anything is
    /// opened, and no error quotes bytes of a file that is not a safetensors file.
    func testShardPathsStayInsideTheDirectory() throws {
        let model = dir.appendingPathComponent("escaping")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        try good.write(to: model.appendingPathComponent("model-00001-of-00002.safetensors"))
        for bad in ["../../../../etc/passwd", "sub/../../x.safetensors", "/etc/passwd", ".."] {
            let index = #"{"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors","c":"\#(bad)"}}"#
            try Data(index.utf8).write(to: model.appendingPathComponent("model.safetensors.index.json"))
            XCTAssertThrowsError(try TensorStore.open(model.path)) { error in
                let e = error as! CheckpointError
                XCTAssertEqual(e.field, "weight_map.c")
                XCTAssertTrue(e.description.contains("inside the checkpoint directory"), e.description)
                XCTAssertFalse(e.description.contains("root"), e.description)
            }
        }
        let notSafetensors = dir.appendingPathComponent("text.safetensors")
        try Data("root:x:0:0:root:/root:/bin/bash\n".utf8).write(to: notSafetensors)
        XCTAssertThrowsError(try SafetensorsFile(path: notSafetensors.path)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("not a safetensors file"), text)
            let firstEight = Data("root:x:0".utf8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian }
            XCTAssertFalse(text.contains(String(firstEight)), text)
        }
    }

    func testShardedFixtureMatchesSingleFile() throws {
        let sharded = try TensorStore.open(Fixtures.model("llama-tiny-ft-sharded"))
        XCTAssertGreaterThanOrEqual(sharded.files.count, 3)
        XCTAssertTrue(sharded.names.contains("model.layers.0.self_attn.q_proj.weight"))
        for name in sharded.names {
            let info = try sharded.require(name)
            XCTAssertEqual(try sharded.floats(name).count, info.elementCount)
        }
    }

    func testXXH64KnownVectors() {
        // Values from the reference implementation (python xxhash).
        XCTAssertEqual(XXH64.hash([]), 0xEF46_DB37_51D8_E999)
        XCTAssertEqual(XXH64.hash(Array("abc".utf8)), 0x44BC_2CF5_AD77_0999)
        XCTAssertEqual(XXH64.hash([UInt8](repeating: UInt8(ascii: "x"), count: 31)), 0x60DD_0D01_083B_99F0)
        XCTAssertEqual(XXH64.hash([UInt8](repeating: UInt8(ascii: "x"), count: 32) + Array("yz".utf8)), 0x4C21_83BB_F251_3492)
        let bytes = (0..<3).flatMap { _ in (0..<256).map { UInt8($0) } }
        XCTAssertEqual(XXH64.hash(bytes), 0x8E03_C838_C596_036F)
        // Streaming in odd pieces gives the same digest.
        var h = XXH64()
        h.update(bytes[0..<5]); h.update(bytes[5..<40]); h.update(bytes[40...])
        XCTAssertEqual(h.digest(), 0x8E03_C838_C596_036F)
    }

    func testFingerprintIsStableAndContentSensitive() throws {
        let a = try ModelDirectory(path: Fixtures.model("llama-tiny"))
        let b = try ModelDirectory(path: Fixtures.model("llama-tiny-ft-bf16"))
        let fa1 = try Fingerprint.of(model: a), fa2 = try Fingerprint.of(model: a)
        XCTAssertEqual(fa1, fa2)
        XCTAssertTrue(fa1.hasPrefix("xxh64:"))
        XCTAssertNotEqual(fa1, try Fingerprint.of(model: b))
    }
}
