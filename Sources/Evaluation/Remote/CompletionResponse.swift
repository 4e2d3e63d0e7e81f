import Foundation

/// Log-probs of a prompt's tokens as a server returned them, in one of two shapes.
struct PromptLogprobs: Sendable, Equatable {
    /// One entry per echoed / scored token, in order.
    struct Token: Sendable, Equatable {
        /// The token's text (echo form) or nil (prompt_logprobs gives ids).
        var text: String?
        /// The token id, when the server says (prompt_logprobs form).
        var id: Int?
        /// log p(token | tokens before it); nil for the first token (nothing conditions it).
        var logprob: Double?
        /// Whether the token is the argmax at its position; nil when the server did not say.
        var isTop: Bool?
        /// Character offset in the echoed text (echo form), when given.
        var textOffset: Int?
    }
    var tokens: [Token]
}

/// Parses /v1/completions responses (OpenAI legacy completions; vLLM and llama.cpp variants).
enum CompletionResponse {
    static func firstChoice(_ body: JSONValue, _ context: @autoclosure () -> String) throws -> JSONObject {
        if case .object(let o) = body, let err = o["error"], err != .null {
            let message = err["message"]?.stringValue ?? err.stringValue ?? err.serialized()
            throw RemoteError(.rejected, "\(context()): the server returned an error: \(message)")
        }
        guard let choices = body["choices"]?.arrayValue, let first = choices.first?.objectValue else {
            throw RemoteError(.malformed, "\(context()): the response has no choices[0] object: \(String(body.serialized().prefix(300)))")
        }
        return first
    }

    /// A log-probability is finite and at most 0. Servers round, so values up to 1e-4 above 0 (a
    /// token of probability 1) pass unchanged; anything else would score silently wrong.
    static func checked(_ v: Double, _ field: String, _ context: String) throws -> Double {
        if v.isNaN { throw RemoteError(.malformed, "\(context): \(field) is NaN, not a log-probability") }
        if v == -.infinity {
            throw RemoteError(.malformed, "\(context): \(field) is -infinity: the server gives the token zero probability "
                + "(a logit bias, grammar or masking in force?), which no loglikelihood can use")
        }
        if v > 1e-4 { throw RemoteError(.malformed, "\(context): \(field) is \(v), above 0: not a log-probability") }
        return v
    }

    /// The generated text of choices[0].
    static func text(_ body: JSONValue, context: @autoclosure () -> String) throws -> String {
        let choice = try firstChoice(body, context())
        guard let text = choice["text"]?.stringValue else {
            throw RemoteError(.malformed, "\(context()): choices[0].text is missing or not a string")
        }
        return text
    }

    /// OpenAI legacy echo form: choices[0].logprobs {tokens, token_logprobs, top_logprobs, text_offset}.
    /// A token is the argmax when its text is the key with the largest value in top_logprobs
    /// (lm-eval's local-completions does the same comparison of strings).
    static func echoed(_ body: JSONValue, context: @autoclosure () -> String) throws -> PromptLogprobs {
        let choice = try firstChoice(body, context())
        guard let logprobs = choice["logprobs"]?.objectValue else {
            throw RemoteError(.malformed, "\(context()): choices[0].logprobs is missing: the server ignored echo/logprobs (llama-cpp-python needs --logits_all true; llama.cpp's llama-server does not support echo)")
        }
        guard let tokens = logprobs["tokens"]?.arrayValue, let lps = logprobs["token_logprobs"]?.arrayValue else {
            throw RemoteError(.malformed, "\(context()): choices[0].logprobs lacks tokens / token_logprobs")
        }
        guard lps.count == tokens.count else {
            throw RemoteError(.malformed, "\(context()): \(tokens.count) tokens but \(lps.count) token_logprobs")
        }
        let tops = logprobs["top_logprobs"]?.arrayValue
        let offsets = logprobs["text_offset"]?.arrayValue
        var out: [PromptLogprobs.Token] = []
        out.reserveCapacity(tokens.count)
        for i in tokens.indices {
            var t = PromptLogprobs.Token()
            t.text = tokens[i].stringValue
            if lps[i] != .null {
                guard let v = lps[i].doubleValue else {
                    throw RemoteError(.malformed, "\(context()): token_logprobs[\(i)] is \(lps[i].typeName), not a number")
                }
                t.logprob = try checked(v, "token_logprobs[\(i)]", context())
            }
            if let tops, i < tops.count, case .object(let top) = tops[i], let text = t.text, !top.keys.isEmpty {
                var best: (key: String, value: Double)? = nil
                for (k, v) in top.pairs {
                    guard let d = v.doubleValue else { continue }
                    if best == nil || d > best!.value { best = (k, d) }
                }
                if let best {
                    // ties: the token counts as greedy if it shares the top value
                    t.isTop = best.key == text || (top[text]?.doubleValue).map { $0 >= best.value } == true
                }
            }
            if let offsets, i < offsets.count { t.textOffset = offsets[i].intValue }
            out.append(t)
        }
        return PromptLogprobs(tokens: out)
    }

