/// The result of greedy generation.
public struct Generation: Sendable, Equatable {
    /// Generated token ids (up to and including the token that completed a stop sequence or EOS).
    public var tokens: [Int]
    /// Decoded text of `tokens`, cut before the first stop sequence (lm-eval's `until`).
    public var text: String
    public enum StopReason: Sendable, Equatable { case stopSequence, endOfText, maxTokens, contextFull }
    public var stopReason: StopReason
}

extension LanguageModel {
    /// Greedy decoding with a KV cache. The prompt is left-truncated to maxLength - maxTokens tokens
    /// (as lm-eval does); generation stops at an EOS id, after `maxTokens`, at the end of the
    /// position table, or once the decoded text contains a stop sequence.
    public func generate(prompt: [Int], maxTokens: Int, stopSequences: [String] = [], eosTokenIds: [Int]? = nil,
                         decode: ([Int]) -> String) throws -> Generation {
        guard maxTokens > 0 else { return Generation(tokens: [], text: "", stopReason: .maxTokens) }
        guard !prompt.isEmpty else { throw EngineError("generation needs at least one prompt token (BOS)") }
        try checkTokens(prompt)
        let keep = max(1, maxLength - maxTokens)
        let context = Array(prompt.suffix(keep))
        let eos = Set(eosTokenIds ?? config.eosTokenIds)
        let cache = transformer.makeCache(capacity: min(maxLength, context.count + maxTokens))
        var next = context
        var generated: [Int] = []
        let stops = stopSequences.filter { !$0.isEmpty }
        while true {
            let logits = transformer.forward(tokens: next, batch: Batch([(cache, next.count)]), outputRows: [next.count - 1])
            let (_, token) = Kernels.logSumExp(logits.pointer, count: vocabSize)
            generated.append(token)
            if eos.contains(token) {
                return Generation(tokens: generated, text: decode(Array(generated.dropLast())), stopReason: .endOfText)
            }
            if !stops.isEmpty {
                let text = decode(generated)
                if let cut = Self.cutAtStop(text, stops) {
                    return Generation(tokens: generated, text: cut, stopReason: .stopSequence)
                }
            }
            if generated.count >= maxTokens {
                return Generation(tokens: generated, text: decode(generated), stopReason: .maxTokens)
            }
            if cache.count >= cache.capacity {
                return Generation(tokens: generated, text: decode(generated), stopReason: .contextFull)
            }
            next = [token]
        }
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
