import Foundation

/// McNemar's exact test of one probe: b = base right / variant wrong, c = the reverse.
public struct McNemarSummary: Codable, Sendable, Equatable {
    public var items: Int
    public var b: Int
    public var c: Int
    public var pValue: Double
    public init(items: Int, b: Int, c: Int) {
        self.items = items; self.b = b; self.c = c
        pValue = McNemar.exactPValue(b: b, c: c)
    }
}

/// One row of the summary: the base or a variant, with everything computed from the store.
public struct VariantRow: Codable, Sendable {
    public var label: String
    public var method: String
    public var rank: Int?
    public var step: Int?
    public var tokens: Int?
    public var isBase: Bool
    /// Mean over target tasks of their primary metric.
    public var learning: Estimate?
    /// Mean acc over the accuracy probes (ProbeUnit.accuracy; never a bits-per-byte probe: the
    /// units differ).
    public var probeMean: Estimate?
    /// base probe mean - this probe mean (0 for the base): forgetting in accuracy.
    public var forgetting: Estimate?
    /// Mean bits per byte (positive, lower is better) over the bits-per-byte probes, if any.
    public var probeBitsPerByte: Estimate?
    /// this probeBitsPerByte - the base's (positive = forgotten; 0 for the base).
    public var bitsPerByteForgetting: Estimate?
    /// Primary metric per target task; per probe its score (acc, or -bits_per_byte: higher is better).
    public var targetScores: [String: Estimate]
    public var probeScores: [String: Estimate]
    /// Paired tests against the base on the same items (nil for the base or without items):
    /// McNemar per accuracy probe, bootstrap of the accuracy probe mean (variant − base).
    public var mcnemar: [String: McNemarSummary]
    public var bootstrap: BootstrapResult?
    /// Paired bootstrap over documents of variant − base per-document bits per byte (mean over the
    /// bits-per-byte probes; positive = forgotten).
    public var bitsPerByteBootstrap: BootstrapResult?
    public var onFrontier = false
    /// The training run a checkpoint came from (a `runs:` glob) and its logged training loss.
    public var run: String?
    public var trainingLoss: Double?
    /// Generation diversity: "task metric" -> estimate (the experiment's diversity tasks).
    public var diversity: [String: Estimate] = [:]
    /// The experiment file's series: (hand-listed checkpoints of one training run).
    public var series: String?
    /// Per-item probe scores (probe -> document -> acc) for paired comparisons between two
    /// checkpoints (Findings); not part of the JSON form.
    public var probeItems = ItemScores()
    /// Per-item target scores as (numerator, weight) pairs whose ratio of sums is the task's
    /// learning score (acc: (±acc, 1); bits per byte: (loglikelihood / ln 2, bytes)), for paired
    /// bootstraps of learning; not part of the JSON form.
    public var targetItems = TargetItems()

    public init(label: String, method: String, rank: Int? = nil, step: Int? = nil, tokens: Int? = nil, isBase: Bool,
                learning: Estimate?, probeMean: Estimate?, forgetting: Estimate?,
                targetScores: [String: Estimate] = [:], probeScores: [String: Estimate] = [:],
                mcnemar: [String: McNemarSummary] = [:], bootstrap: BootstrapResult? = nil) {
        self.label = label; self.method = method; self.rank = rank; self.step = step; self.tokens = tokens; self.isBase = isBase
        self.learning = learning; self.probeMean = probeMean; self.forgetting = forgetting
        self.targetScores = targetScores; self.probeScores = probeScores; self.mcnemar = mcnemar; self.bootstrap = bootstrap
    }

    /// "full", "lora r=8": the series a variant belongs to in the tradeoff plot.
    public var seriesName: String {
        if isBase { return "base" }
        if let rank { return "\(method) r=\(rank)" }
        return method
    }

    /// The training run a checkpoint belongs to, in curves, tables and findings: its `runs:`
    /// label, else its series:, else method and rank (seriesName).
    public var seriesLabel: String { run ?? series ?? seriesName }

}

/// One tensor's spectrum of one variant against the base.
public struct SpectrumSummary: Codable, Sendable {
    public var variant: String
    public var tensor: String
    public var rank90: Int
    public var gaussianRank90: Int
    public var singularValues: [Double]
    public init(variant: String, tensor: String, rank90: Int, gaussianRank90: Int, singularValues: [Double]) {
        self.variant = variant; self.tensor = tensor; self.rank90 = rank90; self.gaussianRank90 = gaussianRank90; self.singularValues = singularValues
    }

    /// (layer, module) from a HF tensor name: "model.layers.3.self_attn.q_proj.weight" -> (3, "self_attn.q_proj").
    public static func layerAndModule(_ name: String) -> (layer: Int?, module: String) {
        var parts = name.split(separator: ".").map(String.init)
        if parts.last == "weight" { parts.removeLast() }
        for (i, p) in parts.enumerated() where ["layers", "h", "layer", "blocks"].contains(p) && i + 1 < parts.count {
            if let layer = Int(parts[i + 1]) { return (layer, parts[(i + 2)...].joined(separator: ".")) }
        }
        return (nil, parts.joined(separator: "."))
    }
}

