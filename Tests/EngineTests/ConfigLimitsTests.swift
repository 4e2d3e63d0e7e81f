import Checkpoints
import Engine
import Foundation
import TestSupport
import XCTest

/// Every config.json number the engine or spectra use is checked against what the family
/// allows: each case below trapped, aborted, tried to allocate terabytes or computed NaN before.
final class ConfigLimitsTests: XCTestCase {
    var dir: URL!
    override func setUp() { dir = TestSupport.Fixtures.temporaryDirectory("config-limits") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    /// The fixture's config with `changes` applied (nested keys as "a.b").
    private func config(_ base: String, _ changes: [String: Any]) throws -> String {
        let source = URL(fileURLWithPath: Fixtures.model(base)).appendingPathComponent("config.json")
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: source)) as! [String: Any]
        for (key, value) in changes {
            let parts = key.split(separator: ".").map(String.init)
            if parts.count == 2 {
                var nested = object[parts[0]] as? [String: Any] ?? [:]
                nested[parts[1]] = value
                object[parts[0]] = nested
            } else {
                object[key] = value
            }
        }
        let url = dir.appendingPathComponent("\(base)-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: object).write(to: url)
        return url.path
    }

    func testOutOfRangeNumbersNameTheirField() throws {
        let cases: [(String, [String: Any], String, String)] = [
            ("mistral-tiny", ["sliding_window": 0], "sliding_window", "not a window size"),
            ("mistral-tiny", ["sliding_window": -4], "sliding_window", "not a window size"),
            ("llama-tiny", ["partial_rotary_factor": -0.5], "partial_rotary_factor", "(0, 1]"),
            ("llama-tiny", ["partial_rotary_factor": 1.5], "partial_rotary_factor", "(0, 1]"),
            ("llama-tiny", ["partial_rotary_factor": 1e308], "partial_rotary_factor", "(0, 1]"),
            ("llama-tiny", ["head_dim": -16], "head_dim", "outside"),
            ("llama-tiny", ["head_dim": 1e15], "head_dim", "outside"),
            ("llama-tiny", ["max_position_embeddings": 1e12], "max_position_embeddings", "outside"),
            ("llama-tiny", ["num_hidden_layers": 1e9], "num_hidden_layers", "outside"),
            ("llama-tiny", ["vocab_size": 1e10], "vocab_size", "outside"),
            ("llama-tiny", ["intermediate_size": -3], "intermediate_size", "positive"),
            ("llama-tiny", ["num_key_value_heads": 8], "num_key_value_heads", "must divide"),
            ("llama-tiny", ["rms_norm_eps": -1e-6], "rms_norm_eps", "not a usable epsilon"),
            ("llama-tiny", ["rope_parameters.rope_theta": 0], "rope_theta", "not a usable rotary base"),
            ("llama-tiny", ["rope_parameters.rope_theta": -10000], "rope_theta", "not a usable rotary base"),
            ("llama-tiny", ["rope_parameters.rope_type": "linear", "rope_parameters.factor": 0], "rope_scaling.factor", "not a usable scaling factor"),
            ("neox-tiny", ["rope_parameters.partial_rotary_factor": 2], "rope_parameters.partial_rotary_factor", "(0, 1]"),
            ("neox-tiny", ["layer_norm_eps": 0], "layer_norm_eps", "not a usable epsilon"),
            ("qwen3-tiny", ["head_dim": 0], "head_dim", "outside"),
            ("qwen3-tiny", ["use_sliding_window": true, "sliding_window": 0, "layer_types": ["sliding_attention", "full_attention"]], "sliding_window", "not a window size"),
            ("qwen3-tiny", ["rms_norm_eps": 0], "rms_norm_eps", "not a usable epsilon"),
            ("olmo2-tiny", ["num_key_value_heads": 3], "num_key_value_heads", "must divide"),
            ("olmo2-tiny", ["rope_parameters.rope_theta": -1], "rope_theta", "not a usable rotary base"),
            ("gemma2-tiny", ["query_pre_attn_scalar": 0], "query_pre_attn_scalar", "positive number"),
            ("gemma2-tiny", ["attn_logit_softcapping": -50], "attn_logit_softcapping", "positive number"),
            ("gemma2-tiny", ["final_logit_softcapping": 0], "final_logit_softcapping", "positive number"),
            ("gemma2-tiny", ["layer_types": ["sliding_attention"]], "layer_types", "1 entries for 2 layers"),
            ("gemma2-tiny", ["sliding_window": 0], "sliding_window", "not a window size"),
            ("gemma3-tiny", ["rope_parameters.sliding_attention": ["rope_type": "default", "rope_theta": 0]], "rope_local_base_freq", "not a usable rotary base"),
            ("gemma3-tiny", ["rope_parameters.sliding_attention": ["rope_type": "yarn", "factor": 2]], "rope_type", "not supported"),
            ("gemma3-tiny", ["use_bidirectional_attention": true], "use_bidirectional_attention", "not a causal"),
            ("gemma3-tiny", ["layer_types": NSNull(), "sliding_window_pattern": 0], "sliding_window_pattern", "not a layer period"),
            ("phi3-tiny", ["rope_parameters.short_factor": [1.0, 2.0]], "rope_parameters.short_factor", "needs 4"),
            ("phi3-tiny", ["rope_parameters.long_factor": [1.0, 2.0, -1.0, 3.0]], "rope_parameters.long_factor", "positive numbers"),
            ("phi3-tiny", ["rope_parameters.original_max_position_embeddings": 0], "original_max_position_embeddings", "below 2"),
            ("phi3-tiny", ["rope_parameters.attention_factor": 0], "rope_parameters.attention_factor", "not usable"),
            ("gpt2-tiny", ["n_positions": 1e12], "n_positions", "outside"),
            ("gpt2-tiny", ["layer_norm_epsilon": 5], "layer_norm_epsilon", "not a usable epsilon"),
            // n_inner defaults to 4 * n_embd, computed before the bounds are checked (it trapped: fuzz-config)
            ("gpt2-tiny", ["n_embd": 1 << 62, "n_inner": NSNull()], "n_embd", "outside"),
        ]
        for (base, changes, field, message) in cases {
            let path = try config(base, changes)
            XCTAssertThrowsError(try ModelFamilies.decode(path: path), "\(base) \(changes)") { error in
                guard let e = error as? CheckpointError else { return XCTFail("\(error)") }
                XCTAssertTrue(e.field.hasSuffix(field), "\(changes): field \(e.field), wanted \(field)")
                XCTAssertTrue(e.description.contains(message), "\(changes): \(e.description)")
                XCTAssertEqual(e.file, path)
            }
        }
    }

    func testFixtureConfigsStayValid() throws {
        for name in ["llama-tiny", "mistral-tiny", "qwen2-tiny", "neox-tiny", "gpt2-tiny", "llama-tiny-llama3", "llama-tiny-tied",
                     "qwen3-tiny", "olmo2-tiny", "gemma2-tiny", "gemma3-tiny", "phi3-tiny"] {
            let url = URL(fileURLWithPath: Fixtures.model(name)).appendingPathComponent("config.json")
            XCTAssertNoThrow(try ModelFamilies.decode(path: url.path), name)
        }
    }
}
