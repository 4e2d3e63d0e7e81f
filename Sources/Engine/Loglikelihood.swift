/// One lm-eval loglikelihood request in token ids: score `continuation` after `context`.
public struct LoglikelihoodRequest: Sendable, Hashable {
    public var context: [Int]
    public var continuation: [Int]
    public init(context: [Int], continuation: [Int]) {
        self.context = context
        self.continuation = continuation
    }
}

/// lm-eval's (loglikelihood, is_greedy) plus the per-token log-probs.
public struct LoglikelihoodResult: Sendable, Equatable {
    /// Sum of the continuation tokens' log-probs.
    public var logLikelihood: Double
    /// Every continuation token is the argmax of its logits.
    public var isGreedy: Bool
    public var tokenLogProbs: [Double]
}

/// Knobs for batched scoring.
public struct ScoringOptions: Sendable {
    /// Requests whose inputs share a prefix (the choices of one question) run it once and copy
    /// its KV cache. Results equal unshared scoring to float32 rounding.
    public var sharePrefixes: Bool = true
    /// Shortest common prefix worth sharing.
    public var minimumSharedPrefix: Int = 4
    /// Rows per forward pass (bounds memory: activations and KV caches scale with it).
    public var tokensPerForward: Int = 1024
    /// Called after each round of forward passes with (requests done, total) for progress bars.
    public var progress: (@Sendable (_ done: Int, _ total: Int) -> Void)?
    public init(sharePrefixes: Bool = true, minimumSharedPrefix: Int = 4, tokensPerForward: Int = 1024,
                progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil) {
        self.sharePrefixes = sharePrefixes
        self.minimumSharedPrefix = minimumSharedPrefix
        self.tokensPerForward = tokensPerForward
        self.progress = progress
    }
}

extension LanguageModel {
    /// Scores each request as lm-evaluation-harness does: inputs are
    /// (context + continuation)[-(maxLength + 1):][:-1], the continuation's log-probs are read from
    /// the last len(continuation) positions. Results come back in request order.
    public func loglikelihood(_ requests: [LoglikelihoodRequest], options: ScoringOptions = ScoringOptions()) throws -> [LoglikelihoodResult] {
        var prepared: [Prepared] = []
        for (i, r) in requests.enumerated() {
            guard !r.continuation.isEmpty else { throw EngineError("request \(i): empty continuation") }
            guard !r.context.isEmpty else {
                throw EngineError("request \(i): empty context; lm-eval scores it after a single BOS/EOS token, pass that as the context")
            }
            guard r.continuation.count <= maxLength else {
                throw EngineError("request \(i): continuation of \(r.continuation.count) tokens exceeds the model's \(maxLength) positions")
            }
            try checkTokens(r.context)
            try checkTokens(r.continuation)
            let whole = r.context + r.continuation
            let inputs = Array(whole.suffix(maxLength + 1).dropLast())
            prepared.append(Prepared(index: i, inputs: inputs, targets: r.continuation,
                                     firstScored: inputs.count - r.continuation.count))
        }
        let groups = options.sharePrefixes ? Self.prefixGroups(prepared, minimum: options.minimumSharedPrefix)
                                           : prepared.indices.map { Group(members: [$0], prefix: 0) }
        var results = [LoglikelihoodResult?](repeating: nil, count: requests.count)
        // Rounds of whole groups, bounded by rows, so prefix caches are freed as we go.
        var start = 0, done = 0
        while start < groups.count {
            var end = start, rowsInRound = 0
            while end < groups.count {
                let g = groups[end]
                let rows = g.prefix + g.members.reduce(0) { $0 + prepared[$1].inputs.count - g.prefix }
                if end > start && rowsInRound + rows > options.tokensPerForward { break }
                rowsInRound += rows
                end += 1
            }
            try runRound(Array(groups[start..<end]), prepared, &results, budget: options.tokensPerForward)
            done += groups[start..<end].reduce(0) { $0 + $1.members.count }
            options.progress?(done, requests.count)
            start = end
        }
        return results.map { $0! }
    }

    struct Prepared {
        let index: Int
        let inputs: [Int]
        let targets: [Int]
        /// Row of `inputs` whose logits predict targets[0].
        let firstScored: Int
    }

