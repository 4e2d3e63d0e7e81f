@testable import Evaluation
import Foundation
import TestSupport
import XCTest
import Yams

/// Integers in task and experiment YAML read as PyYAML (lm-eval's loader, YAML 1.1) reads them,
/// with overflow refused instead of trapping: Yams' own `Node.int` multiplies base-60 values
/// unchecked, and `9223372036854775807:0` killed the process (the fuzz-task target's finding).
final class YAMLIntegerTests: XCTestCase {
    private func reading(_ text: String) throws -> YAMLInteger.Reading {
        let node = try XCTUnwrap(try Yams.compose(yaml: "v: \(text)")?["v"])
        return YAMLInteger.read(node)
    }

    func testReadsWhatPyYAMLReadsAsIntegers() throws {
        // Expected values from PyYAML 6 (yaml.safe_load), which lm-eval's task loader uses.
        let cases: [(String, Int)] = [
            ("1:30", 90), ("-1:30", -90), ("1:5", 65), ("190:20:30", 685_230), ("0x1F", 31), ("-0x1F", -31),
            ("0x_1F", 31), ("017", 15), ("1_000", 1000), ("1__0", 10), ("0b101", 5), ("+0b11", 3), ("+12", 12),
            ("0", 0), ("0_", 0), ("-0", 0), ("9223372036854775807", Int.max), ("-9223372036854775808", Int.min),
            ("0x7FFFFFFFFFFFFFFF", Int.max), ("2562047788015215:30:7", Int.max),
            ("1:0:0:0:0:0:0:0:0:0:0", 604_661_760_000_000_000),  // 60^10: Yams trapped computing 60^11 after it
        ]
        for (text, value) in cases { XCTAssertEqual(try reading(text), .integer(value), text) }
    }

    func testTextPyYAMLKeepsAsAStringIsNotAnInteger() throws {
        // 0o17 is YAML 1.2's octal: Yams' resolver tags it int, PyYAML keeps the string.
        for text in ["0o17", "'12'", "\"12\"", "1.5", "abc", "[1]", "{a: 1}", "~"] {
            XCTAssertEqual(try reading(text), .notInteger, text)
        }
        XCTAssertEqual(YAMLInteger.read("0x"), .notInteger)
        XCTAssertEqual(YAMLInteger.read("0b"), .notInteger)
        XCTAssertEqual(YAMLInteger.read("09"), .notInteger)
        XCTAssertEqual(YAMLInteger.read("1:60"), .notInteger)
    }

    func testValuesPastSixtyFourBitsAreOutOfRangeNotATrap() throws {
        for text in ["9223372036854775807:0", "1:0:0:0:0:0:0:0:0:0:0:0",
                     "9223372036854775808", "-9223372036854775809", "0x10000000000000000", "0b" + String(repeating: "1", count: 64),
                     "-2562047788015215:30:9", "01000000000000000000000"] {
            XCTAssertEqual(try reading(text), .outOfRange, text)
        }
        let node = try XCTUnwrap(try Yams.compose(yaml: "v: 1:0:0:0:0:0:0:0:0:0:0:0")?["v"])
        XCTAssertNil(YAMLInteger.int(node))
        XCTAssertTrue(YAMLInteger.rangeNote(node).contains("beyond the 64-bit integer range"))
        XCTAssertEqual(YAMLInteger.rangeNote(try XCTUnwrap(try Yams.compose(yaml: "v: abc")?["v"])), "")
    }
}
