import Engine
import Foundation
import Tokenizers

/// Scores through an OpenAI-compatible /v1/completions server (vLLM, llama-cpp-python, ...):
/// the evaluator's second backend. Requests are tokenized locally exactly as NativeBackend does
/// (lm-eval's _encode_pair), then
/// - `tokens` form: the token ids are sent (lm-eval's local-completions: echo, logprobs 1,
///   max_tokens 1, temperature 0), so context/continuation boundaries are exact;
/// - `text` form (servers that take only text): the text is sent and the echoed tokens are
///   checked against ours, token by token; any disagreement is an error, never a silent shift.
/// Log-probs come from echo (OpenAI legacy) or vLLM's prompt_logprobs. At most
/// options.concurrency requests are in flight; failures are retried by OpenAIClient.
public final class RemoteBackend: EvaluationBackend, Sendable {
    /// The prompt and log-probs forms in use (decided by `connect`'s probe when `auto`).
    public struct Protocol_: Sendable, Equatable, CustomStringConvertible {
        public var prompt: RemoteOptions.PromptForm
        public var logprobs: RemoteOptions.LogprobsForm
        public var description: String { "prompt=\(prompt.rawValue) logprobs=\(logprobs.rawValue)" }
    }

    public let name: String
    public let options: RemoteOptions
    public let encoder: RequestEncoder
    /// The `model` field sent (nil: omitted).
    public let servedModel: String?
    /// The server's /v1/models entry for it (nil: the server has no /v1/models).
    public let modelEntry: JSONValue?
    public let form: Protocol_
    /// lm-eval's max_length: inputs are (context + continuation)[-(maxLength + 1):] (nil: no truncation).
    public let maxLength: Int?
    let client: OpenAIClient

    init(name: String, options: RemoteOptions, encoder: RequestEncoder, servedModel: String?, modelEntry: JSONValue?,
         form: Protocol_, maxLength: Int?, client: OpenAIClient) {
        self.name = name
        self.options = options
        self.encoder = encoder
        self.servedModel = servedModel
        self.modelEntry = modelEntry
        self.form = form
        self.maxLength = maxLength
        self.client = client
    }

    /// Loads the tokenizer of `modelDirectory` (tokenizer.json; config.json for the context
    /// length), asks the server which models it serves, and probes which prompt / log-probs
    /// forms it accepts, checking on a probe sentence that its tokens match ours.
    public static func connect(modelDirectory: String, options: RemoteOptions, maxLength: Int? = nil) throws -> RemoteBackend {
        let encoder = try RequestEncoder.load(directory: modelDirectory)
        let length = maxLength ?? RequestEncoder.maxLength(directory: modelDirectory)
        return try BoundedConcurrency.blocking(counter: ProgressCounter(), progress: { _ in }) {
            try await connect(encoder: encoder, options: options, maxLength: length)
        }
    }

    public static func connect(encoder: RequestEncoder, options: RemoteOptions, maxLength: Int?) async throws -> RemoteBackend {
        let client = OpenAIClient(options: options)
        let (served, entry) = try await resolveModel(client: client, options: options)
        let name = "openai-completions \(options.displayURL)" + (served.map { " model=\($0)" } ?? "")
        let prompts: [RemoteOptions.PromptForm] = options.promptForm == .auto ? [.tokens, .text] : [options.promptForm]
        let logprobs: [RemoteOptions.LogprobsForm] = options.logprobsForm == .auto ? [.echo, .promptLogprobs] : [options.logprobsForm]
        var refusals: [String] = []
        for p in prompts {
            for l in logprobs {
                // prompt_logprobs answers in token ids: it needs token-id prompts
                if p == .text && l == .promptLogprobs && logprobs.count > 1 { continue }
                let candidate = RemoteBackend(name: name, options: options, encoder: encoder, servedModel: served,
                                              modelEntry: entry, form: Protocol_(prompt: p, logprobs: l), maxLength: maxLength, client: client)
                do {
                    try await candidate.probe()
                    return candidate
                } catch let e as RemoteError where e.kind == .rejected && (e.status == nil || [400, 422, 500].contains(e.status!))
                                                    && (prompts.count > 1 || logprobs.count > 1) {
                    // 400/422 (or an error object): the server refused this form; auth, 404 and
                    // others are not a question of form and end the probe at once
                    refusals.append("\(candidate.form): \(e.description)")
                }
            }
        }
        throw RemoteError(.rejected, "\(options.displayURL) accepted none of the request forms tried:\n  " + refusals.joined(separator: "\n  "))
    }

