import Checkpoints
import Engine
import Foundation
import TestSupport
import XCTest

/// config.json decoded by each family's configuration (Engine/Families), both key layouts.
final class FamilyConfigTests: XCTestCase {
    var dir: URL!
    override func setUp() { dir = TestSupport.Fixtures.temporaryDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func testFixtureConfigsDecode() throws {
        let llama = try ModelDirectory(path: Fixtures.model("llama-tiny")).config
        XCTAssertEqual(llama.modelType, "llama")
        XCTAssertEqual(llama.kvHeadCount, 2)
        XCTAssertEqual(llama.headDim * llama.headCount, llama.hiddenSize)
        XCTAssertFalse(llama.tieWordEmbeddings)
        let neox = try XCTUnwrap(ModelDirectory(path: Fixtures.model("neox-tiny")).decodedConfig as? GPTNeoXConfiguration)
        XCTAssertEqual(neox.model.modelType, "gpt_neox")
        XCTAssertEqual(neox.decoder.rotaryDim, neox.decoder.headDim / 4)
        XCTAssertTrue(neox.useParallelResidual)
        XCTAssertFalse(try XCTUnwrap(ModelDirectory(path: Fixtures.model("neox-tiny-seq")).decodedConfig as? GPTNeoXConfiguration).useParallelResidual)
        let gpt2 = try ModelDirectory(path: Fixtures.model("gpt2-tiny")).config
        XCTAssertEqual(gpt2.modelType, "gpt2")
        XCTAssertTrue(gpt2.storesTransposed("transformer.h.0.attn.c_attn.weight"))
        XCTAssertFalse(gpt2.storesTransposed("transformer.wte.weight"))
        let qwen = try XCTUnwrap(ModelDirectory(path: Fixtures.model("qwen2-tiny")).decodedConfig as? Qwen2Configuration).decoder
        XCTAssertTrue(qwen.qkvBias)
        XCTAssertFalse(qwen.outputBias)
        let mistral = try XCTUnwrap(ModelDirectory(path: Fixtures.model("mistral-tiny")).decodedConfig as? LlamaConfiguration).decoder
        XCTAssertNotNil(mistral.slidingWindows.first ?? nil)
        let qwen3 = try XCTUnwrap(ModelDirectory(path: Fixtures.model("qwen3-tiny")).decodedConfig as? Qwen3Configuration).decoder
        XCTAssertEqual(qwen3.modelType, "qwen3")
        XCTAssertEqual(qwen3.headDim, 32)  // explicit head_dim, not hidden_size / heads
        XCTAssertFalse(qwen3.qkvBias)
        let olmo2 = try ModelDirectory(path: Fixtures.model("olmo2-tiny")).config
        XCTAssertEqual(olmo2.modelType, "olmo2")
        XCTAssertFalse(olmo2.tieWordEmbeddings)
    }

    /// transformers 4.x layouts of the new families: top-level rope keys instead of rope_parameters.
    func testLegacyLayoutsOfTheNewFamilies() throws {
        let url = dir.appendingPathComponent("config.json")
        let gemma3 = #"{"model_type":"gemma3_text","vocab_size":10,"hidden_size":8,"intermediate_size":16,"num_hidden_layers":6,"num_attention_heads":2,"num_key_value_heads":1,"head_dim":4,"max_position_embeddings":32,"rope_theta":1000000,"rope_local_base_freq":10000,"rope_scaling":{"rope_type":"linear","factor":8.0},"sliding_window":512,"sliding_window_pattern":6,"query_pre_attn_scalar":4}"#
        try Data(gemma3.utf8).write(to: url)
        let g = try XCTUnwrap(ModelFamilies.decode(path: url.path) as? Gemma3TextConfiguration)
        XCTAssertEqual(g.decoder.ropeTheta, 1_000_000)
        XCTAssertEqual(g.localRopeTheta, 10_000)
        XCTAssertEqual(g.decoder.ropeScaling?.type, "linear")
        XCTAssertNil(g.localRopeScaling)
        XCTAssertEqual(g.localRopeLayers, [true, true, true, true, true, false])
        XCTAssertEqual(g.decoder.slidingWindows, [512, 512, 512, 512, 512, nil])
        XCTAssertNil(g.gemma.attentionSoftcap)  // Gemma 3 does not cap unless asked
        let phi3 = #"{"model_type":"phi3","vocab_size":10,"hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,"num_attention_heads":2,"max_position_embeddings":131072,"original_max_position_embeddings":4096,"partial_rotary_factor":0.5,"rope_theta":10000,"rope_scaling":{"type":"su","short_factor":[1.0],"long_factor":[2.0]}}"#
        try Data(phi3.utf8).write(to: url)
        let p = try XCTUnwrap(ModelFamilies.decode(path: url.path) as? Phi3Configuration).decoder
        XCTAssertEqual(p.rotaryDim, 2)
        XCTAssertEqual(p.ropeScaling?.type, "longrope")
        XCTAssertEqual(p.ropeScaling?.originalMaxPositions, 4096)
        XCTAssertEqual(p.ropeScaling?.attentionFactor ?? 0, (1 + log(32.0) / log(4096.0)).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(p.servedPositions, 4096)
    }

    func testUnknownModelTypeListsTheSupportedOnes() throws {
        let url = dir.appendingPathComponent("config.json")
        try Data(#"{"model_type":"mamba","vocab_size":10}"#.utf8).write(to: url)
        XCTAssertThrowsError(try ModelFamilies.decode(path: url.path)) { error in
            let text = "\(error)"
            for family in ["llama", "qwen3", "olmo2", "gpt_neox"] { XCTAssertTrue(text.contains(family), text) }
        }
    }

    func testLegacyAndNestedRopeKeys() throws {
        let legacy = #"{"model_type":"llama","vocab_size":10,"hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,"num_attention_heads":2,"max_position_embeddings":32,"rope_theta":500000,"rope_scaling":{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192}}"#
        let url = dir.appendingPathComponent("config.json")
        try Data(legacy.utf8).write(to: url)
        let c = try XCTUnwrap(ModelFamilies.decode(path: url.path) as? LlamaConfiguration).decoder
        XCTAssertEqual(c.ropeTheta, 500000)
        XCTAssertEqual(c.ropeScaling?.type, "llama3")
        XCTAssertEqual(c.ropeScaling?.factor, 8)
        XCTAssertEqual(c.kvHeadCount, 2)
    }

    func testConfigErrorsNameTheField() throws {
        let url = dir.appendingPathComponent("config.json")
        try Data(#"{"model_type":"bert"}"#.utf8).write(to: url)
        XCTAssertThrowsError(try ModelFamilies.decode(path: url.path)) { error in
            let e = error as! CheckpointError
            XCTAssertEqual(e.field, "model_type")
            XCTAssertTrue(e.description.contains("bert"))
        }
        try Data(#"{"model_type":"llama","vocab_size":"many"}"#.utf8).write(to: url)
        XCTAssertThrowsError(try ModelFamilies.decode(path: url.path)) { error in
            XCTAssertEqual((error as! CheckpointError).field, "vocab_size")
        }
    }

    /// Every registry entry decodes a fixture into its own family's configuration, and the
    /// neutral layout each family gives Checkpoints/Spectra says what that family stores.
    func testRegistryMapsEveryModelTypeToItsFamily() throws {
        let fixtures: [(String, String, Any.Type)] = [
            ("llama", "llama-tiny", LlamaConfiguration.self), ("mistral", "mistral-tiny", LlamaConfiguration.self),
            ("qwen2", "qwen2-tiny", Qwen2Configuration.self), ("qwen3", "qwen3-tiny", Qwen3Configuration.self),
            ("olmo2", "olmo2-tiny", OLMo2Configuration.self), ("gemma2", "gemma2-tiny", Gemma2Configuration.self),
            ("gemma3_text", "gemma3-tiny", Gemma3TextConfiguration.self), ("phi3", "phi3-tiny", Phi3Configuration.self),
            ("gpt2", "gpt2-tiny", GPT2Configuration.self), ("gpt_neox", "neox-tiny", GPTNeoXConfiguration.self),
        ]
        XCTAssertEqual(Set(ModelFamilies.supported), Set(fixtures.map(\.0)))
        for (modelType, fixture, type) in fixtures {
            let dir = try ModelDirectory(path: Fixtures.model(fixture))
            XCTAssertEqual(dir.config.modelType, modelType)
            XCTAssertTrue(Swift.type(of: dir.decodedConfig) == type, "\(fixture): \(Swift.type(of: dir.decodedConfig))")
            XCTAssertEqual(dir.config.layout.supportsFourBit, ["llama", "mistral", "qwen2"].contains(modelType), modelType)
            XCTAssertEqual(!dir.config.layout.transposedModules.isEmpty, modelType == "gpt2", modelType)
            XCTAssertEqual(!dir.config.layout.fusedWeights.isEmpty, modelType == "phi3", modelType)
        }
        let phi3 = try ModelDirectory(path: Fixtures.model("phi3-tiny")).config
        let qkv = try XCTUnwrap(phi3.layout.fusedWeights.first { $0.suffix == "self_attn.qkv_proj.weight" })
        XCTAssertEqual(qkv.parts.map(\.label), ["q", "k", "v"])
        XCTAssertEqual(qkv.parts.map(\.rows).reduce(0, +), (phi3.headCount + 2 * phi3.kvHeadCount) * phi3.headDim)
    }

    /// A family's configuration is Codable: encoding and decoding give it back unchanged.
    func testFamilyConfigurationsRoundTripThroughCodable() throws {
        let gemma3 = try XCTUnwrap(ModelDirectory(path: Fixtures.model("gemma3-tiny")).decodedConfig as? Gemma3TextConfiguration)
        let data = try JSONEncoder().encode(gemma3)
        XCTAssertEqual(try JSONDecoder().decode(Gemma3TextConfiguration.self, from: data), gemma3)
    }
}
