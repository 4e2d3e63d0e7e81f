import Foundation

/// One base weight modified by a LoRA adapter: Delta = scaling * B A (in the base layer's
/// [out, in] orientation), plus the optional pieces PEFT can attach to the same module.
public struct LoRAModule: Sendable, Equatable {
    /// Module path as PEFT matches it, e.g. "model.layers.0.self_attn.q_proj".
    public let module: String
    /// The tensor of the base checkpoint this module changes.
    public let baseTensor: String
    /// Adapter tensors: A is [r, in], B is [out, r] (embeddings: A [r, vocab], B [dim, r]).
    public let aTensor: String
    public let bTensor: String
    public let rank: Int
    public let alpha: Double
    public let scaling: Double
    /// True when the base tensor is stored as the transpose of B A: GPT-2 Conv1D weights
    /// (fan_in_fan_out) and embedding tables ([vocab, dim] = (B A)^T).
    public let baseIsTransposed: Bool
    public let isEmbedding: Bool
    /// lora_B.bias (PEFT lora_bias): the base bias gains scaling * this.
    public let biasTensor: String?
    /// The base bias `biasTensor` adds to (nil: the base layer has no bias; the LoRA bias is the bias).
    public let baseBias: String?
    /// DoRA magnitude vector (one entry per output feature).
    public let magnitudeTensor: String?
}

/// A PEFT LoRA adapter directory (adapter_config.json + adapter_model.safetensors) resolved
/// against the base checkpoint it modifies.
public final class LoRAAdapter: @unchecked Sendable {
    public let path: String
    public let config: AdapterConfig
    public let tensors: TensorStore
    public let modules: [LoRAModule]
    /// Whole base tensors replaced by the adapter (modules_to_save, trained biases):
    /// base tensor name -> adapter tensor name.
    public let replacements: [String: String]
    /// Adapter tensor names that correspond to nothing in the base.
    public let unmatchedKeys: [String]

    public init(path: String, base: TensorStore) throws {
        self.path = path
        let dir = URL(fileURLWithPath: path)
        let configPath = dir.appendingPathComponent("adapter_config.json").path
        guard FileManager.default.fileExists(atPath: configPath) else {
            throw CheckpointError(file: path, field: "adapter_config.json", "missing: a PEFT adapter directory needs it")
        }
        config = try AdapterConfig.load(path: configPath)
        tensors = try TensorStore.open(path, preferredFile: "adapter_model.safetensors")
        let resolved = try Self.resolve(config: config, tensors: tensors, base: base)
        modules = resolved.modules
        replacements = resolved.replacements
        unmatchedKeys = resolved.unmatched
        if modules.isEmpty && replacements.isEmpty {
            throw CheckpointError(file: tensors.location, field: "",
                                  "none of the adapter's \(tensors.names.count) tensors matches a weight of the base \(base.location) (adapter for another model?); first keys: \(tensors.names.prefix(3).joined(separator: ", "))")
        }
    }

    /// A parsed adapter key: which module, which LoRA component, which parameter.
    public struct Key: Sendable {
        public var module: String
        /// lora_A, lora_B, lora_embedding_A, lora_embedding_B, lora_magnitude_vector, or "" for a plain tensor.
        public var component: String
        /// weight, bias, or "" (embedding / magnitude parameters).
        public var parameter: String
    }

    static let components = ["lora_A", "lora_B", "lora_embedding_A", "lora_embedding_B", "lora_magnitude_vector"]

    public static func parseKey(_ name: String) -> Key {
        var parts = name.split(separator: ".").map(String.init)
        // PEFT prefixes keys with the wrapper path; drop it.
        if parts.count > 2, parts[0] == "base_model", parts[1] == "model" { parts.removeFirst(2) }
        // Keys written without stripping the adapter name carry ".default" (or another name)
        // after the component, and modules_to_save copies live under "modules_to_save[.name]".
        if let i = parts.firstIndex(of: "modules_to_save") {
            var rest = Array(parts[(i + 1)...])
            if rest.count > 1 { rest.removeFirst() } // adapter name
            parts = Array(parts[..<i]) + rest
        }
        if let i = parts.lastIndex(where: { components.contains($0) }) {
            var tail = Array(parts[(i + 1)...])
            if tail.count == 2 || (tail.count == 1 && !["weight", "bias"].contains(tail[0])) { tail.removeFirst() }
            return Key(module: parts[..<i].joined(separator: "."), component: parts[i], parameter: tail.first ?? "")
        }
        let parameter = parts.count > 1 ? parts.removeLast() : ""
        return Key(module: parts.joined(separator: "."), component: "", parameter: parameter)
    }

    /// Finds the base tensor for a module + parameter, tolerating the usual prefix differences
    /// (adapters made on GPT2LMHeadModel say transformer.h.0..., some bases say h.0...).
    static func baseName(module: String, parameter: String, base: TensorStore) -> String? {
        let suffix = parameter.isEmpty ? "" : ".\(parameter)"
        var parts = module.split(separator: ".").map(String.init)
        while !parts.isEmpty {
            let candidate = parts.joined(separator: ".") + suffix
            if base.contains(candidate) { return candidate }
            parts.removeFirst()
        }
        let tail = "." + module + suffix
        let matches = base.names.filter { $0.hasSuffix(tail) }
        return matches.count == 1 ? matches[0] : nil
    }