    /// vLLM's prompt_logprobs form: choices[0].prompt_logprobs = [null, {"<id>": {logprob, rank,
    /// decoded_token}, ...}, ...], one entry per prompt token; the prompt's own token is always
    /// among the keys; rank 1 is the argmax.
    static func promptLogprobs(_ body: JSONValue, promptIDs: [Int], context: @autoclosure () -> String) throws -> PromptLogprobs {
        let choice = try firstChoice(body, context())
        guard let entries = (choice["prompt_logprobs"] ?? body["prompt_logprobs"])?.arrayValue else {
            throw RemoteError(.malformed, "\(context()): no prompt_logprobs in the response (a vLLM extension; this server may not support it)")
        }
        guard entries.count == promptIDs.count else {
            throw RemoteError(.malformed, "\(context()): \(entries.count) prompt_logprobs entries for \(promptIDs.count) prompt tokens")
        }
        var out: [PromptLogprobs.Token] = []
        for (i, entry) in entries.enumerated() {
            var t = PromptLogprobs.Token(id: promptIDs[i])
            if case .object(let candidates) = entry {
                guard let mine = candidates[String(promptIDs[i])] else {
                    throw RemoteError(.tokenMismatch, "\(context()): prompt_logprobs[\(i)] does not contain the prompt's token \(promptIDs[i])")
                }
                let logprob = mine["logprob"]?.doubleValue ?? mine.doubleValue
                guard let logprob else {
                    throw RemoteError(.malformed, "\(context()): prompt_logprobs[\(i)][\(promptIDs[i])] has no numeric logprob")
                }
                t.logprob = try checked(logprob, "prompt_logprobs[\(i)][\(promptIDs[i])]", context())
                t.text = mine["decoded_token"]?.stringValue
                if let rank = mine["rank"]?.intValue {
                    t.isTop = rank == 1
                } else {
                    let best = candidates.pairs.compactMap { $0.1["logprob"]?.doubleValue ?? $0.1.doubleValue }.max() ?? logprob
                    t.isTop = logprob >= best
                }
            }
            out.append(t)
        }
        return PromptLogprobs(tokens: out)
    }
}

/// Every way the remote backend reads a /v1/completions body, behind one public call, so the
/// `response` fuzz target needs no `@testable import` (release builds compile every product, and
/// a testable import does not build there).
public enum CompletionResponseReaders {
    /// Parses `data` as the remote backend does and runs each reader on it; errors are expected
    /// and ignored, a crash or trap is the bug.
    public static func exercise(_ data: Data, promptIDs: [Int] = [1, 17, 9]) {
        guard let body = try? JSONValue.parse(OpenAIClient.pythonTolerant(data)) else { return }
        _ = try? CompletionResponse.text(body, context: "fuzz")
        _ = try? CompletionResponse.echoed(body, context: "fuzz")
        _ = try? CompletionResponse.promptLogprobs(body, promptIDs: promptIDs, context: "fuzz")
    }
}
