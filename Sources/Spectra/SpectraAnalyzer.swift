import Checkpoints
import Foundation
import LinearAlgebra

/// Computes the spectra of every perturbation of a source, one tensor (pair) at a time.
public struct SpectraAnalyzer: Sendable {
    public let options: SpectraOptions

    public init(options: SpectraOptions = SpectraOptions()) {
        self.options = options
    }

    /// Singular values and top singular vectors ([out, in] orientation) of one perturbation.
    struct Decomposition {
        var singularValues: [Double]
        var u: Matrix<Double>?
        var v: Matrix<Double>?
        var baseSquared: Double
        var loraRank: Int?
        var scaling: Double?
    }

    private var needsVectors: Bool { options.amplification || options.intruders }

    /// The full report entry for one perturbation; `compareWith` adds subspace similarity.
    public func analyze(_ p: Perturbation, base: ModelDirectory,
                        compareWith other: (label: String, perturbation: Perturbation, base: ModelDirectory)? = nil) throws -> TensorSpectrum {
        let d = try decompose(p, base: base, vectors: needsVectors || other != nil, topK: vectorCount)
        let shape = p.shape
        let metrics = SpectralMetrics(singularValues: d.singularValues, rows: shape[0], cols: shape[1], variance: options.variance)
        let baseNorm = d.baseSquared.squareRoot()
        var entry = TensorSpectrum(
            name: p.name, kind: p.kind, shape: shape, singularValues: d.singularValues,
            rank: metrics.rank, rank90: metrics.rankAtVariance, stableRank: metrics.stableRank,
            effectiveRank: metrics.effectiveRank, frobeniusNorm: metrics.frobeniusNorm,
            spectralNorm: metrics.spectralNorm,
            relativeChange: baseNorm > 0 ? metrics.frobeniusNorm / baseNorm : nil,
            baseFrobeniusNorm: baseNorm,
            gaussianRank90: GaussianReference.rankAtVariance(rows: shape[0], cols: shape[1], variance: options.variance),
            loraRank: d.loraRank, scaling: d.scaling)
        if needsVectors, let u = d.u, let v = d.v {
            let fullBase = try DenseDelta.load(base.tensors, p.tensor, transpose: p.storedTransposed)
            let baseWeight = p.rows(of: fullBase)
            if options.amplification {
                let r = min(d.loraRank ?? options.amplificationRank, u.cols)
                entry.amplificationFactor = SubspaceMeasures.amplification(
                    frobenius: metrics.frobeniusNorm, u: u.leadingColumns(r), v: v.leadingColumns(r), base: baseWeight)
            }
            if options.intruders {
                var finetuned = p.rows(of: try denseDelta(p, base: base, baseWeight: fullBase))
                for i in finetuned.storage.indices { finetuned.storage[i] += baseWeight.storage[i] }
                let ftLeft = try SVD.thin(finetuned).u
                let baseLeft = try SVD.thin(baseWeight).u
                entry.intruderDimensions = SubspaceMeasures.intruders(
                    finetunedLeft: ftLeft, baseLeft: baseLeft, k: options.intruderK, threshold: options.intruderThreshold)
            }
        }
        if options.weights {
            let w = try weightSpectra(p, base: base)
            entry.baseSingularValues = w.base
            entry.finetunedSingularValues = w.finetuned
        }
        if let other, let u1 = d.u {
            let d2 = try decompose(other.perturbation, base: other.base, vectors: true, topK: vectorCount)
            if let u2 = d2.u {
                let k1 = min(u1.cols, d.loraRank ?? options.subspaceK)
                let k2 = min(u2.cols, d2.loraRank ?? options.subspaceK)
                entry.subspaceSimilarity = SubspaceSimilarity(
                    other: other.label, phi: SubspaceMeasures.similarity(u1.leadingColumns(k1), u2.leadingColumns(k2)))
            }
        }
        return entry
    }

    /// Singular directions kept when vectors are needed: enough for every opt-in measure.
    private var vectorCount: Int { max(options.subspaceK, options.amplificationRank) }