    /// The served model to name in requests: --served-model if the server lists it, else the only
    /// model listed. Servers without /v1/models get the option as given.
    static func resolveModel(client: OpenAIClient, options: RemoteOptions) async throws -> (String?, JSONValue?) {
        let listing: JSONValue
        do {
            listing = try await client.get("models")
        } catch let e as RemoteError where e.kind == .rejected && e.status == 404 {
            return (options.servedModel, nil)
        }
        let entries = listing["data"]?.arrayValue ?? []
        let ids = entries.compactMap { $0["id"]?.stringValue }
        func entry(_ id: String?) -> JSONValue? { entries.first { $0["id"]?.stringValue == id } }
        if let wanted = options.servedModel {
            guard ids.isEmpty || ids.contains(wanted) else {
                throw RemoteError.configuration("--served-model \(wanted): \(options.displayURL) serves \(ids.map { "'\($0)'" }.joined(separator: ", ")); a LoRA variant must be registered when the server starts (vLLM: --enable-lora --lora-modules \(wanted)=PATH)")
            }
            return (wanted, entry(wanted))
        }
        if ids.count > 1 {
            throw RemoteError.configuration("\(options.displayURL) serves several models (\(ids.map { "'\($0)'" }.joined(separator: ", "))): choose one with --served-model NAME")
        }
        return (ids.first, entry(ids.first))
    }

    /// What identifies the scored model, for the results store's fingerprint: the served name,
    /// the stable fields of the server's /v1/models entry (vLLM's root path, parent model and
    /// max_model_len; never `created`, which is the time of the request, or permissions), and
    /// the local tokenization (tokenizer.json's content, BOS/EOS and the context length), which
    /// decides every request's tokens.
    public var identity: String {
        var parts = ["served=\(servedModel ?? "")"]
        if case .object(let o)? = modelEntry {
            for key in ["id", "object", "owned_by", "root", "parent", "max_model_len"] {
                if let v = o[key], v != .null { parts.append("\(key)=\(v.serialized())") }
            }
        }
        parts.append("tokenizer=\(encoder.contentHash)")
        parts.append("bos=\(encoder.bosToken.map(String.init) ?? "-") eos=\(encoder.eosToken.map(String.init) ?? "-") max_length=\(maxLength.map(String.init) ?? "-")")
        return parts.joined(separator: "|")
    }

    /// Scores a fixed sentence: the server must accept this form and its tokens must match ours.
    func probe() async throws {
        let (ctx, cont) = encoder.encodePair(context: "The quick brown fox", continuation: " jumps over the lazy dog.")
        _ = try await score(ctx + cont, contextLength: ctx.count, text: "The quick brown fox jumps over the lazy dog.", label: "probe request", probing: true)
    }

    // MARK: EvaluationBackend

