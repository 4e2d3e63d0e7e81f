import Foundation

/// What a backend returns for one loglikelihood request.
public struct LoglikelihoodOutcome: Sendable, Equatable {
    public var logLikelihood: Double
    public var isGreedy: Bool
    /// Continuation tokens scored (for the token-length normalisation).
    public var tokenCount: Int
    public init(logLikelihood: Double, isGreedy: Bool, tokenCount: Int) {
        self.logLikelihood = logLikelihood
        self.isGreedy = isGreedy
        self.tokenCount = tokenCount
    }
}

/// A per-document metric value: a number (accuracies) or a (loglikelihood, count) pair that
/// aggregates as a weighted ratio (perplexities, bits per byte).
public enum ItemValue: Sendable, Equatable {
    case number(Double)
    case weighted(Double, Int)
}

/// lm-eval's per-item metrics (api/task.py process_results) and aggregations (api/metrics.py).
public enum Metrics {
    public static func known(for type: OutputType) -> [String] { MetricRegistry.names(for: type) }

    /// numpy.argmax: the first maximum (NaN counts as the maximum, as numpy does).
    static func argmax(_ xs: [Double]) -> Int {
        var best = 0
        for i in xs.indices.dropFirst() {
            if xs[best].isNaN { return best }
            if xs[i].isNaN || xs[i] > xs[best] { best = i }
        }
        return best
    }

    /// acc, acc_norm (ll / len(choice) in code points), acc_bytes (ll / UTF-8 bytes),
    /// acc_norm_tokens (ll / continuation tokens; ours), exact_match (is_greedy of the gold).
    public static func multipleChoice(_ outcomes: [LoglikelihoodOutcome], choices: [String], gold: Int, wanted: [String]) -> [(String, ItemValue)] {
        let lls = outcomes.map(\.logLikelihood)
        var out: [(String, ItemValue)] = []
        for name in wanted {
            let pred: Int
            switch name {
            case "acc": pred = argmax(lls)
            case "acc_norm": pred = argmax(zip(lls, choices).map { $0 / Double($1.unicodeScalars.count) })
            case "acc_bytes": pred = argmax(zip(lls, choices).map { $0 / Double($1.utf8.count) })
            case "acc_norm_tokens": pred = argmax(zip(lls, outcomes).map { $0 / Double(max(1, $1.tokenCount)) })
            case "exact_match":
                out.append((name, .number(outcomes[gold].isGreedy ? 1 : 0)))
                continue
            default: continue
            }
            out.append((name, .number(pred == gold ? 1 : 0)))
        }
        return out
    }

    /// loglikelihood_rolling: (ll, words) / (ll, bytes) pairs.
    public static func rolling(logLikelihood: Double, text: String, wanted: [String]) -> [(String, ItemValue)] {
        wanted.compactMap { name in
            switch name {
            case "word_perplexity": return (name, .weighted(logLikelihood, PythonString.regexWordCount(text)))
            case "byte_perplexity", "bits_per_byte": return (name, .weighted(logLikelihood, text.utf8.count))
            default: return nil
            }
        }
    }

    /// lm-eval's exact_match_hf_evaluate for one prediction.
    public static func exactMatch(prediction: String, reference: String, _ spec: MetricSpec) -> Double {
        var p = prediction, r = reference
        for pattern in spec.regexesToIgnore {
            guard let re = try? NSRegularExpression(pattern: pattern) else { continue }
            p = re.stringByReplacingMatches(in: p, range: NSRange(p.startIndex..., in: p), withTemplate: "")
            r = re.stringByReplacingMatches(in: r, range: NSRange(r.startIndex..., in: r), withTemplate: "")
        }
        if spec.ignoreCase { p = p.lowercased(); r = r.lowercased() }
        if spec.ignorePunctuation {
            let punct = Set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".unicodeScalars)
            p = String(String.UnicodeScalarView(p.unicodeScalars.filter { !punct.contains($0) }))
            r = String(String.UnicodeScalarView(r.unicodeScalars.filter { !punct.contains($0) }))
        }
        if spec.ignoreNumbers {
            p = String(String.UnicodeScalarView(p.unicodeScalars.filter { !("0"..."9").contains($0) }))
            r = String(String.UnicodeScalarView(r.unicodeScalars.filter { !("0"..."9").contains($0) }))
        }
        return p == r ? 1 : 0
    }

    /// Aggregate and its standard error (nil: lm-eval reports "N/A").
    public static func aggregate(_ name: String, _ items: [ItemValue]) -> (value: Double, stderr: Double?) {
        switch MetricRegistry.info(name)?.aggregation ?? .mean {
        case .weightedPerplexity, .bitsPerByte:
            var ll = 0.0, count = 0
            for case .weighted(let l, let c) in items { ll += l; count += c }
            let mean = ll / Double(count)
            return (MetricRegistry.info(name)?.aggregation == .bitsPerByte ? -mean / log(2) : exp(-mean), nil)
        case .mean:
            let xs = items.compactMap { if case .number(let x) = $0 { return x } else { return nil } }
            return (mean(xs), xs.count > 1 ? meanStderr(xs) : nil)
        }
    }

    public static func mean(_ xs: [Double]) -> Double { xs.reduce(0, +) / Double(xs.count) }

    /// sample_stddev / sqrt(n) = sqrt(p(1-p)/(n-1)) for 0/1 items.
    public static func meanStderr(_ xs: [Double]) -> Double {
        let mu = mean(xs)
        let ss = xs.reduce(0) { $0 + ($1 - mu) * ($1 - mu) }
        return (ss / Double(xs.count - 1)).squareRoot() / Double(xs.count).squareRoot()
    }
}

/// lm-eval's generation filters: regex (group_select, fallback) and take_first.
enum GenerationFilters {
    static func apply(_ pipeline: FilterPipeline, to response: String, doc: JSONObject = JSONObject()) -> String {
        var value = response
        for step in pipeline.steps {
            switch step.kind {
            case .prependPrompt: value = (doc["prompt"]?.stringValue ?? "") + value
            case .regex(let pattern, let group, let fallback):
                guard let re = try? NSRegularExpression(pattern: pattern) else { value = fallback; continue }
                let matches = re.matches(in: value, range: NSRange(value.startIndex..., in: value))
                guard !matches.isEmpty else { value = fallback; continue }
                let index = group < 0 ? matches.count + group : group
                guard matches.indices.contains(index) else { value = fallback; continue }
                let m = matches[index]
                // re.findall: with groups, the first group's text (or the tuple's first non-empty one)
                // (one group: its text, maybe empty; several: findall's tuple, its first non-empty
                // member or the fallback), then str.strip(), as lm-eval's RegexFilter
                var text: String? = nil
                if m.numberOfRanges > 1 {
                    for g in 1..<m.numberOfRanges {
                        if let r = Range(m.range(at: g), in: value), !value[r].isEmpty { text = String(value[r]); break }
                    }
                    if text == nil && m.numberOfRanges == 2 { text = "" }
                } else if let r = Range(m.range, in: value) { text = String(value[r]) }
                value = text.map { PythonString.strip($0) } ?? fallback
            case .takeFirst: break  // one response per document
            case .strip: value = PythonString.strip(value)
            case .lowercase: value = value.lowercased()
            }
        }
        return value
    }
}
