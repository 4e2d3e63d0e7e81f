import Checkpoints
import Evaluation
import Foundation
import Yams

/// A problem in an experiment file, with the line it is on.
public struct ExperimentError: Error, CustomStringConvertible {
    public let file: String
    public let line: Int?
    public let message: String
    public init(file: String, line: Int?, _ message: String) {
        self.file = file
        self.line = line
        self.message = message
    }
    public var description: String { "\(file)\(line.map { ":\($0)" } ?? ""): \(message)" }
}

public enum FineTuneMethod: String, Sendable, Codable, CaseIterable {
    case full, lora, qlora
}

/// One fine-tuned checkpoint to compare with the base.
public struct Variant: Sendable, Equatable {
    public var label: String
    public var method: FineTuneMethod
    public var rank: Int?
    public var step: Int?
    public var tokens: Int?
    /// Absolute paths: `model` for full fine-tunes, `adapter` for (Q)LoRA.
    public var model: String?
    public var adapter: String?
    /// Its name on the experiment's OpenAI-compatible server (vLLM: --lora-modules NAME=PATH).
    public var servedModel: String?
    /// Its own server, when not the backend's base_url (vLLM serves one full model per server).
    public var baseURL: String?
    /// Where it is scored: the experiment's backend type unless the variant says otherwise.
    public var backendKind: BackendSettings.Kind = .native
    public var line: Int?
    /// From a `runs:` glob (TrainerRuns): the run's label and the training loss at this step.
    public var run: String?
    public var trainingLoss: Double?
    /// The 4-bit form its base runs in (its own quantization:, the file's, or QLoRA's default).
    public var quantization: QuantizationSettings?
    /// What its linear layers compute in when not 4-bit (its own compute_dtype:, else the file's).
    public var computeDType: ComputeDType = .fp32
    /// quantization is QLoRA's default because the file gave none.
    public var quantizationDefaulted = false
    /// series: the training run this checkpoint belongs to, for hand-listed checkpoints (a
    /// `runs:` glob's checkpoints are its label's series); nil: method and rank.
    public var series: String?

    /// Local weights to compute spectra from (a served variant may have none).
    public var hasLocalWeights: Bool { model != nil || adapter != nil }
}

/// Documents per task: one number, or per task with a default.
public struct LimitSpec: Sendable, Equatable {
    public var perTask: [String: Int] = [:]
    public var defaultLimit: Int?
    public func limit(for task: String) -> Int? { perTask[task] ?? defaultLimit }
}

public struct SpectraSettings: Sendable, Equatable {
    public var enabled = true
    /// Regular expression searched in tensor names; nil = every perturbed tensor.
    public var modules: String?
    public var variance = 0.9
    /// Tensors whose W_base, W_ft and Gaussian-comparison spectra are stored (regular expression
    /// searched in tensor names); nil: one attention and one MLP matrix of the middle layer
    /// (WeightSpectraChoice). `weights: false` stores none.
    public var weights: String?
    public var weightsEnabled = true
}

/// The experiment file (YAML): a base, its variants, the tasks and options.
public struct Experiment: Sendable {
    public var file: String
    public var name: String
    /// Absolute paths.
    public var base: String
    public var output: String
    public var targets: [String]
    public var probes: [String]
    public var limit: LimitSpec
    /// nil: each task's own num_fewshot.
    public var numFewshot: Int?
    public var spectra: SpectraSettings
    public var variants: [Variant]
    public var backend = BackendSettings()
    /// task_paths: directories of the user's own task YAMLs (absolute), added to the shipped tasks.
    public var taskPaths: [String] = []
    /// allow_code_execution: code tasks (humaneval) may run the model's programs in the sandbox.
    public var allowCodeExecution = false
    /// diversity: generation tasks whose samples are compared (distinct_fraction, distinct_2,
    /// token_entropy of their metric_list), per checkpoint, shown beside learning and forgetting.
    public var diversity: [String] = []
    /// seed: of sampled generations (part of the store's task key of sampled tasks).
    public var seed: UInt64 = 1234

