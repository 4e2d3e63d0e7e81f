@testable import Evaluation
import Foundation
import TestSupport
import XCTest

/// The pieces of the remote backend that need no server: response parsing in both log-prob
/// forms, URL building, key handling, backoff, request tokenization parity with NativeBackend.
final class RemoteParsingTests: XCTestCase {
    func testEchoFormReadsLogprobsAndGreedyFromTopLogprobs() throws {
        let body = try JSONValue.parse("""
        {"choices": [{"text": "The cat sat", "logprobs": {
          "tokens": ["The", " cat", " sat", "."],
          "token_logprobs": [null, -1.5, -0.25, -2.0],
          "top_logprobs": [null, {" dog": -0.5, " cat": -1.5}, {" sat": -0.25}, {".": -2.0, ",": -2.0}],
          "text_offset": [0, 3, 7, 11]}}]}
        """)
        let p = try CompletionResponse.echoed(body, context: "t")
        XCTAssertEqual(p.tokens.map(\.logprob), [nil, -1.5, -0.25, -2.0])
        XCTAssertEqual(p.tokens.map(\.isTop), [nil, false, true, true])  // a tie counts as greedy
        XCTAssertEqual(p.tokens.map(\.textOffset), [0, 3, 7, 11])
    }

    func testPromptLogprobsFormUsesRanks() throws {
        let body = try JSONValue.parse("""
        {"choices": [{"text": "x", "prompt_logprobs": [null,
          {"17": {"logprob": -0.1, "rank": 1, "decoded_token": " a"}},
          {"9": {"logprob": -3.0, "rank": 4, "decoded_token": " b"}, "5": {"logprob": -0.2, "rank": 1}}]}]}
        """)
        let p = try CompletionResponse.promptLogprobs(body, promptIDs: [1, 17, 9], context: "t")
        XCTAssertEqual(p.tokens.map(\.logprob), [nil, -0.1, -3.0])
        XCTAssertEqual(p.tokens.map(\.isTop), [nil, true, false])
        XCTAssertThrowsError(try CompletionResponse.promptLogprobs(body, promptIDs: [1, 17, 8], context: "t")) {
            XCTAssertEqual(($0 as? RemoteError)?.kind, .tokenMismatch)
        }
    }