    public func loglikelihood(_ requests: [ScoringRequest], progress: (Int) -> Void) throws -> [LoglikelihoodOutcome] {
        var jobs: [(ids: [Int], contextLength: Int, text: String, continuationTokens: Int)] = []
        for (i, r) in requests.enumerated() {
            let (ctx, cont) = encoder.encodePair(context: r.context, continuation: r.continuation)
            guard !cont.isEmpty else {
                throw EvaluationError("request \(i) (\(TemplateError.show(r.continuation))): the continuation is empty after tokenization")
            }
            if let maxLength, cont.count > maxLength {
                throw EvaluationError("a continuation of \(cont.count) tokens is longer than the model's \(maxLength) positions (request \(TemplateError.show(r.continuation))); lm-eval refuses it too")
            }
            let (ids, contextLength) = truncate(ctx, cont)
            jobs.append((ids, contextLength, r.context + r.continuation, cont.count))
        }
        let counter = ProgressCounter()
        let scores = try BoundedConcurrency.blocking(counter: counter, progress: progress) { [self, jobs] in
            try await BoundedConcurrency.map(jobs.count, limit: options.concurrency, counter: counter) { i in
                let job = jobs[i]
                return try await self.score(job.ids, contextLength: job.contextLength, text: job.text, label: "request \(i + 1) of \(jobs.count)")
            }
        }
        return zip(scores, jobs).map { LoglikelihoodOutcome(logLikelihood: $0.0.logLikelihood, isGreedy: $0.0.isGreedy, tokenCount: $0.1.continuationTokens) }
    }

    public func loglikelihoodRolling(_ texts: [String], progress: (Int) -> Void) throws -> [Double] {
        guard form.prompt == .tokens else {
            throw EvaluationError("loglikelihood_rolling needs a server that takes token-id prompts (e.g. vLLM): over a text-only server the first token of each window cannot be scored exactly (\(options.displayURL) uses \(form))")
        }
        // every window of every text is one request; sums per text afterwards
        var windows: [(text: Int, ids: [Int], contextLength: Int)] = []
        for (t, text) in texts.enumerated() {
            let tokens = encoder.encode(text)
            for w in RollingWindows.windows(tokens: tokens, prefixToken: encoder.prefixToken, maxSequenceLength: maxLength ?? max(tokens.count, 1)) {
                let (ctx, cont) = RollingWindows.disjoint(w)
                windows.append((t, ctx + cont, ctx.count))
            }
        }
        let counter = ProgressCounter()
        let scores = try BoundedConcurrency.blocking(counter: counter, progress: { _ in }) { [self, windows] in
            try await BoundedConcurrency.map(windows.count, limit: options.concurrency, counter: counter) { i in
                try await self.score(windows[i].ids, contextLength: windows[i].contextLength, text: nil, label: "rolling window \(i + 1) of \(windows.count)")
            }
        }
        var sums = [Double](repeating: 0, count: texts.count)
        for (w, s) in zip(windows, scores) { sums[w.text] += s.logLikelihood }
        progress(texts.count)
        return sums
    }

    public func generate(_ requests: [GenerationRequest], progress: (Int) -> Void) throws -> [String] {
        let counter = ProgressCounter()
        return try BoundedConcurrency.blocking(counter: counter, progress: progress) { [self] in
            try await BoundedConcurrency.map(requests.count, limit: options.concurrency, counter: counter) { i in
                try await self.generate(requests[i], label: "generation \(i + 1) of \(requests.count)")
            }
        }
    }

    // MARK: requests

    /// lm-eval (HF) truncation: the scored sequence is (context + continuation)[-(maxLength + 1):]
    /// (maxLength inputs, the last token only predicted), so remote and native runs score the
    /// same tokens under the same conditioning.
    func truncate(_ ctx: [Int], _ cont: [Int]) -> (ids: [Int], contextLength: Int) {
        let whole = ctx + cont
        guard let maxLength, whole.count > maxLength + 1 else { return (whole, ctx.count) }
        return (Array(whole.suffix(maxLength + 1)), maxLength + 1 - cont.count)
    }

