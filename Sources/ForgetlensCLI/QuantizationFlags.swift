import ArgumentParser
import Checkpoints
import Engine

/// `--quantize nf4|fp4 --double-quant --blocksize N --compute-dtype bf16|fp16|fp32`, shared by
/// `logprobs` and `eval`: run a 16/32-bit checkpoint as bitsandbytes' 4-bit model (QLoRA's
/// setup is `--quantize nf4 --double-quant`), or pick a saved 4-bit checkpoint's compute dtype,
/// or (issue 17) compute any checkpoint's linear layers in bf16.
struct QuantizationFlags: ParsableArguments {
    enum Kind: String, ExpressibleByArgument, CaseIterable { case nf4, fp4 }

    @Option(help: "Quantize the blocks' linear weights at load to bitsandbytes' 4-bit format (nf4 or fp4), bit-identical to bitsandbytes; embeddings, norms and the LM head stay as stored.")
    var quantize: Kind?

    @Flag(name: .customLong("double-quant"), help: "With --quantize: quantize the per-block absmax too (bitsandbytes' compress_statistics, QLoRA's double quantization).")
    var doubleQuant = false

    @Option(help: "With --quantize: elements per quantization block (32..4096, a power of two).")
    var blocksize: Int = 64

    @Option(name: .customLong("compute-dtype"), help: "fp32 (default) or bf16 for any checkpoint: bf16 runs the linear layers and LM head on bf16 activations and weights with fp32 accumulation (oneDNN; needs AVX512-BF16, else fp32 with a note). For 4-bit weights: what they are rounded to before the matmul, bf16 (default with --quantize), fp16 or fp32; for a saved 4-bit checkpoint it overrides bnb_4bit_compute_dtype.")
    var computeDType: String?

    func validate() throws {
        if quantize == nil && (doubleQuant || blocksize != 64) {
            throw ValidationError("--double-quant and --blocksize need --quantize nf4|fp4")
        }
        if !FourBitTensor.validBlocksizes.contains(blocksize) {
            throw ValidationError("--blocksize must be one of \(FourBitTensor.validBlocksizes.map(String.init).joined(separator: ", "))")
        }
        if let computeDType, Self.dtypes[computeDType] == nil {
            throw ValidationError("--compute-dtype must be bf16, fp16 or fp32")
        }
    }

    static let dtypes: [String: DType] = ["bf16": .bf16, "fp16": .f16, "fp32": .f32]

    var computeOverride: DType? { computeDType.flatMap { Self.dtypes[$0] } }

    /// The quantize-at-load settings (nil without --quantize).
    var settings: QuantizationSettings? {
        guard let quantize else { return nil }
        return QuantizationSettings(type: quantize == .nf4 ? .nf4 : .fp4, doubleQuant: doubleQuant, blocksize: blocksize,
                                    computeDType: computeOverride ?? .bf16)
    }

    /// Checks that --compute-dtype fits the model: fp16 only for 4-bit weights.
    func check(model: ModelDirectory) throws {
        if computeDType == "fp16", quantize == nil, try model.savedQuantization() == nil {
            throw CLIError("--compute-dtype fp16 applies to 4-bit models (pass --quantize nf4|fp4, or a saved 4-bit checkpoint); 16/32-bit checkpoints compute in bf16 or fp32")
        }
    }
}
