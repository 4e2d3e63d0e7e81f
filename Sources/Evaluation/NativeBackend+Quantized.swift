import Checkpoints
import Engine
import Foundation

extension NativeBackend {
    /// A model whose base runs in 4 bits (issue 11): quantized at load with `quantization`, an
    /// adapter on it applied unmerged, as PEFT runs QLoRA adapters on a bitsandbytes base.
    public static func load(model directory: String, adapter: String?, quantization: QuantizationSettings,
                            threads: Int? = nil, batchSize: Int = 64) throws -> NativeBackend {
        let tokURL = URL(fileURLWithPath: directory).appendingPathComponent("tokenizer.json")
        guard FileManager.default.fileExists(atPath: tokURL.path) else {
            throw EvaluationError("\(directory): no tokenizer.json in the model directory")
        }
        let lm = try LanguageModel(directory: directory, adapter: adapter, mode: .unmerged, threads: threads, quantization: quantization)
        return try load(tokenizer: tokURL, model: lm, name: directory, batchSize: batchSize)
    }
}