    static func resolve(config: AdapterConfig, tensors: TensorStore, base: TensorStore) throws
        -> (modules: [LoRAModule], replacements: [String: String], unmatched: [String]) {
        var groups: [String: [String: String]] = [:] // module -> component.parameter -> tensor
        var replacements: [String: String] = [:]
        var unmatched: [String] = []
        for name in tensors.names {
            let key = parseKey(name)
            if key.component.isEmpty {
                if let target = baseName(module: key.module, parameter: key.parameter, base: base) {
                    try checkSameShape(adapterTensor: name, adapter: tensors, baseTensor: target, base: base)
                    replacements[target] = name
                } else {
                    unmatched.append(name)
                }
                continue
            }
            groups[key.module, default: [:]]["\(key.component).\(key.parameter)"] = name
        }
        var modules: [LoRAModule] = []
        for (module, parts) in groups.sorted(by: { $0.key < $1.key }) {
            let isEmbedding = parts.keys.contains { $0.hasPrefix("lora_embedding") }
            let aName = isEmbedding ? parts["lora_embedding_A."] : parts["lora_A.weight"]
            let bName = isEmbedding ? parts["lora_embedding_B."] : parts["lora_B.weight"]
            guard let aName, let bName,
                  let baseTensor = baseName(module: module, parameter: "weight", base: base) else {
                unmatched.append(contentsOf: parts.values.sorted())
                continue
            }
            let (r, alpha) = try config.rankAndAlpha(module: module)
            let aInfo = try tensors.require(aName), bInfo = try tensors.require(bName)
            // a 4-bit base keeps its weight packed; its quant_state says the [out, in] shape
            let baseShape = try FourBitCheckpoint.logicalShape(baseTensor, in: base) ?? base.require(baseTensor).shape
            guard aInfo.rank == 2, bInfo.rank == 2, baseShape.count == 2 else {
                throw CheckpointError(file: tensors.location, field: aName,
                                      "LoRA on a \(baseShape.count)-D weight (\(baseTensor)) is not supported; only linear and embedding layers")
            }
            guard aInfo.shape[0] == r, bInfo.shape[1] == r else {
                throw CheckpointError(file: config.path, field: "r",
                                      "rank \(r) for \(module) (after rank_pattern) but \(aName) is \(aInfo.shape) and \(bName) is \(bInfo.shape)")
            }
            let transposed = isEmbedding || config.fanInFanOut
            let out = bInfo.shape[0], inner = aInfo.shape[1]
            let expected = transposed ? [inner, out] : [out, inner]
            guard baseShape == expected else {
                throw CheckpointError(file: tensors.location, field: aName,
                                      "B A has shape [\(out), \(inner)]\(transposed ? " (stored transposed)" : "") but base tensor \(baseTensor) in \(base.location) is \(baseShape): adapter for another model?")
            }
            if parts["lora_magnitude_vector."] != nil || parts["lora_magnitude_vector.weight"] != nil, !config.useDoRA {
                throw CheckpointError(file: config.path, field: "use_dora", "false, but the adapter holds DoRA magnitude vectors")
            }
            let magnitude = parts["lora_magnitude_vector."] ?? parts["lora_magnitude_vector.weight"]
            if config.useDoRA && magnitude == nil {
                throw CheckpointError(file: tensors.location, field: module, "use_dora is set but no lora_magnitude_vector was saved for this module")
            }
            if let magnitude, try tensors.require(magnitude).elementCount != out {
                throw CheckpointError(file: tensors.location, field: magnitude, "expected \(out) magnitudes, one per output feature")
            }
            let bias = parts["lora_B.bias"]
            // PEFT applies lora_B's bias even when the base layer has none (it then acts as a
            // new bias); baseBias is nil in that case.
            let baseBias = bias == nil ? nil : baseName(module: module, parameter: "bias", base: base)
            modules.append(LoRAModule(module: module, baseTensor: baseTensor, aTensor: aName, bTensor: bName,
                                      rank: r, alpha: alpha, scaling: config.scaling(rank: r, alpha: alpha),
                                      baseIsTransposed: transposed, isEmbedding: isEmbedding,
                                      biasTensor: bias, baseBias: baseBias, magnitudeTensor: magnitude))
        }
        return (modules, replacements, unmatched.sorted())
    }

    static func checkSameShape(adapterTensor: String, adapter: TensorStore, baseTensor: String, base: TensorStore) throws {
        let a = try adapter.require(adapterTensor), b = try base.require(baseTensor)
        guard a.shape == b.shape else {
            throw CheckpointError(file: adapter.location, field: adapterTensor,
                                  "replaces \(baseTensor) but has shape \(a.shape) instead of \(b.shape): adapter for another model?")
        }
    }
}
