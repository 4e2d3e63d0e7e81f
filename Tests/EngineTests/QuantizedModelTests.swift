import Checkpoints
import Foundation
import TestSupport
import XCTest
@testable import Engine

/// 4-bit models (issue 11) against transformers' float64 forward on bitsandbytes' dequantized
/// weights (scripts/fixtures/make_quant_fixtures.py): saved 4-bit checkpoints, the same base
/// quantized at load, and a LoRA on the 4-bit base.
final class QuantizedModelTests: XCTestCase {
    static let tolerance = 1e-4
    static let quantLogprobs = Fixtures.root.appendingPathComponent("quant/logprobs")

    struct Reference {
        let id: String
        let ids: [Int]
        let logprobs: [Double]
    }

    func references(_ label: String) throws -> [Reference] {
        let text = try String(contentsOf: Self.quantLogprobs.appendingPathComponent(label + ".jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            return Reference(id: o["id"] as! String, ids: o["ids"] as! [Int], logprobs: (o["logprobs"] as! [NSNumber]).map(\.doubleValue))
        }
    }

    /// Max |engine - reference| over every prompt, and the engine's log-probs.
    func compare(_ model: LanguageModel, _ label: String) throws -> (Double, [[Double]]) {
        var worst = 0.0
        var all: [[Double]] = []
        for ref in try references(label) {
            let (ids, lps) = try model.tokenLogProbs(ref.ids)
            XCTAssertEqual(ids, ref.ids)
            XCTAssertEqual(lps.count, ref.logprobs.count)
            for (a, b) in zip(lps, ref.logprobs) { worst = max(worst, abs(a - b)) }
            all.append(lps)
        }
        return (worst, all)
    }

    func testSavedAndQuantizedAtLoadMatchTransformersAndEachOther() throws {
        let cases: [(String, QuantizationSettings)] = [
            ("llama-tiny-nf4-dq", QuantizationSettings(type: .nf4, doubleQuant: true, blocksize: 64, computeDType: .bf16)),
            ("llama-tiny-fp4", QuantizationSettings(type: .fp4, doubleQuant: false, blocksize: 64, computeDType: .f16)),
        ]
        for (dir, settings) in cases {
            let saved = try LanguageModel(directory: Fixtures.model(dir), threads: 1)
            XCTAssertEqual(saved.quantization?.type, settings.type)
            XCTAssertEqual(saved.quantization?.doubleQuant, settings.doubleQuant)
            XCTAssertEqual(saved.quantization?.computeDType, settings.computeDType)
            let (savedErr, savedLps) = try compare(saved, dir)
            XCTAssertLessThan(savedErr, Self.tolerance, "\(dir) saved: max |engine - HF float64| = \(savedErr)")

            let atLoad = try LanguageModel(directory: Fixtures.model("llama-tiny"), threads: 1, quantization: settings)
            let (loadErr, loadLps) = try compare(atLoad, dir)
            XCTAssertLessThan(loadErr, Self.tolerance, "\(dir) quantized at load: max |engine - HF float64| = \(loadErr)")
            // same codes and scales, so the same numbers
            XCTAssertEqual(savedLps, loadLps, "\(dir): saved 4-bit and quantize-at-load differ")
            print("\(dir): max |engine - HF float64| saved \(savedErr), quantized at load \(loadErr)")
        }
    }

    func testQuantizationChangesTheModel() throws {
        // the 4-bit references are not the 32-bit model's numbers (the test above could not pass by accident)
        let full = try LanguageModel(directory: Fixtures.model("llama-tiny"), threads: 1)
        let (err, _) = try compare(full, "llama-tiny-nf4-dq")
        XCTAssertGreaterThan(err, 1e-3)
        // and the compute dtype matters: fp32 compute is another model than bf16
        let f32 = try LanguageModel(directory: Fixtures.model("llama-tiny-nf4-dq"), threads: 1, computeDType: .f32)
        XCTAssertEqual(f32.quantization?.computeDType, .f32)
        let (errF32, _) = try compare(f32, "llama-tiny-nf4-dq")
        XCTAssertGreaterThan(errF32, Self.tolerance)
    }

    func testLoRAOnFourBitBaseMatchesPEFT() throws {
        let label = "llama-tiny-nf4-dq__lora-llama-r8"
        let saved = try LanguageModel(directory: Fixtures.model("llama-tiny-nf4-dq"), adapter: Fixtures.model("lora-llama-r8"),
                                      mode: .unmerged, threads: 1)
        let (err, savedLps) = try compare(saved, label)
        XCTAssertLessThan(err, Self.tolerance, "max |engine - PEFT float64| = \(err)")
        let atLoad = try LanguageModel(directory: Fixtures.model("llama-tiny"), adapter: Fixtures.model("lora-llama-r8"),
                                       mode: .unmerged, threads: 1, quantization: .qlora)
        let (_, loadLps) = try compare(atLoad, label)
        XCTAssertEqual(savedLps, loadLps)
    }

    func testMergingIntoFourBitIsRefused() {
        XCTAssertThrowsError(try LanguageModel(directory: Fixtures.model("llama-tiny-nf4-dq"), adapter: Fixtures.model("lora-llama-r8"),
                                               mode: .merged)) { error in
            XCTAssertTrue("\(error)".contains("cannot merge") && "\(error)".contains("re-quantizes"), "\(error)")
        }
        XCTAssertThrowsError(try LanguageModel(directory: Fixtures.model("llama-tiny-nf4-dq"), quantization: .qlora)) { error in
            XCTAssertTrue("\(error)".contains("already a 4-bit checkpoint"), "\(error)")
        }
        XCTAssertThrowsError(try LanguageModel(directory: Fixtures.model("gpt2-tiny"), quantization: .qlora)) { error in
            XCTAssertTrue("\(error)".contains("llama, mistral and qwen2"), "\(error)")
        }
    }

    func testSkipModulesStayUnquantized() throws {
        var settings = QuantizationSettings.qlora
        settings.skipModules = ["mlp"]
        let model = try LanguageModel(directory: Fixtures.model("llama-tiny"), threads: 1, quantization: settings)
        let layer = model.transformer.layers[0] as! GatedBlock
        if case .fourBit = layer.qkv.parts[0].storage {} else { XCTFail("attention should be 4-bit") }
        if case .float32 = layer.gateUp.parts[0].storage {} else { XCTFail("mlp should be skipped") }
        if case .float32 = model.transformer.head.storage {} else { XCTFail("the head is never quantized") }
    }

    func testBf16CheckpointStaysSixteenBit() throws {
        let model = try LanguageModel(directory: Fixtures.model("llama-tiny-ft-bf16"), threads: 1)
        let layer = model.transformer.layers[0] as! GatedBlock
        if case .half = layer.qkv.parts[0].storage {} else { XCTFail("bf16 weights should stay bf16") }
        if case .half = model.transformer.embedding.storage {} else { XCTFail("bf16 embeddings should stay bf16") }
    }

    // MARK: broken 4-bit checkpoints: an error naming the tensor

    func brokenCopy(_ edit: (inout [SafetensorsWriter.Entry]) -> Void) throws -> String {
        let src = URL(fileURLWithPath: Fixtures.model("llama-tiny-nf4-dq"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("broken4bit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: src.appendingPathComponent("config.json"), to: dir.appendingPathComponent("config.json"))
        let store = try TensorStore.open(src.path)
        var entries = try store.names.map { name -> SafetensorsWriter.Entry in
            let info = try store.require(name)
            return SafetensorsWriter.Entry(name: name, dtype: info.dtype.rawValue, shape: info.shape, data: Data(try store.rawBytes(name)))
        }
        edit(&entries)
        try SafetensorsWriter(entries).bytes().write(to: dir.appendingPathComponent("model.safetensors"))
        return dir.path
    }

    func replaceState(_ entries: inout [SafetensorsWriter.Entry], _ weight: String, _ transform: (String) -> String) {
        let i = entries.firstIndex { $0.name == weight + ".quant_state.bitsandbytes__nf4" }!
        let json = transform(String(decoding: entries[i].data, as: UTF8.self))
        entries[i].data = Data(json.utf8)
        entries[i].shape = [entries[i].data.count]
    }

    func assertError(_ dir: String, contains parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try LanguageModel(directory: dir), file: file, line: line) { error in
            let text = "\(error)"
            for p in parts { XCTAssertTrue(text.contains(p), "missing \"\(p)\" in: \(text)", file: file, line: line) }
        }
    }

    func testBrokenCheckpointsNameTheTensor() throws {
        let w = "model.layers.1.self_attn.k_proj.weight"
        assertError(try brokenCopy { replaceState(&$0, w) { _ in "{not json" } }, contains: [w, "JSON"])
        assertError(try brokenCopy { replaceState(&$0, w) { $0.replacingOccurrences(of: "\"blocksize\": 64", with: "\"blocksize\": 48") } },
                    contains: [w, "blocksize 48"])
        assertError(try brokenCopy { replaceState(&$0, w) { $0.replacingOccurrences(of: "\"dtype\": \"float32\"", with: "\"dtype\": \"int8\"") } },
                    contains: [w, "dtype"])
        assertError(try brokenCopy { replaceState(&$0, w) { $0.replacingOccurrences(of: "[32, 64]", with: "[64, 64]") } },
                    contains: [w, "bytes"])
        // Sizes whose products overflowed 64 bits (traps found by fuzz-quant-state).
        assertError(try brokenCopy { replaceState(&$0, w) { $0.replacingOccurrences(of: "[32, 64]", with: "[4294967296, 4294967296]") } },
                    contains: [w, "2^48"])
        assertError(try brokenCopy { replaceState(&$0, w) { $0.replacingOccurrences(of: "\"nested_blocksize\": 256", with: "\"nested_blocksize\": 9223372036854775807") } },
                    contains: [w, "nested_blocksize"])
        assertError(try brokenCopy { entries in
            let i = entries.firstIndex { $0.name == w + ".absmax" }!
            entries[i].data = entries[i].data.dropLast(4)
            entries[i].shape = [entries[i].data.count]
        }, contains: [w + ".absmax", "uint8"])
        assertError(try brokenCopy { entries in
            let i = entries.firstIndex { $0.name == w + ".quant_map" }!
            entries[i].data = Data(repeating: 0, count: 64)
        }, contains: [w + ".quant_map", "code table"])
    }
}

/// The memory check before loading (issue 11).
final class MemoryEstimateTests: XCTestCase {
    func testEstimateFollowsTheStoredForm() throws {
        let f32 = try ModelDirectory(path: Fixtures.model("llama-tiny"))
        let bf16 = try ModelDirectory(path: Fixtures.model("llama-tiny-ft-bf16"))
        let e32 = MemoryEstimate.of(model: f32, quantization: nil)
        let e16 = MemoryEstimate.of(model: bf16, quantization: nil)
        let eq = MemoryEstimate.of(model: f32, quantization: .qlora)
        let saved = MemoryEstimate.of(model: try ModelDirectory(path: Fixtures.model("llama-tiny-nf4-dq")), quantization: nil)
        let params = f32.tensors.names.reduce(0) { $0 + f32.tensors.info($1)!.elementCount }
        XCTAssertEqual(e32.weights, 4 * params)
        XCTAssertEqual(e16.weights, 2 * params)
        XCTAssertLessThan(eq.weights, e32.weights)
        XCTAssertLessThan(abs(saved.weights - eq.weights), eq.weights / 10)
    }

    func testTooLittleMemoryIsRefusedWithAnOptionThatFits() throws {
        let model = try ModelDirectory(path: Fixtures.model("llama-tiny"))
        let full = MemoryEstimate.of(model: model, quantization: nil)
        let nf4 = MemoryEstimate.of(model: model, quantization: .qlora, mode: .unmerged)
        setenv("FORGETLENS_MEMORY_AVAILABLE", "\((full.total + nf4.total) / 2)", 1)
        defer { unsetenv("FORGETLENS_MEMORY_AVAILABLE") }
        XCTAssertThrowsError(try LanguageModel(model: model)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("needs about") && text.contains("available") && text.contains("--quantize nf4 --double-quant"), text)
        }
        XCTAssertNoThrow(try LanguageModel(model: model, quantization: .qlora))
    }
}
