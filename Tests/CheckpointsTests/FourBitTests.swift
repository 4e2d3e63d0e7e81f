import Checkpoints
import Foundation
import TestSupport
import XCTest

/// NF4/FP4 quantization and dequantization against bitsandbytes 0.50.2
/// (scripts/fixtures/make_quant_fixtures.py): packed codes, absmax and double-quantized absmax
/// bit-identical, dequantized weights bit-identical to bitsandbytes' reference dequantization.
final class FourBitTests: XCTestCase {
    struct Case {
        let name: String
        let type: FourBitType
        let doubleQuant: Bool
        let blocksize: Int
        let dtype: DType
        let shape: [Int]
    }

    static let quantDir = Fixtures.root.appendingPathComponent("quant")

    func cases() throws -> [Case] {
        let meta = try Fixtures.json(Self.quantDir.appendingPathComponent("blockwise.json")) as! [String: Any]
        let dtypes: [String: DType] = ["f32": .f32, "f16": .f16, "bf16": .bf16]
        return (meta["cases"] as! [[String: Any]]).map { c in
            Case(name: c["name"] as! String, type: FourBitType(rawValue: c["quant_type"] as! String)!,
                 doubleQuant: c["double_quant"] as! Bool, blocksize: c["blocksize"] as! Int,
                 dtype: dtypes[c["dtype"] as! String]!, shape: c["shape"] as! [Int])
        }
    }

    func bytes(_ store: TensorStore, _ name: String) throws -> [UInt8] {
        Array(try store.rawBytes(name))
    }

    /// Compares without printing whole arrays: the count of differing elements and the first one.
    func same<T: Equatable>(_ a: [T], _ b: [T], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        guard a.count == b.count else { return XCTFail("\(what): \(a.count) vs \(b.count) elements", file: file, line: line) }
        let diff = a.indices.filter { a[$0] != b[$0] }
        if let first = diff.first {
            XCTFail("\(what): \(diff.count) of \(a.count) differ, first at \(first): \(a[first]) vs \(b[first])", file: file, line: line)
        }
    }

    /// bitsandbytes' own state for a case (what its quantize_4bit returned).
    func savedState(_ store: TensorStore, _ c: Case) throws -> FourBitTensor {
        let absmax: FourBitAbsmax
        if c.doubleQuant {
            absmax = .nested(codes: try bytes(store, c.name + ".absmax"), nestedAbsmax: try store.floats(c.name + ".nested_absmax"),
                             nestedMap: try store.floats(c.name + ".nested_quant_map"), offset: try store.floats(c.name + ".offset")[0],
                             nestedBlocksize: 256)
        } else {
            absmax = .plain(try store.floats(c.name + ".absmax"))
        }
        return FourBitTensor(type: c.type, blocksize: c.blocksize, shape: c.shape, dtype: c.dtype,
                             packed: try bytes(store, c.name + ".packed"), absmax: absmax)
    }

    func testQuantizeMatchesBitsandbytes() throws {
        let store = try TensorStore.open(Self.quantDir.appendingPathComponent("blockwise.safetensors").path)
        let all = try cases()
        XCTAssertGreaterThan(all.count, 30)
        var dqCases = 0
        for c in all {
            let input = try store.floats(c.name + ".input")
            let q = input.withUnsafeBufferPointer {
                FourBitQuantizer.quantize($0.baseAddress!, shape: c.shape, dtype: c.dtype, type: c.type,
                                          blocksize: c.blocksize, doubleQuant: c.doubleQuant)
            }
            same(q.packed, try bytes(store, c.name + ".packed"), "\(c.name): packed codes")
            switch q.absmax {
            case let .plain(a):
                XCTAssertFalse(c.doubleQuant)
                same(a.map(\.bitPattern), try store.floats(c.name + ".absmax").map(\.bitPattern), "\(c.name): absmax")
            case let .nested(codes, nestedAbsmax, map, offset, nb):
                XCTAssertTrue(c.doubleQuant)
                dqCases += 1
                XCTAssertEqual(nb, 256)
                XCTAssertEqual(offset.bitPattern, try store.floats(c.name + ".offset")[0].bitPattern, "\(c.name): offset")
                same(nestedAbsmax.map(\.bitPattern), try store.floats(c.name + ".nested_absmax").map(\.bitPattern), "\(c.name): nested absmax")
                same(map.map(\.bitPattern), try store.floats(c.name + ".nested_quant_map").map(\.bitPattern), "\(c.name): nested map")
                same(codes, try bytes(store, c.name + ".absmax"), "\(c.name): double-quantized absmax codes")
            }
        }
        XCTAssertGreaterThan(dqCases, 10)
    }

    /// Dequantizing bitsandbytes' own quantized state gives its reference dequantization exactly.
    func testDequantizeMatchesBitsandbytes() throws {
        let store = try TensorStore.open(Self.quantDir.appendingPathComponent("blockwise.safetensors").path)
        for c in try cases() {
            let t = try savedState(store, c)
            same(t.dequantized(compute: c.dtype).map(\.bitPattern), try store.floats(c.name + ".dequant").map(\.bitPattern),
                 "\(c.name): dequantized")
        }
    }

    func testRoundingIsNearestEven() {
        // 1 + 2^-8 is halfway between two bf16 values: ties go to the even mantissa (1.0)
        XCTAssertEqual(FloatRounding.toBF16(1 + 1.0 / 256), 1)
        XCTAssertEqual(FloatRounding.toBF16(1 + 3.0 / 256), 1 + 4.0 / 256)
        XCTAssertEqual(FloatRounding.toF16(1 + 1.0 / 2048), 1)
    }
}
