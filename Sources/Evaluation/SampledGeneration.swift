import Engine
import Foundation

/// The seed of one sample: a function of (run seed, task, document, repeat) only, so a document's
/// samples are the same whatever the batch, shard or thread count (FNV-1a over the four, mixed).
public enum SampleSeed {
    public static func derive(seed: UInt64, task: String, document: Int, repeat r: Int) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func eat(_ bytes: [UInt8]) { for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 } ; h = (h ^ 0xff) &* 0x100_0000_01b3 }
        func eat(_ x: UInt64) { eat((0..<8).map { UInt8(truncatingIfNeeded: x >> (8 * $0)) }) }
        eat(seed); eat(Array(task.utf8)); eat(UInt64(bitPattern: Int64(document))); eat(UInt64(bitPattern: Int64(r)))
        var g = SeededGenerator(seed: h)
        return g.next()
    }
}

/// Generation diversity of one document's samples (the question of Biderman et al. 2024, Fig. 5:
/// does a fine-tune collapse the output distribution?).
public enum Diversity {
    public static let metrics: Set<String> = ["distinct_fraction", "distinct_2", "token_entropy"]

    /// Distinct outputs among the samples / samples.
    public static func distinctFraction(_ samples: [String]) -> Double {
        Double(Set(samples).count) / Double(samples.count)
    }

    /// Distinct word bigrams (Python str.split() words, bigrams within each sample) over all
    /// bigrams of the samples; nil when no sample has two words.
    public static func distinct2(_ samples: [String]) -> Double? {
        var all = 0
        var seen = Set<[Substring]>()
        for s in samples {
            let words = s.split(whereSeparator: { $0.isWhitespace })
            guard words.count >= 2 else { continue }
            for i in 0..<(words.count - 1) { all += 1; seen.insert([words[i], words[i + 1]]) }
        }
        return all == 0 ? nil : Double(seen.count) / Double(all)
    }

    /// Mean entropy (nats) of the model's next-token distribution over every generated step.
    public static func meanEntropy(_ entropies: [[Double]]) -> Double? {
        let all = entropies.flatMap { $0 }
        return all.isEmpty ? nil : all.reduce(0, +) / Double(all.count)
    }
}

extension TaskDefinition {
    /// Decoded through the sampling path: do_sample, repeats > 1 or a diversity metric.
    public var samplesGenerations: Bool {
        sampling != nil || repeats > 1 || metrics.contains { Diversity.metrics.contains($0.name) }
    }
}

extension Evaluator {
    /// generate_until with `repeats` samples per document (lm-eval's repeats): each from its own
    /// seed; exact_match and the filters read the first sample (lm-eval's take_first), pass@k
    /// counts the passing samples of each document (n = repeats), diversity reads them all.
    func runSampled(_ def: TaskDefinition, docs: [PreparedDocument], options: EvaluationOptions,
                    result: inout TaskResult, progress: (Int, Int) -> Void) throws {
        let n = def.repeats
        let wantsEntropy = def.metrics.contains { $0.name == "token_entropy" }
        var requests: [GenerationRequest] = []
        for d in docs {
            guard case .generate(let c, let u, let m) = d.requests[0] else { continue }
            for r in 0..<n {
                var q = GenerationRequest(context: c, until: u, maxTokens: m)
                q.sampling = def.sampling
                q.seed = SampleSeed.derive(seed: options.samplingSeed, task: def.name, document: d.docID, repeat: r)
                q.recordEntropy = wantsEntropy
                requests.append(q)
            }
        }
        let outs = try backend.generateSamples(requests) { progress($0, requests.count) }
        let pipeline = def.filters.first ?? FilterPipeline(name: "none", steps: [])
        result.filterName = pipeline.name
        var programs: [String] = []
        for (i, d) in docs.enumerated() {
            let mine = Array(outs[(i * n)..<((i + 1) * n)])
            let texts = mine.map(\.text)
            result.samples.append(texts)
            result.generations.append(texts[0])
            let answers = texts.map { GenerationFilters.apply(pipeline, to: $0, doc: d.doc) }
            result.filtered.append(answers[0])
            var items: [(String, ItemValue)] = []
            for m in def.metrics {
                switch m.name {
                case "exact_match": items.append((m.name, .number(Metrics.exactMatch(prediction: answers[0], reference: PythonRepr.str(d.target), m))))
                case "distinct_fraction": items.append((m.name, .number(Diversity.distinctFraction(texts))))
                case "distinct_2": if let v = Diversity.distinct2(texts) { items.append((m.name, .number(v))) }
                case "token_entropy": if let v = Diversity.meanEntropy(mine.map(\.entropies)) { items.append((m.name, .number(v))) }
                default: break
                }
            }
            result.itemMetrics.append(items)
            if def.runsCode { programs += answers.map { ProgramChecks.program(candidate: $0, test: PythonRepr.str(d.target)) } }
        }
        if def.runsCode, let checks = options.codeChecks {
            result.programOutcomes = try checks.run(programs)
            for i in docs.indices {
                let c = result.programOutcomes[(i * n)..<((i + 1) * n)].filter(\.passed).count
                for m in def.metrics where m.name == "pass_at_k" {
                    for k in m.k where k <= n { result.itemMetrics[i].append(("pass@\(k)", .number(PassAtK.estimate(n: n, c: c, k: k)))) }
                }
            }
        }
    }
}
