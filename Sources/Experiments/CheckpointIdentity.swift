import Checkpoints
import Engine
import Evaluation
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
    /// Set when an OpenAI-compatible server scores this checkpoint (connected and probed).
    public var remote: RemoteBackend?
    /// The 4-bit form the base runs in (QLoRA as trained, or the base quantized on its own).
    public var quantization: QuantizationSettings?
    /// What a 16/32-bit checkpoint computes in (compute_dtype:); part of `fingerprint`.
    public var computeDType: ComputeDType = .fp32

    /// Fingerprints the base and the variants (all, or those labelled in `only`). Local
    /// checkpoints: every weight is streamed once, unless `cache` knows the files unchanged. Served checkpoints: the server is asked what
    /// it serves under the name (see RemoteBackend.identity), so `server` must be given.
    ///
    /// A variant whose files cannot be read (a missing adapter, a broken header) goes to `failed`,
    /// which rethrows by default; `run` records it and leaves the variant out, so the others run.
    public static func resolve(_ e: Experiment, server: RemoteOptions? = nil, only: Set<String>? = nil, cache: FingerprintCache? = nil,
                               progress: (String) -> Void = { _ in },
                               failed: (_ label: String, _ error: Error) throws -> Void = { throw $1 }) throws -> (base: CheckpointIdentity, variants: [CheckpointIdentity]) {
        guard !e.needsServer || server != nil else {
            throw ExperimentError(file: e.file, line: nil, "some checkpoints are served but no server options were given")
        }
        // The base's weights and content fingerprint, read only when a local checkpoint needs them
        // (a native base, or a native LoRA variant whose identity includes its base).
        var local: (model: ModelDirectory, fingerprint: String)? = nil
        func localBase() throws -> (model: ModelDirectory, fingerprint: String) {
            if let local { return local }
            let model = try ModelDirectory(path: e.base)
            let made = (model, try Fingerprint.of(model: model, cache: cache))
            local = made
            return made
        }
        progress("base")
        let base = e.backend.kind == .openai
            ? try served(label: "base", method: "base", name: e.backend.servedModel, e: e, server: server!, isBase: true)
            : CheckpointIdentity(label: "base", method: "base", model: e.base, fingerprint: e.computeDType.fingerprint(try localBase().fingerprint),
                                 isBase: true, computeDType: e.computeDType)
        func variant(_ v: Variant) throws -> CheckpointIdentity {
            if v.backendKind == .openai {
                var own = server!
                if let u = v.baseURL { own.baseURL = URL(string: u)! }  // checked when the file was read
                var c = try served(label: v.label, method: v.method.rawValue, name: v.servedModel, e: e, server: own, isBase: false)
                (c.rank, c.step, c.tokens, c.adapter) = (v.rank, v.step, v.tokens, v.adapter ?? v.model)
                return c
            }
            switch v.method {
            case .full:
                let fp = try Fingerprint.of(model: try ModelDirectory(path: v.model!), cache: cache)
                return CheckpointIdentity(label: v.label, method: v.method.rawValue, rank: v.rank, step: v.step, tokens: v.tokens,
                                          model: v.model!, fingerprint: v.computeDType.fingerprint(fp), isBase: false,
                                          computeDType: v.computeDType)
            case .lora, .qlora:
                let (baseModel, baseFP) = try localBase()
                let adapter = try LoRAAdapter(path: v.adapter!, base: baseModel.tensors)
                let adapterFP = try Fingerprint.of(adapter: adapter, cache: cache)
                // The evaluated model is base + adapter: both fingerprints (and the method) key it.
                // A 4-bit base is another model: its form keys the results too.
                let fp = QuantizationSettings.fingerprint(
                    String(format: "xxh64:%016llx", XXH64.hash(Array("\(v.method.rawValue)|\(baseFP)|\(adapterFP)".utf8))), v.quantization)
                var c = CheckpointIdentity(label: v.label, method: v.method.rawValue, rank: v.rank ?? adapter.config.rank, step: v.step,
                                           tokens: v.tokens, model: e.base, adapter: v.adapter, fingerprint: fp, isBase: false)
                c.quantization = v.quantization
                if v.quantization == nil {
                    c.computeDType = v.computeDType
                    c.fingerprint = v.computeDType.fingerprint(fp)
                }
                return c
            }
        }

        var out: [CheckpointIdentity] = []
        for v in e.variants where only?.contains(v.label) ?? true {
            progress(v.label)
            do {
                out.append(try variant(v))
            } catch {
                try failed(v.label, error)
            }
        }
        return (base, out)
    }

    /// The base in each 4-bit form the variants use, scored as checkpoints of their own (a
    /// natively scored base only).
    public static func quantizedBases(_ e: Experiment, base: CheckpointIdentity) -> [CheckpointIdentity] {
        guard base.remote == nil else { return [] }
        return e.quantizedBases.map { q in
            var c = CheckpointIdentity(label: Experiment.quantizedBaseLabel(q), method: "base-4bit", model: e.base,
                                       fingerprint: QuantizationSettings.fingerprint(base.fingerprint, q), isBase: false)
            c.quantization = q
            return c
        }
    }

    /// Connects to the server for one served name; the fingerprint hashes what the server says
    /// it serves under that name plus the local tokenization.
    static func served(label: String, method: String, name: String?, e: Experiment, server: RemoteOptions, isBase: Bool) throws -> CheckpointIdentity {
        var options = server
        options.servedModel = name
        let remote: RemoteBackend
        do { remote = try RemoteBackend.connect(modelDirectory: e.base, options: options) } catch {
            throw ExperimentError(file: e.file, line: nil, "\(label): \(error)")
        }
        let fp = String(format: "remote-xxh64:%016llx", XXH64.hash(Array("openai|\(remote.identity)".utf8)))
        return CheckpointIdentity(label: label, method: method, model: e.base, fingerprint: fp, isBase: isBase, remote: remote)
    }

    var record: CheckpointRecord {
        CheckpointRecord(label: label, method: method, rank: rank, step: step, tokens: tokens, modelPath: model,
                         adapterPath: adapter, fingerprint: fingerprint, isBase: isBase, updatedAt: Date(), servedModel: remote?.servedModel)
    }
}
