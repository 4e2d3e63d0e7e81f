import Checkpoints
import Foundation

/// What is evaluated: the base or a variant, with the fingerprint that keys its results.
public struct CheckpointIdentity: Sendable {
    public var label: String
    public var method: String
    public var rank: Int?
    public var step: Int?
    public var tokens: Int?
    public var model: String
    public var adapter: String?
    public var fingerprint: String
    public var isBase: Bool

    /// Fingerprints the base and every variant (streams every weight once).
    public static func resolve(_ e: Experiment, progress: (String) -> Void = { _ in }) throws -> (base: CheckpointIdentity, variants: [CheckpointIdentity]) {
        progress("base")
        let baseModel = try ModelDirectory(path: e.base)
        let baseFP = try Fingerprint.of(model: baseModel)
        let base = CheckpointIdentity(label: "base", method: "base", model: e.base, fingerprint: baseFP, isBase: true)
        var out: [CheckpointIdentity] = []
        for v in e.variants {
            progress(v.label)
            switch v.method {
            case .full:
                let fp = try Fingerprint.of(model: try ModelDirectory(path: v.model!))
                out.append(CheckpointIdentity(label: v.label, method: v.method.rawValue, rank: v.rank, step: v.step, tokens: v.tokens,
                                              model: v.model!, fingerprint: fp, isBase: false))
            case .lora, .qlora:
                let adapter = try LoRAAdapter(path: v.adapter!, base: baseModel.tensors)
                let adapterFP = try Fingerprint.of(adapter: adapter)
                // The evaluated model is base + adapter: both fingerprints (and the method) key it.
                let fp = String(format: "xxh64:%016llx", XXH64.hash(Array("\(v.method.rawValue)|\(baseFP)|\(adapterFP)".utf8)))
                out.append(CheckpointIdentity(label: v.label, method: v.method.rawValue, rank: v.rank ?? adapter.config.rank, step: v.step,
                                              tokens: v.tokens, model: e.base, adapter: v.adapter, fingerprint: fp, isBase: false))
            }
        }
        return (base, out)
    }

    var record: CheckpointRecord {
        CheckpointRecord(label: label, method: method, rank: rank, step: step, tokens: tokens, modelPath: model,
                         adapterPath: adapter, fingerprint: fingerprint, isBase: isBase, updatedAt: Date())
    }
}
