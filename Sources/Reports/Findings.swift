import Foundation

/// What the data say about one claim.
public enum Verdict: String, Codable, Sendable {
    /// The effect appears and its test excludes no effect.
    case supported
    /// The opposite effect appears and its test excludes no effect.
    case contradicted
    /// Measured, but the test does not separate the effect from none (or the parts disagree).
    case inconclusive = "no clear effect"
    /// The experiment lacks what the claim needs (a method, spectra, items, informative probes).
    case notMeasurable = "not measurable here"
}

/// One claim of the papers, the numbers behind it and the verdict.
public struct Finding: Codable, Sendable {
    /// "a" ... "i", in the order of FindingClaims.
    public var id: String
    public var claim: String
    public var source: String
    public var verdict: Verdict
    /// The evidence as a sentence with numbers, intervals and tests (or why it is not measurable).
    public var sentence: String
}

/// The findings of an experiment and the definitions they rest on.
public struct FindingsReport: Codable, Sendable {
    public var findings: [Finding]
    /// Which probes count (accuracy above chance; bits per byte always), the tolerances and tests used.
    public var notes: [String]
}

/// Generates one sentence per claim of Hu et al. 2021, Dettmers et al. 2023 and Biderman et al.
/// 2024 from any report model: nothing here knows an experiment's names.
///
/// Definitions (also stated in the report):
/// - a series is one training run (VariantRow.seriesLabel); its final checkpoint is its largest step;
///   method kind: full, or LoRA (lora and qlora); rank comparisons use lora only.
/// - a probe's unit comes from its metric (ProbeUnit); the chance rule is ReportModel.probeStanding:
///   an accuracy probe with a known chance level counts when the base is above chance by its 95%
///   interval (accuracy − 1.96 se > chance); a bits-per-byte probe has no chance level and counts
///   whenever the base's value is finite;
/// - forgetting here = mean over the counting accuracy probes of (base − variant) accuracy, in
///   points, or when none counts, over the counting bits-per-byte probes of the bits-per-byte
///   increase; never a mix. When accuracy leads, the bits-per-byte probes' forgetting is reported
///   beside it (claim b, the notes) in its own unit.
/// - paired comparisons of two checkpoints: bootstrap of items within each counting probe
///   (PairedBootstrap); at least `minimumPairedItems` items in total.
/// - independent comparisons (mean of several runs): z test on the standard errors.
public struct Findings {
    public let model: ReportModel
    /// Two target scores are "matched" within this (0.05 for bits-per-byte targets, else 0.03).
    public let learningTolerance: Double
    /// QLoRA "matches" LoRA when their forgetting differs by less than this (points / 100).
    public let equivalenceMargin = 0.02
    public let minimumPairedItems = 30
    public let resamples: Int
    public let seed: UInt64
    public let countingProbes: [String]
    public let chanceProbes: [String]
    /// The counting probes forgetting is averaged over: the accuracy probes, or when none counts,
    /// the bits-per-byte ones (never a mix of units).
    public let forgettingProbes: [String]
    public let bitsPerByte: Bool

    public init(_ model: ReportModel, resamples: Int? = nil, seed: UInt64 = 20240605) {
        self.model = model
        self.resamples = max(200, min(resamples ?? model.bootstrapResamples, 10_000))
        self.seed = seed
        let bpb = !model.targets.isEmpty && model.targets.allSatisfy { t in
            let m = model.targetMetrics[t] ?? ""
            return m.contains("bits_per_byte") || m.contains("bpb")
        }
        learningTolerance = bpb ? 0.05 : 0.03
        let standing = model.probeStanding
        countingProbes = standing.counting
        chanceProbes = standing.atChance
        nonFiniteProbes = standing.nonFinite
        let accuracy = standing.counting.filter { model.unit($0) == .accuracy }
        let rolling = standing.counting.filter { model.unit($0) == .bitsPerByte }
        forgettingProbes = accuracy.isEmpty ? rolling : accuracy
        bitsPerByte = accuracy.isEmpty && !rolling.isEmpty
        secondaryProbes = accuracy.isEmpty ? [] : rolling
    }

    /// Probes whose base score is not finite: in no verdict.
    public let nonFiniteProbes: [String]
    /// The counting bits-per-byte probes when accuracy leads: their forgetting is reported beside
    /// the verdicts, in bits per byte.
    public let secondaryProbes: [String]

