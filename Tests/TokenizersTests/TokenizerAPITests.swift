import Foundation
import XCTest
@testable import Tokenizers

final class TokenizerAPITests: XCTestCase {
    private func load(_ name: String) throws -> Tokenizer {
        try Tokenizer(contentsOf: Fixtures.tokenizers.appendingPathComponent(name))
    }

    func testBosEosAndLookups() throws {
        let neox = try load("gpt-neox-20b.json")
        XCTAssertNil(neox.bosTokenId)
        XCTAssertEqual(neox.eosTokenId, 0)  // <|endoftext|>
        XCTAssertEqual(neox.tokenToId("<|endoftext|>"), 0)
        XCTAssertEqual(neox.idToToken(0), "<|endoftext|>")
        XCTAssertEqual(neox.vocabSize, 50280)
        XCTAssertEqual(neox.encode("Hello world"), [12092, 1533])

        let llama2 = try load("llama2-style.json")
        XCTAssertEqual(llama2.bosTokenId, 1)
        XCTAssertEqual(llama2.eosTokenId, 2)
        XCTAssertEqual(llama2.encode("hi").first, 1)
        XCTAssertNotEqual(llama2.encode("hi", addSpecialTokens: false).first, 1)

        let llama3 = try load("llama3-style.json")
        XCTAssertEqual(llama3.bosTokenId, llama3.tokenToId("<|begin_of_text|>"))
        XCTAssertEqual(llama3.eosTokenId, llama3.tokenToId("<|end_of_text|>"))

        let roberta = try load("roberta-style.json")
        XCTAssertEqual(roberta.bosTokenId, 0)
        XCTAssertEqual(roberta.eosTokenId, 2)
    }

    /// Concurrent encodes (sharing the word cache) give the same ids as serial ones.
    func testConcurrentEncode() throws {
        let tok = try load("gpt-neox-20b.json")
        let texts = (0..<400).map { "Sentence number \($0) with words \($0 * 7919 % 1000) and more, repeated." }
        let serial = texts.map { tok.encode($0) }
        let results = UnsafeMutableBufferPointer<[Int]>.allocate(capacity: texts.count)
        results.initialize(repeating: [])
        defer { _ = results.deinitialize(); results.deallocate() }  // deinitialize: the 400 arrays are freed too
        let tokenizer = tok
        nonisolated(unsafe) let out = results
        DispatchQueue.concurrentPerform(iterations: texts.count) { i in
            out[i] = tokenizer.encode(texts[i])
        }
        XCTAssertEqual(Array(results), serial)
    }

    func testTokenizeLines() throws {
        let tok = try load("gpt-neox-20b.json")
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("lines-\(UUID()).txt")
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("out-\(UUID()).txt")
        try Data("\"Hello world\"\n\n\"a<|endoftext|>b\"\n".utf8).write(to: input)
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: input)
            try? FileManager.default.removeItem(at: output)
        }
        let inHandle = try FileHandle(forReadingFrom: input)
        let outHandle = try FileHandle(forWritingTo: output)
        try TokenizeLines.run(tokenizer: tok, input: inHandle, output: outHandle, addSpecialTokens: true)
        try outHandle.close()
        let text = String(decoding: try Data(contentsOf: output), as: UTF8.self)
        XCTAssertEqual(text, "[12092,1533]\n[66,0,67]\n")
    }

    func testBenchmarkCountsTokens() throws {
        let tok = try load("gpt-neox-20b.json")
        let r = TokenizeLines.benchmark(tokenizer: tok, strings: ["Hello world", "Hello world"])
        XCTAssertEqual(r.tokens, 4)
        XCTAssertGreaterThanOrEqual(r.seconds, 0)
    }
}
