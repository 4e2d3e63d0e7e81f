import Foundation
import XCTest
@testable import Tokenizers

/// Malformed or unsupported tokenizer.json files are refused at load with a message naming the
/// file and the JSON path, never tokenized wrongly.
final class LoadErrorTests: XCTestCase {
    /// A tiny valid byte-level BPE tokenizer to mutate.
    private func base() -> [String: Any] {
        [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "added_tokens": [],
            "normalizer": NSNull(),
            "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true],
            "post_processor": NSNull(), "decoder": ["type": "ByteLevel"],
            "model": ["type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "vocab": ["a": 0, "b": 1, "ab": 2],
                      "merges": ["a b"]] as [String: Any],
        ]
    }

    private func load(_ json: [String: Any]) throws -> Tokenizer {
        try Tokenizer(data: JSONSerialization.data(withJSONObject: json))
    }

    private func assertError(_ json: [String: Any], kind: TokenizerError.Kind, contains parts: [String],
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try load(json), file: file, line: line) { error in
            guard let e = error as? TokenizerError else { return XCTFail("not a TokenizerError: \(error)", file: file, line: line) }
            XCTAssertEqual(e.kind, kind, e.description, file: file, line: line)
            for p in parts { XCTAssertTrue(e.description.contains(p), "\(e.description) lacks \(p)", file: file, line: line) }
        }
    }

    func testBaseLoadsAndMerges() throws {
        let t = try load(base())
        XCTAssertEqual(t.encode("ab"), [2])
        XCTAssertEqual(t.encode("ba"), [1, 0])
        XCTAssertEqual(t.decode([2, 0]), "aba")
    }

    func testBadJSONNamesTheFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID()).json")
        try Data("{\"model\": ".utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        XCTAssertThrowsError(try Tokenizer(contentsOf: url)) { error in
            let e = error as! TokenizerError
            XCTAssertEqual(e.kind, .unreadable)
            XCTAssertTrue(e.description.contains(url.path), e.description)
            XCTAssertTrue(e.description.contains("not valid JSON"), e.description)
        }
    }

    func testMissingFile() {
        XCTAssertThrowsError(try Tokenizer(contentsOf: URL(fileURLWithPath: "/nonexistent/tokenizer.json"))) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/tokenizer.json"))
        }
    }

    func testMissingVocab() {
        var j = base()
        var m = j["model"] as! [String: Any]
        m["vocab"] = nil
        j["model"] = m
        assertError(j, kind: .malformed, contains: ["model.vocab", "missing"])
    }

    func testMissingModel() {
        var j = base()
        j["model"] = nil
        assertError(j, kind: .malformed, contains: ["model: required field is missing"])
    }

    func testMergeWithUnknownToken() {
        var j = base()
        var m = j["model"] as! [String: Any]
        m["merges"] = ["a b", "a zz"]
        j["model"] = m
        assertError(j, kind: .malformed, contains: ["model.merges[1]", "\"zz\"", "not in model.vocab"])
    }

    func testMergedTokenMissing() {
        var j = base()
        var m = j["model"] as! [String: Any]
        m["merges"] = [["b", "a"]]
        j["model"] = m
        assertError(j, kind: .malformed, contains: ["model.merges[0]", "\"ba\""])
    }

    func testNewStyleMergePairs() throws {
        var j = base()
        var m = j["model"] as! [String: Any]
        m["merges"] = [["a", "b"]]
        j["model"] = m
        XCTAssertEqual(try load(j).encode("ab"), [2])
    }

    func testUnigramRefused() {
        var j = base()
        j["model"] = ["type": "Unigram", "vocab": [["a", 0.0]]]
        assertError(j, kind: .unsupported, contains: ["model.type", "\"Unigram\" is not supported (supported: BPE)"])
    }

    func testWordPieceRefused() {
        var j = base()
        j["model"] = ["type": "WordPiece", "vocab": ["a": 0]]
        assertError(j, kind: .unsupported, contains: ["model.type", "\"WordPiece\""])
    }

    func testUnknownPreTokenizerRefusedWithPath() {
        var j = base()
        j["pre_tokenizer"] = ["type": "Sequence", "pretokenizers": [["type": "Digits"], ["type": "Whitespace"]]]
        assertError(j, kind: .unsupported, contains: ["pre_tokenizer.pretokenizers[1].type", "\"Whitespace\""])
    }

    func testUnknownNormalizerRefused() {
        var j = base()
        j["normalizer"] = ["type": "BertNormalizer"]
        assertError(j, kind: .unsupported, contains: ["normalizer.type", "\"BertNormalizer\""])
    }

    func testDropoutRefused() {
        var j = base()
        var m = j["model"] as! [String: Any]
        m["dropout"] = 0.1
        j["model"] = m
        assertError(j, kind: .unsupported, contains: ["model.dropout"])
    }

    func testTruncationRefused() {
        var j = base()
        j["truncation"] = ["max_length": 8]
        assertError(j, kind: .unsupported, contains: ["truncation"])
    }

    func testByteLevelMustBeLast() {
        var j = base()
        j["pre_tokenizer"] = ["type": "Sequence", "pretokenizers": [["type": "ByteLevel"], ["type": "Digits"]]]
        assertError(j, kind: .unsupported, contains: ["pre_tokenizer", "last"])
    }

    func testUnkTokenMustBeInVocab() {
        var j = base()
        var m = j["model"] as! [String: Any]
        m["unk_token"] = "<unk>"
        j["model"] = m
        assertError(j, kind: .malformed, contains: ["model.unk_token", "<unk>"])
    }

    func testWrongTypeNamesField() {
        var j = base()
        j["added_tokens"] = [["id": "x", "content": "<s>"]]
        assertError(j, kind: .malformed, contains: ["added_tokens[0].id", "integer"])
    }

    /// "é" and "e\u{301}" are different tokens even though Swift Strings compare them equal.
    func testCanonicallyEquivalentTokensStayDistinct() throws {
        let json = #"""
        {"model": {"type": "BPE", "vocab": {"\u00e9": 0, "e": 1, "\u0301": 2, "e\u0301": 3},
                   "merges": [["e", "\u0301"]]},
         "added_tokens": []}
        """#
        let t = try Tokenizer(data: Data(json.utf8))
        XCTAssertEqual(t.encode("e\u{301}"), [3])
        XCTAssertEqual(t.encode("\u{e9}"), [0])
        XCTAssertEqual(t.tokenToId("e\u{301}"), 3)
        XCTAssertEqual(t.tokenToId("\u{e9}"), 0)
    }
}
