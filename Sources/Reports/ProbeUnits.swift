import Foundation

/// What a probe's score measures, from its metric. The unit decides which probes may be averaged
/// together and whether a chance level means anything: a mean of accuracies and (negated) bits
/// per byte has no unit, and "at chance" is a statement about guessing among choices.
public enum ProbeUnit: String, Codable, Sendable {
    /// A proportion of items (acc and its variants, exact_match, pass@k), higher is better. Multiple-choice
    /// ones (acc, acc_norm) have a chance level: the mean over items of 1 / choices.
    case accuracy
    /// Bits per byte of a rolling log-likelihood probe (held-out text), lower is better. The store
    /// and `probeScores` keep it negated ("-bits_per_byte") so that higher is better everywhere;
    /// the means, forgetting and tables of this unit show it as people read it (positive).
    case bitsPerByte = "bits_per_byte"
    /// Any other metric (word or byte perplexity): shown per probe, never averaged with others.
    case other

    /// The unit of a metric as the report names it ("acc", "-bits_per_byte"; a missing name is acc,
    /// as in reports written before the metric was recorded).
    public static func of(metric: String?) -> ProbeUnit {
        guard var name = metric else { return .accuracy }
        if name.hasPrefix("-") { name.removeFirst() }
        // the acc family is every accuracy of the metric registry (acc, acc_norm, acc_bytes,
        // acc_norm_tokens), as lm-eval names them
        if name == "acc" || name.hasPrefix("acc_") || name == "exact_match" || name.hasPrefix("pass@") { return .accuracy }
        return name == "bits_per_byte" ? .bitsPerByte : .other
    }
}

/// Which probes can show forgetting on this base, and why the others cannot.
public struct ProbeStanding: Sendable, Equatable {
    /// Probes whose base score can fall: accuracy probes above chance (or of unknown chance),
    /// bits-per-byte probes with a finite base value.
    public var counting: [String] = []
    /// Accuracy probes with a known chance level the base does not beat by its 95% interval.
    public var atChance: [String] = []
    /// Probes whose base score is NaN or infinite (nothing to compare with).
    public var nonFinite: [String] = []
}

extension ReportModel {
    public func unit(_ probe: String) -> ProbeUnit { ProbeUnit.of(metric: probeMetrics[probe]) }

    /// The experiment's probes of one unit, in experiment order.
    public func probes(in unit: ProbeUnit) -> [String] { probes.filter { self.unit($0) == unit } }

    /// The chance rule (Findings, the headline unit): an accuracy probe with a known chance level
    /// counts when base accuracy − 1.96 se > chance; a probe the base cannot do has nothing to
    /// forget. Chance means nothing for bits per byte, so those probes always count (unless the
    /// base's value is not finite); so do accuracy probes whose chance is unknown (generation).
    public var probeStanding: ProbeStanding {
        var s = ProbeStanding()
        for p in probes {
            guard let b = baseRow?.probeScores[p] else { continue }
            guard b.value.isFinite else { s.nonFinite.append(p); continue }
            if unit(p) == .accuracy, let c = probeChance[p] {
                if let se = b.stderr, b.value - 1.96 * se > c { s.counting.append(p) } else { s.atChance.append(p) }
            } else {
                s.counting.append(p)
            }
        }
        return s
    }

    /// The unit of the report's headline forgetting (the summary's and Pareto's `forgetting` and
    /// `probe_mean`, the tradeoff x-axis, the training curve): accuracy when an accuracy probe
    /// counts, else bits per byte when a bits-per-byte probe counts, else accuracy (as before).
    public var headlineUnit: ProbeUnit {
        let counting = probeStanding.counting.map(unit)
        if counting.contains(.accuracy) { return .accuracy }
        return counting.contains(.bitsPerByte) ? .bitsPerByte : .accuracy
    }

    /// A row's value of a Pareto objective. `forgetting` and `probe_mean` follow `headlineUnit`
    /// (probe_mean in bits per byte is −mean bits per byte, so that higher is better for both);
    /// `forgetting_acc`, `probe_acc`, `forgetting_bpb` (Δ bits per byte) and `probe_bpb` (mean bits
    /// per byte) name a unit; any other name is a task's score.
    public func objective(_ name: String, of r: VariantRow) -> Estimate? {
        let bpb = headlineUnit == .bitsPerByte
        switch name {
        case "learning": return r.learning
        case "forgetting": return bpb ? r.bitsPerByteForgetting : r.forgetting
        case "probe_mean": return bpb ? r.probeBitsPerByte.map { Estimate(-$0.value, stderr: $0.stderr) } : r.probeMean
        case "forgetting_acc": return r.forgetting
        case "probe_acc": return r.probeMean
        case "forgetting_bpb": return r.bitsPerByteForgetting
        case "probe_bpb": return r.probeBitsPerByte
        default: return r.targetScores[name] ?? r.probeScores[name]
        }
    }

