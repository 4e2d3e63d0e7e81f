import Foundation
import XCTest
@testable import Tokenizers

/// Ids and decodes must equal HF `tokenizers` for every fixture string (see
/// scripts/fixtures/make_tokenizer_fixtures.py for how the expectations were made).
final class FixtureParityTests: XCTestCase {
    private static let strings = Result { try Fixtures.datasetStrings() }

    private func entries() throws -> [Fixtures.Entry] {
        let m = try Fixtures.manifest()
        XCTAssertFalse(m.fixtures.isEmpty)
        return m.fixtures
    }

    private func load(_ e: Fixtures.Entry) throws -> Tokenizer {
        try Tokenizer(contentsOf: Fixtures.root.appendingPathComponent(e.tokenizer))
    }

    /// Every dataset string of each tokenizer's expected file: ids with special tokens, and
    /// decode(ids, skipSpecialTokens: true).
    func testDatasetStringsMatchHF() throws {
        let strings = try Self.strings.get()
        let all = try entries()
        // One fixture per thread: the debug build is slow and there are ~20 fixtures.
        let reports = UnsafeMutableBufferPointer<[MismatchReport]>.allocate(capacity: all.count)
        reports.initialize(repeating: [])
        defer { _ = reports.deinitialize(); reports.deallocate() }  // deinitialize: the reports are freed too
        nonisolated(unsafe) let out = reports
        DispatchQueue.concurrentPerform(iterations: all.count) { k in
            out[k] = Self.check(all[k], all: all, strings: strings)
        }
        for r in reports.joined() { r.assertEmpty() }
    }

    private static func check(_ e: Fixtures.Entry, all: [Fixtures.Entry], strings: [String]) -> [MismatchReport] {
        var failure = MismatchReport(what: "\(e.name) fixture")
        let source = e.same_as.flatMap { s in all.first { $0.name == s } } ?? e
        var ids = MismatchReport(what: "\(e.name) ids")
        var decoded = MismatchReport(what: "\(e.name) decode")
        do {
            let tok = try Tokenizer(contentsOf: Fixtures.root.appendingPathComponent(e.tokenizer))
            let records = try Fixtures.jsonLines(Fixtures.gunzip(Fixtures.tokenizers.appendingPathComponent(source.name + ".expected.jsonl.gz")))
            if records.count != source.strings { failure.add(e.name, expected: source.strings ?? -1, got: records.count) }
            for case let r as [String: Any] in records {
                let text = strings[r["i"] as! Int]
                let expected = r["ids"] as! [Int]
                let got = tok.encode(text)
                if got != expected { ids.add(text, expected: expected, got: got) }
                let expectedText = r["decoded"] as? String ?? (source.decode_prefix ?? "") + text
                let gotText = tok.decode(expected, skipSpecialTokens: true)
                if gotText != expectedText { decoded.add(text, expected: String(reflecting: expectedText), got: String(reflecting: gotText)) }
            }
        } catch {
            failure.add(e.name, expected: "loads", got: error)
        }
        return [failure, ids, decoded]
    }

    /// The hard cases, with and without special tokens, and both decodes.
    func testHardCasesMatchHF() throws {
        let all = try entries()
        for e in all {
            let source = e.same_as ?? e.name
            let tok = try load(e)
            let lines = try Fixtures.jsonLines(Data(contentsOf: Fixtures.tokenizers.appendingPathComponent(source + ".hard.jsonl")))
            var report = MismatchReport(what: "\(e.name) hard cases")
            for case let r as [String: Any] in lines {
                let text = r["text"] as! String
                let ids = r["ids"] as! [Int]
                let idsNoSpecial = r["ids_no_special"] as! [Int]
                if tok.encode(text) != ids { report.add(text, expected: ids, got: tok.encode(text)) }
                let ns = tok.encode(text, addSpecialTokens: false)
                if ns != idsNoSpecial { report.add(text + " [no special]", expected: idsNoSpecial, got: ns) }
                let d = tok.decode(ids)
                if d != r["decoded"] as! String { report.add(text + " [decode]", expected: String(reflecting: r["decoded"]!), got: String(reflecting: d)) }
                let ds = tok.decode(ids, skipSpecialTokens: true)
                if ds != r["decoded_skip_special"] as! String {
                    report.add(text + " [decode skip]", expected: String(reflecting: r["decoded_skip_special"]!), got: String(reflecting: ds))
                }
            }
            XCTAssertGreaterThan(lines.count, 50)
            report.assertEmpty()
        }
    }

    /// Every fixture file under Tests/Fixtures/models has an entry (re-run the script if not).
    func testEveryModelTokenizerIsCovered() throws {
        let names = Set(try entries().map(\.tokenizer))
        let models = Fixtures.root.appendingPathComponent("models")
        let dirs = (try? FileManager.default.contentsOfDirectory(atPath: models.path)) ?? []
        // a byte-identical copy of a covered tokenizer (the 4-bit checkpoints of issue 11) is covered
        let covered = Set(names.compactMap { try? Data(contentsOf: Fixtures.root.appendingPathComponent($0)) })
        for d in dirs where FileManager.default.fileExists(atPath: models.appendingPathComponent(d).appendingPathComponent("tokenizer.json").path) {
            let data = try Data(contentsOf: models.appendingPathComponent(d).appendingPathComponent("tokenizer.json"))
            XCTAssertTrue(names.contains("models/\(d)/tokenizer.json") || covered.contains(data),
                          "models/\(d)/tokenizer.json has no expected ids: run scripts/fixtures/make_tokenizer_fixtures.py")
        }
    }
}