/// Per-item scores kept beside a row for paired tests; encodes as nothing (the report JSON and
/// exports stay the size they were).
public struct ItemScores: Codable, Sendable {
    public var byProbe: [String: [Int: Double]]
    public init(_ byProbe: [String: [Int: Double]] = [:]) { self.byProbe = byProbe }
    public init(from decoder: Decoder) throws { byProbe = [:] }
    public func encode(to encoder: Encoder) throws {}
    public subscript(probe: String) -> [Int: Double]? {
        get { byProbe[probe] }
        set { byProbe[probe] = newValue }
    }
}

/// Per-document (numerator, weight) of each target task; encodes as nothing.
public struct TargetItems: Codable, Sendable {
    public var byTask: [String: [Int: (value: Double, weight: Double)]]
    public init(_ byTask: [String: [Int: (value: Double, weight: Double)]] = [:]) { self.byTask = byTask }
    public init(from decoder: Decoder) throws { byTask = [:] }
    public func encode(to encoder: Encoder) throws {}
    public subscript(task: String) -> [Int: (value: Double, weight: Double)]? {
        get { byTask[task] }
        set { byTask[task] = newValue }
    }
}

/// The spectra a chosen tensor of a variant is compared with (Biderman et al. 2024, Fig. S8).
public struct WeightSpectrumSummary: Codable, Sendable {
    public var variant: String
    public var tensor: String
    public var base: [Double]
    public var finetuned: [Double]
    public var gaussian: [Double]
    public var basePlusGaussian: [Double]
    public init(variant: String, tensor: String, base: [Double], finetuned: [Double], gaussian: [Double], basePlusGaussian: [Double]) {
        self.variant = variant; self.tensor = tensor; self.base = base; self.finetuned = finetuned
        self.gaussian = gaussian; self.basePlusGaussian = basePlusGaussian
    }
}

/// Everything a report shows; built by Experiments from the store, rendered here.
public struct ReportModel: Codable, Sendable {
    public var name: String
    public var base: String
    public var generated: String
    public var toolVersion: String
    public var targets: [String]
    /// Primary metric per target (acc, exact_match, -bits_per_byte).
    public var targetMetrics: [String: String]
    public var probes: [String]
    /// Documents evaluated per task.
    public var itemCounts: [String: Int]
    public var fewshot: Int
    public var rows: [VariantRow]
    public var spectra: [SpectrumSummary]
    public var bootstrapResamples: Int
    public var notes: [String]
    /// The x-axis of the training curves (nil: TrainingAxis.preferred(rows)).
    public var trainingAxis: TrainingAxis?
    /// The diversity columns ("task metric"), in order; empty without diversity tasks.
    public var diversityColumns: [String] = []
    /// Each probe's score ("acc", "-bits_per_byte"); absent: acc. Its unit (ProbeUnit) follows.
    public var probeMetrics: [String: String] = [:]
    /// Chance accuracy of each multiple-choice probe (mean over its items of 1 / number of
    /// choices), when known; never set for a rolling (bits-per-byte) probe.
    public var probeChance: [String: Double] = [:]
    /// W_base, W_ft, Gaussian spectra of the chosen tensors (spectra.weights).
    public var weightSpectra: [WeightSpectrumSummary] = []

    public init(name: String, base: String, generated: String, toolVersion: String, targets: [String], targetMetrics: [String: String],
                probes: [String], itemCounts: [String: Int], fewshot: Int, rows: [VariantRow], spectra: [SpectrumSummary],
                bootstrapResamples: Int, notes: [String] = []) {
        self.name = name; self.base = base; self.generated = generated; self.toolVersion = toolVersion; self.targets = targets
        self.targetMetrics = targetMetrics; self.probes = probes; self.itemCounts = itemCounts; self.fewshot = fewshot
        self.rows = rows; self.spectra = spectra; self.bootstrapResamples = bootstrapResamples; self.notes = notes
    }

    public var baseRow: VariantRow? { rows.first(where: \.isBase) }
    public var variants: [VariantRow] { rows.filter { !$0.isBase } }

    /// Marks the variants on the (learning max, forgetting min) frontier, or the given objectives.
    public mutating func markFrontier(_ objectives: [Objective] = [Objective("learning", .max), Objective("forgetting", .min)]) {
        let candidates = rows.indices.filter { !rows[$0].isBase }
        let points = candidates.map { i in objectives.map { objective($0.name, of: rows[i])?.value ?? .nan } }
        let onFrontier = Set(Pareto.frontier(points, directions: objectives.map(\.direction)).map { candidates[$0] })
        for i in rows.indices { rows[i].onFrontier = onFrontier.contains(i) }
    }
}

/// p-values as people read them.
public enum PValue {
    public static func format(_ p: Double) -> String {
        if p < 0.001 { return "<0.001" }
        if p >= 0.995 { return "1.00" }
        return p < 0.01 ? String(format: "%.3f", p) : String(format: "%.2f", p)
    }
}
