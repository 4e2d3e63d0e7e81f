import Checkpoints
import LinearAlgebra

/// How a LoRA adapter is applied.
public enum AdapterMode: String, Sendable, CaseIterable {
    /// W0 + s B A (DoRA: rescaled rows) formed once at load; the forward pass is the base's.
    case merged
    /// Base GEMM plus s B (A x) per adapted linear layer, as PEFT's forward does.
    case unmerged
}

/// Reads a checkpoint's tensors into float32 buffers, one tensor at a time, checking each shape
/// against what config.json implies, and folds in an adapter (replacement tensors, LoRA, DoRA).
final class WeightLoader {
    let store: TensorStore
    let config: ModelConfig
    let adapter: LoRAAdapter?
    let mode: AdapterMode
    /// Positions the engine will ever use (rotary tables are built this far).
    var positionLimit: Int
    private var loraByBase: [String: LoRAModule] = [:]
    private var usedLoRA = Set<String>()
    private var usedReplacements = Set<String>()

    /// Quantize the blocks' linear weights at load (bit-identical to bitsandbytes).
    let quantization: QuantizationSettings?
    /// What a saved 4-bit checkpoint's weights are rounded to before the GEMM.
    let savedCompute: DType
    /// --compute-dtype bf16 on a 16/32-bit weight: every matrix the loader returns runs its
    /// GEMMs in bf16 through oneDNN (packed lazily; an embedding that is never a head never packs).
    var computeBF16 = false

    init(store: TensorStore, config: ModelConfig, adapter: LoRAAdapter?, mode: AdapterMode,
         quantization: QuantizationSettings? = nil, savedCompute: DType = .f32) {
        self.store = store
        self.config = config
        self.adapter = adapter
        self.mode = mode
        self.quantization = quantization
        self.savedCompute = savedCompute
        positionLimit = config.maxPositions
        for m in adapter?.modules ?? [] { loraByBase[m.baseTensor] = m }
    }

    func contains(_ name: String) -> Bool { store.contains(name) }

    /// The tensor `name` (or the adapter's replacement for it) as float32, checked to be `shape`.
    func tensor(_ name: String, shape: [Int]) throws -> FloatBuffer {
        let (source, sourceName) = self.source(name)
        guard let info = source.info(sourceName) else {
            throw CheckpointError(file: source.location, field: name,
                                  "tensor missing: a \(config.modelType) model with this config.json needs it (expected shape \(shape))")
        }
        guard info.shape == shape else {
            throw CheckpointError(file: source.location, field: sourceName,
                                  "shape mismatch: config.json implies \(shape), the checkpoint has \(info.shape)")
        }
        let out = FloatBuffer(count: info.elementCount, zeroed: false)
        if info.elementCount > 0 { try source.read(sourceName, into: out.pointer) }
        source.release(sourceName)
        return out
    }

    /// The tensor `name` (or its replacement) as a matrix kept as stored: float32 as today,
    /// bf16/fp16 as 16-bit (converted per tile at GEMM time), other dtypes converted to float32.
    func matrix(_ name: String, shape: [Int]) throws -> WeightMatrix {
        let (source, sourceName) = self.source(name)
        guard let info = source.info(sourceName), info.shape == shape, info.dtype == .bf16 || info.dtype == .f16 else {
            return WeightMatrix(rows: shape[0], cols: shape[1], float: try tensor(name, shape: shape)).computing(bf16: computeBF16)
        }
        let half = HalfBuffer(count: info.elementCount, dtype: info.dtype)
        if info.elementCount > 0 {
            UnsafeMutableRawPointer(half.bits).copyMemory(from: try source.rawBytes(sourceName).baseAddress!, byteCount: info.elementCount * 2)
        }
        source.release(sourceName)
        return WeightMatrix(rows: shape[0], cols: shape[1], storage: .half(half)).computing(bf16: computeBF16)
    }

    /// A block's linear weight [out, in]: 4-bit when the checkpoint saved it so or when
    /// quantizing at load, else as stored.
    private func linearWeight(_ name: String, shape: [Int], storedTransposed: Bool, quantizable: Bool) throws -> WeightMatrix {
        if FourBitCheckpoint.stateTensor(name, in: store) != nil {
            try refuseFourBit(name)
            guard !storedTransposed else {
                throw CheckpointError(file: store.location, field: name, "4-bit Conv1D (GPT-2) weights are not supported")
            }
            let t = try FourBitCheckpoint.read(name, store: store)
            guard t.shape == shape else {
                throw CheckpointError(file: store.location, field: name,
                                      "shape mismatch: config.json implies \(shape), the quant_state says \(t.shape)")
            }
            return WeightMatrix(rows: shape[0], cols: shape[1], storage: .fourBit(FourBitWeight(tensor: t, compute: savedCompute)))
        }
        let module = String(name.dropLast(".weight".count))
        guard quantizable, !storedTransposed, let q = quantization, !q.skips(module: module) else {
            return try matrix(name, shape: shape)
        }
        try refuseFourBit(name)
        let (source, sourceName) = self.source(name)
        let stored = source.info(sourceName)?.dtype ?? .f32
        let values = try tensor(name, shape: shape)
        let t = FourBitQuantizer.quantize(values.pointer, shape: shape, dtype: [.bf16, .f16].contains(stored) ? stored : .f32,
                                          type: q.type, blocksize: q.blocksize, doubleQuant: q.doubleQuant)
        return WeightMatrix(rows: shape[0], cols: shape[1], storage: .fourBit(FourBitWeight(tensor: t, compute: q.computeDType)))
    }