    func testMissingLogprobsExplainsServerFlags() throws {
        let body = try JSONValue.parse(#"{"choices": [{"text": "x", "logprobs": null}]}"#)
        XCTAssertThrowsError(try CompletionResponse.echoed(body, context: "t")) {
            XCTAssertTrue("\($0)".contains("--logits_all true"), "\($0)")
        }
        let error = try JSONValue.parse(#"{"error": {"message": "echo is not supported"}}"#)
        XCTAssertThrowsError(try CompletionResponse.echoed(error, context: "t")) {
            XCTAssertTrue("\($0)".contains("echo is not supported"), "\($0)")
        }
    }

    /// +Inf, -Inf and positive log-probs are refused by field (only NaN was before).
    func testImpossibleLogprobsAreRefused() throws {
        for (value, expected) in [("Infinity", "above 0"), ("-Infinity", "-infinity"), ("0.5", "above 0"), ("NaN", "not a number")] {
            let data = Data("""
            {"choices": [{"text": "a b", "logprobs": {"tokens": ["a", " b"], "token_logprobs": [null, \(value)]}}]}
            """.utf8)
            let body = try JSONValue.parse(OpenAIClient.pythonTolerant(data))
            let prompt = try? CompletionResponse.echoed(body, context: "t")
            if value == "NaN" {
                // NaN reads as null: the continuation token then has no log-prob, refused downstream.
                XCTAssertEqual(prompt?.tokens.last?.logprob, nil)
                continue
            }
            XCTAssertThrowsError(try CompletionResponse.echoed(body, context: "t"), value) {
                XCTAssertTrue("\($0)".contains("token_logprobs[1]"), "\($0)")
                XCTAssertTrue("\($0)".contains(expected), "\(value): \($0)")
            }
            let vllm = try JSONValue.parse(OpenAIClient.pythonTolerant(Data("""
            {"choices": [{"text": "x", "prompt_logprobs": [null, {"17": {"logprob": \(value), "rank": 1}}]}]}
            """.utf8)))
            XCTAssertThrowsError(try CompletionResponse.promptLogprobs(vllm, promptIDs: [1, 17], context: "t"), value) {
                XCTAssertTrue("\($0)".contains("prompt_logprobs[1][17]"), "\($0)")
            }
        }
        // Rounding just above 0 for a certain token passes unchanged.
        let ok = try JSONValue.parse(#"{"choices": [{"text": "a b", "logprobs": {"tokens": ["a", " b"], "token_logprobs": [null, 1e-7]}}]}"#)
        XCTAssertEqual(try CompletionResponse.echoed(ok, context: "t").tokens.last?.logprob, 1e-7)
    }

    func testPythonNonFiniteNumbersParse() throws {
        let data = Data(#"{"a": [-Infinity, NaN, 1.5], "s": "NaN -Infinity"}"#.utf8)
        let v = try JSONValue.parse(OpenAIClient.pythonTolerant(data))
        XCTAssertEqual(v["a"]?.arrayValue?[0].doubleValue, -.infinity)
        XCTAssertEqual(v["a"]?.arrayValue?[1], .null)
        XCTAssertEqual(v["s"]?.stringValue, "NaN -Infinity")
    }

    func testEndpointsAndDisplayURL() {
        for base in ["http://127.0.0.1:8000", "http://127.0.0.1:8000/", "http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1/"] {
            XCTAssertEqual(RemoteOptions(baseURL: URL(string: base)!).endpoint("completions").absoluteString, "http://127.0.0.1:8000/v1/completions")
        }
        let withUser = RemoteOptions(baseURL: URL(string: "http://user:hunter2@example.test:8000/v1?key=abc")!)
        XCTAssertFalse(withUser.displayURL.contains("hunter2"))
        XCTAssertFalse(withUser.displayURL.contains("abc"))
    }

    func testAPIKeyOnlyFromEnvironmentAndNeverInItsError() throws {
        XCTAssertEqual(try RemoteOptions.apiKey(fromEnvironment: "K", environment: ["K": "sk-abc"]), "sk-abc")
        XCTAssertThrowsError(try RemoteOptions.apiKey(fromEnvironment: "K", environment: ["K": ""])) {
            XCTAssertTrue("\($0)".contains("K"))
        }
        XCTAssertEqual(Redactor(secret: "sk-abc")("bad key sk-abc!"), "bad key [redacted]!")
    }

    func testBackoffGrowsAndIsCapped() {
        let client = OpenAIClient(options: RemoteOptions(baseURL: URL(string: "http://127.0.0.1:1")!, initialBackoff: 0.5, maxBackoff: 4))
        for attempt in 1...8 {
            let b = client.backoff(attempt: attempt, retryAfter: nil)
            XCTAssertLessThanOrEqual(b, 4)
            XCTAssertGreaterThanOrEqual(b, min(4, 0.5 * pow(2, Double(attempt - 1))) * 0.75 - 1e-9)
        }
        XCTAssertEqual(client.backoff(attempt: 1, retryAfter: 3), 3)
        XCTAssertEqual(client.backoff(attempt: 1, retryAfter: 100), 4)
    }

    /// Remote and native runs must score the same token sequences.
    func testRequestEncoderMatchesNativeBackend() throws {
        for name in ["llama-tiny", "gpt2-tiny"] {
            let native = try NativeBackend.load(model: Fixtures.model(name), adapter: nil, unmerged: false)
            let encoder = try RequestEncoder.load(directory: Fixtures.model(name))
            XCTAssertEqual(encoder.prefixToken, native.prefixToken, name)
            for (c, k) in [("Question: Why?\nAnswer:", " Because"), ("A man is ", "running."), ("", "Hello world"), ("<s> x", " y")] {
                let a = native.encodePair(context: c, continuation: k), b = encoder.encodePair(context: c, continuation: k)
                XCTAssertEqual(a.context, b.context, "\(name) \(c)")
                XCTAssertEqual(a.continuation, b.continuation, "\(name) \(c)")
            }
        }
        XCTAssertEqual(RequestEncoder.maxLength(directory: Fixtures.model("llama-tiny")), 128)
    }
}
