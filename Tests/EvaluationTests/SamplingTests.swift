import Engine
@testable import Evaluation
import Foundation
import TestSupport
import XCTest

/// Sampling (do_sample, temperature, top_k, top_p, repeats) and generation diversity (issue 12):
/// the distribution a token is drawn from equals transformers' warpers', entropies and diversity
/// measures equal numpy's / Python's (Tests/Fixtures/sampling, scripts/fixtures/make_sampling_reference.py),
/// and a document's samples depend only on (seed, task, document, repeat).
final class SamplingTests: XCTestCase {
    var tmp: URL!
    override func setUp() { tmp = Fixtures.temporaryDirectory("forgetlens-sampling") }
    override func tearDown() { try? FileManager.default.removeItem(at: tmp) }

    func reference() throws -> JSONObject {
        try JSONValue.parse(try Data(contentsOf: Fixtures.root.appendingPathComponent("sampling/reference.json"))).objectValue!
    }

    func testSamplingDistributionEqualsTransformersWarpers() throws {
        let cases = try reference()["warpers"]!.arrayValue!
        XCTAssertGreaterThan(cases.count, 30)
        for c in cases.map({ $0.objectValue! }) {
            let logits = c["logits"]!.arrayValue!.map { Float($0.doubleValue!) }
            let k = c["top_k"]!.intValue!, p = c["top_p"]!.doubleValue!
            let settings = SamplingSettings(temperature: c["temperature"]!.doubleValue!, topK: k > 0 ? k : nil, topP: p < 1 ? p : nil)
            let ours = logits.withUnsafeBufferPointer { settings.probabilities($0.baseAddress!, count: logits.count) }
            let theirs = c["probabilities"]!.arrayValue!.map { $0.doubleValue! }
            for (a, b) in zip(ours, theirs) { XCTAssertEqual(a, b, accuracy: 1e-6, "\(settings) on \(logits.count) logits") }
        }
    }

    func testDrawsFollowTheDistribution() throws {
        let logits: [Float] = [2, 1, 0.5, 0, -1]
        let settings = SamplingSettings(temperature: 1, topK: 4, topP: nil)
        let p = logits.withUnsafeBufferPointer { settings.probabilities($0.baseAddress!, count: 5) }
        var sampler = TokenSampler(settings: settings, seed: 7)
        var counts = [Int](repeating: 0, count: 5)
        let n = 20000
        for _ in 0..<n { counts[logits.withUnsafeBufferPointer { sampler.choose($0.baseAddress!, count: 5) }] += 1 }
        XCTAssertEqual(counts[4], 0)  // outside the top 4
        for i in 0..<4 {
            // within 5 standard deviations of the binomial count (seeded: deterministic)
            let sd = (Double(n) * p[i] * (1 - p[i])).squareRoot()
            XCTAssertEqual(Double(counts[i]), Double(n) * p[i], accuracy: 5 * sd, "token \(i)")
        }
    }

    func testEntropyAndDiversityEqualNumpy() throws {
        let ref = try reference()
        for e in ref["entropy"]!.arrayValue!.map({ $0.objectValue! }) {
            let logits = e["logits"]!.arrayValue!.map { Float($0.doubleValue!) }
            let ours = logits.withUnsafeBufferPointer { NextTokenEntropy.nats($0.baseAddress!, count: logits.count) }
            XCTAssertEqual(ours, e["nats"]!.doubleValue!, accuracy: 1e-9)
        }
        for d in ref["diversity"]!.arrayValue!.map({ $0.objectValue! }) {
            let samples = d["samples"]!.arrayValue!.map { $0.stringValue! }
            XCTAssertEqual(Diversity.distinctFraction(samples), d["distinct_fraction"]!.doubleValue!, accuracy: 1e-15)
            XCTAssertEqual(Diversity.distinct2(samples), d["distinct_2"]!.doubleValue, "\(samples)")
        }
    }

    /// arith_gen, sampled 3 times per document, with every diversity measure.
    func sampledTask(seedYAML: String = "") throws -> EvaluationTask {
        let yaml = """
        task: arith_sampled
        data: \(Fixtures.packageRoot.appendingPathComponent("tasks/data/arith_gen.validation.jsonl").path)
        output_type: generate_until
        doc_to_text: "Q: {{question}}=? A:"
        doc_to_target: "{{answer}}"
        generation_kwargs:
          until: ["\\n", "Q:"]
          max_gen_toks: 8
          do_sample: true
          temperature: 1.0
          top_k: 0
        repeats: 3
        metric_list:
          - metric: exact_match
          - metric: distinct_fraction
          - metric: distinct_2
          - metric: token_entropy
        """
        let file = tmp.appendingPathComponent("arith_sampled.yaml")
        try yaml.write(to: file, atomically: false, encoding: .utf8)
        return try EvaluationTask(definition: try TaskDefinition.load(path: file.path))
    }