    /// 4-bit weights run on the Llama family; GPT-NeoX re-lays out q|k|v rows at load, which
    /// 4-bit blocks running across rows do not allow, and GPT-2 keeps Conv1D weights transposed.
    private func refuseFourBit(_ name: String) throws {
        guard config.layout.supportsFourBit else {
            throw CheckpointError(file: store.location, field: name,
                                  "4-bit weights are supported for llama, mistral and qwen2 models, not \(config.modelType)")
        }
    }

    private func source(_ name: String) -> (TensorStore, String) {
        if let adapter, let replacement = adapter.replacements[name] {
            usedReplacements.insert(name)
            return (adapter.tensors, replacement)
        }
        return (store, name)
    }

    /// A linear layer with weight `weightName` ([out, in], or [in, out] when `storedTransposed`)
    /// and optional bias, with any LoRA on it merged or attached per `mode`.
    func linear(_ weightName: String, bias biasName: String?, inFeatures: Int, outFeatures: Int,
                storedTransposed: Bool = false, forceMerge: Bool = false, quantizable: Bool = true) throws -> Linear {
        let shape = storedTransposed ? [inFeatures, outFeatures] : [outFeatures, inFeatures]
        var matrix = try linearWeight(weightName, shape: shape, storedTransposed: storedTransposed, quantizable: quantizable && !forceMerge)
        var bias = try biasName.map { try tensor($0, shape: [outFeatures]) }
        var parts: [LoRAPart] = []
        if let module = loraByBase[weightName], let adapter {
            usedLoRA.insert(module.baseTensor)
            guard module.baseIsTransposed == storedTransposed else {
                throw CheckpointError(file: adapter.path, field: module.module,
                                      "fan_in_fan_out does not match how \(weightName) is stored; set fan_in_fan_out \(storedTransposed) in adapter_config.json")
            }
            let r = module.rank, s = Float(module.scaling)
            let a = try adapterTensor(module.aTensor, shape: [r, inFeatures])
            let b = try adapterTensor(module.bTensor, shape: [outFeatures, r])
            if let biasTensor = module.biasTensor {
                // PEFT adds s * lora_B.bias to the output, whether or not the base layer has a bias.
                let lb = try adapterTensor(biasTensor, shape: [outFeatures])
                if bias == nil { bias = FloatBuffer(count: outFeatures) }
                for i in 0..<outFeatures { bias![i] += s * lb[i] }
            }
            let magnitude = try module.magnitudeTensor.map { try adapterTensor($0, shape: [outFeatures]) }
            if mode == .merged || module.isEmbedding || forceMerge {
                if case .fourBit = matrix.storage {
                    throw CheckpointError(file: adapter.path, field: module.module,
                                          "cannot merge a LoRA into the 4-bit weight \(weightName): PEFT re-quantizes the merged weight, which is no longer the model the adapter was trained on; apply it unmerged (--unmerged)")
                }
                // merging works on float32 (a 16-bit weight is widened, as before issue 11)
                let weight = matrix.float32 ?? matrix.floats()
                Self.merge(weight: weight, a: a, b: b, scaling: s, rank: r, out: outFeatures, in: inFeatures,
                           transposed: storedTransposed, magnitude: magnitude)
                matrix = WeightMatrix(rows: matrix.rows, cols: matrix.cols, float: weight)
            } else {
                var scale: FloatBuffer? = nil
                if let magnitude {
                    let weight = matrix.floats()
                    let norms = Self.rowNorms(weight: weight, a: a, b: b, scaling: s, rank: r, out: outFeatures,
                                              in: inFeatures, transposed: storedTransposed)
                    let sc = FloatBuffer(count: outFeatures, zeroed: false)
                    for o in 0..<outFeatures { sc[o] = Float(Double(magnitude[o]) / norms[o]) }
                    scale = sc
                }
                parts.append(LoRAPart(outOffset: 0, outCount: outFeatures, rank: r, a: a, b: b, scaling: s, doraScale: scale))
            }
        }
        return Linear(inFeatures: inFeatures, outFeatures: outFeatures, weight: matrix.computing(bf16: computeBF16),
                      storedTransposed: storedTransposed, bias: bias, lora: parts)
    }

