import Foundation
import XCTest
@testable import Engine

final class ScoringTests: XCTestCase {
    /// lm-eval's own test (tests/test_utils.py, test_get_rolling_token_windows_v1).
    func testRollingWindowsMatchLmEval() {
        let gold: [([Int], [Int])] = [
            ([-100, 0, 1, 2, 3, 4, 5, 6, 7, 8], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
            ([9, 10, 11, 12, 13, 14, 15, 16, 17, 18], [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]),
            ([19, 20, 21, 22, 23, 24, 25, 26, 27, 28], [20, 21, 22, 23, 24, 25, 26, 27, 28, 29]),
            ([23, 24, 25, 26, 27, 28, 29, 30, 31, 32], [30, 31, 32, 33]),
        ]
        let windows = RollingWindows.windows(tokens: Array(0..<34), prefixToken: -100, maxSequenceLength: 10, contextLength: 1)
        XCTAssertEqual(windows.count, gold.count)
        for (w, g) in zip(windows, gold) {
            XCTAssertEqual(w.input, g.0)
            XCTAssertEqual(w.predicted, g.1)
        }
        // make_disjoint_window: the context stops where the predictions start
        let d = RollingWindows.disjoint(windows[3])
        XCTAssertEqual(d.context, [23, 24, 25, 26, 27, 28, 29])
        XCTAssertEqual(d.continuation, [30, 31, 32, 33])
        XCTAssertTrue(RollingWindows.windows(tokens: [], prefixToken: 0, maxSequenceLength: 4).isEmpty)
    }

    /// Rolling log-likelihood predicts every token exactly once; with one window it is the
    /// plain log-prob of the text after the prefix token.
    func testRollingLoglikelihood() throws {
        let model = try LanguageModel(directory: Fixtures.model("llama-tiny"), threads: 1)
        var rng = BatchIndependenceTests.LCG(state: 3)
        let tokens = (0..<300).map { _ in 3 + rng.next(model.vocabSize - 3) }
        let rolled = try model.loglikelihoodRolling(tokens, prefixToken: 1)
        XCTAssertEqual(rolled.tokenLogProbs.count, 300)
        let short = Array(tokens.prefix(50))
        let oneWindow = try model.loglikelihoodRolling(short, prefixToken: 1)
        let direct = try model.tokenLogProbs([1] + short).logProbs
        XCTAssertEqual(oneWindow.tokenLogProbs.count, direct.count)
        for (a, b) in zip(oneWindow.tokenLogProbs, direct) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        // the second window predicts tokens 128..<256 from inputs tokens[127..<255]: token 200 is
        // conditioned on tokens 127...199 only
        let windows = RollingWindows.windows(tokens: tokens, prefixToken: 1, maxSequenceLength: 128)
        XCTAssertEqual(windows.map(\.predicted.count), [128, 128, 44])
        XCTAssertEqual(windows[1].input, Array(tokens[127..<255]))
        let w = try model.loglikelihood([LoglikelihoodRequest(context: Array(tokens[127..<200]), continuation: [tokens[200]])])[0]
        XCTAssertEqual(w.logLikelihood, rolled.tokenLogProbs[200], accuracy: 1e-5)
    }

    /// Inputs longer than the position table are left-truncated exactly as lm-eval does:
    /// (context + continuation)[-(max_length + 1):][:-1].
    func testLeftTruncationMatchesLmEval() throws {
        try Fixtures.requireReferences()
        let model = try LanguageModel(directory: Fixtures.model("llama-tiny"), threads: 1)
        guard let long = try Fixtures.references("llama-tiny").first(where: { $0.truncated }) else {
            throw XCTSkip("no truncated reference prompt")
        }
        XCTAssertGreaterThan(long.fullIds.count, model.maxLength)
        // The reference ran the last 128 tokens; lm-eval scoring continuation = last 20 tokens of
        // the full text sees the 129 tokens before... minus the last: the same window of 128 inputs
        // ending one before the final token. Its continuation log-probs are the reference's last 20.
        let split = long.fullIds.count - 20
        let r = try model.loglikelihood([LoglikelihoodRequest(context: Array(long.fullIds[..<split]), continuation: Array(long.fullIds[split...]))])[0]
        // inputs = full[-(129):][:-1] = full[n-129 ..< n-1]; the reference's window is full[n-128 ..< n],
        // so compare against a direct run of that exact input window instead.
        let inputs = Array(long.fullIds.suffix(model.maxLength + 1).dropLast())
        XCTAssertEqual(inputs.count, model.maxLength)
        let logits = try model.logits([inputs])[0]
        let v = model.vocabSize
        for (t, target) in long.fullIds.suffix(20).enumerated() {
            let row = Array(logits[((inputs.count - 20 + t) * v)..<((inputs.count - 20 + t + 1) * v)])
            let m = row.max()!
            let lse = Double(m) + log(row.reduce(0.0) { $0 + exp(Double($1 - m)) })
            XCTAssertEqual(r.tokenLogProbs[t], Double(row[target]) - lse, accuracy: 1e-5)
        }
        XCTAssertThrowsError(try model.loglikelihood([LoglikelihoodRequest(context: [1], continuation: Array(repeating: 5, count: 129))]))
        XCTAssertThrowsError(try model.loglikelihood([LoglikelihoodRequest(context: [1], continuation: [model.vocabSize])]))
    }

    /// A --max_length below the position table truncates the same way, at that length.
    func testMaxLengthOverride() throws {
        let full = try LanguageModel(directory: Fixtures.model("llama-tiny"), threads: 1)
        let short = try LanguageModel(directory: Fixtures.model("llama-tiny"), threads: 1, maxLength: 16)
        XCTAssertEqual(short.maxLength, 16)
        let ids = (0..<30).map { 300 + $0 * 7 }
        let r = try short.loglikelihood([LoglikelihoodRequest(context: Array(ids[..<25]), continuation: Array(ids[25...]))])[0]
        // inputs = ids[-(17):][:-1] = ids[13..<29]; the same window scored by the full model
        let window = try full.loglikelihood([LoglikelihoodRequest(context: Array(ids[13..<25]), continuation: Array(ids[25...]))])[0]
        for (a, b) in zip(r.tokenLogProbs, window.tokenLogProbs) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        XCTAssertThrowsError(try short.logits([ids]))
    }

    /// Greedy generation with the KV cache equals argmax of full forward passes, and stops at stop strings.
    func testGreedyGenerationMatchesFullForward() throws {
        let model = try LanguageModel(directory: Fixtures.model("llama-tiny"), threads: 1)
        let prompt = [1, 300, 301, 302, 303, 304]
        let g = try model.generate(prompt: prompt, maxTokens: 8, eosTokenIds: [], decode: { $0.map(String.init).joined(separator: " ") })
        XCTAssertEqual(g.tokens.count, 8)
        XCTAssertEqual(g.stopReason, .maxTokens)
        var seq = prompt
        for expected in g.tokens {
            let logits = try model.logits([seq])[0]
            let last = Array(logits.suffix(model.vocabSize))
            let arg = last.indices.max { last[$0] < last[$1] || (last[$0] == last[$1] && $0 > $1) }!
            XCTAssertEqual(arg, expected)
            seq.append(arg)
        }
        // stop sequence on the decoded text: cut before it
        let stop = String(g.tokens[2])
        let s = try model.generate(prompt: prompt, maxTokens: 8, stopSequences: [" " + stop], eosTokenIds: [],
                                   decode: { $0.map(String.init).joined(separator: " ") })
        XCTAssertEqual(s.stopReason, .stopSequence)
        let full = g.tokens.map(String.init).joined(separator: " ")
        XCTAssertEqual(s.text, String(full[..<full.range(of: " " + stop)!.lowerBound]))
        // EOS ends generation
        let e = try model.generate(prompt: prompt, maxTokens: 8, eosTokenIds: [g.tokens[0]], decode: { _ in "" })
        XCTAssertEqual(e.tokens, [g.tokens[0]])
        XCTAssertEqual(e.stopReason, .endOfText)
    }

    /// Decoding prompts side by side gives each one what decoding it alone gives: prompts of
    /// different lengths, budgets, stop sequences and an EOS, over several forward passes (a
    /// small tokensPerForward) and several cache groups (a small cacheBytes).
    func testBatchedGenerationEqualsOneByOne() throws {
        for name in ["llama-tiny", "gpt2-tiny", "neox-tiny"] {
            let model = try LanguageModel(directory: Fixtures.model(name), threads: 1)
            let decode: ([Int]) -> String = { $0.map(String.init).joined(separator: " ") }
            var prompts: [GenerationPrompt] = []
            for i in 0..<9 {
                let length = 1 + (i * 17) % 40
                let prompt = (0..<length).map { j in 3 + (i * 31 + j * 7) % (min(model.vocabSize, 500) - 3) }
                prompts.append(GenerationPrompt(prompt: prompt, maxTokens: [1, 5, 12, 0, 7][i % 5]))
            }
            // A stop sequence and an EOS taken from what the one-by-one decode produces.
            let alone = try prompts.map { try model.generate(prompt: $0.prompt, maxTokens: $0.maxTokens, eosTokenIds: [], decode: decode) }
            if alone[2].tokens.count > 3 { prompts[2].stopSequences = [" " + String(alone[2].tokens[3])] }
            let eos = alone[7].tokens.count > 2 ? [alone[7].tokens[2]] : []
            let expected = try prompts.map {
                try model.generate(prompt: $0.prompt, maxTokens: $0.maxTokens, stopSequences: $0.stopSequences, eosTokenIds: eos, decode: decode)
            }
            for (tokensPerForward, cacheBytes) in [(1024, 1 << 31), (24, 1 << 31), (1024, 40_000)] {
                let together = try model.generate(prompts, eosTokenIds: eos, tokensPerForward: tokensPerForward, cacheBytes: cacheBytes, decode: decode)
                XCTAssertEqual(together, expected, "\(name) tokensPerForward \(tokensPerForward) cacheBytes \(cacheBytes)")
            }
            XCTAssertTrue(expected.contains { $0.stopReason == .endOfText } || eos.isEmpty, name)
        }
    }
}
