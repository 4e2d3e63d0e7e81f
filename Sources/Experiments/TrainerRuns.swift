import Checkpoints
import Engine
import Evaluation
import Foundation

/// A `runs:` entry of an experiment file: a glob of checkpoint folders of one training run
/// (Hugging Face Trainer / TRL / Axolotl write OUTPUT/checkpoint-500/, checkpoint-1000/, ...),
/// expanded to one variant per complete folder, in step order, labelled LABEL-sSTEP.
public struct RunGlob: Sendable, Equatable {
    /// Absolute glob pattern (POSIX glob(3): *, ?, [...]).
    public var pattern: String
    public var label: String
    /// nil: read from each folder (adapter_config.json: lora; config.json + weights: full).
    public var method: FineTuneMethod?
    /// nil: adapter_config.json's r.
    public var rank: Int?
    /// Tokens per optimizer step, for runs that did not log num_input_tokens_seen.
    public var tokensPerStep: Int?
    public var line: Int?

    public init(pattern: String, label: String, method: FineTuneMethod? = nil, rank: Int? = nil, tokensPerStep: Int? = nil, line: Int? = nil) {
        self.pattern = pattern; self.label = label; self.method = method; self.rank = rank; self.tokensPerStep = tokensPerStep; self.line = line
    }

    /// The complete checkpoints as variants (step order) and a note per folder skipped (or
    /// one saying that nothing matches yet).
    public func expand() throws -> (variants: [Variant], skipped: [String]) {
        var found: [TrainerCheckpoint] = []
        var skipped: [String] = []
        for folder in Self.matches(pattern) {
            switch TrainerCheckpoint.read(folder: folder) {
            case .complete(let c): found.append(c)
            case .incomplete(let why): skipped.append("\(label): skipped \(folder): not a complete checkpoint yet (\(why))")
            case .invalid(let why): throw TrainerRunError("\(folder): \(why)")
            }
        }
        if found.isEmpty && skipped.isEmpty { skipped.append("\(label): no folder matches \(pattern) yet") }
        found.sort { ($0.step, $0.folder) < ($1.step, $1.folder) }
        for (a, b) in zip(found, found.dropFirst()) where a.step == b.step {
            throw TrainerRunError("\(a.folder) and \(b.folder) are both step \(a.step) of run '\(label)': make the pattern match one run")
        }
        let variants = try found.map { c -> Variant in
            let method = method ?? c.method
            if method == .full && c.method != .full { throw TrainerRunError("\(c.folder): method full, but the folder holds a PEFT adapter (adapter_config.json)") }
            if method != .full && c.method == .full { throw TrainerRunError("\(c.folder): method \(method.rawValue), but the folder holds a full model (no adapter_config.json)") }
            var tokens = c.tokensSeen
            if tokens == nil, let perStep = tokensPerStep {
                // Both numbers come from outside (the experiment file, trainer_state.json): an
                // unchecked product traps on overflow.
                let (product, overflow) = perStep.multipliedReportingOverflow(by: c.step)
                guard !overflow else {
                    throw TrainerRunError("\(c.folder): tokens_per_step \(perStep) x step \(c.step) is beyond the 64-bit integer range; is tokens_per_step right?")
                }
                tokens = product
            }
            var v = Variant(label: "\(label)-s\(c.step)", method: method, rank: rank ?? c.rank, step: c.step,
                            tokens: tokens, line: line)
            if method == .full { v.model = c.folder } else { v.adapter = c.folder }
            v.trainingLoss = c.trainingLoss
            v.run = label
            return v
        }
        return (variants, skipped)
    }

    /// Directories matching `pattern`, sorted by path (glob(3) with GLOB_ONLYDIR|GLOB_MARK: dirs end in "/").
    static func matches(_ pattern: String) -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        guard glob(pattern, GLOB_ONLYDIR | GLOB_MARK, nil, &g) == 0 else { return [] }
        var out: [String] = []
        for i in 0..<Int(g.gl_pathc) {
            guard let p = g.gl_pathv[i] else { continue }
            let path = String(cString: p)
            if path.hasSuffix("/") { out.append(String(path.dropLast())) }  // GLOB_ONLYDIR is only a hint
        }
        return out.sorted()
    }
}

public struct TrainerRunError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// One checkpoint folder: its weights (adapter or full model), and what trainer_state.json says
/// about where training was when it was saved.
public struct TrainerCheckpoint: Sendable, Equatable {
    public var folder: String
    public var method: FineTuneMethod
    public var rank: Int?
    public var step: Int
    /// state.num_input_tokens_seen when the run counted tokens (include_num_input_tokens_seen).
    public var tokensSeen: Int?
    /// The last training loss logged at or before `step` (log_history entries with "loss").
    public var trainingLoss: Double?

    public enum Reading: Sendable {
        case complete(TrainerCheckpoint)
        /// Still being written (or abandoned half-way): skipped, with the reason.
        case incomplete(String)
        /// Complete but unusable (no step anywhere): an error.
        case invalid(String)
    }