    func decompose(_ p: Perturbation, base: ModelDirectory, vectors: Bool, topK: Int) throws -> Decomposition {
        switch p.kind {
        case .lora:
            guard let module = p.module, let adapter = p.adapter else { preconditionFailure("LoRA perturbation without its module") }
            var factors = try LowRankFactors.load(module, adapter: adapter)
            if p.part != nil { factors.left = p.rows(of: factors.left) }  // Delta's rows = rows of s B
            let svd = try factors.svd(withVectors: vectors)
            let baseSquared = p.part == nil ? try DenseDelta.squaredNorm(base.tensors, p.tensor)
                : p.rows(of: try DenseDelta.load(base.tensors, p.tensor, transpose: false)).storage.reduce(0) { $0 + $1 * $1 }
            return Decomposition(singularValues: svd.s, u: svd.u, v: svd.v, baseSquared: baseSquared,
                                 loraRank: module.rank, scaling: module.scaling)
        case .full, .replacement, .dora, .quantization:
            if p.kind != .dora, p.kind != .quantization, p.part == nil, !vectors, options.method == .gram, let changed = p.changed {
                let stored = p.storedShape
                let (gram, baseSquared) = try DenseDelta.gram(base: base.tensors, baseName: p.name,
                                                              changed: changed.store, changedName: changed.name,
                                                              rows: stored[0], cols: stored[1])
                return Decomposition(singularValues: try gram.singularValues(), baseSquared: baseSquared,
                                     scaling: nil)
            }
            let fullBase = try DenseDelta.load(base.tensors, p.tensor, transpose: p.storedTransposed)
            let delta = p.rows(of: try denseDelta(p, base: base, baseWeight: fullBase))
            let baseWeight = p.rows(of: fullBase)
            let baseSquared = baseWeight.storage.reduce(0) { $0 + $1 * $1 }
            if vectors {
                let svd = try SVD.thin(delta)
                let k = min(topK, svd.s.count)
                return Decomposition(singularValues: svd.s, u: svd.u.leadingColumns(k), v: svd.v.leadingColumns(k),
                                     baseSquared: baseSquared, loraRank: p.module?.rank, scaling: p.module?.scaling)
            }
            let s = try singularValues(dense: delta)
            return Decomposition(singularValues: s, baseSquared: baseSquared, loraRank: p.module?.rank, scaling: p.module?.scaling)
        }
    }

    /// Values-only SVD of an in-memory perturbation by the configured method.
    func singularValues(dense delta: Matrix<Double>) throws -> [Double] {
        switch options.method {
        case .gram:
            let tall = delta.cols <= delta.rows ? delta : delta.transposed
            var gram = GramAccumulator(columns: tall.cols)
            tall.storage.withUnsafeBufferPointer { gram.add(rows: $0, count: tall.rows) }
            return try gram.singularValues()
        case .gesdd:
            var single = delta.storage.map { Float($0) }
            return try SVD.singularValues(float: &single, rows: delta.rows, cols: delta.cols).map { Double($0) }
        }
    }

    /// Delta formed densely in float64, [out, in] of the whole stored tensor (a part's rows are
    /// taken by the caller).
    func denseDelta(_ p: Perturbation, base: ModelDirectory, baseWeight: Matrix<Double>) throws -> Matrix<Double> {
        switch p.kind {
        case .full, .replacement:
            guard let changed = p.changed else { preconditionFailure("dense perturbation without its tensor") }
            var d = try DenseDelta.load(changed.store, changed.name, transpose: p.storedTransposed)
            for i in d.storage.indices { d.storage[i] -= baseWeight.storage[i] }
            return d
        case .lora:
            guard let module = p.module, let adapter = p.adapter else { preconditionFailure("LoRA perturbation without its module") }
            return try LowRankFactors.load(module, adapter: adapter).dense()
        case .dora:
            guard let module = p.module, let adapter = p.adapter else { preconditionFailure("DoRA perturbation without its module") }
            return try DoRADelta.dense(module, adapter: adapter, baseWeight: baseWeight)
        case .quantization:
            guard let q = p.quantization else { preconditionFailure("quantization perturbation without its settings") }
            return try QuantizationError.dense(base.tensors, p.tensor, shape: p.storedShape, settings: q)
        }
    }
}

extension Perturbation {
    /// The rows of an [out, in] matrix of the whole stored tensor that belong to this
    /// perturbation (all of them unless it is a part of a fused weight).
    func rows(of m: Matrix<Double>) -> Matrix<Double> {
        guard let part else { return m }
        let slice = Array(m.storage[(part.rows.lowerBound * m.cols)..<(part.rows.upperBound * m.cols)])
        return Matrix(rows: part.rows.count, cols: m.cols, storage: slice)
    }
}