    /// The file's top-level quantization: (every native adapter variant without its own).
    public var quantization: QuantizationSettings?
    /// The file's top-level compute_dtype: the base's, and every variant's without its own.
    public var computeDType: ComputeDType = .fp32
    /// The `runs:` globs the variants were expanded from, and the folders skipped as incomplete.
    public var runs: [RunGlob] = []
    public var skipped: [String] = []
    /// Shards split each checkpoint on its own (see ExperimentTasks.documents): set while
    /// watching a run, where the number of checkpoints grows between rounds.
    public var stableShardPlan = false

    public static let defaultProbes = ["hellaswag", "winogrande", "arc_challenge"]
    static let topKeys: Set<String> = ["name", "base", "output", "targets", "probes", "limit", "num_fewshot", "spectra", "variants", "backend", "quantization",
                                        "compute_dtype", "task_paths", "allow_code_execution", "diversity", "seed"]
    /// Labels name files (`export/<label>/results.json`) and report rows, so they must be one
    /// plain path component: a label like `../x` would write outside the output directory.
    public static func unsafeLabel(_ label: String) -> String? {
        if label.isEmpty { return "must not be empty" }
        if label == "." || label == ".." { return "'.' and '..' are not names" }
        if label.contains("/") { return "must not contain '/' (labels become file names)" }
        if label.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) { return "must not contain control characters" }
        if label.utf8.count > 200 { return "is longer than 200 bytes (labels become file names)" }
        return nil
    }

    static let variantKeys: Set<String> = ["label", "method", "rank", "step", "tokens", "model", "adapter", "served_model", "base_url", "backend", "quantization", "compute_dtype", "series"]
    static let spectraKeys: Set<String> = ["enabled", "modules", "variance", "weights"]
    static let runKeys: Set<String> = ["label", "runs", "method", "rank", "tokens_per_step"]

    /// Some checkpoint is scored by a server.
    public var needsServer: Bool { backend.kind == .openai || variants.contains { $0.backendKind == .openai } }

    /// The server options (see BackendSettings.remoteOptions) when some checkpoint is served, else nil.
    public func serverOptions(baseURLOverride: String? = nil,
                              environment: [String: String] = ProcessInfo.processInfo.environment) throws -> RemoteOptions? {
        guard needsServer else { return nil }
        return try backend.remoteOptions(file: file, baseURLOverride: baseURLOverride, environment: environment)
    }

    /// The store: output/results.sqlite.
    public var storePath: String { URL(fileURLWithPath: output).appendingPathComponent("results.sqlite").path }
    public var allTasks: [String] { var seen = Set<String>(); return (targets + probes + diversity).filter { seen.insert($0).inserted } }

    /// Reads and validates an experiment file. `knownTasks` (task names) checks targets and probes.
    public static func load(path: String, knownTasks: Set<String>? = nil) throws -> Experiment {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ExperimentError(file: path, line: nil, "cannot read the experiment file: \(error.localizedDescription)")
        }
        return try parse(text, file: path, knownTasks: knownTasks)
    }

    public static func parse(_ text: String, file: String, knownTasks: Set<String>? = nil) throws -> Experiment {
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch let e as YamlError {
            throw ExperimentError(file: file, line: Self.line(of: e), "not valid YAML: \(e)")
        }
        guard let root = node, case .mapping(let top) = root else {
            throw ExperimentError(file: file, line: node?.mark?.line, "expected a mapping (name:, base:, targets:, variants: ...)")
        }
        if let problem = YAMLSize.violation(root) { throw ExperimentError(file: file, line: nil, problem) }
        // Anchor at the absolute path first: `standardized` on a relative file URL resolves
        // "examples/../reports" against the filesystem root on Linux Foundation.
        let absolute = file.hasPrefix("/") ? file : FileManager.default.currentDirectoryPath + "/" + file
        let directory = URL(fileURLWithPath: absolute).deletingLastPathComponent().standardized
        func fail(_ n: Node?, _ message: String) -> ExperimentError { ExperimentError(file: file, line: n?.mark?.line, message) }
        func resolve(_ p: String) -> String {
            p.hasPrefix("/") ? URL(fileURLWithPath: p).standardized.path : directory.appendingPathComponent(p).standardized.path
        }
        func checkKeys(_ m: Node.Mapping, _ allowed: Set<String>, _ what: String) throws {
            for (k, _) in m {
                guard let key = k.string, k.scalar != nil else { throw fail(k, "\(what): keys must be plain names") }
                if !allowed.contains(key) {
                    throw fail(k, "unknown key '\(key)' in \(what) (known: \(allowed.sorted().joined(separator: ", ")))")
                }
            }
        }
        func string(_ m: Node.Mapping, _ key: String, _ what: String) throws -> String? {
            guard let n = m[key] else { return nil }
            guard n.scalar != nil, !Self.tag(n, .null), let s = n.string, !s.isEmpty else { throw fail(n, "\(what)\(key): expected a non-empty string") }
            return s
        }
        func int(_ m: Node.Mapping, _ key: String, _ what: String, minimum: Int = 0) throws -> Int? {
            guard let n = m[key] else { return nil }
            guard let i = YAMLInteger.int(n) else { throw fail(n, "\(what)\(key): expected an integer, got '\(n.string ?? "a \(kind(n))")'\(YAMLInteger.rangeNote(n))") }
            guard i >= minimum else { throw fail(n, "\(what)\(key): must be at least \(minimum), got \(i)") }
            return i
        }
        func names(_ m: Node.Mapping, _ key: String) throws -> [(String, Node)]? {
            guard let n = m[key] else { return nil }
            if n.scalar != nil, let s = n.string, Self.tag(n, .str) { return [(s, n)] }  // a single name
            guard case .sequence(let seq) = n else { throw fail(n, "\(key): expected a list of task names") }
            return try seq.map { item in
                guard item.scalar != nil, let s = item.string, !s.isEmpty else { throw fail(item, "\(key): expected task names, got a \(kind(item))") }
                return (s, item)
            }
        }
        func directoryMustExist(_ path: String, _ n: Node?, _ what: String) throws {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
                throw fail(n, "\(what): directory \(path) does not exist")
            }
        }

        try checkKeys(top, topKeys, "the experiment")
        guard let name = try string(top, "name", "") else { throw fail(root, "missing field 'name' (the experiment's name)") }
        guard name.range(of: #"^[A-Za-z0-9._-]+$"#, options: .regularExpression) != nil else {
            throw fail(top["name"], "name: '\(name)' must be letters, digits, '.', '_' or '-' (it names the report folder)")
        }
        guard let baseText = try string(top, "base", "") else { throw fail(root, "missing field 'base' (the base model directory)") }
        let base = resolve(baseText)
        try directoryMustExist(base, top["base"], "base")
        let output = try string(top, "output", "").map(resolve)
            ?? directory.appendingPathComponent("reports").appendingPathComponent(name).standardized.path

        var taskPaths: [String] = []
        if let n = top["task_paths"] {
            let items: [Node]
            if case .sequence(let seq) = n { items = Array(seq) } else if n.scalar != nil { items = [n] } else {
                throw fail(n, "task_paths: expected a list of directories (relative to this file)")
            }
            for item in items {
                guard item.scalar != nil, let p = item.string, !p.isEmpty else { throw fail(item, "task_paths: expected directory paths") }
                try directoryMustExist(resolve(p), item, "task_paths")
                taskPaths.append(resolve(p))
            }
        }
        var allowCode = false
        if let n = top["allow_code_execution"] {
            guard n.scalar != nil, Self.tag(n, .bool), let b = n.bool else { throw fail(n, "allow_code_execution: expected true or false") }
            allowCode = b
        }
        guard let targetNodes = try names(top, "targets") else { throw fail(root, "missing field 'targets' (target-domain task names)") }
        // Learning is measured on the targets and forgetting on the probes: with either list
        // empty every report row and the frontier would be empty, with exit 0.
        guard !targetNodes.isEmpty else { throw fail(top["targets"], "targets: expected at least one target-domain task") }
        let probeNodes = try names(top, "probes")
        if let probeNodes, probeNodes.isEmpty { throw fail(top["probes"], "probes: expected at least one task (leave the field out for the default probes)") }
        let diversityNodes = try names(top, "diversity") ?? []
        var seed: UInt64 = 1234
        if let n = top["seed"] {
            guard let i = YAMLInteger.int(n), i >= 0 else { throw fail(n, "seed: expected a non-negative integer\(YAMLInteger.rangeNote(n))") }
            seed = UInt64(i)
        }
        var taskNodes = targetNodes + (probeNodes ?? []) + diversityNodes
        if let knownTasks {
            if probeNodes == nil { taskNodes += defaultProbes.map { ($0, top["targets"]!) } }
            for (t, n) in taskNodes where !knownTasks.contains(t) {
                throw fail(n, "unknown task '\(t)' (known: \(knownTasks.sorted().joined(separator: ", ")))")
            }
        }
        for group in [targetNodes, probeNodes ?? [], diversityNodes] {
            var seen: Set<String> = []
            for (t, n) in group where !seen.insert(t).inserted { throw fail(n, "task '\(t)' is listed twice") }
        }

        var limit = LimitSpec()
        if let n = top["limit"] {
            switch n {
            case .scalar:
                guard let i = YAMLInteger.int(n), i > 0 else { throw fail(n, "limit: expected a positive integer or a map {task: N, default: N}\(YAMLInteger.rangeNote(n))") }
                limit.defaultLimit = i
            case .mapping(let m):
                for (k, v) in m {
                    guard let key = k.string else { throw fail(k, "limit: keys must be task names or 'default'") }
                    guard let i = YAMLInteger.int(v), i > 0 else { throw fail(v, "limit.\(key): expected a positive integer\(YAMLInteger.rangeNote(v))") }
                    if key == "default" { limit.defaultLimit = i; continue }
                    if !taskNodes.contains(where: { $0.0 == key }) && !(probeNodes == nil && defaultProbes.contains(key)) {
                        throw fail(k, "limit.\(key): '\(key)' is not one of the experiment's targets or probes")
                    }
                    limit.perTask[key] = i
                }
            default: throw fail(n, "limit: expected a positive integer or a map {task: N, default: N}")
            }
        }
        let fewshot = try int(top, "num_fewshot", "")

        var spectra = SpectraSettings()
        if let n = top["spectra"] {
            guard case .mapping(let m) = n else { throw fail(n, "spectra: expected a mapping {enabled:, modules:, variance:, weights:}") }
            try checkKeys(m, spectraKeys, "spectra")
            if let e = m["enabled"] {
                guard Self.tag(e, .bool), let b = e.bool else { throw fail(e, "spectra.enabled: expected true or false") }
                spectra.enabled = b
            }
            if let pattern = try string(m, "modules", "spectra.") {
                guard (try? NSRegularExpression(pattern: pattern)) != nil else { throw fail(m["modules"], "spectra.modules: not a valid regular expression: \(pattern)") }
                spectra.modules = pattern
            }
            if let v = m["variance"] {
                guard Self.tag(v, .float) || Self.tag(v, .int), let x = v.float, x > 0, x <= 1 else {
                    throw fail(v, "spectra.variance: expected a number in (0, 1]")
                }
                spectra.variance = x
            }
            if let w = m["weights"] {
                if Self.tag(w, .bool), w.bool == false {
                    spectra.weightsEnabled = false
                } else {
                    guard w.scalar != nil, Self.tag(w, .str), let pattern = w.string, !pattern.isEmpty, (try? NSRegularExpression(pattern: pattern)) != nil else {
                        throw fail(w, "spectra.weights: expected a regular expression of tensor names (or false), got '\(w.string ?? "a \(kind(w))")'")
                    }
                    spectra.weights = pattern
                }
            }
        }

        let backend = try top["backend"].map { try BackendSettings.parse($0, fail: fail) } ?? BackendSettings()
        let topQuantization = try top["quantization"].map { try parseQuantization($0, where: "", fail: fail) }
        let topCompute = try top["compute_dtype"].map { try parseComputeDType($0, where: "", fail: fail) } ?? .fp32
        // a base saved in 4 bits is already what QLoRA adapters were trained on
        let baseIsFourBit = (try? SavedQuantizationConfig.load(configPath: base + "/config.json")) != nil
        if baseIsFourBit, let q = top["quantization"] { throw fail(q, "quantization: the base is already a 4-bit checkpoint") }

        guard let variantsNode = top["variants"] else { throw fail(root, "missing field 'variants' (the fine-tuned checkpoints)") }
        guard case .sequence(let seq) = variantsNode, !seq.isEmpty else { throw fail(variantsNode, "variants: expected a non-empty list of {label:, method:, ...} or {runs: GLOB, label:}") }
        var variants: [Variant] = []
        var runs: [RunGlob] = [], skipped: [String] = []
        var labels: [String: Int] = ["base": 0]
        // Two checkpoints under one served name would be one model scored twice.
        var servedNames: [String: String] = backend.servedModel.map { [$0: "the base (backend.served_model)"] } ?? [:]
        for item in seq {
            guard case .mapping(let m) = item else { throw fail(item, "variants: each entry must be a mapping {label:, method:, ...}") }
            if let runsNode = m["runs"] {
                // A glob of training checkpoints (TrainerRuns): one variant per complete folder.
                try checkKeys(m, runKeys, "a variant with runs:")
                guard let label = try string(m, "label", "variant ") else { throw fail(item, "variant: missing field 'label' (the run's name; checkpoints become LABEL-sSTEP)") }
                let where_ = "variant '\(label)': "
                guard label != "base" else { throw fail(m["label"], "\(where_)the label 'base' is reserved for the base model") }
                guard backend.kind == .native else { throw fail(runsNode, "\(where_)runs: are scored locally; they cannot be used with backend type openai") }
                var method: FineTuneMethod? = nil
                if let text = try string(m, "method", where_) {
                    guard let parsed = FineTuneMethod(rawValue: text) else { throw fail(m["method"], "\(where_)method '\(text)' is not one of full, lora, qlora") }
                    method = parsed
                }
                let pattern = resolve(try string(m, "runs", where_)!)
                #if FUZZING
                // A fuzzed `runs: /*/*/*/*` would walk the whole machine and read whatever
                // config.json it finds there: slow, and a result that depends on the machine
                // (CI's fuzz-smoke fails on a hang > 1 s). Users may write absolute globs, so
                // only fuzz builds keep globs under the experiment file's directory, with no
                // component that could match ".." (".*", "[.]...").
                let inside = pattern.hasPrefix(directory.path + "/")
                    && !pattern.dropFirst(directory.path.count).split(separator: "/").contains { $0.hasPrefix(".") || $0.hasPrefix("[") }
                guard inside else { throw fail(runsNode, "\(where_)runs: fuzz builds expand globs only below the experiment file's directory") }
                #endif
                let glob = RunGlob(pattern: pattern, label: label, method: method,
                                   rank: try int(m, "rank", where_, minimum: 1), tokensPerStep: try int(m, "tokens_per_step", where_, minimum: 1),
                                   line: item.mark?.line)
                let expansion: (variants: [Variant], skipped: [String])
                do { expansion = try glob.expand() } catch { throw fail(runsNode, "\(where_)\(error)") }
                for var v in expansion.variants {
                    v.computeDType = topCompute
                    if let previous = labels[v.label] { throw fail(m["label"], "\(where_)checkpoint label '\(v.label)' is already used (line \(previous))") }
                    labels[v.label] = item.mark?.line ?? -1
                    variants.append(v)
                }
                runs.append(glob)
                skipped += expansion.skipped
                continue
            }
            try checkKeys(m, variantKeys, "a variant")
            guard let label = try string(m, "label", "variant ") else { throw fail(item, "variant: missing field 'label'") }
            if let problem = Self.unsafeLabel(label) { throw fail(m["label"], "variant label '\(label)': \(problem)") }
            let where_ = "variant '\(label)': "
            if let previous = labels[label] {
                throw fail(m["label"], previous == 0 ? "\(where_)the label 'base' is reserved for the base model" : "duplicate label '\(label)' (first used on line \(previous))")
            }
            labels[label] = m["label"]?.mark?.line ?? -1
            guard let methodText = try string(m, "method", where_) else { throw fail(item, "\(where_)missing field 'method' (full, lora or qlora)") }
            guard let method = FineTuneMethod(rawValue: methodText) else {
                throw fail(m["method"], "\(where_)method '\(methodText)' is not one of full, lora, qlora")
            }
            var v = Variant(label: label, method: method, rank: try int(m, "rank", where_, minimum: 1),
                            step: try int(m, "step", where_), tokens: try int(m, "tokens", where_), line: item.mark?.line)
            v.series = try string(m, "series", where_)
            v.backendKind = backend.kind
            if let b = m["backend"] {
                guard b.scalar != nil, let text = b.string, let k = BackendSettings.Kind(rawValue: text) else {
                    throw fail(b, "\(where_)backend: expected native or openai, got '\(b.string ?? "a \(kind(b))")'")
                }
                v.backendKind = k
            }
            let served = v.backendKind == .openai
            v.servedModel = try string(m, "served_model", where_)
            if served && v.servedModel == nil {
                throw fail(item, "\(where_)the backend is openai: give served_model: (its name on the server; vLLM --lora-modules NAME=PATH)")
            }
            if let name = v.servedModel {
                if let other = servedNames[name] { throw fail(m["served_model"], "\(where_)served_model '\(name)' is already \(other)'s name") }
                servedNames[name] = "variant '\(label)'"
            }
            v.baseURL = try string(m, "base_url", where_)
            if let u = v.baseURL {
                guard served else { throw fail(m["base_url"], "\(where_)base_url is for served variants (backend: openai)") }
                try BackendSettings.checkURL(u) { fail(m["base_url"], "\(where_)\($0)") }
            }
            if !served, let n = m["served_model"] {
                throw fail(n, "\(where_)served_model is for served variants (backend: openai; for the whole experiment backend: {type: openai, ...})")
            }
            switch method {
            case .full:
                if m["adapter"] != nil { throw fail(m["adapter"], "\(where_)method full takes model:, not adapter:") }
                guard let model = try string(m, "model", where_) else {
                    if served { break }  // scored by the server; no local weights, no spectra
                    throw fail(item, "\(where_)missing field 'model' (the fine-tuned model directory)")
                }
                v.model = resolve(model)
                try directoryMustExist(v.model!, m["model"], "\(where_)model")
            case .lora, .qlora:
                if m["model"] != nil { throw fail(m["model"], "\(where_)method \(method.rawValue) takes adapter:, not model:") }
                guard let adapter = try string(m, "adapter", where_) else {
                    if served { break }
                    throw fail(item, "\(where_)missing field 'adapter' (the PEFT adapter directory)")
                }
                v.adapter = resolve(adapter)
                try directoryMustExist(v.adapter!, m["adapter"], "\(where_)adapter")
            }
            if let q = m["quantization"] {
                guard method != .full else { throw fail(q, "\(where_)quantization applies to the base of lora/qlora variants, not to a full fine-tune") }
                v.quantization = try parseQuantization(q, where: where_, fail: fail)
            } else if method != .full {
                v.quantization = topQuantization
            }
            if baseIsFourBit, let q = m["quantization"] { throw fail(q, "\(where_)quantization: the base is already a 4-bit checkpoint") }
            if method == .qlora && v.quantization == nil && !served && !baseIsFourBit {
                v.quantization = .qlora
                v.quantizationDefaulted = true
            }
            if served && v.quantization != nil && m["quantization"] != nil {
                throw fail(m["quantization"], "\(where_)quantization is for natively scored variants (the server decides how it runs the model)")
            }
            if served { v.quantization = nil }
            v.computeDType = try variantComputeDType(m, variant: v, served: served, top: topCompute, where: where_, fail: fail)
            variants.append(v)
        }
        return Experiment(file: file, name: name, base: base, output: output, targets: targetNodes.map(\.0),
                          probes: probeNodes?.map(\.0) ?? defaultProbes, limit: limit, numFewshot: fewshot,
                          spectra: spectra, variants: variants, backend: backend,
                          taskPaths: taskPaths, allowCodeExecution: allowCode, diversity: diversityNodes.map(\.0), seed: seed,
                          quantization: topQuantization, computeDType: topCompute, runs: runs, skipped: skipped)
    }

    /// The file's task_paths alone (validated), to build the task catalog the full parse checks names against.
    public static func taskPaths(path: String) throws -> [String] { try load(path: path, knownTasks: nil).taskPaths }

    /// Yams keeps Tag.name internal; compare the raw tag text.
    static func tag(_ n: Node, _ name: Tag.Name) -> Bool { n.tag.rawValue == name.rawValue }

    static func kind(_ n: Node) -> String {
        switch n {
        case .mapping: return "mapping"
        case .sequence: return "list"
        default: return "scalar"
        }
    }

    static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        default: return nil
        }
    }
}
