@testable import Evaluation
import XCTest

/// Inputs nested past any real document's depth are refused with an error instead of
/// overflowing the stack (50k brackets in a data row or server response, 20k parentheses in a
/// template crashed the process with SIGSEGV).
final class NestingLimitTests: XCTestCase {
    func testDeepJSONIsAnErrorNotACrash() {
        for open in ["[", "{\"a\":"] {
            let deep = String(repeating: open, count: 50_000)
            XCTAssertThrowsError(try JSONValue.parse(deep)) { error in
                XCTAssertTrue("\(error)".contains("nesting deeper than 512"), "\(error)")
            }
        }
    }

    func testNestingUpToTheLimitParses() throws {
        let ok = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        var v = try JSONValue.parse(ok)
        var levels = 0
        while case .array(let items) = v, let first = items.first { v = first; levels += 1 }
        XCTAssertEqual(levels, 511)
        XCTAssertThrowsError(try JSONValue.parse("[" + ok + "]"))
        // Depth is counted per path, not in total: many siblings are fine.
        XCTAssertNoThrow(try JSONValue.parse("[" + Array(repeating: "[[1]]", count: 10_000).joined(separator: ",") + "]"))
    }

    func testDeepTemplateExpressionIsAnError() {
        let cases = [
            "{{" + String(repeating: "(", count: 20_000) + "x" + String(repeating: ")", count: 20_000) + "}}",
            "{{" + String(repeating: "-", count: 20_000) + "1}}",
            "{{" + String(repeating: "[", count: 20_000) + "}}",
            "{{x" + String(repeating: " + 1", count: 20_000) + "}}",
        ]
        for template in cases {
            XCTAssertThrowsError(try Template(template)) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains("deeper than 100") || text.contains("longer than the 4096"), text)
            }
        }
        XCTAssertNoThrow(try Template("{{" + String(repeating: "(", count: 50) + "x" + String(repeating: ")", count: 50) + "}}"))
    }
}

extension NestingLimitTests {
    /// Found by fuzz-json: "21e999" overflows to infinity, which serialized() writes as Python's
    /// json does ("Infinity"); reading that back failed. NaN, Infinity and -Infinity all read now.
    func testPythonNonFiniteLiteralsRoundTrip() throws {
        for text in ["21e999", "-21e999", "Infinity", "-Infinity", "NaN", "[Infinity, -Infinity, NaN]"] {
            let value = try JSONValue.parse(text)
            XCTAssertEqual(try JSONValue.parse(value.serialized()).serialized(), value.serialized(), text)
        }
        XCTAssertEqual(try JSONValue.parse("-Infinity"), .double(-.infinity))
        XCTAssertThrowsError(try JSONValue.parse("-Inf"))
        XCTAssertThrowsError(try JSONValue.parse("Infinit"))
    }
}
