import Checkpoints
import Engine
import Foundation
import Tokenizers

/// A generation request in text form (lm-eval's generate_until arguments).
public struct GenerationRequest: Sendable, Equatable {
    public var context: String
    public var until: [String]
    public var maxTokens: Int
    /// nil: greedy. Otherwise sampled from its own stream, seeded by `seed` alone.
    public var sampling: SamplingSettings?
    public var seed: UInt64 = 0
    /// Also return the entropy of the model's next-token distribution at each step.
    public var recordEntropy = false
    public init(context: String, until: [String], maxTokens: Int) {
        self.context = context
        self.until = until
        self.maxTokens = maxTokens
    }
}

/// A loglikelihood request tagged with the group it belongs to (the document), so a scheduler can
/// keep a question's choices together and share their prefix.
public struct ScoringRequest: Sendable, Equatable {
    public var context: String
    public var continuation: String
    public var group: Int
    public init(context: String, continuation: String, group: Int) {
        self.context = context
        self.continuation = continuation
        self.group = group
    }
}

/// Where scores come from. Text in, numbers out, so a remote OpenAI-compatible completions
/// server can implement it as well as the in-process engine. `progress(done)` counts requests.
public protocol EvaluationBackend: AnyObject {
    /// Shown in results.json's config.model.
    var name: String { get }
    func loglikelihood(_ requests: [ScoringRequest], progress: (Int) -> Void) throws -> [LoglikelihoodOutcome]
    /// Sum of log-probs of each whole text (lm-eval loglikelihood_rolling).
    func loglikelihoodRolling(_ texts: [String], progress: (Int) -> Void) throws -> [Double]
    /// Greedy continuations, cut at the first stop sequence.
    func generate(_ requests: [GenerationRequest], progress: (Int) -> Void) throws -> [String]
}

/// A generation with what diversity measures need.
public struct GeneratedText: Sendable, Equatable {
    public var text: String
    /// Entropy (nats) of the next-token distribution at each generated step (when recorded).
    public var entropies: [Double]
    public init(text: String, entropies: [Double] = []) {
        self.text = text
        self.entropies = entropies
    }
}

/// A backend that samples (and may record entropies): the native engine, a server, the store's cache.
public protocol SamplingBackend: EvaluationBackend {
    func generateDetailed(_ requests: [GenerationRequest], progress: (Int) -> Void) throws -> [GeneratedText]
}

extension RemoteBackend: SamplingBackend {
    /// The server samples (samplingFields); entropies would need whole next-token distributions.
    public func generateDetailed(_ requests: [GenerationRequest], progress: (Int) -> Void) throws -> [GeneratedText] {
        if requests.contains(where: \.recordEntropy) {
            throw EvaluationError("\(name): token_entropy needs the model's whole next-token distribution at every step, which an OpenAI-compatible server does not return; use the native backend")
        }
        return try generate(requests, progress: progress).map { GeneratedText(text: $0) }
    }
}

extension EvaluationBackend {
    /// Sampled generations; a backend that only decodes greedily answers greedy requests and
    /// refuses the others (never a silent greedy answer to a sampling request).
    public func generateSamples(_ requests: [GenerationRequest], progress: (Int) -> Void) throws -> [GeneratedText] {
        if let sampler = self as? SamplingBackend { return try sampler.generateDetailed(requests, progress: progress) }
        if requests.contains(where: { $0.sampling != nil || $0.recordEntropy }) {
            throw EvaluationError("\(name): this backend decodes greedily only; sampling and token entropies need the native backend")
        }
        return try generate(requests, progress: progress).map { GeneratedText(text: $0) }
    }
}

/// The in-process backend: Engine.LanguageModel + Tokenizers.Tokenizer, tokenizing as lm-eval's
/// HFLM does (api/model.py _encode_pair, models/huggingface.py tok_encode).
public final class NativeBackend: SamplingBackend {
    public let model: LanguageModel
    public let tokenizer: Tokenizer
    public let name: String
    /// lm-eval's request tokenization, shared with the remote backend so both score the same ids.
    public let encoder: RequestEncoder
    /// lm-eval's prefix_token_id: BOS, else EOS.
    public var prefixToken: Int { encoder.prefixToken }
    /// Requests per engine call (the engine bounds each forward pass by tokens on its own).
    public var batchSize: Int
    public var options = ScoringOptions()