    public static func generate(_ model: ReportModel) -> FindingsReport { Findings(model).report() }

    // MARK: building blocks

    enum Kind { case full, lora }

    func kind(_ r: VariantRow) -> Kind? {
        switch r.method {
        case "full": return .full
        case "lora", "qlora": return .lora
        default: return nil
        }
    }

    /// Series of fine-tuned checkpoints (not quantized bases), in report order, each by step.
    var series: [(name: String, rows: [VariantRow])] {
        var out: [(String, [VariantRow])] = []
        for r in model.variants where kind(r) != nil {
            if let i = out.firstIndex(where: { $0.0 == r.seriesLabel }) { out[i].1.append(r) } else { out.append((r.seriesLabel, [r])) }
        }
        return out.map { ($0.0, $0.1.enumerated().sorted { ($0.element.step ?? $0.offset, $0.offset) < ($1.element.step ?? $1.offset, $1.offset) }.map(\.element)) }
    }

    func finals(_ k: Kind, method: String? = nil) -> [VariantRow] {
        series.compactMap(\.rows.last).filter { kind($0) == k && (method == nil || $0.method == method) }
    }

    /// Forgetting on the counting probes (base − variant, independent standard errors).
    public func forgetting(_ r: VariantRow) -> Estimate? { forgetting(r, over: forgettingProbes) }

    /// Mean over `probes` of base − variant score: accuracy lost, or (scores being −bits per byte)
    /// bits per byte gained. The probes must share a unit.
    public func forgetting(_ r: VariantRow, over probes: [String]) -> Estimate? {
        guard let base = model.baseRow, !probes.isEmpty else { return nil }
        var parts: [Estimate] = []
        for p in probes {
            guard let b = base.probeScores[p], let v = r.probeScores[p] else { return nil }
            parts.append(Estimate.difference(b, v))
        }
        return Estimate.meanOfMeans(parts)
    }

    /// Paired bootstrap of forgetting(a) − forgetting(b) = mean over probes of (b − a) scores,
    /// on the items both have; nil with fewer than minimumPairedItems.
    func pairedDifference(_ a: VariantRow, _ b: VariantRow) -> BootstrapResult? {
        var groups: [(base: [Double], variant: [Double])] = []
        for p in forgettingProbes {
            guard let x = a.probeItems[p], let y = b.probeItems[p] else { return nil }
            let docs = x.keys.filter { y[$0] != nil }.sorted()
            guard !docs.isEmpty else { return nil }
            groups.append((docs.map { x[$0]! }, docs.map { y[$0]! }))
        }
        guard groups.reduce(0, { $0 + $1.base.count }) >= minimumPairedItems else { return nil }
        return PairedBootstrap.meanDifference(groups: groups, resamples: resamples, seed: seed)
    }

