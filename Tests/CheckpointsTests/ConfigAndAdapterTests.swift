import Checkpoints
import Engine
import Foundation
import TestSupport
import XCTest

final class ConfigAndAdapterTests: XCTestCase {
    var dir: URL!
    override func setUp() { dir = Fixtures.temporaryDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func testPEFTPatternRuleFirstKeyWinsInFileOrder() throws {
        let json = #"{"peft_type":"LORA","r":8,"lora_alpha":16,"rank_pattern":{"layers.1.mlp.down_proj":6,"down_proj":2,"q_proj":3},"alpha_pattern":{"proj":1,"v_proj":5}}"#
        let url = dir.appendingPathComponent("adapter_config.json")
        try Data(json.utf8).write(to: url)
        let c = try AdapterConfig.load(path: url.path)
        XCTAssertEqual(c.rankPattern.map(\.pattern), ["layers.1.mlp.down_proj", "down_proj", "q_proj"])
        XCTAssertEqual(try c.rankAndAlpha(module: "model.layers.1.mlp.down_proj").rank, 6)
        XCTAssertEqual(try c.rankAndAlpha(module: "model.layers.0.mlp.down_proj").rank, 2)
        XCTAssertEqual(try c.rankAndAlpha(module: "model.layers.0.self_attn.q_proj").rank, 3)
        XCTAssertEqual(try c.rankAndAlpha(module: "model.layers.0.self_attn.k_proj").rank, 8)
        // "proj" must match a whole dotted component suffix, as re.match(r"(.*\.)?(proj)$") does.
        XCTAssertEqual(try c.rankAndAlpha(module: "model.layers.0.self_attn.v_proj").alpha, 5)
        XCTAssertEqual(try c.rankAndAlpha(module: "model.layers.0.proj").alpha, 1)
        XCTAssertEqual(c.scaling(rank: 4, alpha: 8), 2)
    }

    /// A pattern that backtracks exponentially (PEFT's re would hang on it too) stops with an
    /// error naming the key once matching runs past its time limit (it hung fuzz-adapter).
    func testRunawayPatternIsStoppedAndNamed() throws {
        let json = #"{"peft_type":"LORA","r":8,"rank_pattern":{"q_proj":4,"(.*)*x":2}}"#
        let url = dir.appendingPathComponent("adapter_config.json")
        try Data(json.utf8).write(to: url)
        let c = try AdapterConfig.load(path: url.path)
        XCTAssertEqual(try c.rankAndAlpha(module: "model.layers.0.self_attn.q_proj").rank, 4)  // found before the runaway one
        XCTAssertThrowsError(try c.rankAndAlpha(module: "model.layers.0.self_attn.k_proj_with_a_longer_name_to_backtrack_over")) { error in
            guard let e = error as? CheckpointError else { return XCTFail("\(error)") }
            XCTAssertEqual(e.field, "rank_pattern.(.*)*x")
            XCTAssertEqual(e.file, url.path)
            XCTAssertTrue(e.description.contains("backtracks"), e.description)
        }
    }

    /// PEFT raises on a pattern key that is not a regex; skipping it changed the scaling silently.
    func testBadPatternsAndScalesAreErrors() throws {
        let url = dir.appendingPathComponent("adapter_config.json")
        let cases = [
            (#"{"peft_type":"LORA","r":8,"lora_alpha":16,"alpha_pattern":{"q_proj(":4}}"#, "alpha_pattern.q_proj(", "regular expression"),
            (#"{"peft_type":"LORA","r":8,"lora_alpha":16,"rank_pattern":{"[v":4}}"#, "rank_pattern.[v", "regular expression"),
            (#"{"peft_type":"LORA","r":8,"lora_alpha":1e300}"#, "lora_alpha", "not a usable scale"),
            (#"{"peft_type":"LORA","r":8,"lora_alpha":16,"alpha_pattern":{"v_proj":1e308}}"#, "alpha_pattern.v_proj", "not a usable scale"),
            (#"{"peft_type":"LORA","r":0,"lora_alpha":16}"#, "r", "positive integer"),
        ]
        for (json, field, message) in cases {
            try Data(json.utf8).write(to: url)
            XCTAssertThrowsError(try AdapterConfig.load(path: url.path), json) { error in
                let e = error as! CheckpointError
                XCTAssertEqual(e.field, field, e.description)
                XCTAssertTrue(e.description.contains(message), e.description)
            }
        }
    }

    func testAdapterModulesResolveAgainstBase() throws {
        let base = try ModelDirectory(path: Fixtures.model("llama-tiny"))
        let adapter = try LoRAAdapter(path: Fixtures.model("lora-llama-r8"), base: base.tensors)
        XCTAssertEqual(adapter.modules.count, 14)
        XCTAssertTrue(adapter.unmatchedKeys.isEmpty)
        let q = adapter.modules.first { $0.baseTensor == "model.layers.0.self_attn.q_proj.weight" }!
        XCTAssertEqual(q.rank, 8)
        XCTAssertEqual(q.scaling, 2)
        XCTAssertFalse(q.baseIsTransposed)

        let gpt2 = try ModelDirectory(path: Fixtures.model("gpt2-tiny"))
        let fifo = try LoRAAdapter(path: Fixtures.model("lora-gpt2-fifo"), base: gpt2.tensors)
        XCTAssertTrue(fifo.modules.allSatisfy(\.baseIsTransposed))
        XCTAssertTrue(fifo.modules.contains { $0.baseTensor == "transformer.h.0.attn.c_attn.weight" })
    }

    func testAdapterForAnotherModelIsRefused() throws {
        let gpt2 = try ModelDirectory(path: Fixtures.model("gpt2-tiny"))
        XCTAssertThrowsError(try LoRAAdapter(path: Fixtures.model("lora-llama-r8"), base: gpt2.tensors)) { error in
            let e = error as! CheckpointError
            XCTAssertTrue(e.description.contains("another model"), e.description)
        }
    }

    func testMissingAndMalformedAdapterConfig() throws {
        let base = try ModelDirectory(path: Fixtures.model("llama-tiny"))
        let adapterDir = dir.appendingPathComponent("adapter")
        try FileManager.default.createDirectory(at: adapterDir, withIntermediateDirectories: true)
        let weights = URL(fileURLWithPath: Fixtures.model("lora-llama-r8")).appendingPathComponent("adapter_model.safetensors")
        try FileManager.default.copyItem(at: weights, to: adapterDir.appendingPathComponent("adapter_model.safetensors"))
        XCTAssertThrowsError(try LoRAAdapter(path: adapterDir.path, base: base.tensors)) { error in
            XCTAssertEqual((error as! CheckpointError).field, "adapter_config.json")
        }
        let configURL = adapterDir.appendingPathComponent("adapter_config.json")
        try Data("{\"r\": 8,".utf8).write(to: configURL)
        XCTAssertThrowsError(try LoRAAdapter(path: adapterDir.path, base: base.tensors)) { error in
            let e = error as! CheckpointError
            XCTAssertEqual(e.file, configURL.path)
            XCTAssertTrue(e.description.contains("not valid JSON"), e.description)
        }
        try Data(#"{"peft_type":"LORA","r":4,"lora_alpha":8}"#.utf8).write(to: configURL)
        XCTAssertThrowsError(try LoRAAdapter(path: adapterDir.path, base: base.tensors)) { error in
            let e = error as! CheckpointError
            XCTAssertEqual(e.field, "r")
            XCTAssertTrue(e.description.contains("rank 4"), e.description)
        }
        try Data(#"{"peft_type":"IA3","r":8}"#.utf8).write(to: configURL)
        XCTAssertThrowsError(try LoRAAdapter(path: adapterDir.path, base: base.tensors)) { error in
            XCTAssertEqual((error as! CheckpointError).field, "peft_type")
        }
    }

    func testKeyParsingHandlesPEFTVariants() {
        let plain = LoRAAdapter.parseKey("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight")
        XCTAssertEqual(plain.module, "model.layers.0.self_attn.q_proj")
        XCTAssertEqual(plain.component, "lora_A")
        let named = LoRAAdapter.parseKey("base_model.model.model.layers.0.self_attn.q_proj.lora_B.default.weight")
        XCTAssertEqual(named.component, "lora_B")
        XCTAssertEqual(named.parameter, "weight")
        let bias = LoRAAdapter.parseKey("base_model.model.model.layers.0.self_attn.q_proj.lora_B.bias")
        XCTAssertEqual(bias.parameter, "bias")
        let saved = LoRAAdapter.parseKey("base_model.model.lm_head.modules_to_save.default.weight")
        XCTAssertEqual(saved.module, "lm_head")
        XCTAssertEqual(saved.component, "")
        let embedding = LoRAAdapter.parseKey("base_model.model.model.embed_tokens.lora_embedding_A")
        XCTAssertEqual(embedding.component, "lora_embedding_A")
        XCTAssertEqual(embedding.parameter, "")
    }
}
