import Engine
@testable import Evaluation
import Foundation
import TestSupport
import XCTest

/// Our scores against lm-evaluation-harness's own (Tests/Fixtures/lmeval, made by
/// scripts/fixtures/make_lmeval_reference.py): the same requests, per-item log-likelihoods within
/// 1e-3, the same per-item decisions and the same aggregates.
final class LMEvalReferenceTests: XCTestCase {
    static let tolerance = 1e-3

    static var tasksDirectory: String { Fixtures.packageRoot.appendingPathComponent("tasks").path }
    static var referenceRoot: URL { Fixtures.root.appendingPathComponent("lmeval") }

    struct Variant { let name: String; let model: String; let adapter: String? }

    static func variants() -> [Variant] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: referenceRoot.path)) ?? []
        return names.sorted().filter { $0 != "format" }.map { name in
            let parts = name.split(separator: "+").map(String.init)
            return Variant(name: name, model: parts[0], adapter: parts.count > 1 ? parts[1] : nil)
        }
    }

    func reference(_ variant: String, _ file: String) throws -> JSONObject {
        let data = try Data(contentsOf: Self.referenceRoot.appendingPathComponent("\(variant)/\(file)"))
        guard case .object(let o) = try JSONValue.parse(data) else { throw EvaluationError("bad reference \(file)") }
        return o
    }

    func backend(_ v: Variant) throws -> NativeBackend {
        try NativeBackend.load(model: Fixtures.model(v.model), adapter: v.adapter.map(Fixtures.model), unmerged: false)
    }

    func testEveryTaskOnEveryModelMatchesLMEval() throws {
        let variants = Self.variants()
        XCTAssertGreaterThanOrEqual(variants.count, 4, "expected references for llama, gpt2, neox and an adapter")
        let registry = try TaskRegistry(directory: Self.tasksDirectory)
        var report: [String] = []
        for v in variants {
            let evaluator = Evaluator(backend: try backend(v))
            let files = try FileManager.default.contentsOfDirectory(atPath: Self.referenceRoot.appendingPathComponent(v.name).path)
            for file in files.sorted() where file.hasSuffix(".json") && !file.contains(".fewshot") {
                let ref = try reference(v.name, file)
                let taskName = ref["task"]!.stringValue!
                let task = try EvaluationTask(definition: try registry.definition(taskName))
                let limit = ref["limit"]!.intValue!
                if ref["error"] != nil {
                    // lm-eval refuses a continuation longer than the model's window: so do we
                    XCTAssertThrowsError(try evaluator.run(task, options: EvaluationOptions(limit: limit)), "\(v.name)/\(taskName)") { error in
                        XCTAssertTrue("\(error)".contains("longer than the model"), "\(error)")
                    }
                    report.append("\(v.name)/\(taskName): refused by both")
                    continue
                }
                let result = try evaluator.run(task, options: EvaluationOptions(limit: limit))
                let maxDelta = try Self.compare(result, ref, label: "\(v.name)/\(taskName)")
                report.append(String(format: "%@/%@: max |dll| %.2e", v.name, taskName, maxDelta))
            }
        }
        print(report.joined(separator: "\n"))
    }

    /// Per-item and aggregate comparison; returns the largest log-likelihood difference.
    static func compare(_ result: TaskResult, _ ref: JSONObject, label: String) throws -> Double {
        let items = ref["items"]!.arrayValue!
        XCTAssertEqual(result.documents.count, items.count, label)
        // the first documents' request strings, exactly
        for (i, args) in (ref["arguments"]?.arrayValue ?? []).enumerated() where result.task.definition.outputType != .generateUntil {
            let expected = args.arrayValue!.map { $0.arrayValue!.map { PythonRepr.str($0) } }
            let ours = result.documents[i].requests.map { r -> [String] in
                switch r {
                case .loglikelihood(let c, let k): return [c, k]
                case .rolling(let t): return [t]
                case .generate(let c, _, _): return [c]
                }
            }
            XCTAssertEqual(ours, expected, "\(label) doc \(i) requests")
        }
        var maxDelta = 0.0
        for (i, item) in items.enumerated() {
            guard case .object(let it) = item else { continue }
            XCTAssertEqual(result.documents[i].docID, it["doc_id"]!.intValue!, label)
            switch result.task.definition.outputType {
            case .multipleChoice:
                let lls = it["ll"]!.arrayValue!.map { $0.doubleValue! }
                let ours = result.outcomes[i].map(\.logLikelihood)
                XCTAssertEqual(ours.count, lls.count, "\(label) doc \(i)")
                for (a, b) in zip(ours, lls) {
                    maxDelta = max(maxDelta, abs(a - b))
                    XCTAssertEqual(a, b, accuracy: Self.tolerance, "\(label) doc \(i)")
                }
                let greedy = it["is_greedy"]!.arrayValue!.map { $0 == .bool(true) }
                XCTAssertEqual(result.outcomes[i].map(\.isGreedy), greedy, "\(label) doc \(i) is_greedy")
                for (name, value) in result.itemMetrics[i] {
                    guard let expected = it[name]?.doubleValue, case .number(let x) = value else { continue }
                    XCTAssertEqual(x, expected, "\(label) doc \(i) \(name)")
                }
            case .loglikelihoodRolling:
                let ll = it["ll"]!.doubleValue!
                maxDelta = max(maxDelta, abs(result.rolling[i] - ll))
                XCTAssertEqual(result.rolling[i], ll, accuracy: Self.tolerance, "\(label) doc \(i)")
                for (name, value) in result.itemMetrics[i] {
                    guard case .weighted(_, let n) = value, let pair = it[name]?.arrayValue else { continue }
                    XCTAssertEqual(n, pair[1].intValue!, "\(label) doc \(i) \(name) count")
                }
            case .generateUntil:
                XCTAssertEqual(result.generations[i], it["resp"]!.stringValue!, "\(label) doc \(i) generation")
                XCTAssertEqual(result.filtered[i], it["filtered"]!.stringValue!, "\(label) doc \(i) filtered")
            }
        }
        // aggregates: accuracies exactly (same decisions), perplexities to float32 rounding
        for (key, value) in ref["aggregates"]!.objectValue!.pairs {
            guard let expected = value.doubleValue else { continue }
            let base = key.split(separator: ",").first.map(String.init) ?? key
            let isStderr = base.hasSuffix("_stderr")
            let metric = isStderr ? String(base.dropLast("_stderr".count)) : base
            guard let agg = result.aggregates.first(where: { $0.metric == metric }) else {
                XCTFail("\(label): no aggregate \(metric)"); continue
            }
            let ours = isStderr ? (agg.stderr ?? .nan) : agg.value
            if ["word_perplexity", "byte_perplexity", "bits_per_byte"].contains(metric) {
                XCTAssertEqual(ours / expected, 1, accuracy: 1e-5, "\(label) \(key)")
            } else {
                XCTAssertEqual(ours, expected, accuracy: 1e-12, "\(label) \(key)")
            }
        }
        return maxDelta
    }

    /// piqa's documents 22 and 29 have a solution longer than the fixture models' 128 positions:
    /// lm-eval asserts (its reference stops at 20 documents); we refuse with a clear error.
    func testContinuationLongerThanTheWindowIsRefused() throws {
        let registry = try TaskRegistry(directory: Self.tasksDirectory)
        let task = try EvaluationTask(definition: try registry.definition("piqa"))
        let evaluator = Evaluator(backend: try backend(Variant(name: "gpt2-tiny", model: "gpt2-tiny", adapter: nil)))
        XCTAssertThrowsError(try evaluator.run(task, options: EvaluationOptions(limit: 30))) { error in
            XCTAssertTrue("\(error)".contains("longer than the model's 128 positions"), "\(error)")
        }
    }

    /// Few-shot prompts: lm-eval's seeded sampler (Random(1234).sample, the evaluated document left
    /// out) and delimiters, reproduced exactly.
    func testFewShotMatchesLMEval() throws {
        let registry = try TaskRegistry(directory: Self.tasksDirectory)
        let dir = Self.referenceRoot.appendingPathComponent("llama-tiny")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".fewshot") }.sorted()
        XCTAssertFalse(files.isEmpty, "no few-shot references")
        let evaluator = Evaluator(backend: try backend(Variant(name: "llama-tiny", model: "llama-tiny", adapter: nil)))
        for file in files {
            let ref = try reference("llama-tiny", file)
            if ref["error"] != nil { continue }
            let task = try EvaluationTask(definition: try registry.definition(ref["task"]!.stringValue!))
            let result = try evaluator.run(task, options: EvaluationOptions(limit: ref["limit"]!.intValue!, numFewshot: ref["num_fewshot"]!.intValue!))
            _ = try Self.compare(result, ref, label: "few-shot \(file)")
        }
    }
}
