import Foundation
import XCTest
@testable import Tokenizers

/// The hand-written scanners for the GPT-2 / Llama-3 / Qwen2 split regexes must cut exactly
/// where the regex does. The NSRegularExpression fallback (used for unknown patterns) is checked
/// against them on the hard cases and dataset strings; the fixtures check both against HF.
final class SplitScannerTests: XCTestCase {
    private func cuts(_ p: SplitPattern, _ text: String) -> [String] {
        var out: [String] = []
        Array(text.utf8).withUnsafeBufferPointer { b in
            p.forEachMatch(in: b) { s, e in out.append(String(decoding: UnsafeBufferPointer(rebasing: b[s..<e]), as: UTF8.self)) }
        }
        return out
    }

    func testGPT2Scanner() {
        XCTAssertEqual(cuts(.gpt2, "Hello world's  end  \n"), ["Hello", " world", "'s", " ", " end", "  \n"])
        XCTAssertEqual(cuts(.gpt2, "DON'T 123abc"), ["DON", "'", "T", " 123", "abc"])
    }

    func testLlama3Scanner() {
        XCTAssertEqual(cuts(.llama3(maxDigits: 3), "DON'T 12345 (x)\n\n  y"), ["DON", "'T", " ", "123", "45", " (", "x", ")\n\n", " ", " y"])
        XCTAssertEqual(cuts(.llama3(maxDigits: 1), "a 12"), ["a", " ", "1", "2"])
    }

    func testRegexFallbackAgreesWithScanners() throws {
        var texts = try Fixtures.jsonLines(Data(contentsOf: Fixtures.tokenizers.appendingPathComponent("hard_cases.jsonl")))
            .map { ($0 as! [String: Any])["text"] as! String }
        let strings = try Fixtures.datasetStrings()
        texts += stride(from: 0, to: strings.count, by: 20).map { strings[$0] }
        for (pattern, scanner) in [(SplitPattern.gpt2Regex, SplitPattern.gpt2),
                                   (SplitPattern.llama3Regex, .llama3(maxDigits: 3)),
                                   (SplitPattern.qwen2Regex, .llama3(maxDigits: 1))] {
            let fallback = SplitPattern.regex(try RegexFallback(pattern))
            var report = MismatchReport(what: "NSRegularExpression vs scanner for \(pattern)")
            for t in texts {
                let a = cuts(scanner, t)
                let b = cuts(fallback, t)
                if a != b { report.add(t, expected: b, got: a) }
            }
            report.assertEmpty()
        }
    }
}
