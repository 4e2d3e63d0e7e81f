/// The result of greedy generation.
public struct Generation: Sendable, Equatable {
    /// Generated token ids (up to and including the token that completed a stop sequence or EOS).
    public var tokens: [Int]
    /// Decoded text of `tokens`, cut before the first stop sequence (lm-eval's `until`).
    public var text: String
    public enum StopReason: Sendable, Equatable { case stopSequence, endOfText, maxTokens, contextFull }
    public var stopReason: StopReason
    /// With `recordEntropy`: the entropy (nats) of the model's next-token distribution at each step.
    public var entropies: [Double] = []
}

/// One prompt to continue greedily.
public struct GenerationPrompt: Sendable {
    public var prompt: [Int]
    public var maxTokens: Int
    public var stopSequences: [String]
    /// nil: greedy. Otherwise sampled with its own stream from `seed` (see Sampling.swift).
    public var sampling: SamplingSettings?
    public var seed: UInt64 = 0
    public var recordEntropy = false
    public init(prompt: [Int], maxTokens: Int, stopSequences: [String] = []) {
        self.prompt = prompt
        self.maxTokens = maxTokens
        self.stopSequences = stopSequences
    }
}

extension LanguageModel {
    /// Greedy decoding with a KV cache. The prompt is left-truncated to maxLength - maxTokens tokens
    /// (as lm-eval does); generation stops at an EOS id, after `maxTokens`, at the end of the
    /// position table, or once the decoded text contains a stop sequence.
    public func generate(prompt: [Int], maxTokens: Int, stopSequences: [String] = [], eosTokenIds: [Int]? = nil,
                         decode: ([Int]) -> String) throws -> Generation {
        try generate([GenerationPrompt(prompt: prompt, maxTokens: maxTokens, stopSequences: stopSequences)],
                     eosTokenIds: eosTokenIds, decode: decode)[0]
    }

    /// Greedy decoding of several prompts side by side: their prompts are read in shared forward
    /// passes (at most `tokensPerForward` rows each), then every step feeds one token of each
    /// unfinished sequence through one forward pass, so the weights are read once per step for
    /// all of them instead of once per sequence. Each sequence stops by the rules of
    /// `generate(prompt:...)`, independently of the others.
    public func generate(_ prompts: [GenerationPrompt], eosTokenIds: [Int]? = nil, tokensPerForward: Int = 1024,
                         cacheBytes: Int = 1 << 31, decode: ([Int]) -> String) throws -> [Generation] {
        // The sequences decoded together hold at most `cacheBytes` of KV cache (float32 K and V
        // per layer, KV head and position), whatever the batch size asked for.
        let bytesPerPosition = config.layerCount * 2 * config.kvHeadCount * config.headDim * MemoryLayout<Float>.size
        var out: [Generation] = []
        var group: [GenerationPrompt] = [], groupBytes = 0
        for p in prompts {
            let bytes = min(maxLength, p.prompt.count + max(0, p.maxTokens)) * bytesPerPosition
            if !group.isEmpty && groupBytes + bytes > cacheBytes {
                out += try generateTogether(group, eosTokenIds: eosTokenIds, tokensPerForward: tokensPerForward, decode: decode)
                group = []
                groupBytes = 0
            }
            group.append(p)
            groupBytes += bytes
        }
        if !group.isEmpty { out += try generateTogether(group, eosTokenIds: eosTokenIds, tokensPerForward: tokensPerForward, decode: decode) }
        return out
    }

