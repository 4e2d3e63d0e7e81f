import Checkpoints
import Foundation

/// The JSON document `forgetlens spectra --json` writes.
public struct SpectraReport: Codable, Sendable {
    public var base: String
    public var finetuned: String?
    public var adapter: String?
    public var compareAdapter: String?
    public var variance: Double
    public var svdMethod: SVDMethod
    public var tensors: [TensorSpectrum]
    /// Tensors of the base absent from the fine-tune (e.g. a tied lm_head).
    public var onlyInBase: [String]?
    /// Tensors of the fine-tune absent from the base, or adapter keys that matched nothing.
    public var onlyInFinetuned: [String]?
    public var unmatchedAdapterKeys: [String]?
    /// Quantization-error spectra: the 4-bit form (e.g. "nf4+dq/b64/bf16").
    public var quantization: String?

    enum CodingKeys: String, CodingKey {
        case base, finetuned, adapter, variance, tensors
        case compareAdapter = "compare_adapter"
        case svdMethod = "svd_method"
        case onlyInBase = "only_in_base"
        case onlyInFinetuned = "only_in_finetuned"
        case unmatchedAdapterKeys = "unmatched_adapter_keys"
        case quantization
    }
}

/// Runs the analyzer over a whole source.
public struct SpectraRun {
    public let source: PerturbationSource
    public let analyzer: SpectraAnalyzer
    /// Another adapter of the same base for subspace similarity.
    public let compare: LoRAAdapter?
    public let compareLabel: String?

    public init(source: PerturbationSource, options: SpectraOptions, compare: LoRAAdapter? = nil, compareLabel: String? = nil) {
        self.source = source
        self.analyzer = SpectraAnalyzer(options: options)
        self.compare = compare
        self.compareLabel = compareLabel
    }

    /// `filter` selects tensors by base name; `progress(done, total, name)` is called before each tensor.
    public func run(filter: ((String) -> Bool)? = nil,
                    progress: (Int, Int, String) -> Void = { _, _, _ in }) throws -> SpectraReport {
        let (perturbations, onlyBase, onlyOther) = try source.perturbations(matching: filter)
        var others: [String: Perturbation] = [:]
        if let compare {
            let otherSource = PerturbationSource.adapter(base: source.base, adapter: compare)
            for p in try otherSource.perturbations(matching: filter).perturbations { others[p.name] = p }
        }
        var tensors: [TensorSpectrum] = []
        for (i, p) in perturbations.enumerated() {
            progress(i, perturbations.count, p.name)
            let other = others[p.name].map { (label: compareLabel ?? compare?.path ?? "", perturbation: $0, base: source.base) }
            tensors.append(try analyzer.analyze(p, base: source.base, compareWith: other))
        }
        progress(perturbations.count, perturbations.count, "")
        var report = SpectraReport(base: source.base.path, variance: analyzer.options.variance,
                                   svdMethod: analyzer.options.method, tensors: tensors)
        switch source {
        case .finetuned(_, let ft):
            report.finetuned = ft.path
            report.onlyInBase = onlyBase
            report.onlyInFinetuned = onlyOther
        case .adapter(_, let adapter):
            report.adapter = adapter.path
            report.unmatchedAdapterKeys = onlyOther
        }
        report.compareAdapter = compare.map { compareLabel ?? $0.path }
        return report
    }
}