    /// Paired bootstrap over target documents of mean_a learning − mean_b learning (each row's
    /// learning = mean over targets of the ratio of sums of its items); nil without items.
    public func learningDifference(_ a: [VariantRow], _ b: [VariantRow]) -> BootstrapResult? {
        let rows = a + b
        guard !a.isEmpty, !b.isEmpty, !model.targets.isEmpty else { return nil }
        var docs: [String: [Int]] = [:]
        for t in model.targets {
            guard let first = rows[0].targetItems[t] else { return nil }
            var shared = Set(first.keys)
            for r in rows.dropFirst() { guard let x = r.targetItems[t] else { return nil }; shared.formIntersection(x.keys) }
            guard shared.count >= 2 else { return nil }
            docs[t] = shared.sorted()
        }
        // per target: for each row, value and weight arrays aligned on the shared docs
        let data: [(v: [[Double]], w: [[Double]])] = model.targets.map { t in
            let d = docs[t]!
            return (rows.map { r in d.map { r.targetItems[t]![$0]!.value } }, rows.map { r in d.map { r.targetItems[t]![$0]!.weight } })
        }
        func statistic(_ pick: (Int) -> [Int]) -> Double {
            var perRow = [Double](repeating: 0, count: rows.count)
            for (ti, t) in data.enumerated() {
                let idx = pick(ti)
                for ri in rows.indices {
                    var sv = 0.0, sw = 0.0
                    for i in idx { sv += t.v[ri][i]; sw += t.w[ri][i] }
                    perRow[ri] += (sw > 0 ? sv / sw : .nan) / Double(data.count)
                }
            }
            let ma = perRow[0..<a.count].reduce(0, +) / Double(a.count), mb = perRow[a.count...].reduce(0, +) / Double(b.count)
            return ma - mb
        }
        let observed = statistic { Array(0..<data[$0].v[0].count) }
        var rng = SplitMix64(seed: seed)
        var stats: [Double] = []
        stats.reserveCapacity(resamples)
        for _ in 0..<resamples {
            let picks = data.map { t in (0..<t.v[0].count).map { _ in rng.below(t.v[0].count) } }
            stats.append(statistic { picks[$0] })
        }
        guard observed.isFinite, stats.allSatisfy(\.isFinite) else { return nil }
        stats.sort()
        func quantile(_ q: Double) -> Double {
            let pos = q * Double(stats.count - 1)
            let lo = Int(pos.rounded(.down)), hi = min(stats.count - 1, lo + 1)
            return stats[lo] + (stats[hi] - stats[lo]) * (pos - Double(lo))
        }
        let mean = stats.reduce(0, +) / Double(stats.count)
        let sd = (stats.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(1, stats.count - 1))).squareRoot()
        let atMost = stats.filter { $0 <= 0 }.count, atLeast = stats.filter { $0 >= 0 }.count
        let p = min(1, 2 * Double(min(atMost, atLeast) + 1) / Double(stats.count + 1))
        return BootstrapResult(difference: observed, stderr: sd, low: quantile(0.025), high: quantile(0.975), pValue: p, resamples: resamples, seed: seed)
    }

    /// Forgetting with its paired 95% interval against the base.
    func forgettingAgainstBase(_ r: VariantRow) -> (value: Double, low: Double, high: Double)? {
        guard let base = model.baseRow, let d = pairedDifference(base, r) else { return nil }
        return (-d.difference, -d.high, -d.low)
    }

    var pairedItemsAvailable: Bool {
        guard let base = model.baseRow else { return false }
        return forgettingProbes.reduce(0) { $0 + (base.probeItems[$1]?.count ?? 0) } >= minimumPairedItems
    }

    /// Forgetting as shown: accuracy points (x 100) or bits per byte.
    func pts(_ x: Double) -> String { bitsPerByte ? String(format: "%.3f", x) : String(format: "%.1f", x * 100) }
    var unit: String { bitsPerByte ? "bits per byte" : "points" }
    func ptsCI(_ f: (value: Double, low: Double, high: Double)) -> String {
        "\(pts(f.value)) \(unit) (95% CI \(pts(f.low))..\(pts(f.high)))"
    }
    func score(_ x: Double) -> String { String(format: "%.3f", x) }
    func z(_ d: Estimate) -> Double? { d.stderr.flatMap { $0 > 0 ? d.value / $0 : nil } }
    func zp(_ z: Double) -> String { "z = \(String(format: "%.1f", z)), p = \(PValue.format(erfc(abs(z) / 2.0.squareRoot())))" }
    func verdict(z: Double?) -> Verdict { guard let z else { return .inconclusive }; return z > 1.96 ? .supported : z < -1.96 ? .contradicted : .inconclusive }
    func verdict(interval b: BootstrapResult) -> Verdict { b.low > 0 ? .supported : b.high < 0 ? .contradicted : .inconclusive }
    func names(_ rows: [VariantRow]) -> String { rows.map(\.label).joined(separator: ", ") }

    /// Why a forgetting claim cannot be judged, or nil.
    var forgettingUnmeasurable: String? {
        if model.baseRow?.probeMean == nil && model.probes.allSatisfy({ model.baseRow?.probeScores[$0] == nil }) { return "the base has no probe scores" }
        if countingProbes.isEmpty { return "every probe is at chance on the base (\(chanceProbes.joined(separator: ", "))): nothing to forget" }
        return nil
    }

    // MARK: the claims

    public func report() -> FindingsReport {
        var notes: [String] = []
        if !chanceProbes.isEmpty {
            notes.append("At chance on the base, so left out of every forgetting verdict: \(chanceProbes.map { p in "\(p) (base \(score(model.baseRow!.probeScores[p]!.value)), chance \(score(model.probeChance[p] ?? .nan)))" }.joined(separator: ", ")).")
        }
        if !nonFiniteProbes.isEmpty { notes.append("Base score not finite, so left out: \(nonFiniteProbes.joined(separator: ", ")).") }
        if !forgettingProbes.isEmpty {
            notes.append(bitsPerByte
                ? "Forgetting in the findings = variant − base bits per byte averaged over \(forgettingProbes.joined(separator: ", ")) (no accuracy probe is above chance; bits per byte has no chance level); paired tests compare per-document bits per byte."
                : "Forgetting in the findings = base − variant accuracy averaged over \(forgettingProbes.joined(separator: ", ")), in points (1 point = 0.01).")
        }
        if !secondaryProbes.isEmpty {
            var text = "Bits-per-byte probes (no chance level, their own unit, in no verdict): forgetting = variant − base bits per byte averaged over \(secondaryProbes.joined(separator: ", "))"
            let finals = series.compactMap(\.rows.last)
            let parts = finals.compactMap { r in forgetting(r, over: secondaryProbes).map { "\(r.label) \(String(format: "%+.3f", $0.value))" } }
            if !parts.isEmpty { text += "; final checkpoints: \(parts.joined(separator: ", "))" }
            notes.append(text + ".")
        }
        let other = countingProbes.filter { !forgettingProbes.contains($0) && !secondaryProbes.contains($0) }
        if !other.isEmpty { notes.append("Not in the findings' forgetting (another unit; see the tables): \(other.joined(separator: ", ")).") }
        let unknownChance = forgettingProbes.filter { model.probeChance[$0] == nil && model.unit($0) == .accuracy }
        if !unknownChance.isEmpty { notes.append("Chance level unknown (no stored choices) for \(unknownChance.joined(separator: ", ")): counted.") }
        notes.append("A series is one training run; its final checkpoint is its largest step. LoRA = lora and qlora variants; rank comparisons use lora only. Matched learning: target scores within \(learningTolerance). Paired tests: bootstrap of items within each probe (\(resamples) resamples, seeded), at least \(minimumPairedItems) paired items; means of several runs: z test on standard errors.")
        let findings = [learnsMore(), forgetsMore(), matchedLearning(), lowerRanks(), growsWithTraining(), rankOfChange(),
                        spectrumResemblesWeights(), diversity(), qloraMatchesLoRA()]
        return FindingsReport(findings: findings, notes: notes)
    }

    static let hu = "Hu et al. 2021", dettmers = "Dettmers et al. 2023", biderman = "Biderman et al. 2024"

    func finding(_ id: String, _ claim: String, _ source: String, _ v: Verdict, _ s: String) -> Finding {
        Finding(id: id, claim: claim, source: source, verdict: v, sentence: s)
    }

    /// Mean over runs of an estimate (independent runs, standard errors in quadrature).
    func pooled(_ rows: [VariantRow], _ value: (VariantRow) -> Estimate?) -> Estimate? {
        let parts = rows.compactMap(value)
        return parts.count == rows.count ? Estimate.meanOfMeans(parts) : nil
    }

    func learnsMore() -> Finding {
        let claim = "Full fine-tuning learns more than LoRA"
        let full = finals(.full).filter { $0.learning != nil }, lora = finals(.lora).filter { $0.learning != nil }
        guard !full.isEmpty, !lora.isEmpty, let f = pooled(full, \.learning), let l = pooled(lora, \.learning) else {
            return finding("a", claim, Self.biderman, .notMeasurable, "Needs scored full and LoRA checkpoints (found \(full.count) full and \(lora.count) LoRA runs with a target score).")
        }
        let head = "Final checkpoints of \(full.count) full run(s) (\(names(full))) reached a target score of \(f.formatted()), of \(lora.count) LoRA run(s) (\(names(lora))) \(l.formatted())"
        if let b = learningDifference(full, lora) {
            let s = head + String(format: ": difference %+.3f (95%% CI %+.3f..%+.3f, paired bootstrap over target documents p = %@).", b.difference, b.low, b.high, PValue.format(b.pValue))
            return finding("a", claim, Self.biderman, verdict(interval: b), s)
        }
        let d = Estimate.difference(f, l)
        let zz = z(d)
        let s = head + ": difference \(String(format: "%+.3f", d.value))\(d.stderr.map { " ± " + String(format: "%.3f", $0) } ?? "")\(zz.map { " (" + zp($0) + ")" } ?? " (no standard error and no per-document scores: no test)")."
        return finding("a", claim, Self.biderman, verdict(z: zz), s)
    }

    func forgetsMore() -> Finding {
        let claim = "Full fine-tuning forgets more than LoRA"
        if let why = forgettingUnmeasurable { return finding("b", claim, Self.biderman, .notMeasurable, "Not measurable: \(why).") }
        let full = finals(.full).filter { forgetting($0) != nil }, lora = finals(.lora).filter { forgetting($0) != nil }
        guard !full.isEmpty, !lora.isEmpty, let f = pooled(full, forgetting), let l = pooled(lora, forgetting) else {
            return finding("b", claim, Self.biderman, .notMeasurable, "Needs probe scores of full and LoRA checkpoints (found \(full.count) full and \(lora.count) LoRA runs).")
        }
        let d = Estimate.difference(f, l)
        let zz = z(d)
        var s = "Final checkpoints of \(full.count) full run(s) forgot \(pts(f.value)) ± \(pts(f.stderr ?? .nan)) \(unit) on average, of \(lora.count) LoRA run(s) \(pts(l.value)) ± \(pts(l.stderr ?? .nan)): difference \(pts(d.value)) ± \(pts(d.stderr ?? .nan)) \(unit)\(zz.map { " (" + zp($0) + ")" } ?? "")."
        // The bits-per-byte probes in their own unit, beside (not in) the verdict.
        if !secondaryProbes.isEmpty, let fb = pooled(full, { forgetting($0, over: secondaryProbes) }), let lb = pooled(lora, { forgetting($0, over: secondaryProbes) }) {
            let db = Estimate.difference(fb, lb)
            s += " On \(secondaryProbes.joined(separator: ", ")) (bits per byte, not in the verdict): full \(String(format: "%+.3f", fb.value)), LoRA \(String(format: "%+.3f", lb.value)), difference \(String(format: "%+.3f", db.value))\(db.stderr.map { String(format: " ± %.3f", $0) } ?? "")\(z(db).map { " (" + zp($0) + ")" } ?? " (no standard error: no test)")."
        }
        return finding("b", claim, Self.biderman, verdict(z: zz), s)
    }

    func matchedLearning() -> Finding {
        let claim = "At matched learning, LoRA forgets less than full fine-tuning"
        if let why = forgettingUnmeasurable { return finding("c", claim, Self.biderman, .notMeasurable, "Not measurable: \(why).") }
        let full = model.variants.filter { kind($0) == .full && $0.learning != nil }
        let lora = model.variants.filter { kind($0) == .lora && $0.learning != nil }
        guard !full.isEmpty, !lora.isEmpty else {
            return finding("c", claim, Self.biderman, .notMeasurable, "Needs scored full and LoRA checkpoints (found \(full.count) full and \(lora.count) LoRA).")
        }
        guard pairedItemsAvailable else {
            return finding("c", claim, Self.biderman, .notMeasurable, "Too few paired probe items (fewer than \(minimumPairedItems) on the counting probes).")
        }
        var best: (f: VariantRow, l: VariantRow, level: Double)?
        for f in full {
            for l in lora where abs(f.learning!.value - l.learning!.value) <= learningTolerance {
                let level = (f.learning!.value + l.learning!.value) / 2
                if best == nil || level > best!.level { best = (f, l, level) }
            }
        }
        guard let (f, l, _) = best else {
            let fr = full.map(\.learning!.value), lr = lora.map(\.learning!.value)
            return finding("c", claim, Self.biderman, .notMeasurable,
                           "No full and LoRA checkpoints have target scores within \(learningTolerance) of each other (full \(score(fr.min()!))..\(score(fr.max()!)), LoRA \(score(lr.min()!))..\(score(lr.max()!))).")
        }
        guard let d = pairedDifference(f, l), let ff = forgettingAgainstBase(f), let lf = forgettingAgainstBase(l) else {
            return finding("c", claim, Self.biderman, .notMeasurable, "\(f.label) and \(l.label) share too few probe items for a paired test.")
        }
        let s = "At matched learning (target within \(learningTolerance): \(l.label) \(score(l.learning!.value)), \(f.label) \(score(f.learning!.value))), \(l.label) forgot \(ptsCI(lf)), \(f.label) \(ptsCI(ff)); full − LoRA forgetting \(pts(d.difference)) \(unit) (95% CI \(pts(d.low))..\(pts(d.high)), paired bootstrap p = \(PValue.format(d.pValue)))."
        return finding("c", claim, Self.biderman, verdict(interval: d), s)
    }

    func lowerRanks() -> Finding {
        let claim = "Lower LoRA ranks forget less (and learn less)"
        if let why = forgettingUnmeasurable { return finding("d", claim, Self.biderman, .notMeasurable, "Not measurable: \(why).") }
        var byRank: [Int: VariantRow] = [:]
        for r in finals(.lora, method: "lora") { if let k = r.rank, byRank[k] == nil { byRank[k] = r } }
        let ranks = byRank.keys.sorted()
        guard ranks.count >= 2 else {
            return finding("d", claim, Self.biderman, .notMeasurable, "Needs final LoRA checkpoints at two or more ranks (found \(ranks.map { "r=\($0)" }.joined(separator: ", ").isEmpty ? "none" : ranks.map { "r=\($0)" }.joined(separator: ", "))).")
        }
        let lo = byRank[ranks.first!]!, hi = byRank[ranks.last!]!
        guard let d = pairedDifference(hi, lo) else {
            return finding("d", claim, Self.biderman, .notMeasurable, "Too few paired probe items between \(lo.label) and \(hi.label).")
        }
        let parts = ranks.map { k -> String in
            let r = byRank[k]!
            return "r=\(k) forgot \(forgetting(r).map { pts($0.value) } ?? "n/a") \(unit), learned \(r.learning.map { score($0.value) } ?? "n/a")"
        }
        let learning = ranks.compactMap { byRank[$0]!.learning?.value }
        let learnsLess = learning.count == ranks.count ? zip(learning, learning.dropFirst()).allSatisfy { $0 <= $1 } : false
        let learnGap = learningDifference([hi], [lo]).map { String(format: " (r=\(ranks.last!) − r=\(ranks.first!) target %+.3f, 95%% CI %+.3f..%+.3f)", $0.difference, $0.low, $0.high) } ?? ""
        let s = "Final checkpoints: \(parts.joined(separator: "; ")). r=\(ranks.last!) − r=\(ranks.first!) forgetting \(pts(d.difference)) \(unit) (95% CI \(pts(d.low))..\(pts(d.high)), paired bootstrap p = \(PValue.format(d.pValue))); learning \(learnsLess ? "rises" : "does not rise") with rank\(learnGap)."
        return finding("d", claim, Self.biderman, verdict(interval: d), s)
    }

    func growsWithTraining() -> Finding {
        let claim = "Forgetting grows with training"
        if let why = forgettingUnmeasurable { return finding("e", claim, Self.biderman, .notMeasurable, "Not measurable: \(why).") }
        let runs = series.filter { $0.rows.count >= 2 && $0.rows.allSatisfy { $0.step != nil } }
        guard !runs.isEmpty else {
            return finding("e", claim, Self.biderman, .notMeasurable, "Needs a training run with checkpoints at two or more steps.")
        }
        var up = 0, down = 0, tested = 0
        var parts: [String] = []
        for run in runs {
            let first = run.rows.first!, last = run.rows.last!
            guard let d = pairedDifference(last, first) else { parts.append("\(run.name): too few paired items"); continue }
            tested += 1
            if d.low > 0 { up += 1 } else if d.high < 0 { down += 1 }
            let ff = forgetting(first).map { pts($0.value) } ?? "n/a", lf = forgetting(last).map { pts($0.value) } ?? "n/a"
            parts.append("\(run.name) \(ff) → \(lf) \(unit) (steps \(first.step!)→\(last.step!), Δ \(pts(d.difference)), 95% CI \(pts(d.low))..\(pts(d.high)))")
        }
        guard tested > 0 else {
            return finding("e", claim, Self.biderman, .notMeasurable, "Too few paired probe items: \(parts.joined(separator: "; ")).")
        }
        let v: Verdict = up * 2 >= tested && down == 0 && up > 0 ? .supported : down * 2 > tested && up == 0 ? .contradicted : .inconclusive
        let s = "Forgetting rose significantly in \(up) of \(tested) runs and fell in \(down) (last vs first checkpoint, paired bootstrap): \(parts.joined(separator: "; "))."
        return finding("e", claim, Self.biderman, v, s)
    }

    /// Mean rank90 of Delta over the tensors a variant changes (nil without spectra).
    public func meanRank90(_ label: String) -> Double? {
        let entries = model.spectra.filter { $0.variant == label }
        guard !entries.isEmpty else { return nil }
        return Double(entries.reduce(0) { $0 + $1.rank90 }) / Double(entries.count)
    }

    func rankOfChange() -> Finding {
        let claim = "Full fine-tuning's weight change has a far higher rank than LoRA's, growing with training"
        let full = finals(.full).filter { meanRank90($0.label) != nil }, lora = finals(.lora).filter { meanRank90($0.label) != nil }
        guard !full.isEmpty, !lora.isEmpty else {
            return finding("f", claim, Self.biderman, .notMeasurable,
                           model.spectra.isEmpty ? "No spectra in the store (spectra disabled, served-only variants, or not run yet)." : "Needs spectra of full and LoRA checkpoints (found \(full.count) full and \(lora.count) LoRA runs with spectra).")
        }
        let fr = full.map { meanRank90($0.label)! }, lr = lora.map { meanRank90($0.label)! }
        let farAbove = fr.min()! >= 2 * lr.max()!
        var grows: [String] = [], growing = 0, shrinking = 0
        for run in series where run.rows.first.map({ kind($0) == .full }) == true {
            let pts = run.rows.filter { $0.step != nil && meanRank90($0.label) != nil }
            guard pts.count >= 2 else { continue }
            let a = meanRank90(pts.first!.label)!, b = meanRank90(pts.last!.label)!
            if b > a { growing += 1 } else if b < a { shrinking += 1 }
            grows.append("\(run.name) \(String(format: "%.1f", a)) → \(String(format: "%.1f", b)) (steps \(pts.first!.step!)→\(pts.last!.step!))")
        }
        let v: Verdict
        if fr.max()! <= lr.max()! || (shrinking > 0 && growing == 0) { v = .contradicted } else if farAbove && shrinking == 0 { v = .supported } else { v = .inconclusive }
        let s = "Mean rank90 of Δ over the changed tensors: full \(full.map { "\($0.label) \(String(format: "%.1f", meanRank90($0.label)!))" }.joined(separator: ", ")); LoRA \(lora.map { "\($0.label) \(String(format: "%.1f", meanRank90($0.label)!))" }.joined(separator: ", ")) (\"far above\" = at least twice every LoRA run's: \(farAbove ? "yes" : "no")). Along training: \(grows.isEmpty ? "no full run with spectra at two steps" : grows.joined(separator: "; "))."
        return finding("f", claim, Self.biderman, v, s)
    }

    /// RMS distance between two normalised spectra on a log10 scale: sqrt(mean_i (log10(a_i/a_1) −
    /// log10(b_i/b_1))^2) over the leading indices both have above 1e-8 of their largest value.
    public static func spectrumDistance(_ a: [Double], _ b: [Double]) -> Double? {
        guard let a1 = a.first, let b1 = b.first, a1 > 0, b1 > 0 else { return nil }
        var sum = 0.0, n = 0
        for (x, y) in zip(a, b) {
            guard x > 1e-8 * a1, y > 1e-8 * b1 else { break }
            let d = log10(x / a1) - log10(y / b1)
            sum += d * d; n += 1
        }
        return n > 0 ? (sum / Double(n)).squareRoot() : nil
    }

    func spectrumResemblesWeights() -> Finding {
        let claim = "Full fine-tuning's Δ spectrum resembles the base weights' spectrum, scaled down"
        let fullLabels = Set(finals(.full).map(\.label))
        var closer = 0, farther = 0
        var parts: [String] = []
        for w in model.weightSpectra where fullLabels.contains(w.variant) {
            guard let delta = model.spectra.first(where: { $0.variant == w.variant && $0.tensor == w.tensor })?.singularValues,
                  let dw = Self.spectrumDistance(delta, w.base), let dg = Self.spectrumDistance(delta, w.gaussian) else { continue }
            if dw < dg { closer += 1 } else { farther += 1 }
            let ratio = (w.base.first ?? 0) > 0 ? (delta.first ?? 0) / w.base.first! : .nan
            parts.append("\(w.variant) \(SpectrumSummary.layerAndModule(w.tensor).module)\(SpectrumSummary.layerAndModule(w.tensor).layer.map { " (layer \($0))" } ?? ""): distance to W_base \(String(format: "%.2f", dw)), to Gaussian \(String(format: "%.2f", dg)), σ₁(Δ)/σ₁(W) = \(String(format: "%.3f", ratio))")
        }
        guard closer + farther > 0 else {
            return finding("g", claim, Self.biderman, .notMeasurable, "Needs weight spectra (spectra.weights) of a full fine-tune's final checkpoint.")
        }
        let v: Verdict = closer > farther ? .supported : farther > closer ? .contradicted : .inconclusive
        let s = "Normalised spectra (σ_i/σ₁, RMS distance of log10 values): Δ is closer to W_base's shape than to a Gaussian perturbation of Δ's shape and norm in \(closer) of \(closer + farther) tensors: \(parts.joined(separator: "; "))."
        return finding("g", claim, Self.biderman, v, s)
    }

    func diversity() -> Finding {
        let claim = "LoRA keeps generations more diverse than full fine-tuning"
        guard !model.diversityColumns.isEmpty else {
            return finding("h", claim, Self.biderman, .notMeasurable, "Diversity is not measured (the experiment has no diversity: task).")
        }
        let full = finals(.full), lora = finals(.lora)
        var up = 0, down = 0, tested = 0
        var parts: [String] = []
        for c in model.diversityColumns {
            guard let f = pooled(full, { $0.diversity[c] }), let l = pooled(lora, { $0.diversity[c] }), !full.isEmpty, !lora.isEmpty else { continue }
            let d = Estimate.difference(l, f)
            tested += 1
            let zz = z(d)
            if let zz, zz > 1.96 { up += 1 } else if let zz, zz < -1.96 { down += 1 }
            parts.append("\(c): LoRA \(l.formatted()), full \(f.formatted())\(zz.map { " (" + zp($0) + ")" } ?? "")")
        }
        guard tested > 0 else {
            return finding("h", claim, Self.biderman, .notMeasurable, "Needs diversity scores of full and LoRA final checkpoints.")
        }
        let v: Verdict = up * 2 > tested && down == 0 ? .supported : down * 2 > tested && up == 0 ? .contradicted : .inconclusive
        return finding("h", claim, Self.biderman, v, "Final checkpoints, mean of runs: \(parts.joined(separator: "; ")).")
    }

    func qloraMatchesLoRA() -> Finding {
        let claim = "QLoRA (4-bit base) matches 16-bit LoRA at the same rank"
        let q = finals(.lora, method: "qlora"), l = finals(.lora, method: "lora")
        let pairs = q.compactMap { a in l.first { $0.rank != nil && $0.rank == a.rank }.map { (a, $0) } }
        guard !pairs.isEmpty else {
            return finding("i", claim, Self.dettmers, .notMeasurable, "Needs QLoRA and LoRA runs of the same rank (found \(q.count) QLoRA and \(l.count) LoRA runs).")
        }
        var verdicts: [Verdict] = []
        var parts: [String] = []
        for (a, b) in pairs {
            var text = "r=\(a.rank!): \(a.label) vs \(b.label)"
            var learnOK = true, learnDiffers = false
            if let la = a.learning, let lb = b.learning {
                let d = Estimate.difference(la, lb)
                learnOK = abs(d.value) <= learningTolerance
                learnDiffers = !learnOK && (z(d).map { abs($0) > 1.96 } ?? false)
                text += ", target \(score(la.value)) vs \(score(lb.value))"
            }
            if forgettingUnmeasurable == nil, let d = pairedDifference(a, b) {
                text += ", forgetting difference \(pts(d.difference)) \(unit) (95% CI \(pts(d.low))..\(pts(d.high)))"
                let inside = d.low >= -equivalenceMargin && d.high <= equivalenceMargin
                let outside = d.low > equivalenceMargin || d.high < -equivalenceMargin
                verdicts.append(learnDiffers || outside ? .contradicted : (learnOK && inside ? .supported : .inconclusive))
            } else {
                text += ", forgetting not comparable"
                verdicts.append(learnDiffers ? .contradicted : .inconclusive)
            }
            parts.append(text)
        }
        let v: Verdict = verdicts.allSatisfy { $0 == .supported } ? .supported : verdicts.contains(.contradicted) ? .contradicted : .inconclusive
        return finding("i", claim, Self.dettmers, v, "\(parts.joined(separator: "; ")) (match: targets within \(learningTolerance) and the forgetting difference's 95% CI inside ±\(pts(equivalenceMargin)) \(unit)).")
    }
}
