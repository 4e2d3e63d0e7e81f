import Engine
@testable import Evaluation
import Foundation
import TestSupport
import Tokenizers
import XCTest

final class RequestTests: XCTestCase {
    func testEncodePairFollowsLMEval() throws {
        let backend = try NativeBackend.load(model: Fixtures.model("llama-tiny"), adapter: nil, unmerged: false)
        let tok = backend.tokenizer
        // trailing spaces of the context move to the continuation
        let (c, k) = backend.encodePair(context: "Question: why? ", continuation: "Because")
        let whole = tok.encode("Question: why? Because")
        let ctx = tok.encode("Question: why?")
        XCTAssertEqual(c, ctx)
        XCTAssertEqual(k, Array(whole[ctx.count...]))
        XCTAssertEqual(c.first, tok.bosTokenId, "llama's post-processor adds <s>")
        // empty context: the prefix token, continuation without special tokens
        let (c2, k2) = backend.encodePair(context: "", continuation: " hello")
        XCTAssertEqual(c2, [backend.prefixToken])
        XCTAssertEqual(k2, tok.encode(" hello", addSpecialTokens: false))
        // GPT-2: no BOS from the post-processor; EOS stands in as the prefix token
        let gpt2 = try NativeBackend.load(model: Fixtures.model("gpt2-tiny"), adapter: nil, unmerged: false)
        XCTAssertEqual(gpt2.encodePair(context: "a b", continuation: " c").context, gpt2.tokenizer.encode("a b"))
        XCTAssertEqual(gpt2.prefixToken, 0)
    }

    func testWinograndeIsPartialScoring() throws {
        let registry = try TaskRegistry(directory: Fixtures.packageRoot.appendingPathComponent("tasks").path)
        let task = try EvaluationTask(definition: try registry.definition("winogrande"))
        let d = try task.prepare(docID: 0, fewshot: [])
        XCTAssertEqual(d.requests, [
            .loglikelihood(context: "Sarah was a much better surgeon than Maria so Sarah", continuation: " always got the easier cases."),
            .loglikelihood(context: "Sarah was a much better surgeon than Maria so Maria", continuation: " always got the easier cases."),
        ])
        XCTAssertEqual(d.gold, 1)
    }

    func testCopaAndBoolqPrompts() throws {
        let registry = try TaskRegistry(directory: Fixtures.packageRoot.appendingPathComponent("tasks").path)
        let copa = try EvaluationTask(definition: try registry.definition("copa")).prepare(docID: 0, fewshot: [])
        XCTAssertEqual(copa.requests.first, .loglikelihood(context: "The man turned on the faucet therefore", continuation: "  the toilet filled with water."))
        XCTAssertEqual(copa.gold, 1)
        let boolq = try EvaluationTask(definition: try registry.definition("boolq")).prepare(docID: 0, fewshot: [])
        XCTAssertEqual(boolq.choices, ["no", "yes"])
        XCTAssertEqual(boolq.gold, 0)  // answer: false
        guard case .loglikelihood(let ctx, _) = boolq.requests[0] else { return XCTFail() }
        XCTAssertTrue(ctx.hasSuffix("\nQuestion: does ethanol take more energy make that produces?\nAnswer:"))
    }

    func testEveryShippedTaskLoadsAndPrepares() throws {
        let registry = try TaskRegistry(directory: Fixtures.packageRoot.appendingPathComponent("tasks").path)
        XCTAssertEqual(Set(registry.names), ["hellaswag", "winogrande", "arc_easy", "arc_challenge", "piqa", "openbookqa", "boolq", "sciq",
                                             "social_iqa", "copa", "commonsense_qa", "basic_arithmetic", "arith_text", "arith_gen",
                                             "humaneval", "gsm8k"])
        for name in registry.names {
            let def = try registry.definition(name)
            if !FileManager.default.fileExists(atPath: def.dataFile) {
                // gsm8k's data are the user's: a missing file names the command that writes it
                XCTAssertEqual(name, "gsm8k")
                XCTAssertThrowsError(try EvaluationTask(definition: def)) {
                    XCTAssertTrue("\($0)".contains("datasets.load_dataset('openai/gsm8k', 'main', split='test').to_json('\(def.dataFile)')"), "\($0)")
                }
                continue
            }
            let task = try EvaluationTask(definition: try registry.definition(name))
            XCTAssertFalse(task.documents.isEmpty, name)
            for i in 0..<min(20, task.documents.count) { _ = try task.prepare(docID: i, fewshot: []) }
        }
    }
}
