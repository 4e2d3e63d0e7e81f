import Engine
import Foundation
import Yams

/// What lm-eval calls the output type: how a document becomes requests and how they are scored.
public enum OutputType: String, Sendable, CaseIterable {
    case multipleChoice = "multiple_choice"
    case loglikelihoodRolling = "loglikelihood_rolling"
    case generateUntil = "generate_until"
}

/// How a document field of the task definition is produced (lm-eval's doc_to_text / doc_to_target /
/// doc_to_choice): a column name, a template, a constant, a literal list, or a registered Swift function.
public enum FieldSpec: Sendable {
    case integer(Int)
    case list([JSONValue])
    /// A string: a document column if the document has a field of that name, else a template.
    case text(String, Template)
    case function(String)
}

public struct MetricSpec: Sendable {
    public var name: String
    /// exact_match options (lm-eval's exact_match_hf_evaluate).
    public var ignoreCase = false
    public var ignorePunctuation = false
    public var ignoreNumbers = false
    public var regexesToIgnore: [String] = []
    /// pass_at_k: the k values (lm-eval's `k: [1]`).
    public var k: [Int] = []
    public var raw: JSONValue
}

public struct FilterStep: Sendable {
    public enum Kind: Sendable {
        case regex(pattern: String, group: Int, fallback: String), takeFirst, strip, lowercase
        /// lm-eval humaneval's custom filter utils.build_predictions: the document's prompt + the generation.
        case prependPrompt
    }
    public var kind: Kind
}

public struct FilterPipeline: Sendable {
    public var name: String
    public var steps: [FilterStep]
}

/// One task definition file (tasks/<name>.yaml): lm-eval's field names plus `data` / `split`.
public struct TaskDefinition: Sendable {
    public var name: String
    /// The YAML file it came from.
    public var file: String
    /// The data file (JSONL, or JSONL.gz), absolute.
    public var dataFile: String
    public var split: String
    public var outputType: OutputType
    public var processDocs: String?
    public var docToText: FieldSpec
    public var docToTarget: FieldSpec
    public var docToChoice: FieldSpec?
    public var targetDelimiter = " "
    public var fewshotDelimiter = "\n\n"
    public var description = ""
    public var metrics: [MetricSpec]
    /// generate_until: stop strings and the token budget (lm-eval's default max_gen_toks is 256).
    public var until: [String] = []
    public var maxGenTokens = 256
    /// do_sample: true (nil: greedy, the default).
    public var sampling: SamplingSettings?
    /// lm-eval's repeats: generations per document.
    public var repeats = 1
    public var filters: [FilterPipeline] = []
    /// Few-shot source: a data file (absolute) or nil for the task's own data (the eval doc excluded).
    public var fewshotFile: String?
    /// The split the few-shot file is (for messages).
    public var fewshotSplit: String?
    /// lm-eval's rule when the task is in its local-data form (see TaskDataSource); nil: the
    /// evaluated document is dropped exactly when the pool is the evaluated data.
    public var fewshotExcludesEvaluated: Bool?
    /// The Hugging Face dataset the data come from, when the YAML names one (for the missing-file message).
    public var hub: HubDataset?
    /// "default" (seeded random, lm-eval's ContextSampler) or "first_n".
    public var fewshotSampler = "default"
    public var numFewshot = 0
    public var version: JSONValue = .double(1.0)
    /// The definition as written, for results.json's "configs".
    public var raw: JSONObject

    /// Scored by running generated code (pass_at_k): needs --allow-code-execution.
    public var runsCode: Bool { metrics.contains { $0.name == "pass_at_k" } }

    /// Functions registered in Swift that the definition names.
    var functionNames: [String] {
        var names: [String] = []
        for spec in [docToText, docToTarget] + (docToChoice.map { [$0] } ?? []) {
            if case .function(let n) = spec { names.append(n) }
        }
        if let processDocs { names.append(processDocs) }
        return names
    }
}

public struct TaskDefinitionError: Error, CustomStringConvertible {
    public let file: String
    public let message: String
    public var description: String { "\(file): \(message)" }
}

