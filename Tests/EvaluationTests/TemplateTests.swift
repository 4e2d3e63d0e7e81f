@testable import Evaluation
import XCTest

final class TemplateTests: XCTestCase {
    let arc: JSONObject = {
        guard case .object(let o) = try! JSONValue.parse(#"{"question": "Which?", "choices": {"text": ["a", "b c"], "label": ["A", "B"]}, "answerKey": "B", "label": "2", "support": "  s ", "flag": true}"#) else { fatalError() }
        return o
    }()

    func render(_ t: String) throws -> String { try Template(t).render(arc) }
    func value(_ t: String) throws -> JSONValue { try Template(t).value(arc) }

    func testLMEvalTemplates() throws {
        XCTAssertEqual(try render("Question: {{question}}\nAnswer:"), "Question: Which?\nAnswer:")
        XCTAssertEqual(try value("{{choices.label.index(answerKey)}}"), .int(1))
        XCTAssertEqual(try value("{{choices.label.index(answerKey.lstrip())}}"), .int(1))
        XCTAssertEqual(try value("{{choices.text}}"), .array(["a", "b c"]))
        XCTAssertEqual(try value("{{[question, answerKey]}}"), .array(["Which?", "B"]))
        XCTAssertEqual(try value("{{ (label|int) - 1 }}"), .int(1))
        XCTAssertEqual(try render("{{support.lstrip()}}|"), "s |")
        XCTAssertEqual(try render("{{ question.strip() }} {{choices['text'][1]}}"), "Which? b c")
        XCTAssertEqual(try render("{{flag|int}} {{flag}}"), "1 True")
        XCTAssertEqual(try render("{{choices.text}}"), "['a', 'b c']")  // Jinja renders Python's repr
        XCTAssertEqual(try render("{{question|upper}}{{question|length}}"), "WHICH?6")
        XCTAssertEqual(try render("{{choices.text|join(', ')}}"), "a, b c")
        XCTAssertEqual(try render("{{choices.text[-1]|capitalize}}"), "B c")
    }

    func testMissingFieldIsNamed() {
        XCTAssertThrowsError(try render("{{nope}}")) { XCTAssertEqual($0 as? TemplateError, .missingField("nope")) }
        XCTAssertThrowsError(try render("{{choices.nope}}")) { XCTAssertEqual($0 as? TemplateError, .missingField("choices.nope")) }
        XCTAssertThrowsError(try Template("{{ x | nofilter }}"))
        XCTAssertThrowsError(try Template("{{ x "))
    }

    func testPythonStringRules() {
        XCTAssertEqual(PythonString.capitalize("the LADY"), "The lady")  // str.capitalize lowers the rest
        XCTAssertEqual(PythonString.strip("\u{a0} x \n"), "x")
        XCTAssertEqual(PythonString.regexWordCount(" a  b\nc "), 5)  // len(re.split(r"\s+", s))
        XCTAssertEqual(PythonRepr.quoted("it's"), "\"it's\"")
        XCTAssertEqual(PythonRepr.float(-60.217742919921875), "-60.217742919921875")
        XCTAssertEqual(PythonRepr.float(1.0), "1.0")
    }

    func testHellaSwagPreprocess() {
        XCTAssertEqual(HellaSwagFunctions.preprocess(" How to x [title] Do y [step] now  ok "), "How to x. Do y now ok")
        XCTAssertEqual(HellaSwagFunctions.preprocess("a [b] c"), "a c")
    }

    func testPythonRandomSample() {
        // random.Random(1234).sample(range(10), 3), then range(570) k=4, then range(100) k=7
        var r = PythonRandom(seed: 1234)
        XCTAssertEqual(r.sample(count: 10, k: 3), [7, 1, 0])
        XCTAssertEqual(r.sample(count: 570, k: 4), [92, 35, 85, 100])
        XCTAssertEqual(r.sample(count: 100, k: 7), [98, 45, 30, 2, 3, 44, 82])
    }

    func testSHA256() {
        XCTAssertEqual(SHA256.hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex("0"), "5feceb66ffc86f38d952786c6d696c79c2dbc239dd4e91b46729d73a27fb57e9")  // lm-eval's target_hash of 0
    }

    /// Python's str.replace, code point by code point (values from CPython 3.11).
    func testPythonReplace() {
        XCTAssertEqual(PythonString.replace("aaa", "aa", "b"), "ba")
        XCTAssertEqual(PythonString.replace("abc", "", "-"), "-a-b-c-")
        XCTAssertEqual(PythonString.replace("", "", "-"), "-")
        XCTAssertEqual(PythonString.replace("e\u{301}x e", "e", "E"), "E\u{301}x E")  // no normalisation: the e of a decomposed é is replaced
        XCTAssertEqual(PythonString.replace("\u{e9}", "e\u{301}", "X"), "\u{e9}")  // nor is a composed é matched by its decomposition
        XCTAssertEqual(PythonString.replace("   a    b", "  ", " "), "  a  b")
        XCTAssertEqual(PythonString.replace("Cooking [title] How to", " [title]", ". "), "Cooking.  How to")
        XCTAssertEqual(PythonString.replace("ab", "abc", "x"), "ab")
        XCTAssertEqual(HellaSwagFunctions.preprocess("  Fish [title] Clean it [step]  well  "), "Fish. Clean it  well")
    }

    /// Numbers at the edges of 64 bits: Python's integers do not overflow, forgetlens' are 64-bit,
    /// so a result past them is an error naming it, never a trap (found by `make fuzz-smoke`:
    /// Tests/Fixtures/fuzz/template/regression-*). |int follows Jinja 3.1.6's do_int (values
    /// printed by jinja2 with StrictUndefined).
    func testIntegerEdgesAreErrorsNotTraps() throws {
        for t in ["{{ 9223372036854775807 + 1 }}", "{{ -9223372036854775807 - 2 }}", "{{ -(-9223372036854775807 - 1) }}",
                  "{{ 99999999999999999999 }}", "{{ 99999999999999999999.0|int }}", "{{ '1e30'|int }}"] {
            XCTAssertThrowsError(try render(t), t) { XCTAssertTrue("\($0)".contains("does not fit in 64 bits"), "\(t): \($0)") }
        }
        XCTAssertEqual(try render("{{ 9223372036854775806 + 1 }} {{ -9223372036854775807 - 1 }}"), "9223372036854775807 -9223372036854775808")
        XCTAssertEqual(try render("{{ 'nan'|int }} {{ 'inf'|int }} {{ '0x10'|int }} {{ ' 12 '|int }} {{ 2.7|int }} {{ -2.7|int }}"), "0 0 0 12 2 -2")
        XCTAssertEqual(try render("{{ '0x10'|float }} {{ 'nan(1)'|float }}"), "0.0 0.0")
        guard case .object(var doc) = try JSONValue.parse(#"{"x": Infinity}"#) else { return XCTFail() }
        doc["y"] = .double(.nan)
        XCTAssertThrowsError(try Template("{{ x|int }}").render(doc))  // Jinja: OverflowError
        XCTAssertEqual(try Template("{{ y|int }}").render(doc), "0")
    }

    /// An expression that multiplies its input stops at the evaluation budget (1 MiB, or 4x the
    /// document's text) with an error, before building the text; a long document keeps room.
    func testTextBudget() throws {
        let bomb = "{{ question" + String(repeating: ".replace('', question)", count: 12) + " }}"
        XCTAssertThrowsError(try render(bomb)) { XCTAssertTrue("\($0)".contains("1 MiB"), "\($0)") }
        let grow = "{{ question" + String(repeating: ".replace('', question)", count: 5) + "|length }}"
        XCTAssertEqual(try render(grow), "\(Self.grown(6, 6, times: 5))")
        var long = arc
        long["book"] = .string(String(repeating: "word ", count: 400_000))  // 2 MB
        let doc = "{{ book.replace(' ', '  ').replace('w', 'W')|length }}"
        XCTAssertEqual(try Template(doc).render(long), "2400000")
    }

    /// Length after `times` replace('', q) with |q| = n starting from a string of `start` scalars.
    static func grown(_ start: Int, _ n: Int, times: Int) -> Int {
        (0..<times).reduce(start) { length, _ in length + (length + 1) * n }
    }
}
