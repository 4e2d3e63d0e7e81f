import ArgumentParser
import Checkpoints
import Engine
import Foundation
import JSONReader
import Tokenizers

/// `forgetlens logprobs`: per-token log-probs of texts under a model (optionally with an adapter),
/// for checking the engine against transformers by hand or from a script.
struct Logprobs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logprobs",
        abstract: "Per-token log-probs of each input text (one JSON string per stdin line).",
        discussion: """
        Reads one JSON string per line on standard input, tokenizes it as Hugging Face would (the
        model directory's tokenizer.json, special tokens included) and prints one JSON object per
        line: {"ids": [...], "logprobs": [...]} where logprobs[i] = log p(ids[i+1] | ids[...i]), one
        fewer than ids. Texts longer than the model's position table keep their last tokens (the
        ids printed are the ones scored). Computation is float32; blank lines are skipped. bf16/fp16
        weights stay 16-bit in memory; a saved bitsandbytes 4-bit checkpoint, or --quantize, runs
        the 4-bit model (a LoRA on it needs --unmerged, as PEFT runs QLoRA adapters).
        """
    )

    @Option(help: "Model directory (config.json, safetensors weights, tokenizer.json).")
    var model: String

    @Option(help: "PEFT LoRA/DoRA adapter directory (adapter_config.json + adapter_model.safetensors).")
    var adapter: String?

    @Flag(help: "Apply the adapter unmerged (base GEMM plus s*B(Ax) per layer, as PEFT's forward) instead of merging it into the weights at load.")
    var unmerged = false

    @Option(help: "OpenBLAS threads (default: OpenBLAS's own choice).")
    var threads: Int?

    @OptionGroup var quantization: QuantizationFlags

    @Flag(help: .hidden)
    var timing = false

    func validate() throws {
        if unmerged && adapter == nil { throw ValidationError("--unmerged needs --adapter DIR") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        let start = Date()
        let tokenizerURL = URL(fileURLWithPath: model).appendingPathComponent("tokenizer.json")
        guard FileManager.default.fileExists(atPath: tokenizerURL.path) else {
            throw LogprobsError("\(model): no tokenizer.json in the model directory (needed to tokenize the input)")
        }
        let tokenizer = try Tokenizer(contentsOf: tokenizerURL)
        let modelDir = try ModelDirectory(path: model)
        try quantization.check(model: modelDir)
        let lora = try adapter.map { try LoRAAdapter(path: $0, base: modelDir.tensors) }
        let lm = try LanguageModel(model: modelDir, adapter: lora, mode: unmerged ? .unmerged : .merged, threads: threads,
                                   quantization: quantization.settings, computeDType: quantization.computeOverride)
        let loaded = Date()

        var sequences: [[Int]] = []
        let input = FileHandle.standardInput.readDataToEndOfFile()
        var lineNumber = 0
        for line in input.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            guard let text = (try? JSONReader.parse(line))?.stringValue else {
                throw LogprobsError("stdin line \(lineNumber) is not a JSON string (expected one JSON-encoded string per line)")
            }
            sequences.append(Array(tokenizer.encode(text, addSpecialTokens: true).suffix(lm.maxLength)))
        }
        // One batched call: sequences share forward passes (results do not depend on the batch).
        let scored = sequences.enumerated().filter { $0.element.count >= 2 }
        let results = try lm.loglikelihood(scored.map { LoglikelihoodRequest(context: [$0.element[0]], continuation: Array($0.element.dropFirst())) })
        var logprobs = [[Double]](repeating: [], count: sequences.count)
        for ((index, _), result) in zip(scored, results) { logprobs[index] = result.tokenLogProbs }

        var out = Data()
        for (ids, lps) in zip(sequences, logprobs) {
            let line = "{\"ids\": [" + ids.map(String.init).joined(separator: ", ") + "], \"logprobs\": ["
                + lps.map { $0.isFinite ? "\($0)" : "-1e308" }.joined(separator: ", ") + "]}\n"
            out.append(contentsOf: Array(line.utf8))
        }
        FileHandle.standardOutput.write(out)
        if timing {
            let tokens = sequences.reduce(0) { $0 + $1.count }
            let seconds = Date().timeIntervalSince(loaded)
            FileHandle.standardError.write(Data(String(format: "logprobs: load %.2f s, %d tokens in %.3f s (%.1f tokens/s)\n",
                                                       loaded.timeIntervalSince(start), tokens, seconds, Double(tokens) / seconds).utf8))
        }
    }
}

/// A problem with the input of `forgetlens logprobs` (exit status 2).
struct LogprobsError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
