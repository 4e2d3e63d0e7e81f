import Evaluation
import Foundation
import TestSupport
import XCTest

/// Task data rows keep fields whose names are canonically equivalent but different ("é" as
/// U+00E9 and as "e" + U+0301) apart, as Python's json (lm-eval's datasets) does: Swift String
/// keys used to merge them into one field, losing a value.
final class DataRowKeysTests: XCTestCase {
    func testCanonicallyEquivalentKeysStayDistinctInDataRows() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("rows.jsonl")
        // Python: json.loads(line) == {'é': 'composed', 'é': 'decomposed', 'q': 1}, three keys.
        let line = "{\"\u{E9}\": \"composed\", \"e\\u0301\": \"decomposed\", \"q\": 1}\n"
        try Data(line.utf8).write(to: file)
        let docs = try TaskData.readDocuments(path: file.path)
        XCTAssertEqual(docs.count, 1)
        let row = docs[0]
        XCTAssertEqual(row.count, 3)
        XCTAssertEqual(row.keys.map { Array($0.unicodeScalars) }, [["\u{E9}"], ["e", "\u{301}"], ["q"]])
        XCTAssertEqual(row["\u{E9}"], .string("composed"))
        XCTAssertEqual(row["e\u{301}"], .string("decomposed"))
        // Templates see both fields, and the row serializes (samples files) with both.
        XCTAssertEqual(try Template("{{ q }}").render(row), "1")
        XCTAssertEqual(JSONValue.object(row).serialized(), "{\"\u{E9}\": \"composed\", \"e\u{301}\": \"decomposed\", \"q\": 1}")
        XCTAssertEqual(JSONValue.object(row).serialized(sortKeys: true), "{\"e\u{301}\": \"decomposed\", \"q\": 1, \"\u{E9}\": \"composed\"}")
    }

    func testRowErrorsNameFileLineAndByte() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("rows.jsonl")
        try Data("{\"a\": 1}\n{\"a\": 01}\n".utf8).write(to: file)
        XCTAssertThrowsError(try TaskData.readDocuments(path: file.path)) { error in
            XCTAssertTrue("\(error)".contains("\(file.path): line 2: invalid JSON at byte 7"), "\(error)")
        }
    }
}
