import Checkpoints
import LinearAlgebra

/// A causal language model loaded for inference in float32: a Hugging Face model directory,
/// optionally with a PEFT LoRA/DoRA adapter applied merged or unmerged.
///
/// Immutable after loading: several threads may score with it at once (each call owns its
/// caches and buffers); OpenBLAS's own threads do the parallel work inside each GEMM.
public final class LanguageModel: @unchecked Sendable {
    public let config: ModelConfig
    /// The longest input scored at once (lm-eval's max_length): max_position_embeddings unless capped at init.
    public let maxLength: Int
    public let adapterMode: AdapterMode?
    let transformer: Transformer
    /// Names the tensors behind a NaN/Inf output (checked on outputs, scanned only then).
    let nonFinite: NonFiniteDiagnosis

    /// Loads `directory` (config.json + safetensors) and, if given, the PEFT adapter at `adapter`.
    /// `threads` sets OpenBLAS's thread count (nil: leave it as it is). `maxLength` caps the
    /// context below max_position_embeddings (lm-eval's --max_length); nil: the full table.
    /// The 4-bit form the model runs in: quantized at load, or a saved 4-bit checkpoint's own
    /// (with the compute dtype actually used); nil for 16/32-bit weights.
    public let quantization: QuantizationSettings?
    /// What a 16/32-bit model's linear layers compute in: .bf16 (oneDNN, --compute-dtype bf16 on
    /// a CPU with AVX512-BF16) or .f32; nil for 4-bit models (see `quantization`).
    public let linearCompute: DType?

    public convenience init(directory: String, adapter: String? = nil, mode: AdapterMode = .merged,
                            threads: Int? = nil, maxLength: Int? = nil, quantization: QuantizationSettings? = nil,
                            computeDType: DType? = nil) throws {
        let model = try ModelDirectory(path: directory)
        let lora = try adapter.map { try LoRAAdapter(path: $0, base: model.tensors) }
        try self.init(model: model, adapter: lora, mode: mode, threads: threads, maxLength: maxLength,
                      quantization: quantization, computeDType: computeDType)
    }

    /// `quantization` quantizes a 16/32-bit checkpoint's block linears at load; `computeDType`
    /// overrides a saved 4-bit checkpoint's bnb_4bit_compute_dtype.
    public init(model: ModelDirectory, adapter: LoRAAdapter? = nil, mode: AdapterMode = .merged,
                threads: Int? = nil, maxLength: Int? = nil, quantization: QuantizationSettings? = nil,
                computeDType: DType? = nil) throws {
        if let threads {
            BLAS.setThreads(threads)
            BF16Matmul.setThreads(threads)
        }
        if let maxLength, maxLength < 1 { throw EngineError("maxLength must be at least 1") }
        config = model.config
        self.maxLength = min(maxLength ?? model.config.servedPositions, model.config.servedPositions)
        adapterMode = adapter == nil ? nil : mode
        let saved = try model.savedQuantization()
        if let saved {
            if quantization != nil {
                throw EngineError("\(model.path) is already a 4-bit checkpoint (\(saved.type.rawValue)); --quantize is for 16/32-bit checkpoints")
            }
            self.quantization = QuantizationSettings(type: saved.type, doubleQuant: saved.doubleQuant,
                                                     blocksize: FourBitCheckpoint.blocksize(in: model.tensors) ?? 64,
                                                     computeDType: computeDType ?? saved.computeDType, skipModules: saved.skipModules)
        } else {
            if let quantization {
                try quantization.validate()
                guard model.config.layout.supportsFourBit else {
                    throw EngineError("--quantize: 4-bit weights are supported for llama, mistral and qwen2 models, not \(model.config.modelType)")
                }
            }
            self.quantization = quantization
        }
        try MemoryEstimate.check(model: model, quantization: saved == nil ? quantization : nil, adapter: adapter, mode: mode,
                                 saved: saved != nil)
        // --compute-dtype on a 16/32-bit model (not 4-bit at load or saved): bf16 runs every linear
        // layer and the LM head through oneDNN's bf16 matmul; fp32 is the default path.
        let plainCompute = saved == nil && quantization == nil
        if plainCompute, let computeDType, computeDType == .f16 {
            throw EngineError("--compute-dtype fp16 applies to 4-bit models only; use bf16 or fp32")
        }
        let bf16 = plainCompute && computeDType == .bf16 && BF16Compute.available()
        linearCompute = plainCompute ? (bf16 ? .bf16 : .f32) : nil
        let loader = WeightLoader(store: model.tensors, config: model.config, adapter: adapter, mode: mode,
                                  quantization: saved == nil ? quantization : nil,
                                  savedCompute: computeDType ?? saved?.computeDType ?? .f32)
        loader.computeBF16 = bf16
        loader.positionLimit = self.maxLength
        transformer = try Transformer.load(loader, family: model.decodedConfig)
        nonFinite = NonFiniteDiagnosis(stores: [model.tensors] + (adapter.map { [$0.tensors] } ?? []))
        // bf16 weights are packed into oneDNN's layout on their first GEMM (fused q|k|v and
        // gate|up are stacked after loading): one two-token pass packs every matrix now, at
        // load, so scoring never pays for it. Its output is discarded.
        if bf16 { _ = try logits([[0, 0]]) }
    }

