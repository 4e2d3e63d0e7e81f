import Foundation
import XCTest
@testable import Tokenizers

/// The heap merge that long pre-tokens take must give exactly the ids of the linear scan (which
/// the fixture parity tests pin to HF tokenizers), and a very long word must encode in
/// O(n log n): before it, a 360 KB Llama-2-style line took 30 s and a 10 MB one never finished.
final class LongWordMergeTests: XCTestCase {
    private func load(_ name: String) throws -> Tokenizer {
        try Tokenizer(contentsOf: Fixtures.tokenizers.appendingPathComponent(name))
    }

    /// Deterministic words from the fixture corpus strings with spaces removed (so merges happen
    /// across what were word boundaries) and random runs of repeated letters.
    private func words(count: Int, seed: UInt64) throws -> [[UInt8]] {
        var rng = seed
        func next() -> Int {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            return Int(truncatingIfNeeded: rng >> 33)
        }
        let strings = try Fixtures.datasetStrings()
        var out: [[UInt8]] = []
        for _ in 0..<count {
            var text = ""
            for _ in 0..<(1 + next() % 6) { text += strings[next() % strings.count] }
            var bytes = Array(text.utf8).filter { $0 != UInt8(ascii: " ") }
            if next() % 3 == 0 { bytes += [UInt8](repeating: UInt8(ascii: "a") + UInt8(next() % 3), count: 1 + next() % 300) }
            out.append(bytes)
        }
        return out
    }

    func testHeapMergeEqualsScanMerge() throws {
        for name in ["gpt-neox-20b.json", "llama2-style.json", "gpt2-style.json"] {
            let tok = try load(name)
            var checked = 0
            for word in try words(count: 150, seed: 0x5eed &+ UInt64(name.count)) {
                let scan = tok.model.mergedSymbols(of: word, heap: false)
                let heap = tok.model.mergedSymbols(of: word, heap: true)
                XCTAssertEqual(scan, heap, "\(name): \(word.count)-byte word")
                checked += word.count
            }
            XCTAssertGreaterThan(checked, 10_000)
        }
    }

    /// A whole 500 KB line with no spaces is one pre-token for the Llama-2-style tokenizer: it
    /// encodes (in well under a second now; the quadratic scan needed hours) and decodes back.
    func testHalfMegabyteWordEncodes() throws {
        let tok = try load("llama2-style.json")
        let unit = String(repeating: "forgetting", count: 100)  // 1000 bytes
        let line = String(repeating: unit, count: 500)
        let ids = tok.encode(line, addSpecialTokens: false)
        XCTAssertGreaterThan(ids.count, 500)
        XCTAssertEqual(tok.decode(ids), line)
    }
}