    /// The objective names `objective(_:of:)` knows besides task names.
    public static let probeObjectives = ["learning", "forgetting", "probe_mean", "forgetting_acc", "probe_acc", "forgetting_bpb", "probe_bpb"]

    /// What the headline forgetting is, for notes and axis titles.
    public var headlineForgettingText: String {
        headlineUnit == .bitsPerByte
            ? "variant − base bits per byte, mean over the bits-per-byte probes (\(probes(in: .bitsPerByte).joined(separator: ", "))): no accuracy probe is above chance"
            : "base − variant accuracy, mean over the accuracy probes (\(probes(in: .accuracy).joined(separator: ", ")))"
    }
}

/// Each row's per-unit probe means, forgetting against the base and paired bootstraps, from its
/// `probeScores` and `probeItems` (filled by Experiments from the store).
public enum ProbeSummaries {
    /// - probeMean: mean acc over the accuracy probes (all of them, at chance or not, as the report
    ///   always showed it); forgetting = base − row probe mean; bootstrap: paired over items within
    ///   each accuracy probe, of variant − base.
    /// - probeBitsPerByte: mean bits per byte over the bits-per-byte probes; bitsPerByteForgetting =
    ///   row − base (positive = forgotten); bitsPerByteBootstrap: paired over documents of
    ///   variant − base per-document bits per byte.
    /// A mean needs every probe of its unit scored; a bootstrap needs items of every probe.
    public static func fill(_ rows: inout [VariantRow], probes: [String], metrics: [String: String], resamples: Int, seed: UInt64) {
        let accuracy = probes.filter { ProbeUnit.of(metric: metrics[$0]) == .accuracy }
        let bpb = probes.filter { ProbeUnit.of(metric: metrics[$0]) == .bitsPerByte }
        // bits per byte as read: the stored score is its negation
        func positive(_ e: Estimate) -> Estimate { Estimate(-e.value, stderr: e.stderr) }
        func mean(_ r: VariantRow, _ ps: [String], _ f: (Estimate) -> Estimate) -> Estimate? {
            let parts = ps.compactMap { r.probeScores[$0] }
            return !ps.isEmpty && parts.count == ps.count ? Estimate.meanOfMeans(parts.map(f)) : nil
        }
        for i in rows.indices {
            rows[i].probeMean = mean(rows[i], accuracy, { $0 })
            rows[i].probeBitsPerByte = mean(rows[i], bpb, positive)
        }
        guard let b = rows.firstIndex(where: \.isBase) else { return }
        let base = rows[b]
        // The base against itself: zero, with a zero standard error when the mean has one.
        func zero(_ m: Estimate?) -> Estimate? { m.map { Estimate(0, stderr: $0.stderr.map { _ in 0 }) } }
        rows[b].forgetting = zero(base.probeMean)
        rows[b].bitsPerByteForgetting = zero(base.probeBitsPerByte)
        /// (base, variant) score lists on the documents both have, per probe; nil when a probe has none.
        func groups(_ r: VariantRow, _ ps: [String], sign: Double) -> [(base: [Double], variant: [Double])]? {
            var out: [(base: [Double], variant: [Double])] = []
            for p in ps {
                guard let x = base.probeItems[p], let y = r.probeItems[p] else { return nil }
                let docs = x.keys.filter { y[$0] != nil }.sorted()
                guard !docs.isEmpty else { return nil }
                out.append((docs.map { sign * x[$0]! }, docs.map { sign * y[$0]! }))
            }
            return out.isEmpty ? nil : out
        }
        for i in rows.indices where !rows[i].isBase {
            if let bm = base.probeMean, let v = rows[i].probeMean { rows[i].forgetting = Estimate.difference(bm, v) }
            if let bm = base.probeBitsPerByte, let v = rows[i].probeBitsPerByte { rows[i].bitsPerByteForgetting = Estimate.difference(v, bm) }
            rows[i].bootstrap = groups(rows[i], accuracy, sign: 1).flatMap { PairedBootstrap.meanDifference(groups: $0, resamples: resamples, seed: seed) }
            // items are −bits per byte: negated, the difference is variant − base bits per byte
            rows[i].bitsPerByteBootstrap = groups(rows[i], bpb, sign: -1).flatMap { PairedBootstrap.meanDifference(groups: $0, resamples: resamples, seed: seed) }
        }
    }
}

extension ReportModel {
    /// ProbeSummaries.fill on this model's rows, probes and metrics.
    public mutating func fillProbeSummaries(seed: UInt64 = 20240605) {
        ProbeSummaries.fill(&rows, probes: probes, metrics: probeMetrics, resamples: bootstrapResamples, seed: seed)
    }
}
