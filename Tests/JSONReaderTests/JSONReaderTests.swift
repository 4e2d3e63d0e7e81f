import Foundation
import JSONReader
import XCTest

/// The one JSON reader, against what Python's json and serde_json do with the same text
/// (expected values written out by hand from those references' documented behaviour).
final class JSONReaderTests: XCTestCase {
    private func parse(_ text: String, _ options: JSONReader.Options = .init()) throws -> JSON {
        try JSONReader.parse(Array(text.utf8), options: options)
    }

    private func assertSyntaxError(_ bytes: [UInt8], offset: Int, _ fragment: String,
                                   file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try JSONReader.parse(bytes), file: file, line: line) { error in
            guard let e = error as? JSONSyntaxError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(e.offset, offset, e.description, file: file, line: line)
            XCTAssertTrue(e.description.contains(fragment), e.description, file: file, line: line)
        }
    }

    private func assertSyntaxError(_ text: String, offset: Int, _ fragment: String,
                                   file: StaticString = #filePath, line: UInt = #line) {
        assertSyntaxError(Array(text.utf8), offset: offset, fragment, file: file, line: line)
    }

    /// "é" precomposed (U+00E9) and "e" + combining acute (U+0065 U+0301) are canonically
    /// equivalent, so Swift's String == calls them equal; as JSON keys they are different keys
    /// (Python: {'é': 1, 'é': 2}, two entries).
    func testCanonicallyEquivalentKeysStayDistinct() throws {
        let value = try parse("{\"\u{E9}\": 1, \"e\u{301}\": 2}")
        let members = try XCTUnwrap(value.members)
        XCTAssertEqual(members.count, 2)
        XCTAssertEqual(Array(members[0].key.unicodeScalars), ["\u{E9}"])
        XCTAssertEqual(Array(members[1].key.unicodeScalars), ["e", "\u{301}"])
        XCTAssertEqual(value["\u{E9}"]?.numberValue?.int, 1)
        XCTAssertEqual(value["e\u{301}"]?.numberValue?.int, 2)
        XCTAssertEqual(value.dictionaryMembers?.count, 2)
        XCTAssertNotEqual(JSONKey("\u{E9}"), JSONKey("e\u{301}"))
        XCTAssertNotEqual(try parse("\"\u{E9}\""), try parse("\"e\u{301}\""))
    }

    /// Duplicates are all visible in order; `[key]` and `dictionaryMembers` apply Python's dict
    /// rule: the last value, at the first key's position ({"a": 3, "b": 2} for the text below).
    func testDuplicateKeys() throws {
        let value = try parse(#"{"a": 1, "b": 2, "a": 3}"#)
        XCTAssertEqual(value.members?.map(\.key), ["a", "b", "a"])
        XCTAssertEqual(value["a"]?.numberValue?.int, 3)
        let dict = try XCTUnwrap(value.dictionaryMembers)
        XCTAssertEqual(dict.map(\.key), ["a", "b"])
        XCTAssertEqual(dict.map { $0.value.numberValue?.int }, [3, 2])
    }

    /// Integers keep their literal: a safetensors offset above 2^53 converts exactly.
    func testHugeIntegers() throws {
        let n = try XCTUnwrap(parse("18446744073709551615").numberValue)
        XCTAssertEqual(n.uint64, UInt64.max)
        XCTAssertNil(n.int64)
        XCTAssertEqual(try parse("9007199254740993").numberValue?.int64, 9_007_199_254_740_993)  // 2^53 + 1
        XCTAssertEqual(try parse("-9223372036854775808").numberValue?.int64, Int64.min)
        XCTAssertNil(try parse("18446744073709551616").numberValue?.uint64)  // 2^64 does not fit
        XCTAssertEqual(try parse("18446744073709551616").numberValue?.double, 18446744073709551616.0)
        XCTAssertNil(try parse("2.0").numberValue?.int)  // a float literal is not an integer literal
    }

    func testFloatsExponentsAndNegativeZero() throws {
        let z = try XCTUnwrap(parse("-0.0").numberValue)
        XCTAssertEqual(z.double, 0)
        XCTAssertEqual(z.double.sign, .minus)
        XCTAssertEqual(try parse("-0").numberValue?.int, 0)  // Python: int 0
        XCTAssertEqual(try parse("1E+2").numberValue?.double, 100)
        XCTAssertEqual(try parse("2.5e-3").numberValue?.double, 0.0025)
        XCTAssertEqual(try parse("0.1").numberValue?.double, 0.1)
        XCTAssertEqual(try parse("1e400").numberValue?.double, .infinity)  // Python: float('1e400') == inf
        XCTAssertEqual(try parse("1e-400").numberValue?.double, 0)
        // Correct rounding of a literal with more digits than a Double holds (halfway case).
        XCTAssertEqual(try parse("9007199254740993.0").numberValue?.double, 9007199254740992.0)
        // The grammar is strict, as Python's json and serde_json are.
        assertSyntaxError("01", offset: 1, "after the JSON value")
        assertSyntaxError("+1", offset: 0, "unexpected character '+'")
        assertSyntaxError("1.", offset: 2, "after the decimal point")
        assertSyntaxError(".5", offset: 0, "unexpected character '.'")
        assertSyntaxError("1e", offset: 2, "exponent")
        assertSyntaxError("-", offset: 1, "expected a digit")
        assertSyntaxError("NaN", offset: 0, "unexpected character 'N'")
    }

    /// Python's json reads (and writes) NaN, Infinity and -Infinity; readers of Python-written
    /// files may ask for them.
    func testPythonNonFiniteLiteralsOnRequest() throws {
        let python = JSONReader.Options(allowsNonFiniteLiterals: true)
        XCTAssertTrue(try parse("NaN", python).numberValue!.double.isNaN)
        XCTAssertEqual(try parse("[Infinity, -Infinity]", python).arrayValue?.map { $0.numberValue!.double }, [.infinity, -.infinity])
        XCTAssertThrowsError(try parse("-Inf", python))
        XCTAssertThrowsError(try parse("Infinit", python))
        XCTAssertFalse(try parse("Infinity", python).numberValue!.isInteger)
    }

    func testEscapesAndSurrogatePairs() throws {
        let s = try parse(#""a\"b\\c\/d\b\f\n\r\t\u00e9\u0065\u0301\ud83d\ude00""#).stringValue
        XCTAssertEqual(s.map { Array($0.unicodeScalars) },
                       ["a", "\"", "b", "\\", "c", "/", "d", "\u{8}", "\u{C}", "\n", "\r", "\t", "\u{E9}", "e", "\u{301}", "\u{1F600}"])
        // A lone surrogate cannot be held by a Swift String: U+FFFD, and the next escape is read.
        XCTAssertEqual(try parse(#""\ud800x""#).stringValue, "\u{FFFD}x")
        XCTAssertEqual(try parse(#""\ud800\u0041""#).stringValue, "\u{FFFD}A")
        XCTAssertEqual(try parse(#""\udc00""#).stringValue, "\u{FFFD}")
        assertSyntaxError(#""\x""#, offset: 1, "invalid escape \\x")
        assertSyntaxError(#""\u12G4""#, offset: 5, "\\u escape")
        assertSyntaxError(#""\u12""#, offset: 3, "truncated \\u escape")
        assertSyntaxError("\"a\tb\"", offset: 2, "control character")
        assertSyntaxError("\"abc", offset: 0, "unterminated string")
        assertSyntaxError(#""abc\"#, offset: 0, "unterminated string")
    }

    /// Invalid UTF-8 is refused with the offset of the first bad byte (Python's json.load and
    /// serde_json refuse such files too), in plain strings and strings with escapes.
    func testInvalidUTF8() {
        assertSyntaxError([0x22, 0x61, 0xFF, 0x22], offset: 2, "invalid UTF-8")
        assertSyntaxError([0x22, 0x5C, 0x6E, 0x61, 0xC3, 0x22], offset: 4, "invalid UTF-8")  // "\na<truncated é>"
        assertSyntaxError([0x22, 0xC0, 0xAF, 0x22], offset: 1, "invalid UTF-8")  // overlong '/'
        assertSyntaxError([0x22, 0xED, 0xA0, 0x80, 0x22], offset: 1, "invalid UTF-8")  // encoded surrogate
        assertSyntaxError([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], offset: 1, "invalid UTF-8")  // above U+10FFFF
        assertSyntaxError([0x7B, 0x22, 0x6B, 0x22, 0x3A, 0x22, 0xE2, 0x82, 0x22, 0x7D], offset: 6, "invalid UTF-8")
        // Non-ASCII outside a string is never valid JSON.
        assertSyntaxError([0xEF, 0xBB, 0xBF, 0x31], offset: 0, "unexpected character")  // a BOM
        XCTAssertEqual(try JSONReader.parse([0x22, 0xE2, 0x82, 0xAC, 0x22]).stringValue, "\u{20AC}")
    }

    func testDepthLimit() throws {
        let ok = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        XCTAssertNoThrow(try parse(ok))
        assertSyntaxError("[" + ok + "]", offset: 512, "nesting deeper than 512 levels")
        for open in ["[", "{\"a\":"] {
            XCTAssertThrowsError(try parse(String(repeating: open, count: 50_000))) { error in
                XCTAssertTrue("\(error)".contains("nesting deeper than 512 levels"), "\(error)")
            }
        }
        XCTAssertThrowsError(try parse("[[[1]]]", .init(maxDepth: 2)))
        XCTAssertNoThrow(try parse("[" + Array(repeating: "[[1]]", count: 10_000).joined(separator: ",") + "]"))
    }

    func testTrailingDataAndEmptyInput() {
        assertSyntaxError("{} x", offset: 3, "unexpected data after the JSON value")
        assertSyntaxError("[1] [2]", offset: 4, "unexpected data after the JSON value")
        assertSyntaxError("", offset: 0, "empty input")
        assertSyntaxError(" \n\t ", offset: 4, "empty input")
        assertSyntaxError("[1,]", offset: 3, "unexpected character ']'")
        assertSyntaxError(#"{"a" 1}"#, offset: 5, "expected ':'")
        assertSyntaxError(#"{"a": 1,}"#, offset: 8, "expected a string key")
        assertSyntaxError("[1", offset: 2, "unexpected end of input in an array")
        assertSyntaxError("tru", offset: 0, "expected true")
        XCTAssertNoThrow(try parse(" \r\n\t{\"a\": [true, false, null, \"\"]} \n"))
    }

    func testValuesInFileOrder() throws {
        let value = try parse(#"{"z": {"y": [1, "two", 3.5, null, true]}, "a": {}}"#)
        XCTAssertEqual(value.members?.map(\.key), ["z", "a"])
        let list = try XCTUnwrap(value["z"]?["y"]?.arrayValue)
        XCTAssertEqual(list.count, 5)
        XCTAssertEqual(list[1].stringValue, "two")
        XCTAssertEqual(list[2].numberValue?.literal, "3.5")
        XCTAssertTrue(list[3].isNull)
        XCTAssertEqual(list[4].boolValue, true)
        XCTAssertEqual(value["a"]?.members?.count, 0)
        XCTAssertNil(value["missing"])
    }

    /// Data, slices of Data (JSONL lines) and Strings read the same.
    func testInputKinds() throws {
        let data = Data("xx[1, 2]".utf8)
        XCTAssertEqual(try JSONReader.parse(data.dropFirst(2)), try parse("[1, 2]"))
        XCTAssertEqual(try JSONReader.parse("[1, 2]"), try parse("[1, 2]"))
    }
}