    /// A sampled request's OpenAI fields: temperature, top_p, top_k (vLLM's and llama.cpp's
    /// extension), n = 1 and the sample's own seed, so each (document, repeat) is one request whose
    /// text depends on its seed alone, as natively (a server that ignores `seed` is not reproducible).
    static func samplingFields(_ r: GenerationRequest) -> JSONObject {
        guard let s = r.sampling else { return JSONObject() }
        var o = JSONObject()
        o["temperature"] = .double(s.temperature)
        o["top_p"] = .double(s.topP ?? 1)
        if let k = s.topK { o["top_k"] = .int(k) }
        o["n"] = .int(1)
        o["seed"] = .int(Int(r.seed >> 1))  // servers take a signed 64-bit seed
        return o
    }

    func baseBody() -> JSONObject {
        var body = JSONObject()
        if let servedModel { body["model"] = .string(servedModel) }
        body["temperature"] = .int(0)
        return body
    }

    /// Sum of log p(ids[k]) for k in contextLength..<ids.count, and whether each was the argmax.
    func score(_ ids: [Int], contextLength: Int, text: String?, label: String, probing: Bool = false) async throws -> (logLikelihood: Double, isGreedy: Bool) {
        var body = baseBody()
        body["max_tokens"] = .int(1)
        let where_ = "\(label) (\(options.displayURL), \(form))"
        switch form.prompt {
        case .tokens, .auto:
            body["prompt"] = .array(ids.map { .int($0) })
        case .text:
            body["prompt"] = .string(try textPrompt(ids, given: text, label: where_))
        }
        switch form.logprobs {
        case .echo, .auto:
            body["echo"] = .bool(true)
            body["logprobs"] = .int(1)
        case .promptLogprobs:
            body["prompt_logprobs"] = .int(1)
        }
        let response = try await client.post("completions", .object(body), probing: probing)
        let parsed: PromptLogprobs
        if form.logprobs == .promptLogprobs {
            parsed = try CompletionResponse.promptLogprobs(response, promptIDs: ids, context: where_)
        } else {
            parsed = try CompletionResponse.echoed(response, context: where_)
        }
        let first = try align(parsed, ids: ids, contextLength: contextLength, label: where_)
        var sum = 0.0, greedy = true
        for k in contextLength..<ids.count {
            let t = parsed.tokens[first + (k - contextLength)]
            guard let lp = t.logprob else {
                throw RemoteError(.malformed, "\(where_): the server returned no log-prob for prompt token \(k) (id \(ids[k]))")
            }
            sum += lp
            if t.isTop != true { greedy = false }
        }
        return (sum, greedy)
    }

    /// Index in `parsed.tokens` of the first continuation token, after checking that the
    /// server's prompt tokens are ours.
    func align(_ parsed: PromptLogprobs, ids: [Int], contextLength: Int, label: String) throws -> Int {
        let n = ids.count, m = parsed.tokens.count
        // prompt_logprobs: exactly the prompt; echo: the prompt, then 0 or 1 generated tokens
        // (none when the model stopped at EOS at once)
        let shift: Int
        if form.prompt == .text {
            // llama-cpp-python adds BOS itself and leaves it out of the echo
            shift = ids.first == encoder.bosToken ? 1 : 0
        } else {
            shift = 0
        }
        let expected = n - shift
        guard m == expected || (form.logprobs != .promptLogprobs && m == expected + 1) else {
            throw RemoteError(form.prompt == .text ? .tokenMismatch : .malformed,
                              "\(label): the server echoed \(m) tokens for a prompt of \(expected) tokens (ours: \(n) with BOS) — " +
                              (form.prompt == .text ? "its tokenizer does not reproduce the model's tokenizer.json; use a server that takes token ids, or serve a GGUF converted from this model's tokenizer" : "the server altered the prompt"))
        }
        if form.prompt == .text {
            for k in 0..<expected {
                guard let theirs = parsed.tokens[k].text else { continue }
                let ours = encoder.tokenizer.decode([ids[k + shift]])
                if Self.comparable(theirs) != Self.comparable(ours) {
                    throw RemoteError(.tokenMismatch, "\(label): the server's token \(k) is \(TemplateError.show(theirs)) where the model's tokenizer has \(TemplateError.show(ours)) (id \(ids[k + shift])): its tokenizer does not reproduce tokenizer.json, so the continuation cannot be located exactly")
                }
            }
        } else if form.logprobs == .echo {
            // token-id prompts: the echoed text must at least agree with our pieces
            for k in 0..<min(n, m) {
                guard let theirs = parsed.tokens[k].text else { continue }
                if Self.comparable(theirs) != Self.comparable(encoder.tokenizer.decode([ids[k]])) && !Self.comparable(theirs).isEmpty {
                    throw RemoteError(.tokenMismatch, "\(label): the server echoed token \(k) as \(TemplateError.show(theirs)) but id \(ids[k]) is \(TemplateError.show(encoder.tokenizer.decode([ids[k]]))) in tokenizer.json: the server's model has a different vocabulary")
                }
            }
        }
        let first = contextLength - shift
        guard first >= 1 else {
            throw RemoteError(.malformed, "\(label): the continuation starts at the first echoed token, which the server does not score (empty context over a text-only server)")
        }
        return first
    }

