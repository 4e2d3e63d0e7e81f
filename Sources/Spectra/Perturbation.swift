import Checkpoints

/// One weight change to analyse, described without loading anything yet.
public enum PerturbationKind: String, Sendable, Codable {
    /// W_ft - W_base of a fully fine-tuned checkpoint.
    case full
    /// scaling * B A of a LoRA adapter, analysed through its factors.
    case lora
    /// W' - W_base of a DoRA adapter (magnitude rescaling makes it full rank).
    case dora
    /// A tensor an adapter replaces whole (modules_to_save).
    case replacement
    /// E = deq(q(W)) - W: what 4-bit quantization (bitsandbytes NF4/FP4) did to a base weight.
    case quantization
}

public struct Perturbation: Sendable {
    public let kind: PerturbationKind
    /// The base checkpoint's tensor name.
    public let name: String
    /// Shape as stored in the base checkpoint.
    public let storedShape: [Int]
    /// True when the stored tensor is [in, out] (GPT-2 Conv1D, embeddings under LoRA):
    /// reports use the [out, in] orientation of the linear map.
    public let storedTransposed: Bool
    /// For `full` and `replacement`: where the changed tensor lives.
    public let changed: (store: TensorStore, name: String)?
    /// For `lora` and `dora`.
    public let module: LoRAModule?
    public let adapter: LoRAAdapter?
    /// For `quantization`: the 4-bit form.
    public var quantization: QuantizationSettings? = nil
    /// For one logical part of a fused weight: its output rows; `name` is then the part's own
    /// name and `tensor` the stored fused tensor.
    public var part: FusedPart? = nil

    /// The stored tensor to read (the fused one for a part).
    public var tensor: String { part?.tensor ?? name }

    /// [out, in] (a part's rows only).
    public var shape: [Int] {
        let full = storedTransposed ? [storedShape[1], storedShape[0]] : storedShape
        return part.map { [$0.rows.count, full[1]] } ?? full
    }
}

/// A row range of a fused weight analysed as its own matrix, so its ranks compare with the
/// unfused families' (Phi-3: q, k, v of qkv_proj; gate, up of gate_up_proj).
public struct FusedPart: Sendable {
    public let tensor: String
    public let label: String
    public let rows: Range<Int>

    /// The parts of a stored fused weight, or nil when `name` is not one.
    static func parts(of name: String, config c: ModelConfig) -> [FusedPart]? {
        // the family says which weights are fused and how (TensorLayout, from the engine's registry)
        guard let fused = c.layout.fusedWeights.first(where: { name.hasSuffix($0.suffix) }) else { return nil }
        var start = 0
        return fused.parts.map { part in
            let label = part.label, count = part.rows
            defer { start += count }
            return FusedPart(tensor: name, label: label, rows: start..<(start + count))
        }
    }

    /// "model.layers.0.self_attn.qkv_proj.weight" part q -> "model.layers.0.self_attn.qkv_proj.q.weight".
    var name: String { String(tensor.dropLast(".weight".count)) + ".\(label).weight" }
}

extension Array where Element == Perturbation {
    /// Each fused weight replaced by one perturbation per logical part (rows of the [out, in] map).
    func splittingFused(_ config: ModelConfig) -> [Perturbation] {
        flatMap { p -> [Perturbation] in
            guard !p.storedTransposed, p.part == nil, let parts = FusedPart.parts(of: p.name, config: config),
                  parts.last?.rows.upperBound == p.storedShape.first else { return [p] }
            return parts.map { part in
                var q = Perturbation(kind: p.kind, name: part.name, storedShape: p.storedShape, storedTransposed: false,
                                     changed: p.changed, module: p.module, adapter: p.adapter)
                q.quantization = p.quantization
                q.part = part
                return q
            }
        }
    }
}

/// A base checkpoint paired with what changed it.
public enum PerturbationSource {
    case finetuned(base: ModelDirectory, finetuned: ModelDirectory)
    case adapter(base: ModelDirectory, adapter: LoRAAdapter)

    public var base: ModelDirectory {
        switch self {
        case .finetuned(let base, _), .adapter(let base, _): base
        }
    }

    /// The perturbations this source defines, in the base checkpoint's tensor order, plus the
    /// tensors that could not be compared and why.
    public func perturbations(matching filter: ((String) -> Bool)? = nil) throws
        -> (perturbations: [Perturbation], onlyInBase: [String], onlyInOther: [String]) {
        let keep = filter ?? { _ in true }
        switch self {
        case .finetuned(let base, let finetuned):
            guard base.config.modelType == finetuned.config.modelType else {
                throw CheckpointError(file: finetuned.path, field: "config.json model_type",
                                      "\(finetuned.config.modelType) differs from the base's \(base.config.modelType): not a fine-tune of this base")
            }
            var result: [Perturbation] = []
            for name in base.tensors.names where finetuned.tensors.contains(name) {
                let b = try base.tensors.require(name), f = try finetuned.tensors.require(name)
                guard b.shape == f.shape else {
                    throw CheckpointError(file: finetuned.path, field: name,
                                          "shape \(f.shape) differs from the base's \(b.shape): not a fine-tune of this base")
                }
                guard b.rank == 2, b.dtype.isFloatingPoint, f.dtype.isFloatingPoint, keep(name) else { continue }
                result.append(Perturbation(kind: .full, name: name, storedShape: b.shape,
                                           storedTransposed: base.config.storesTransposed(name),
                                           changed: (finetuned.tensors, name), module: nil, adapter: nil))
            }
            let onlyBase = base.tensors.names.filter { !finetuned.tensors.contains($0) }
            let onlyOther = finetuned.tensors.names.filter { !base.tensors.contains($0) }
            return (result.splittingFused(base.config), onlyBase, onlyOther)
        case .adapter(let base, let adapter):
            var result: [Perturbation] = []
            for module in adapter.modules where keep(module.baseTensor) {
                let info = try base.tensors.require(module.baseTensor)
                let transposed = module.isEmbedding ? false : module.baseIsTransposed
                result.append(Perturbation(kind: module.magnitudeTensor == nil ? .lora : .dora,
                                           name: module.baseTensor, storedShape: info.shape,
                                           storedTransposed: transposed,
                                           changed: nil, module: module, adapter: adapter))
            }
            for (baseName, adapterName) in adapter.replacements.sorted(by: { $0.key < $1.key }) where keep(baseName) {
                let info = try base.tensors.require(baseName)
                guard info.rank == 2 else { continue }
                result.append(Perturbation(kind: .replacement, name: baseName, storedShape: info.shape,
                                           storedTransposed: base.config.storesTransposed(baseName),
                                           changed: (adapter.tensors, adapterName), module: nil, adapter: adapter))
            }
            result.sort { $0.name < $1.name }
            return (result.splittingFused(base.config), [], adapter.unmatchedKeys)
        }
    }
}
