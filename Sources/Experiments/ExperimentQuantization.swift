import Checkpoints
import Evaluation
import Foundation
import Reports
import Yams

/// `quantization:` in experiment files (issue 11): a mapping {type, double_quant, blocksize,
/// compute_dtype} at the top level (every variant without its own) or per variant. A `method:
/// qlora` variant without one runs on its base quantized as the QLoRA paper trained it (NF4,
/// double quantization, bf16), and the report says so.
extension Experiment {
    static let quantizationKeys: Set<String> = ["type", "double_quant", "blocksize", "compute_dtype", "skip_modules"]

    static func parseQuantization(_ n: Node, where what: String, fail: (Node?, String) -> ExperimentError) throws -> QuantizationSettings {
        guard case .mapping(let m) = n else { throw fail(n, "\(what)quantization: expected a mapping {type: nf4|fp4, double_quant:, blocksize:, compute_dtype:}") }
        for (k, _) in m {
            guard let key = k.string, quantizationKeys.contains(key) else {
                throw fail(k, "unknown key '\(k.string ?? "?")' in \(what)quantization (known: \(quantizationKeys.sorted().joined(separator: ", ")))")
            }
        }
        guard let t = m["type"], let text = t.string, let type = FourBitType(rawValue: text) else {
            throw fail(m["type"] ?? n, "\(what)quantization.type: expected nf4 or fp4")
        }
        var q = QuantizationSettings(type: type)
        if let d = m["double_quant"] {
            guard tag(d, .bool), let b = d.bool else { throw fail(d, "\(what)quantization.double_quant: expected true or false") }
            q.doubleQuant = b
        }
        if let b = m["blocksize"] {
            guard let i = YAMLInteger.int(b), FourBitTensor.validBlocksizes.contains(i) else {
                throw fail(b, "\(what)quantization.blocksize: expected one of \(FourBitTensor.validBlocksizes.map(String.init).joined(separator: ", "))\(YAMLInteger.rangeNote(b))")
            }
            q.blocksize = i
        }
        if let c = m["compute_dtype"] {
            guard let text = c.string, let d = QuantizationSettings.computeDTypes[text] else {
                throw fail(c, "\(what)quantization.compute_dtype: expected bf16, fp16 or fp32")
            }
            q.computeDType = d
        }
        if let s = m["skip_modules"] {
            guard case .sequence(let seq) = s else { throw fail(s, "\(what)quantization.skip_modules: expected a list of module names") }
            q.skipModules = try seq.map { item in
                guard let text = item.string, !text.isEmpty else { throw fail(item, "\(what)quantization.skip_modules: expected module names") }
                return text
            }
        }
        return q
    }

    /// The distinct 4-bit forms the variants run their base in: each is scored as a checkpoint
    /// of its own, so a QLoRA variant's forgetting splits into quantization and adapter parts.
    public var quantizedBases: [QuantizationSettings] {
        var seen: [QuantizationSettings] = []
        for v in variants where v.backendKind == .native && v.method != .full {
            if let q = v.quantization, !seen.contains(q) { seen.append(q) }
        }
        return seen
    }

    /// The label of the base run in 4 bits, e.g. "base-nf4-dq-b64-bf16".
    public static func quantizedBaseLabel(_ q: QuantizationSettings) -> String {
        "base-" + q.descriptor.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "-")
            .replacingOccurrences(of: "=", with: "-").replacingOccurrences(of: ",", with: "-")
    }
}

extension ExperimentSummary {
    /// A QLoRA-style variant's forgetting, split: what quantization did (quantized base vs base)
    /// and what the adapter did (variant vs quantized base), each with its paired bootstrap over
    /// the probes' items.
    static func quantizationSplit(variant: String, quantizedBase: String, total: Estimate?, quantization: BootstrapResult?,
                                  adapter: BootstrapResult?) -> String {
        func show(_ b: BootstrapResult?) -> String {
            guard let b else { return "n/a" }
            // forgetting is base - variant: the negated difference (+ 0 turns -0 into 0)
            return String(format: "%+.4f (95%% CI %+.4f..%+.4f, p = %.3g)", -b.difference + 0, -b.high + 0, -b.low + 0, b.pValue)
        }
        let t = total.map { String(format: "%.4f", $0.value) } ?? "n/a"
        return "\(variant): forgetting \(t) = quantization \(show(quantization)) [\(quantizedBase) vs base] + adapter \(show(adapter)) [\(variant) vs \(quantizedBase)] (probe accuracy, paired bootstrap)."
    }
}