    /// Trainer's _save_checkpoint writes the weights, then optimizer/scheduler/RNG state, and
    /// trainer_state.json LAST (transformers trainer.py), into the final folder name. So a
    /// folder is complete when its weights validate (headers and sizes, which a half-written
    /// safetensors file fails) and, when it is a Trainer folder, its trainer_state.json parses.
    /// A Trainer folder is one named checkpoint-N (Trainer's PREFIX_CHECKPOINT_DIR, also TRL's
    /// and Axolotl's), or holding Trainer's other files, or next to one with trainer_state.json;
    /// other folders (step_300/ saved by hand) are plain checkpoints, their step from the name.
    public static func read(folder: String) -> Reading {
        let fm = FileManager.default
        let url = URL(fileURLWithPath: folder)
        let adapterConfig = url.appendingPathComponent("adapter_config.json").path
        let method: FineTuneMethod
        var rank: Int? = nil
        if fm.fileExists(atPath: adapterConfig) {
            do {
                rank = try AdapterConfig.load(path: adapterConfig).rank
                let weights = url.appendingPathComponent("adapter_model.safetensors").path
                guard fm.fileExists(atPath: weights) else { return .incomplete("no adapter_model.safetensors") }
                _ = try SafetensorsFile(path: weights)
            } catch { return .incomplete("\(error)") }
            method = .lora
        } else if fm.fileExists(atPath: url.appendingPathComponent("config.json").path) {
            do { _ = try ModelDirectory(path: folder) } catch { return .incomplete("\(error)") }
            method = .full
        } else {
            return .incomplete("no adapter_config.json or config.json")
        }

        let statePath = url.appendingPathComponent("trainer_state.json").path
        let nameStep = stepFromName(url.lastPathComponent)
        guard let data = fm.contents(atPath: statePath) else {
            if isTrainerFolder(url) { return .incomplete("no trainer_state.json yet; Trainer writes it last") }
            guard let nameStep else { return .invalid("no trainer_state.json and no step number in the folder name (e.g. checkpoint-500)") }
            return .complete(TrainerCheckpoint(folder: folder, method: method, rank: rank, step: nameStep))
        }
        let state: JSONValue
        do { state = try JSONValue.parse(data) } catch { return .incomplete("trainer_state.json: \(error)") }
        guard state.objectValue != nil else { return .incomplete("trainer_state.json is not a JSON object") }
        guard let step = state["global_step"]?.intValue ?? nameStep else {
            return .invalid("trainer_state.json has no integer global_step and the folder name no step number")
        }
        let seen = state["num_input_tokens_seen"]?.intValue
        return .complete(TrainerCheckpoint(folder: folder, method: method, rank: rank, step: step,
                                           tokensSeen: seen.flatMap { $0 > 0 ? $0 : nil },  // 0: the run did not count
                                           trainingLoss: lastLoss(state["log_history"]?.arrayValue ?? [], atOrBefore: step)))
    }

    /// The number after the last '-' or '_' of "checkpoint-500", "step_1000".
    static func stepFromName(_ name: String) -> Int? {
        guard let r = name.range(of: #"[0-9]+$"#, options: .regularExpression) else { return nil }
        return Int(name[r])
    }

    static func lastLoss(_ history: [JSONValue], atOrBefore step: Int) -> Double? {
        var best: (step: Int, loss: Double)? = nil
        for e in history {
            guard let s = e["step"]?.intValue, s <= step, let l = e["loss"]?.doubleValue, l.isFinite else { continue }
            if best == nil || s >= best!.step { best = (s, l) }
        }
        return best?.loss
    }

    static func isTrainerFolder(_ url: URL) -> Bool {
        let fm = FileManager.default
        if url.lastPathComponent.range(of: #"^checkpoint-[0-9]+$"#, options: .regularExpression) != nil { return true }
        if ["training_args.bin", "optimizer.pt", "scheduler.pt", "rng_state.pth"].contains(where: { fm.fileExists(atPath: url.appendingPathComponent($0).path) }) {
            return true
        }
        let parent = url.deletingLastPathComponent()
        let names = (try? FileManager.default.contentsOfDirectory(atPath: parent.path)) ?? []
        return names.contains { $0 != url.lastPathComponent
            && FileManager.default.fileExists(atPath: parent.appendingPathComponent($0).appendingPathComponent("trainer_state.json").path) }
    }
}

extension Experiment {
    /// The variants to report: the file's, plus checkpoints of its runs that were evaluated
    /// (they are in the store) but whose folders are gone since, as Trainer's save_total_limit
    /// deletes old checkpoints while a watched run goes on. Those come back from their stored
    /// record (step, tokens, method, rank; the training loss is not stored), each run's
    /// checkpoints in step order. Also returns a note per checkpoint brought back.
    public func variantsWithVanishedCheckpoints(stored: [CheckpointRecord]) -> (variants: [Variant], notes: [String]) {
        guard !runs.isEmpty else { return (variants, []) }
        let current = Set(variants.map(\.label))
        var vanished: [String: [Variant]] = [:]
        var notes: [String] = []
        for run in runs {
            for r in stored where !r.isBase && !current.contains(r.label) && r.label == "\(run.label)-s\(r.step ?? -1)" {
                var v = Variant(label: r.label, method: FineTuneMethod(rawValue: r.method) ?? .lora, rank: r.rank, step: r.step, tokens: r.tokens)
                if v.method == .full { v.model = r.modelPath } else { v.adapter = r.adapterPath }
                v.run = run.label
                vanished[run.label, default: []].append(v)
                notes.append("\(r.label): its folder is gone (deleted by save_total_limit?); shown from the store")
            }
        }
        guard !vanished.isEmpty else { return (variants, []) }
        var out: [Variant] = []
        var placed: Set<String> = []
        for v in variants {
            guard let run = v.run, let gone = vanished[run] else { out.append(v); continue }
            if placed.insert(run).inserted {
                out += (variants.filter { $0.run == run } + gone).sorted { ($0.step ?? 0) < ($1.step ?? 0) }
            }
        }
        for run in runs where !placed.contains(run.label) { out += (vanished[run.label] ?? []).sorted { ($0.step ?? 0) < ($1.step ?? 0) } }
        return (out, notes.sorted())
    }
}
