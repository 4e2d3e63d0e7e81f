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

    init(store: TensorStore, config: ModelConfig, adapter: LoRAAdapter?, mode: AdapterMode) {
        self.store = store
        self.config = config
        self.adapter = adapter
        self.mode = mode
        positionLimit = config.maxPositions
        for m in adapter?.modules ?? [] { loraByBase[m.baseTensor] = m }
    }

    func contains(_ name: String) -> Bool { store.contains(name) }

    /// The tensor `name` (or the adapter's replacement for it) as float32, checked to be `shape`.
    func tensor(_ name: String, shape: [Int]) throws -> FloatBuffer {
        let (source, sourceName) = self.source(name)
        guard let info = source.info(sourceName) else {
            throw CheckpointError(file: source.location, field: name,
                                  "tensor missing: a \(config.architecture.rawValue) model with this config.json needs it (expected shape \(shape))")
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
                storedTransposed: Bool = false, forceMerge: Bool = false) throws -> Linear {
        let shape = storedTransposed ? [inFeatures, outFeatures] : [outFeatures, inFeatures]
        let weight = try tensor(weightName, shape: shape)
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
                Self.merge(weight: weight, a: a, b: b, scaling: s, rank: r, out: outFeatures, in: inFeatures,
                           transposed: storedTransposed, magnitude: magnitude)
            } else {
                var scale: FloatBuffer? = nil
                if let magnitude {
                    let norms = Self.rowNorms(weight: weight, a: a, b: b, scaling: s, rank: r, out: outFeatures,
                                              in: inFeatures, transposed: storedTransposed)
                    let sc = FloatBuffer(count: outFeatures, zeroed: false)
                    for o in 0..<outFeatures { sc[o] = Float(Double(magnitude[o]) / norms[o]) }
                    scale = sc
                }
                parts.append(LoRAPart(outOffset: 0, outCount: outFeatures, rank: r, a: a, b: b, scaling: s, doraScale: scale))
            }
        }
        return Linear(inFeatures: inFeatures, outFeatures: outFeatures, weight: weight,
                      storedTransposed: storedTransposed, bias: bias, lora: parts)
    }

    /// An embedding table [rows, dim] (LoRA on embeddings is always merged: a lookup of
    /// W0 + s (B A)^T is exactly PEFT's lookup plus its low-rank term).
    func embedding(_ name: String, rows: Int, dim: Int) throws -> FloatBuffer {
        if loraByBase[name] != nil {
            return try linear(name, bias: nil, inFeatures: rows, outFeatures: dim, storedTransposed: true).weight
        }
        return try tensor(name, shape: [rows, dim])
    }

    /// The LM head [vocab, hidden]; LoRA on it is merged (its GEMM is the head's GEMM either way).
    func head(_ name: String, vocab: Int, dim: Int) throws -> FloatBuffer {
        try linear(name, bias: nil, inFeatures: dim, outFeatures: vocab, forceMerge: true).weight
    }

    /// Every LoRA module and replacement of the adapter must have landed on a weight the
    /// architecture uses; otherwise the forward pass would silently ignore part of the adapter.
    func finish() throws {
        guard let adapter else { return }
        let unusedLoRA = adapter.modules.filter { !usedLoRA.contains($0.baseTensor) }.map(\.module)
        let unusedReplacements = adapter.replacements.keys.filter { !usedReplacements.contains($0) }.sorted()
        if !unusedLoRA.isEmpty || !unusedReplacements.isEmpty {
            throw CheckpointError(file: adapter.path, field: "",
                                  "the engine does not use these adapted weights of a \(config.architecture.rawValue) model: \((unusedLoRA + unusedReplacements).joined(separator: ", "))")
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
