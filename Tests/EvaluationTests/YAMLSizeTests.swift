@testable import Evaluation
import Foundation
import TestSupport
import XCTest
import Yams

/// A 1 KB "billion laughs" task file ran for minutes at GBs of RSS; it is now refused at once,
/// naming the file.
final class YAMLSizeTests: XCTestCase {
    static let bomb: String = {
        var lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
        for i in 1...9 {
            let refs = Array(repeating: "*a\(i - 1)", count: 9).joined(separator: ", ")
            lines.append("a\(i): &a\(i) [\(refs)]")
        }
        return lines.joined(separator: "\n")
    }()

    func testAliasBombInATaskFileIsRefused() throws {
        let dir = Fixtures.temporaryDirectory("yaml-bomb")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("bomb.yaml")
        let text = "task: bomb\ndata: bomb.jsonl\noutput_type: multiple_choice\n" + Self.bomb + "\ndoc_to_text: '{{a9}}'\n"
        XCTAssertLessThan(text.utf8.count, 1_200)
        try Data(text.utf8).write(to: file)
        XCTAssertThrowsError(try TaskDefinition.load(path: file.path)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix(file.path), message)
            XCTAssertTrue(message.contains("more than 100000 YAML nodes"), message)
        }
    }

    func testOrdinaryAliasesAreFine() throws {
        let yaml = "x: &x {a: 1, b: [1, 2, 3]}\ny: *x\nz: *x\n"
        let node = try XCTUnwrap(try Yams.compose(yaml: yaml))
        XCTAssertNil(YAMLSize.violation(node))
        XCTAssertNotNil(YAMLSize.violation(node, limit: 10))
    }
}

extension YAMLSizeTests {
    /// 50k nested flow sequences: an error naming the file, not a stack overflow.
    func testDeeplyNestedYAMLIsAnError() throws {
        let dir = Fixtures.temporaryDirectory("yaml-deep")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("deep.yaml")
        let text = "task: deep\ndata: deep.jsonl\noutput_type: multiple_choice\nx: " + String(repeating: "[", count: 50_000) + "\n"
        try Data(text.utf8).write(to: file)
        XCTAssertThrowsError(try TaskDefinition.load(path: file.path)) { error in
            XCTAssertTrue("\(error)".hasPrefix(file.path), "\(error)")
        }
    }
}