    private func generateTogether(_ prompts: [GenerationPrompt], eosTokenIds: [Int]?, tokensPerForward: Int,
                                  decode: ([Int]) -> String) throws -> [Generation] {
        final class Sequence {
            let cache: KVCache
            let maxTokens: Int
            let stops: [String]
            var next: [Int]
            var generated: [Int] = []
            var result: Generation?
            var sampler: TokenSampler?
            var recordEntropy = false
            var entropies: [Double] = []
            init(cache: KVCache, context: [Int], maxTokens: Int, stops: [String]) {
                self.cache = cache
                self.next = context
                self.maxTokens = maxTokens
                self.stops = stops
            }
        }
        let eos = Set(eosTokenIds ?? config.eosTokenIds)
        var results = [Generation?](repeating: nil, count: prompts.count)
        var active: [(index: Int, seq: Sequence)] = []
        for (i, p) in prompts.enumerated() {
            guard p.maxTokens > 0 else { results[i] = Generation(tokens: [], text: "", stopReason: .maxTokens); continue }
            guard !p.prompt.isEmpty else { throw EngineError("generation needs at least one prompt token (BOS)") }
            try checkTokens(p.prompt)
            let context = Array(p.prompt.suffix(max(1, maxLength - p.maxTokens)))
            let cache = transformer.makeCache(capacity: min(maxLength, context.count + p.maxTokens))
            let seq = Sequence(cache: cache, context: context, maxTokens: p.maxTokens, stops: p.stopSequences.filter { !$0.isEmpty })
            seq.sampler = p.sampling.map { TokenSampler(settings: $0, seed: p.seed) }
            seq.recordEntropy = p.recordEntropy
            active.append((i, seq))
        }
        while !active.isEmpty {
            // One step for every unfinished sequence; long prompts are split over forward passes.
            var start = 0
            while start < active.count {
                var end = start, rows = 0
                while end < active.count && (end == start || rows + active[end].seq.next.count <= tokensPerForward) {
                    rows += active[end].seq.next.count
                    end += 1
                }
                let part = active[start..<end]
                var tokens: [Int] = [], outputRows: [Int] = []
                for (_, seq) in part {
                    tokens += seq.next
                    outputRows.append(tokens.count - 1)
                }
                let logits = transformer.forward(tokens: tokens, batch: Batch(part.map { ($0.seq.cache, $0.seq.next.count) }), outputRows: outputRows)
                for (k, (_, seq)) in part.enumerated() {
                    let row = logits.pointer + k * vocabSize
                    if seq.recordEntropy { seq.entropies.append(NextTokenEntropy.nats(row, count: vocabSize)) }
                    let token: Int
                    let (lse, argmax) = Kernels.logSumExp(row, count: vocabSize)
                    guard lse.isFinite else { throw nonFinite.error(at: "generation step \(seq.generated.count + 1)") }
                    if seq.sampler != nil { token = seq.sampler!.choose(row, count: vocabSize) } else { token = argmax }
                    seq.generated.append(token)
                    seq.next = [token]
                    if eos.contains(token) {
                        seq.result = Generation(tokens: seq.generated, text: decode(Array(seq.generated.dropLast())), stopReason: .endOfText)
                    } else if !seq.stops.isEmpty, let cut = Self.cutAtStop(decode(seq.generated), seq.stops) {
                        seq.result = Generation(tokens: seq.generated, text: cut, stopReason: .stopSequence)
                    } else if seq.generated.count >= seq.maxTokens {
                        seq.result = Generation(tokens: seq.generated, text: decode(seq.generated), stopReason: .maxTokens)
                    } else if seq.cache.count >= seq.cache.capacity {
                        seq.result = Generation(tokens: seq.generated, text: decode(seq.generated), stopReason: .contextFull)
                    }
                }
                start = end
            }
            for (i, seq) in active where seq.result != nil {
                results[i] = seq.result
                results[i]!.entropies = seq.entropies
            }
            active.removeAll { $0.seq.result != nil }
        }
        return results.map { $0! }
    }

    /// The text before the earliest occurrence of any stop sequence, or nil if none occurs.
    static func cutAtStop(_ text: String, _ stops: [String]) -> String? {
        var earliest: String.Index? = nil
        for s in stops {
            if let r = text.range(of: s), earliest == nil || r.lowerBound < earliest! { earliest = r.lowerBound }
        }
        return earliest.map { String(text[..<$0]) }
    }
}