    public init(model: LanguageModel, tokenizer: Tokenizer, name: String, bosToken: Int? = nil, eosToken: Int? = nil, batchSize: Int = 64) throws {
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.batchSize = max(1, batchSize)
        guard let prefix = bosToken ?? tokenizer.bosTokenId ?? eosToken ?? tokenizer.eosTokenId ?? model.config.bosTokenId ?? model.config.eosTokenIds.first else {
            throw EvaluationError("the tokenizer has neither a BOS nor an EOS token: cannot score empty contexts or rolling windows")
        }
        encoder = RequestEncoder(tokenizer: tokenizer, bosToken: bosToken ?? tokenizer.bosTokenId,
                                 eosToken: eosToken ?? tokenizer.eosTokenId, prefixToken: prefix)
    }

    /// Loads DIR's tokenizer.json (+ tokenizer_config.json's bos/eos) and the model (+ adapter).
    public static func load(model directory: String, adapter: String?, unmerged: Bool, threads: Int? = nil, batchSize: Int = 64,
                            computeDType: DType? = nil) throws -> NativeBackend {
        let tokURL = URL(fileURLWithPath: directory).appendingPathComponent("tokenizer.json")
        guard FileManager.default.fileExists(atPath: tokURL.path) else {
            throw EvaluationError("\(directory): no tokenizer.json in the model directory")
        }
        let lm = try LanguageModel(directory: directory, adapter: adapter, mode: unmerged ? .unmerged : .merged, threads: threads,
                                   computeDType: computeDType)
        return try load(tokenizer: tokURL, model: lm, name: directory, batchSize: batchSize)
    }

    /// A backend for an already loaded model; reads tokenizer.json and tokenizer_config.json's bos/eos
    /// (HF's bos_token_id comes from there, as lm-eval's prefix_token_id does).
    public static func load(tokenizer tokURL: URL, model lm: LanguageModel, name: String, batchSize: Int = 64) throws -> NativeBackend {
        let tokenizer = try Tokenizer(contentsOf: tokURL)
        let (bos, eos) = RequestEncoder.configuredSpecialTokens(tokenizer: tokenizer, directory: tokURL.deletingLastPathComponent())
        return try NativeBackend(model: lm, tokenizer: tokenizer, name: name, bosToken: bos, eosToken: eos, batchSize: batchSize)
    }

    func encode(_ text: String) -> [Int] { encoder.encode(text) }

    /// lm-eval's _encode_pair (see RequestEncoder).
    public func encodePair(context: String, continuation: String) -> (context: [Int], continuation: [Int]) {
        encoder.encodePair(context: context, continuation: continuation)
    }

    public func loglikelihood(_ requests: [ScoringRequest], progress: (Int) -> Void) throws -> [LoglikelihoodOutcome] {
        let encoded = requests.map { encodePair(context: $0.context, continuation: $0.continuation) }
        for (i, e) in encoded.enumerated() where e.continuation.isEmpty {
            throw EvaluationError("request \(i) (\(TemplateError.show(requests[i].continuation))): the continuation is empty after tokenization")
        }
        for (i, e) in encoded.enumerated() where e.continuation.count > model.maxLength {
            throw EvaluationError("a continuation of \(e.continuation.count) tokens is longer than the model's \(model.maxLength) positions (request \(TemplateError.show(requests[i].continuation))); lm-eval refuses it too")
        }
        let batches = Scheduler.batches(groups: requests.map(\.group), lengths: encoded.map { $0.context.count + $0.continuation.count }, batchSize: batchSize)
        var out = [LoglikelihoodOutcome?](repeating: nil, count: requests.count)
        var done = 0
        for batch in batches {
            let results = try model.loglikelihood(batch.map { LoglikelihoodRequest(context: encoded[$0].context, continuation: encoded[$0].continuation) }, options: options)
            for (i, r) in zip(batch, results) {
                out[i] = LoglikelihoodOutcome(logLikelihood: r.logLikelihood, isGreedy: r.isGreedy, tokenCount: encoded[i].continuation.count)
            }
            done += batch.count
            progress(done)
        }
        return out.map { $0! }
    }

