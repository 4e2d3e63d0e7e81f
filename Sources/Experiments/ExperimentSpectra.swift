import Checkpoints
import Engine
import Foundation
import Reports
import Spectra

extension Experiment {
    /// The base's weights for spectra, with a hint when a served experiment has none locally.
    func spectraBase() throws -> ModelDirectory {
        do { return try ModelDirectory(path: base) } catch {
            guard backend.kind == .openai else { throw error }
            throw ExperimentError(file: file, line: nil,
                                  "spectra need the base's weights in \(base) (\(error)); set spectra: {enabled: false} to score through the server only")
        }
    }

    func perturbations(_ v: Variant, baseModel: ModelDirectory) throws -> [Perturbation] {
        let source: PerturbationSource
        switch v.method {
        case .full: source = .finetuned(base: baseModel, finetuned: try ModelDirectory(path: v.model!))
        case .lora, .qlora: source = .adapter(base: baseModel, adapter: try LoRAAdapter(path: v.adapter!, base: baseModel.tensors))
        }
        let filter = try spectra.modules.map { pattern -> (String) -> Bool in
            let regex = try NSRegularExpression(pattern: pattern)
            return { name in regex.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)) != nil }
        }
        return try source.perturbations(matching: filter).perturbations
    }

    /// One tensor's spectrum to compute, with its estimated cost.
    public struct SpectraUnit: Sendable {
        public var label: String
        public var tensor: String
        public var cost: Double
    }

    /// Every spectra tensor of every variant with local weights, from the checkpoints' headers
    /// (empty when spectra are off). Dense: a Gram matrix and its eigenvalues, ~ m n min(m, n);
    /// LoRA: QR of the factors and an r x r SVD, ~ (m + n) r^2.
    public func spectraUnits() throws -> [SpectraUnit] {
        guard spectra.enabled else { return [] }
        let locals = variants.filter(\.hasLocalWeights)
        guard !locals.isEmpty else { return [] }
        let baseModel = try spectraBase()
        var units: [SpectraUnit] = []
        for v in locals {
            for p in try perturbations(v, baseModel: baseModel) {
                let (m, n) = (Double(p.shape[0]), Double(p.shape[1]))
                let r = Double(p.module?.rank ?? 0)
                units.append(SpectraUnit(label: v.label, tensor: p.name, cost: p.kind == .lora ? (m + n) * r * r + r * r * r : m * n * min(m, n)))
            }
        }
        return units
    }

    /// This experiment's spectra tensors of `shard`, by variant label: balanced on cost, or with
    /// `stableShardPlan` by a hash of (label, tensor), which does not change as checkpoints are added.
    public func spectraPlan(shard: Shard) throws -> [String: Set<String>] {
        let units = try spectraUnits()
        return stableShardPlan ? Self.stableSpectraPlan(units, shard: shard) : Self.spectraPlan(units, shard: shard)
    }

    public static func stableSpectraPlan(_ units: [SpectraUnit], shard: Shard) -> [String: Set<String>] {
        var out: [String: Set<String>] = [:]
        for u in units where Int(XXH64.hash(Array("\(u.label)|\(u.tensor)".utf8)) % UInt64(shard.count)) == shard.index - 1 {
            out[u.label, default: []].insert(u.tensor)
        }
        return out
    }

    /// The tensors of `shard`, by variant label (Shard.assign on the units' costs): the same in
    /// every shard, since every shard lists the same units.
    public static func spectraPlan(_ units: [SpectraUnit], shard: Shard) -> [String: Set<String>] {
        let owner = Shard.assign(costs: units.map(\.cost), shards: shard.count)
        var out: [String: Set<String>] = [:]
        for (u, s) in zip(units, owner) where s == shard.index - 1 { out[u.label, default: []].insert(u.tensor) }
        return out
    }
}

/// Which tensors' weight spectra (W_base, W_ft, Gaussian comparison) an experiment stores:
/// they are formed densely, so a few, not all.
public enum WeightSpectraChoice {
    /// With `pattern`: every name it matches. Without: in the middle layer (the one at index
    /// count / 2 of the sorted layers), the first attention matrix and the first MLP matrix in
    /// checkpoint order (llama: q_proj and gate_proj); a LoRA that changes only attention gets
    /// one. Names without a layer number are never chosen by default.
    public static func choose(_ names: [String], pattern: String?) throws -> [String] {
        if let pattern {
            let regex = try NSRegularExpression(pattern: pattern)
            return names.filter { regex.firstMatch(in: $0, range: NSRange($0.startIndex..., in: $0)) != nil }
        }
        let layered = names.compactMap { n -> (name: String, layer: Int, module: String)? in
            let (l, m) = SpectrumSummary.layerAndModule(n)
            return l.map { (n, $0, m) }
        }
        let layers = Array(Set(layered.map(\.layer))).sorted()
        guard !layers.isEmpty else { return [] }
        let middle = layers[layers.count / 2]
        let inLayer = layered.filter { $0.layer == middle }
        let attention = inLayer.first { $0.module.contains("attn") || $0.module.contains("attention") }
        let mlp = inLayer.first { $0.module.contains("mlp") || $0.module.contains("ffn") || $0.module.contains("feed_forward") }
        return [attention, mlp].compactMap { $0?.name }
    }
}
