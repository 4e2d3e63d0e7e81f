import Foundation
import RegexDeadline
import XCTest
@testable import Tokenizers

/// tokenizer.json files found by fuzzing that trapped or hung the reader (their inputs are in
/// Tests/Fixtures/fuzz/tokenizer/regression-*): each is now refused at load with the field
/// named, or behaves as HF tokenizers 0.23.3 does.
final class FuzzFindingsTests: XCTestCase {
    private let model: [String: Any] = ["type": "BPE", "vocab": ["H": 0, "e": 1, " ": 2], "merges": [String]()]

    private func load(_ json: [String: Any]) throws -> Tokenizer {
        try Tokenizer(data: JSONSerialization.data(withJSONObject: json))
    }

    private func assertRefused(_ json: [String: Any], path: String, _ message: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try load(json), file: file, line: line) { error in
            guard let e = error as? TokenizerError else { return XCTFail("not a TokenizerError: \(error)", file: file, line: line) }
            XCTAssertEqual(e.path, path, e.description, file: file, line: line)
            XCTAssertTrue(e.description.contains(message), e.description, file: file, line: line)
        }
    }

    // MARK: Strip decoder counts

    /// HF reads `start` / `stop` as usize: serde refuses a negative one ("data did not match any
    /// variant"), and so do we, naming the field (it used to trap on an inverted range).
    func testStripDecoderRefusesNegativeCounts() throws {
        for key in ["start", "stop"] {
            var strip: [String: Any] = ["type": "Strip", "content": " ", "start": 0, "stop": 0]
            strip[key] = -1
            assertRefused(["model": model, "decoder": strip], path: "decoder.\(key)", "must be a non-negative integer")
        }
        let ok = try load(["model": model, "decoder": ["type": "Strip", "content": " ", "start": 1, "stop": 1]])
        XCTAssertEqual(ok.decode([2, 0, 2]), "H")
    }

    // MARK: Added tokens the normalizer erases

    /// A `normalized` added token whose normalized form is empty (" " under Strip) can never
    /// match: HF encodes around it and decodes it as "" (ids below from tokenizers 0.23.3 on this
    /// file). It used to trap indexing the first byte of an empty key.
    func testAddedTokenNormalizedToNothingNeverMatches() throws {
        let t = try load(["model": model, "normalizer": ["type": "Strip", "strip_left": true, "strip_right": true],
                          "added_tokens": [["id": 3, "content": "  ", "single_word": false, "lstrip": false, "rstrip": false,
                                            "normalized": true, "special": false]]])
        XCTAssertEqual(t.encode("H e"), [0, 2, 1])
        XCTAssertEqual(t.encode(" "), [])
        XCTAssertEqual(t.encode("H  e"), [0, 2, 2, 1])
        XCTAssertEqual(t.encode("He "), [0, 1])
        XCTAssertEqual(t.decode([3]), "")
    }

    func testTrieIgnoresEmptyKey() {
        var trie = TokenTrie()
        trie.insert([], index: 0)
        XCTAssertTrue(trie.isEmpty)
        trie.insert(Array("ab".utf8), index: 1)
        var found: [[Int]] = []
        Array("xab".utf8).withUnsafeBufferPointer { b in trie.forEachMatch(in: b) { found.append([$0, $1, $2]) } }
        XCTAssertEqual(found, [[1, 3, 1]])
    }

    // MARK: Text that multiplies

    private func replace(_ pattern: String, _ content: String) -> [String: Any] {
        ["type": "Replace", "pattern": ["String": pattern], "content": content]
    }

    /// Five Replace steps that each turn " " into 16 spaces make 16^5 bytes of every space (and
    /// eight steps 16^8): refused at load, normalizer and decoder alike.
    func testMultiplyingReplaceChainsAreRefused() {
        let sixteen = String(repeating: " ", count: 16)
        assertRefused(["model": model, "normalizer": ["type": "Sequence", "normalizers": Array(repeating: replace(" ", sixteen), count: 5)]],
                      path: "normalizer", "multiply the length of a text by up to 1048576")
        let hs = String(repeating: "H", count: 16)
        assertRefused(["model": model, "decoder": ["type": "Sequence", "decoders": Array(repeating: replace("H", hs), count: 5)]],
                      path: "decoder", "multiply the length of a text by up to 1048576")
        // One step with a huge content is the same danger; the error names the step.
        assertRefused(["model": model, "normalizer": ["type": "Sequence", "normalizers": [
            ["type": "Sequence", "normalizers": [replace(" ", String(repeating: "x", count: 5000))]]]]],
                      path: "normalizer.normalizers[0].normalizers[0]", "up to 5000")
        // A regex may match at every position: (1 + c) per byte.
        assertRefused(["model": model, "normalizer": ["type": "Sequence", "normalizers": Array(repeating:
            ["type": "Replace", "pattern": ["Regex": "x*"], "content": "abc"], count: 6)]],
                      path: "normalizer", "up to 4096")
    }

    /// Two such steps (256x) are within the bound and encode exactly as HF does.
    func testModestGrowthStillLoads() throws {
        let four = String(repeating: " ", count: 4)
        let t = try load(["model": model, "normalizer": ["type": "Sequence", "normalizers": [replace(" ", four), replace(" ", four)]]])
        XCTAssertEqual(t.encode("H e"), [0] + Array(repeating: 2, count: 16) + [1])
    }

    /// An empty String pattern inserts the content around every character, as HF's escaped
    /// regex does (values from tokenizers 0.23.3); it used to leave the text alone.
    func testEmptyStringPatternInsertsEverywhere() throws {
        let vocab: [String: Any] = ["type": "BPE", "vocab": ["H": 0, "e": 1, " ": 2, "é": 3], "merges": [String]()]
        let n = try load(["model": vocab, "normalizer": replace("", " ")])
        XCTAssertEqual(n.encode("Hé"), [2, 0, 2, 3, 2])
        let d = try load(["model": vocab, "decoder": replace("", "-")])
        XCTAssertEqual(d.decode([0, 1, 3]), "-H--e--é-")
    }

    /// Every committed real-style tokenizer (and the shared GPT-NeoX-20B one) is far below the
    /// bound, so none is refused; FixtureParityTests checks they still encode as HF does.
    func testRealTokenizersStayFarBelowTheBound() throws {
        var files = try FileManager.default.contentsOfDirectory(at: Fixtures.tokenizers, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" && $0.lastPathComponent != "manifest.json" }
        let shared = URL(fileURLWithPath: "/work/shared/tokenizers/gpt-neox-20b.tokenizer.json")
        if FileManager.default.fileExists(atPath: shared.path) { files.append(shared) }
        XCTAssertGreaterThan(files.count, 8)
        for url in files {
            let t = try Tokenizer(contentsOf: url)
            let n = t.normalizer?.growth.scale ?? 1
            let d = t.decoder?.growth.scale ?? 1
            XCTAssertLessThanOrEqual(max(n, d), 33, url.lastPathComponent)
        }
    }

    // MARK: Regexes that backtrack

    /// `(?:.|.|...)*Z` takes 8^n steps on any n characters without a Z (ICU does not skip to the
    /// required "Z" as Oniguruma does): refused at load, within the probe's CPU budget, whether
    /// it is a Split pattern or a Replace normalizer's or decoder's.
    func testCatastrophicRegexIsRefusedAtLoad() {
        let hang = "(?:.|.|.|.|.|.|.|.)*Z"
        let started = Date()
        assertRefused(["model": model, "pre_tokenizer": ["type": "Split", "pattern": ["Regex": hang], "behavior": "Isolated"]],
                      path: "pre_tokenizer.pattern.Regex", "backtracks catastrophically")
        assertRefused(["model": model, "normalizer": ["type": "Replace", "pattern": ["Regex": hang], "content": ""]],
                      path: "normalizer.pattern.Regex", "backtracks catastrophically")
        assertRefused(["model": model, "decoder": ["type": "Replace", "pattern": ["Regex": hang], "content": ""]],
                      path: "decoder.pattern.Regex", "backtracks catastrophically")
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
    }

    /// A pattern that passes the probes but backtracks on one particular text: the call stops at
    /// its deadline (a quarter second of CPU) instead of hanging, and the rest of the text is
    /// left unsplit (encode cannot throw; a warning goes to stderr).
    func testRuntimeDeadlineStopsABacktrackingSplit() throws {
        let t = try load(["model": ["type": "BPE", "vocab": ["x": 0, "xx": 1], "merges": ["x x"]],
                          "pre_tokenizer": ["type": "Split", "pattern": ["Regex": "(?:x|x)*y|x"], "behavior": "Isolated"]])
        XCTAssertEqual(t.encode("xx"), [0, 0])  // the ordinary path: each "x" is a word of its own
        let text = String(repeating: "x", count: 64)
        let started = RegexDeadline.cpuTime()
        let ids = t.encode(text)
        let spent = RegexDeadline.cpuTime() - started
        XCTAssertLessThan(spent, 5 * BoundedRegex.callSeconds)
        // No match was found before the deadline, so the whole text is one word: 32 "xx".
        XCTAssertEqual(ids, Array(repeating: 1, count: 32))
    }
}