    /// The windows of `batchSize` documents go to the engine together (short documents, like
    /// one-line passages, would otherwise each run a forward pass of a few rows); each document's
    /// log-likelihood is the sum over its own windows, as lm-eval's.
    public func loglikelihoodRolling(_ texts: [String], progress: (Int) -> Void) throws -> [Double] {
        var out = [Double](repeating: 0, count: texts.count)
        let scoring = ScoringOptions(sharePrefixes: false, tokensPerForward: options.tokensPerForward)
        for start in stride(from: 0, to: texts.count, by: batchSize) {
            let end = min(texts.count, start + batchSize)
            var requests: [LoglikelihoodRequest] = [], owners: [Int] = []
            for i in start..<end {
                let tokens = encode(texts[i])  // lm-eval encodes with the tokenizer's special tokens here too
                for w in RollingWindows.windows(tokens: tokens, prefixToken: prefixToken, maxSequenceLength: model.maxLength) {
                    let (context, continuation) = RollingWindows.disjoint(w)
                    requests.append(LoglikelihoodRequest(context: context, continuation: continuation))
                    owners.append(i)
                }
            }
            for (i, r) in zip(owners, try model.loglikelihood(requests, options: scoring)) { out[i] += r.logLikelihood }
            progress(end)
        }
        return out
    }

    /// `batchSize` documents are decoded side by side (LanguageModel.generate(_:)); each one's
    /// text is what decoding it alone gives, up to float32 rounding in near-ties.
    public func generate(_ requests: [GenerationRequest], progress: (Int) -> Void) throws -> [String] {
        try generateDetailed(requests, progress: progress).map(\.text)
    }

    /// Generations with their per-step entropies; each sampled request from its own seed, so a
    /// text does not depend on the batch it was decoded in.
    public func generateDetailed(_ requests: [GenerationRequest], progress: (Int) -> Void) throws -> [GeneratedText] {
        var out: [GeneratedText] = []
        let eosText = tokenizer.decode([model.config.eosTokenIds.first ?? tokenizer.eosTokenId ?? prefixToken])
        let untils = requests.map { r in r.until + (eosText.isEmpty || r.until.contains(eosText) ? [] : [eosText]) }
        for start in stride(from: 0, to: requests.count, by: batchSize) {
            let range = start..<min(requests.count, start + batchSize)
            let prompts = range.map { i -> GenerationPrompt in
                var p = GenerationPrompt(prompt: encode(requests[i].context), maxTokens: requests[i].maxTokens, stopSequences: untils[i])
                p.sampling = requests[i].sampling
                p.seed = requests[i].seed
                p.recordEntropy = requests[i].recordEntropy
                return p
            }
            let generations = try model.generate(prompts, tokensPerForward: options.tokensPerForward,
                                                 decode: { [tokenizer] in tokenizer.decode($0, skipSpecialTokens: true) })
            for (i, g) in zip(range, generations) {
                // lm-eval: s = decode(cont); for term in until: s = s.split(term)[0]
                var text = g.text
                for term in untils[i] where !term.isEmpty {
                    if let r = text.range(of: term) { text = String(text[..<r.lowerBound]) }
                }
                out.append(GeneratedText(text: text, entropies: g.entropies))
            }
            progress(range.upperBound)
        }
        return out
    }
}

/// Orders and batches loglikelihood requests: a document's requests stay together (so the engine
/// shares their common prefix), documents go longest first (lm-eval's order; also the worst
/// memory case first), and batches hold about `batchSize` requests.
enum Scheduler {
    static func batches(groups: [Int], lengths: [Int], batchSize: Int) -> [[Int]] {
        var byGroup: [Int: [Int]] = [:]
        var order: [Int] = []
        for (i, g) in groups.enumerated() {
            if byGroup[g] == nil { order.append(g) }
            byGroup[g, default: []].append(i)
        }
        let longest = order.map { g in byGroup[g]!.map { lengths[$0] }.max()! }
        let sorted = order.indices.sorted { longest[$0] != longest[$1] ? longest[$0] > longest[$1] : $0 < $1 }.map { order[$0] }
        var out: [[Int]] = [], current: [Int] = []
        for g in sorted {
            let members = byGroup[g]!
            if !current.isEmpty && current.count + members.count > batchSize { out.append(current); current = [] }
            current += members
        }
        if !current.isEmpty { out.append(current) }
        return out
    }
}