    public var vocabSize: Int { config.vocabSize }

    /// The checkpoint's content fingerprint extended with how it runs (4-bit form, or bf16
    /// compute), so stored bf16 and fp32 results never answer for each other. fp32 on a
    /// 16/32-bit model keeps the plain fingerprint, as before issue 17.
    public func runFingerprint(_ base: String) -> String {
        let q = QuantizationSettings.fingerprint(base, quantization)
        return linearCompute == .bf16 ? ComputeDType.bf16.fingerprint(q) : q
    }

    /// "bf16" or "fp32" for what the linear layers compute in (4-bit: the tiles' compute dtype).
    public var computeDTypeName: String {
        QuantizationSettings.dtypeName(linearCompute ?? quantization?.computeDType ?? .f32)
    }

    func checkTokens(_ tokens: [Int]) throws {
        for t in tokens where t < 0 || t >= config.vocabSize {
            throw EngineError("token id \(t) is outside the model's vocabulary (0..<\(config.vocabSize)): tokenizer and model do not match")
        }
    }

    /// Logits of every position of each sequence ([tokens, vocab] row-major per sequence), all
    /// sequences in one forward pass. Each must fit the position table. For benchmarks and tests.
    public func logits(_ sequences: [[Int]]) throws -> [[Float]] {
        for s in sequences {
            try checkTokens(s)
            guard s.count <= maxLength else { throw EngineError("sequence of \(s.count) tokens is longer than the model's \(maxLength) positions") }
        }
        let caches = sequences.map { transformer.makeCache(capacity: $0.count) }
        let batch = Batch(zip(caches, sequences).map { ($0, $1.count) })
        let hidden = transformer.finalHidden(tokens: sequences.flatMap { $0 }, batch: batch, outputRows: Array(0..<batch.rows))
        var out: [[Float]] = []
        var offset = 0
        for s in sequences {
            // the LM head writes straight into each result array
            out.append([Float](unsafeUninitializedCapacity: s.count * vocabSize) { buffer, initialized in
                if let base = buffer.baseAddress {
                    transformer.lmHead(hidden.pointer + offset * config.hiddenSize, rows: s.count, into: base)
                }
                initialized = s.count * vocabSize
            })
            offset += s.count
        }
        return out
    }

    /// log p(ids[i+1] | ids[...i]) for i in 0..<ids.count-1 (one fewer than ids). Inputs longer than
    /// the position table are left-truncated to the last `maxLength` tokens first (the ids used are returned).
    public func tokenLogProbs(_ ids: [Int]) throws -> (ids: [Int], logProbs: [Double]) {
        let used = Array(ids.suffix(maxLength))
        guard used.count >= 2 else { return (used, []) }
        let result = try loglikelihood([LoglikelihoodRequest(context: [used[0]], continuation: Array(used.dropFirst()))])[0]
        return (used, result.tokenLogProbs)
    }
}