    func run(batchSize: Int, threads: Int? = nil, seed: UInt64 = 1234, documents: Set<Int>? = nil) throws -> TaskResult {
        let backend = try NativeBackend.load(model: Fixtures.model("llama-tiny"), adapter: nil, unmerged: false, threads: threads, batchSize: batchSize)
        var options = EvaluationOptions(limit: 12)
        options.samplingSeed = seed
        options.documents = documents
        return try Evaluator(backend: backend).run(try sampledTask(), options: options)
    }

    func testSamplesDependOnlyOnSeedTaskDocumentAndRepeat() throws {
        let reference = try run(batchSize: 64)
        XCTAssertEqual(reference.samples.count, 12)
        XCTAssertTrue(reference.samples.allSatisfy { $0.count == 3 })
        // sampling really samples: the repeats of a document are not all one text
        XCTAssertTrue(reference.samples.contains { Set($0).count > 1 }, "\(reference.samples)")
        XCTAssertEqual(try run(batchSize: 1).samples, reference.samples)
        XCTAssertEqual(try run(batchSize: 5, threads: 1).samples, reference.samples)
        let part = try run(batchSize: 4, documents: [3, 7, 11])
        XCTAssertEqual(part.samples, [3, 7, 11].map { reference.samples[$0] })
        XCTAssertNotEqual(try run(batchSize: 64, seed: 99).samples, reference.samples)
        for name in ["exact_match", "distinct_fraction", "distinct_2", "token_entropy"] {
            XCTAssertNotNil(reference.aggregates.first { $0.metric == name }?.stderr, name)
        }
        // the per-document values are the measures of the samples themselves
        for (i, items) in reference.itemMetrics.enumerated() {
            XCTAssertEqual(items.first { $0.0 == "distinct_fraction" }?.1, .number(Diversity.distinctFraction(reference.samples[i])))
        }
    }

    func testGreedyStaysGreedyAndSamplingNeedsANativeBackend() throws {
        let def = try TaskRegistry(directory: Fixtures.packageRoot.appendingPathComponent("tasks").path).definition("arith_gen")
        XCTAssertNil(def.sampling)
        XCTAssertFalse(def.samplesGenerations)
        final class GreedyOnly: EvaluationBackend {
            let name = "greedy-only"
            func loglikelihood(_ requests: [ScoringRequest], progress: (Int) -> Void) throws -> [LoglikelihoodOutcome] { [] }
            func loglikelihoodRolling(_ texts: [String], progress: (Int) -> Void) throws -> [Double] { [] }
            func generate(_ requests: [GenerationRequest], progress: (Int) -> Void) throws -> [String] { requests.map { _ in "1" } }
        }
        XCTAssertThrowsError(try Evaluator(backend: GreedyOnly()).run(try sampledTask(), options: EvaluationOptions(limit: 2))) {
            XCTAssertTrue("\($0)".contains("greedy-only: this backend decodes greedily only"), "\($0)")
        }
    }

    /// The OpenAI-compatible backend asks the server to sample with the same settings, one request
    /// per (document, repeat) under that sample's own seed; greedy requests keep temperature 0.
    func testOpenAIRequestsCarryTheSamplingSettingsAndSeed() {
        var r = GenerationRequest(context: "Q", until: ["\n"], maxTokens: 8)
        XCTAssertTrue(RemoteBackend.samplingFields(r).pairs.isEmpty)
        r.sampling = SamplingSettings(temperature: 0.7, topK: 40, topP: 0.9)
        r.seed = SampleSeed.derive(seed: 1234, task: "t", document: 3, repeat: 1)
        let o = RemoteBackend.samplingFields(r)
        XCTAssertEqual(o["temperature"], .double(0.7))
        XCTAssertEqual(o["top_p"], .double(0.9))
        XCTAssertEqual(o["top_k"], .int(40))
        XCTAssertEqual(o["n"], .int(1))
        XCTAssertEqual(o["seed"], .int(Int(r.seed >> 1)))
        XCTAssertNotEqual(SampleSeed.derive(seed: 1234, task: "t", document: 3, repeat: 1), SampleSeed.derive(seed: 1234, task: "t", document: 3, repeat: 2))
        XCTAssertNotEqual(SampleSeed.derive(seed: 1234, task: "t", document: 3, repeat: 1), SampleSeed.derive(seed: 1234, task: "u", document: 3, repeat: 1))
    }
}