    struct Group {
        var members: [Int]
        /// Leading input rows shared by all members and computed once (0: none).
        var prefix: Int
    }

    /// Sorts by inputs and groups neighbours sharing at least `minimum` leading tokens; a group's
    /// prefix never includes a scored row, and a newcomer may not shrink an existing group's prefix.
    static func prefixGroups(_ p: [Prepared], minimum: Int) -> [Group] {
        let order = p.indices.sorted { p[$0].inputs.lexicographicallyPrecedes(p[$1].inputs) }
        var groups: [Group] = []
        for i in order {
            if var g = groups.last {
                let first = p[g.members[0]]
                var lcp = 0
                let a = first.inputs, b = p[i].inputs
                while lcp < a.count && lcp < b.count && a[lcp] == b[lcp] { lcp += 1 }
                let candidate = min(lcp, p[i].firstScored, g.members.map { p[$0].firstScored }.min()!)
                if candidate >= minimum && (g.members.count == 1 || candidate >= g.prefix) {
                    g.members.append(i)
                    g.prefix = candidate
                    groups[groups.count - 1] = g
                    continue
                }
            }
            groups.append(Group(members: [i], prefix: 0))
        }
        return groups.map { g in g.members.count == 1 ? Group(members: g.members, prefix: 0) : g }
    }

    private func runRound(_ groups: [Group], _ p: [Prepared], _ results: inout [LoglikelihoodResult?], budget: Int) throws {
        // 1. shared prefixes, all in one forward pass
        var prefixCaches: [Int: KVCache] = [:] // group position -> cache
        var prefixParts: [(KVCache, Int)] = [], prefixTokens: [Int] = []
        for (gi, g) in groups.enumerated() where g.prefix > 0 {
            let cache = transformer.makeCache(capacity: g.prefix)
            prefixCaches[gi] = cache
            prefixParts.append((cache, g.prefix))
            prefixTokens += p[g.members[0]].inputs[0..<g.prefix]
        }
        if !prefixParts.isEmpty {
            _ = transformer.forward(tokens: prefixTokens, batch: Batch(prefixParts.map { ($0.0, $0.1) }), outputRows: [])
        }
        // 2. each member's own rows, in forward passes of at most `budget` rows
        var jobs: [(member: Int, cache: KVCache, start: Int)] = []
        for (gi, g) in groups.enumerated() {
            for m in g.members {
                let cache = transformer.makeCache(capacity: p[m].inputs.count)
                if let shared = prefixCaches[gi] { cache.copyPrefix(from: shared, positions: g.prefix) }
                jobs.append((m, cache, g.prefix))
            }
        }
        prefixCaches.removeAll()
        var j = 0
        while j < jobs.count {
            var parts: [(KVCache, Int)] = [], tokens: [Int] = [], outputRows: [Int] = []
            var owners: [(member: Int, firstOutput: Int)] = []
            while j < jobs.count {
                let job = jobs[j], prep = p[job.member]
                let rows = prep.inputs.count - job.start
                if !parts.isEmpty && tokens.count + rows > budget { break }
                let rowBase = tokens.count
                owners.append((job.member, outputRows.count))
                for r in prep.firstScored..<prep.inputs.count { outputRows.append(rowBase + r - job.start) }
                parts.append((job.cache, rows))
                tokens += prep.inputs[job.start...]
                j += 1
            }
            let logits = transformer.forward(tokens: tokens, batch: Batch(parts), outputRows: outputRows)
            for (member, firstOutput) in owners {
                let prep = p[member]
                var lps: [Double] = [], greedy = true
                for (t, target) in prep.targets.enumerated() {
                    let row = logits.pointer + (firstOutput + t) * vocabSize
                    let (lse, arg) = Kernels.logSumExp(row, count: vocabSize)
                    let lp = Double(row[target]) - lse
                    // NaN/Inf weights (or an overflow) would otherwise score as -1e308 or NaN and
                    // decide multiple-choice answers by ties, with exit 0.
                    guard lp.isFinite else { throw nonFinite.error(at: "request \(prep.index), continuation token \(t)") }
                    lps.append(lp)
                    if arg != target { greedy = false }
                }
                results[prep.index] = LoglikelihoodResult(logLikelihood: lps.reduce(0, +), isGreedy: greedy, tokenLogProbs: lps)
            }
        }
    }
}