extension TaskDefinition {
    /// Reads a task definition; relative data paths are resolved against the file's directory.
    public static func load(path: String) throws -> TaskDefinition {
        let url = URL(fileURLWithPath: path)
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw TaskDefinitionError(file: path, message: "cannot read: \(error.localizedDescription)")
        }
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            throw TaskDefinitionError(file: path, message: "not valid YAML: \(error)")
        }
        guard let node, case .mapping = node else { throw TaskDefinitionError(file: path, message: "expected a mapping of task fields") }
        if let problem = YAMLSize.violation(node) { throw TaskDefinitionError(file: path, message: problem) }
        try TaskYAMLKeys.check(node, file: path)
        return try parse(node, file: path, directory: url.deletingLastPathComponent().path)
    }

    static func parse(_ node: Node, file: String, directory: String) throws -> TaskDefinition {
        func list(_ n: Node?) -> [Node] { n?.array() ?? [] }
        func fail(_ m: String) -> TaskDefinitionError { TaskDefinitionError(file: file, message: m) }
        let raw = try YAMLValue.object(node, file: file)
        func string(_ key: String) throws -> String? {
            guard let n = node[key] else { return nil }
            guard let s = n.string, n.scalar != nil else { throw fail("\(key): expected a string") }
            return s
        }
        func spec(_ key: String, required: Bool) throws -> FieldSpec? {
            guard let n = node[key] else {
                if required { throw fail("\(key): missing") }
                return nil
            }
            if n.tag.description == "!function" {
                guard let name = n.string else { throw fail("\(key): !function needs a name") }
                guard TaskFunctions.registry[name] != nil else {
                    throw fail("line \(TaskYAMLKeys.line(n)): \(key): !function \(name): forgetlens has no such function (Python functions of lm-eval tasks are not run; registered Swift functions: \(TaskFunctions.registry.keys.sorted().joined(separator: ", ")))")
                }
                return .function(name)
            }
            switch n {
            case .sequence: return .list(try YAMLValue.value(n, file: file, field: key).arrayValue ?? [])
            case .scalar:
                // An int-tagged scalar that PyYAML reads as text (0o17) is text, as lm-eval sees it.
                switch YAMLInteger.read(n) {
                case .integer(let i): return .integer(i)
                case .outOfRange: throw fail("line \(TaskYAMLKeys.line(n)): \(key): expected a string, an integer or a list\(YAMLInteger.rangeNote(n))")
                case .notInteger: break
                }
                let s = n.string ?? ""
                do { return .text(s, try Template(s)) } catch { throw fail("\(key): \(error)") }
            default: throw fail("\(key): expected a string, an integer or a list")
            }
        }

        guard let name = try string("task") else { throw fail("task: missing (the task's name)") }
        guard let typeName = try string("output_type") else { throw fail("output_type: missing") }
        guard let outputType = OutputType(rawValue: typeName) else {
            throw fail("output_type: '\(typeName)' is not one of \(OutputType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var processDocs: String? = nil
        if let n = node["process_docs"] {
            guard n.tag.description == "!function", let fname = n.string, TaskFunctions.registry[fname] != nil else {
                throw fail("line \(TaskYAMLKeys.line(n)): process_docs: \(n.tag.description == "!function" ? "!function \(n.string ?? ""): forgetlens has no such function" : "expected !function NAME") (registered Swift functions: \(TaskFunctions.registry.keys.sorted().joined(separator: ", ")))")
            }
            processDocs = fname
        }
        let docToText = try spec("doc_to_text", required: true)!
        let docToTarget = try spec("doc_to_target", required: true)!
        let docToChoice = try spec("doc_to_choice", required: outputType == .multipleChoice)

        var metrics: [MetricSpec] = []
        if let list = node["metric_list"] {
            for m in list.array() {
                if let n = m["metric"], n.tag.description == "!function" {
                    throw fail("line \(TaskYAMLKeys.line(n)): metric_list: !function \(n.string ?? ""): forgetlens has no such function (metrics are the registered ones: \(MetricRegistry.all.map(\.name).joined(separator: ", ")))")
                }
                guard let metric = m["metric"]?.string else { throw fail("metric_list: every entry needs `metric: NAME`") }
                var spec = MetricSpec(name: metric, raw: try YAMLValue.value(m, file: file, field: "metric_list"))
                spec.ignoreCase = m["ignore_case"]?.bool ?? false
                spec.ignorePunctuation = m["ignore_punctuation"]?.bool ?? false
                spec.ignoreNumbers = m["ignore_numbers"]?.bool ?? false
                spec.regexesToIgnore = m["regexes_to_ignore"]?.array().compactMap(\.string) ?? []
                if metric == "pass_at_k" {
                    // every entry must be an integer: one dropped silently would change the metrics reported
                    let kNodes = m["k"].map { $0.array().isEmpty ? [$0] : $0.array() } ?? []
                    let ks = kNodes.compactMap(YAMLInteger.int)
                    guard !ks.isEmpty, ks.count == kNodes.count, ks.allSatisfy({ $0 >= 1 }) else {
                        throw fail("line \(TaskYAMLKeys.line(m)): metric_list: pass_at_k needs `k: [K, ...]` with K >= 1\(kNodes.map(YAMLInteger.rangeNote).joined())")
                    }
                    spec.k = ks
                }
                metrics.append(spec)
            }
        }
        let known = MetricRegistry.names(for: outputType)
        for m in metrics where !known.contains(m.name) {
            throw fail("metric_list: '\(m.name)' is not a \(outputType.rawValue) metric (known: \(known.joined(separator: ", ")))")
        }
        for m in list(node["metric_list"]) {
            // lm-eval's aggregation / higher_is_better restate the registry; one that differs would change the number
            if let a = m["aggregation"], let name = m["metric"]?.string, let info = MetricRegistry.info(name) {
                let mine = info.aggregation == .mean ? "mean" : info.aggregation.rawValue
                guard a.string == mine else { throw fail("line \(TaskYAMLKeys.line(a)): metric_list: \(name) aggregates by \(mine), not '\(a.string ?? "")'") }
            }
            if let h = m["higher_is_better"], h.bool == nil { throw fail("line \(TaskYAMLKeys.line(h)): higher_is_better: expected true or false") }
        }
        if metrics.isEmpty { metrics = known.prefix(1).map { MetricSpec(name: $0, raw: .object(JSONObject([("metric", .string($0))]))) } }

        let source = try TaskDataSource.resolve(node, task: name, file: file, directory: directory)
        var def = TaskDefinition(name: name, file: file, dataFile: source.dataFile, split: source.split,
                                 outputType: outputType, processDocs: processDocs, docToText: docToText,
                                 docToTarget: docToTarget, docToChoice: docToChoice, metrics: metrics, raw: raw)
        def.fewshotFile = source.fewshotFile
        def.fewshotSplit = source.fewshotSplit
        def.fewshotExcludesEvaluated = source.excludeEvaluated
        def.hub = source.hub
        if let d = try string("target_delimiter") { def.targetDelimiter = d }
        if let d = try string("fewshot_delimiter") { def.fewshotDelimiter = d }
        if let d = try string("description") { def.description = d }
        if let v = node["metadata"]?["version"] { def.version = try YAMLValue.value(v, file: file, field: "metadata.version") }
        if let g = node["generation_kwargs"] {
            if let u = g["until"] {
                // lm-eval takes one string or a list of strings; anything else was dropped silently.
                switch u {
                case .scalar where u.tag.description == Tag.Name.str.rawValue: def.until = [u.string ?? ""]
                case .sequence(let items) where items.allSatisfy({ $0.tag.description == Tag.Name.str.rawValue }):
                    def.until = items.compactMap(\.string)
                default: throw fail("line \(TaskYAMLKeys.line(u)): generation_kwargs.until: expected a string or a list of strings")
                }
            }
            if let m = g["max_gen_toks"] {
                guard let n = YAMLInteger.int(m), n >= 1 else {
                    throw fail("line \(TaskYAMLKeys.line(m)): generation_kwargs.max_gen_toks: expected an integer >= 1\(YAMLInteger.rangeNote(m))")
                }
                def.maxGenTokens = n
            }
            def.sampling = try GenerationSettings.parse(g, fail: fail)
        }
        if let r = node["repeats"] {
            guard let n = YAMLInteger.int(r), n >= 1 else { throw fail("line \(TaskYAMLKeys.line(r)): repeats: expected an integer >= 1\(YAMLInteger.rangeNote(r))") }
            def.repeats = n
        }
        if let fl = node["filter_list"] {
            for f in fl.array() {
                var steps: [FilterStep] = []
                for s in f["filter"]?.array() ?? [] {
                    switch s["function"]?.string ?? "" {
                    case "regex":
                        guard let pattern = s["regex_pattern"]?.string else { throw fail("filter_list: regex needs regex_pattern") }
                        do { _ = try NSRegularExpression(pattern: pattern) } catch { throw fail("filter_list: bad regex_pattern \(pattern)") }
                        var group = 0
                        if let g = s["group_select"] {
                            guard let i = YAMLInteger.int(g) else {
                                throw fail("line \(TaskYAMLKeys.line(g)): filter_list: group_select: expected an integer\(YAMLInteger.rangeNote(g))")
                            }
                            group = i
                        }
                        steps.append(FilterStep(kind: .regex(pattern: pattern, group: group,
                                                             fallback: s["fallback"]?.string ?? "[invalid]")))
                    case "take_first": steps.append(FilterStep(kind: .takeFirst))
                    case "strip": steps.append(FilterStep(kind: .strip))
                    case "lowercase": steps.append(FilterStep(kind: .lowercase))
                    case "custom":
                        guard let fn = s["filter_fn"], fn.tag.description == "!function", fn.string == "humaneval.build_predictions" else {
                            throw fail("line \(TaskYAMLKeys.line(s)): filter_list: custom filter_fn: \(s["filter_fn"]?.string ?? "missing"): forgetlens has no such function (known: !function humaneval.build_predictions)")
                        }
                        steps.append(FilterStep(kind: .prependPrompt))
                    case let other: throw fail("line \(TaskYAMLKeys.line(s)): filter_list: unknown filter function '\(other)' (known: regex, take_first, strip, lowercase, custom)")
                    }
                }
                def.filters.append(FilterPipeline(name: f["name"]?.string ?? "none", steps: steps))
            }
        }
        if let s = node["fewshot_config"]?["sampler"]?.string {
            guard s == "default" || s == "first_n" else { throw fail("fewshot_config.sampler: '\(s)' (known: default, first_n)") }
            def.fewshotSampler = s
        }
        if let n = node["num_fewshot"] {
            guard let k = YAMLInteger.int(n), k >= 0 else {
                throw fail("line \(TaskYAMLKeys.line(n)): num_fewshot: expected an integer >= 0\(YAMLInteger.rangeNote(n))")
            }
            def.numFewshot = k
        }
        return def
    }
}

/// YAML nodes as JSON values (tags resolved as YAML 1.1 core schema does; !function kept as text).
/// `field` is the key path shown when a value cannot be represented.
enum YAMLValue {
    static func value(_ node: Node, file: String, field: String) throws -> JSONValue {
        switch node {
        case .scalar:
            if node.tag.description == "!function" { return .string("!function " + (node.string ?? "")) }
            switch node.tag.description {
            case Tag.Name.null.rawValue: return .null
            case Tag.Name.bool.rawValue: return node.bool.map(JSONValue.bool) ?? .string(node.string ?? "")
            case Tag.Name.int.rawValue:
                // PyYAML would keep an integer past 64 bits; turning it into text or a rounded
                // double would change what the task means, so it is an error.
                switch YAMLInteger.read(node) {
                case .integer(let i): return .int(i)
                case .notInteger: return .string(node.string ?? "")  // 0o17: text for PyYAML too
                case .outOfRange:
                    throw TaskDefinitionError(file: file, message: "line \(TaskYAMLKeys.line(node)): \(field): expected an integer within 64 bits\(YAMLInteger.rangeNote(node))")
                }
            case Tag.Name.float.rawValue: return node.float.map(JSONValue.double) ?? .string(node.string ?? "")
            default: return .string(node.string ?? "")
            }
        case .sequence(let seq): return .array(try seq.map { try value($0, file: file, field: field) })
        case .mapping: return .object(try object(node, file: file, prefix: field + "."))
        default: return .null
        }
    }

    static func object(_ node: Node, file: String, prefix: String = "") throws -> JSONObject {
        var o = JSONObject()
        if case .mapping(let m) = node {
            for (k, v) in m { o[k.string ?? ""] = try value(v, file: file, field: prefix + (k.string ?? "")) }
        }
        return o
    }
}
