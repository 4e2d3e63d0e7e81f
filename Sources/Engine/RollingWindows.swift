/// lm-evaluation-harness's loglikelihood_rolling: the text's tokens are split into disjoint
/// windows of at most maxLength predictions; the first window is conditioned on a prefix token
/// (BOS, or EOS when there is none), later windows on the tokens before them.
public enum RollingWindows {
    /// lm_eval.utils.get_rolling_token_windows: (inputs, predicted tokens) pairs.
    public static func windows(tokens: [Int], prefixToken: Int, maxSequenceLength: Int, contextLength: Int = 1)
        -> [(input: [Int], predicted: [Int])] {
        precondition(1 <= contextLength && contextLength <= maxSequenceLength)
        guard !tokens.isEmpty else { return [] }
        var out: [(input: [Int], predicted: [Int])] = []
        let predictionLength = maxSequenceLength - contextLength + 1
        let firstLength = min(maxSequenceLength, tokens.count)
        out.append(([prefixToken] + tokens[0..<(firstLength - 1)], Array(tokens[0..<firstLength])))
        var predicted = firstLength
        while predicted < tokens.count {
            let windowPredicted = min(tokens.count - predicted, predictionLength)
            let windowEnd = predicted + windowPredicted
            // Python slices clamp a negative start at the beginning of the list.
            let inputStart = max(0, windowEnd - maxSequenceLength - 1)
            out.append((Array(tokens[inputStart..<(windowEnd - 1)]), Array(tokens[(windowEnd - windowPredicted)..<windowEnd])))
            predicted += windowPredicted
        }
        return out
    }

    /// lm_eval.utils.make_disjoint_window: (context, continuation) without overlap.
    public static func disjoint(_ window: (input: [Int], predicted: [Int])) -> (context: [Int], continuation: [Int]) {
        let a = window.input, b = window.predicted
        return (Array(a[0..<(a.count - (b.count - 1))]), b)
    }
}

extension LanguageModel {
    /// Rolling log-likelihood of a whole text's tokens (lm-eval loglikelihood_rolling): the sum over
    /// disjoint windows, every token predicted exactly once. `prefixToken`: BOS, else EOS.
    public func loglikelihoodRolling(_ tokens: [Int], prefixToken: Int, maxLength: Int? = nil,
                                     options: ScoringOptions = ScoringOptions(sharePrefixes: false)) throws -> LoglikelihoodResult {
        let windows = RollingWindows.windows(tokens: tokens, prefixToken: prefixToken,
                                             maxSequenceLength: min(maxLength ?? self.maxLength, self.maxLength))
        let requests = windows.map(RollingWindows.disjoint).map { LoglikelihoodRequest(context: $0.context, continuation: $0.continuation) }
        let results = try loglikelihood(requests, options: options)
        let lps = results.flatMap(\.tokenLogProbs)
        return LoglikelihoodResult(logLikelihood: lps.reduce(0, +), isGreedy: results.allSatisfy(\.isGreedy), tokenLogProbs: lps)
    }
}