    /// An embedding table [rows, dim] (LoRA on embeddings is always merged: a lookup of
    /// W0 + s (B A)^T is exactly PEFT's lookup plus its low-rank term).
    func embedding(_ name: String, rows: Int, dim: Int) throws -> WeightMatrix {
        if loraByBase[name] != nil {
            return try linear(name, bias: nil, inFeatures: rows, outFeatures: dim, storedTransposed: true, quantizable: false).weight
        }
        return try matrix(name, shape: [rows, dim])
    }

    /// The LM head [vocab, hidden]; LoRA on it is merged (its GEMM is the head's GEMM either way).
    /// Never quantized, as transformers leaves it.
    func head(_ name: String, vocab: Int, dim: Int) throws -> WeightMatrix {
        try linear(name, bias: nil, inFeatures: dim, outFeatures: vocab, forceMerge: true, quantizable: false).weight
    }

    /// Every LoRA module and replacement of the adapter must have landed on a weight the
    /// architecture uses; otherwise the forward pass would silently ignore part of the adapter.
    func finish() throws {
        guard let adapter else { return }
        let unusedLoRA = adapter.modules.filter { !usedLoRA.contains($0.baseTensor) }.map(\.module)
        let unusedReplacements = adapter.replacements.keys.filter { !usedReplacements.contains($0) }.sorted()
        if !unusedLoRA.isEmpty || !unusedReplacements.isEmpty {
            throw CheckpointError(file: adapter.path, field: "",
                                  "the engine does not use these adapted weights of a \(config.modelType) model: \((unusedLoRA + unusedReplacements).joined(separator: ", "))")
        }
        if !adapter.unmatchedKeys.isEmpty {
            throw CheckpointError(file: adapter.path, field: adapter.unmatchedKeys[0],
                                  "adapter tensor matches no weight of the base model (\(adapter.unmatchedKeys.count) such tensors)")
        }
    }

    private func adapterTensor(_ name: String, shape: [Int]) throws -> FloatBuffer {
        let t = adapter!.tensors
        let info = try t.require(name)
        guard info.elementCount == shape.reduce(1, *) else {
            throw CheckpointError(file: t.location, field: name, "shape mismatch: expected \(shape), found \(info.shape)")
        }
        let out = FloatBuffer(count: info.elementCount, zeroed: false)
        if info.elementCount > 0 { try t.read(name, into: out.pointer) }
        return out
    }

    /// delta = s B A, [out, in].
    private static func delta(a: FloatBuffer, b: FloatBuffer, scaling: Float, rank: Int, out: Int, in inF: Int) -> FloatBuffer {
        let d = FloatBuffer(count: out * inF, zeroed: false)
        BLAS.sgemm(transA: false, transB: false, m: out, n: inF, k: rank, alpha: scaling,
                   a: b.pointer, lda: rank, b: a.pointer, ldb: inF, c: d.pointer, ldc: inF)
        return d
    }

    /// ||W0 + s B A|| over the inputs of each output feature, in float64.
    private static func rowNorms(weight: FloatBuffer, a: FloatBuffer, b: FloatBuffer, scaling: Float, rank: Int,
                                 out: Int, in inF: Int, transposed: Bool) -> [Double] {
        let d = delta(a: a, b: b, scaling: scaling, rank: rank, out: out, in: inF)
        var norms = [Double](repeating: 0, count: out)
        for o in 0..<out {
            var sum = 0.0
            for i in 0..<inF {
                let w = transposed ? weight[i * out + o] : weight[o * inF + i]
                let v = Double(w + d[o * inF + i])
                sum += v * v
            }
            norms[o] = sum.squareRoot()
        }
        return norms
    }

    /// W <- W0 + s B A; with DoRA magnitudes m, W <- diag(m / ||W0 + s B A||_row) (W0 + s B A).
    private static func merge(weight: FloatBuffer, a: FloatBuffer, b: FloatBuffer, scaling: Float, rank: Int,
                              out: Int, in inF: Int, transposed: Bool, magnitude: FloatBuffer?) {
        let d = delta(a: a, b: b, scaling: scaling, rank: rank, out: out, in: inF)
        for o in 0..<out {
            for i in 0..<inF {
                let idx = transposed ? i * out + o : o * inF + i
                weight[idx] += d[o * inF + i]
            }
        }
        guard let magnitude else { return }
        for o in 0..<out {
            var sum = 0.0
            for i in 0..<inF {
                let v = Double(transposed ? weight[i * out + o] : weight[o * inF + i])
                sum += v * v
            }
            let scale = Float(Double(magnitude[o]) / sum.squareRoot())
            for i in 0..<inF {
                let idx = transposed ? i * out + o : o * inF + i
                weight[idx] *= scale
            }
        }
    }
}