    /// A token's text for comparison across decoders: SentencePiece "▁", whitespace, and
    /// replacement characters from partial UTF-8 bytes differ between tokenizer libraries
    /// without meaning a different token.
    static func comparable(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.filter { !$0.properties.isWhitespace && $0 != "\u{2581}" && $0 != "\u{FFFD}" }))
    }

    /// The prompt text for a text-only server: the request's text, or (after truncation, rolling)
    /// the decoded tokens. Prompts must start with BOS: llama-cpp-python pairs the echoed tokens
    /// with the wrong logits rows when they do not.
    func textPrompt(_ ids: [Int], given: String?, label: String) throws -> String {
        if let maxLength, ids.count == maxLength + 1, encoder.encode(given ?? "").count > ids.count {
            throw EvaluationError("\(label): the request is longer than the model's \(maxLength) positions; lm-eval left-truncates it to the last \(maxLength + 1) tokens, which a text-only server (which adds BOS and tokenizes itself) cannot reproduce exactly. Use a server that takes token ids (vLLM), or tasks that fit the context")
        }
        guard let bos = encoder.bosToken, ids.first == bos else {
            throw EvaluationError("\(label): this model's prompts do not start with a BOS token; over a text-only server (llama-cpp-python) the echoed log-probs are then shifted by one token. Use a server that takes token ids (vLLM) for this model")
        }
        if let given, encoder.encode(given) == ids { return given }
        return encoder.tokenizer.decode(Array(ids.dropFirst()))
    }

    func generate(_ r: GenerationRequest, label: String) async throws -> String {
        var body = baseBody()
        var prompt = encoder.encode(r.context)
        if let maxLength, prompt.count > maxLength - r.maxTokens { prompt = Array(prompt.suffix(max(1, maxLength - r.maxTokens))) }
        switch form.prompt {
        case .tokens, .auto: body["prompt"] = .array(prompt.map { .int($0) })
        case .text: body["prompt"] = .string(r.context)
        }
        body["max_tokens"] = .int(r.maxTokens)
        for (k, v) in Self.samplingFields(r).pairs { body[k] = v }
        let stops = r.until.filter { !$0.isEmpty }
        if !stops.isEmpty { body["stop"] = .array(stops.prefix(4).map { .string($0) }) }
        let response = try await client.post("completions", .object(body))
        var text = try CompletionResponse.text(response, context: "\(label) (\(options.displayURL))")
        // HF decodes the generated ids alone: SentencePiece-style decoders then drop the first
        // token's leading space (lm-eval HF and NativeBackend see "A", servers send " A")
        if encoder.decoderStripsLeadingSpace, text.hasPrefix(" ") { text.removeFirst() }
        // lm-eval: s = s.split(term)[0] for every term (servers take at most 4 stop sequences)
        for term in r.until where !term.isEmpty {
            if let range = text.range(of: term) { text = String(text[..<range.lowerBound]) }
        }
        return text
    }
}
