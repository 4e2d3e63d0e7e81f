import Checkpoints
import Foundation

/// results.json and samples_<task>.jsonl in lm-evaluation-harness 0.4.x's layout, so its tooling
/// (and anything that reads its output) reads ours.
public enum ResultsWriter {
    /// The whole results.json. `config`: model, adapter, fingerprints, limit, ... (written as given).
    public static func results(_ tasks: [TaskResult], config: JSONObject, seconds: Double) -> JSONValue {
        var results = JSONObject(), configs = JSONObject(), versions = JSONObject(), nShot = JSONObject()
        var higher = JSONObject(), nSamples = JSONObject(), groupSubtasks = JSONObject()
        for t in tasks {
            let name = t.task.name
            let filter = t.task.definition.outputType == .generateUntil ? t.filterName : "none"
            var r = JSONObject()
            r["alias"] = .string(name)
            for a in t.aggregates {
                r["\(a.metric),\(filter)"] = .double(a.value)
                r["\(a.metric)_stderr,\(filter)"] = a.stderr.map(JSONValue.double) ?? .string("N/A")
            }
            for other in t.otherFilters {
                for a in other.aggregates {
                    r["\(a.metric),\(other.name)"] = .double(a.value)
                    r["\(a.metric)_stderr,\(other.name)"] = a.stderr.map(JSONValue.double) ?? .string("N/A")
                }
            }
            results[name] = .object(r)
            groupSubtasks[name] = .array([])
            configs[name] = .object(taskConfig(t))
            versions[name] = t.task.definition.version
            nShot[name] = .int(t.numFewshot)
            var hib = JSONObject()
            for m in t.task.definition.metrics {
                hib[m.name] = .bool(MetricRegistry.higherIsBetter(m))
            }
            higher[name] = .object(hib)
            nSamples[name] = .object(JSONObject([("original", .int(t.originalCount)), ("effective", .int(t.documents.count))]))
        }
        return .object(JSONObject([
            ("results", .object(results)),
            ("group_subtasks", .object(groupSubtasks)),
            ("configs", .object(configs)),
            ("versions", .object(versions)),
            ("n-shot", .object(nShot)),
            ("higher_is_better", .object(higher)),
            ("n-samples", .object(nSamples)),
            ("config", .object(config)),
            ("date", .double(Date().timeIntervalSince1970)),
            ("total_evaluation_time_seconds", .string(String(seconds))),
        ]))
    }

    /// lm-eval's "configs" entry: the definition's fields with lm-eval's defaults filled in.
    static func taskConfig(_ t: TaskResult) -> JSONObject {
        let def = t.task.definition
        var c = JSONObject()
        c["task"] = .string(def.name)
        c["dataset_path"] = .string(def.dataFile)
        c["validation_split"] = .string(def.split)
        for key in ["process_docs", "doc_to_text", "doc_to_target", "doc_to_choice"] {
            if let v = def.raw[key] { c[key] = v }
        }
        c["description"] = .string(def.description)
        c["target_delimiter"] = .string(def.targetDelimiter)
        c["fewshot_delimiter"] = .string(def.fewshotDelimiter)
        c["fewshot_config"] = .object(JSONObject([("sampler", .string(def.fewshotSampler)),
                                                  ("split", def.fewshotFile.map(JSONValue.string) ?? .string(def.split))]))
        c["num_fewshot"] = .int(t.numFewshot)
        c["metric_list"] = .array(def.metrics.map { m in
            var o = m.raw.objectValue ?? JSONObject([("metric", .string(m.name))])
            if o["aggregation"] == nil { o["aggregation"] = .string(MetricRegistry.aggregationName(m)) }
            if o["higher_is_better"] == nil { o["higher_is_better"] = .bool(MetricRegistry.higherIsBetter(m)) }
            return .object(o)
        })
        c["output_type"] = .string(def.outputType.rawValue)
        if def.outputType == .generateUntil {
            var g = JSONObject([("until", .array(def.until.map(JSONValue.string))), ("max_gen_toks", .int(def.maxGenTokens)), ("do_sample", .bool(def.sampling != nil))])
            if let s = def.sampling {
                // the settings the samples were drawn with (transformers' defaults filled in)
                g["temperature"] = .double(s.temperature)
                g["top_k"] = .int(s.topK ?? 0)
                g["top_p"] = .double(s.topP ?? 1)
            }
            c["generation_kwargs"] = .object(g)
            if let f = def.raw["filter_list"] { c["filter_list"] = f }
        }
        c["repeats"] = .int(def.repeats)
        c["metadata"] = .object(JSONObject([("version", def.version), ("config_source", .string(def.file))]))
        return c
    }

    /// str(x) of a Python float, as sanitize_list writes responses.
    static func pyStr(_ d: Double) -> String { PythonRepr.float(d) }

    /// One JSON line per document, as lm-eval's EvaluationTracker writes samples_<task>_<date>.jsonl.
    public static func samples(_ t: TaskResult) -> String {
        var out = ""
        for (i, d) in t.documents.enumerated() {
            var s = JSONObject()
            s["doc_id"] = .int(d.docID)
            s["doc"] = .object(d.doc)
            s["target"] = .string(PythonRepr.str(d.target))
            var args = JSONObject()
            for (j, r) in d.requests.enumerated() {
                switch r {
                case .loglikelihood(let c, let k):
                    args["gen_args_\(j)"] = .object(JSONObject([("arg_0", .string(c)), ("arg_1", .string(k))]))
                case .rolling(let text):
                    args["gen_args_\(j)"] = .object(JSONObject([("arg_0", .string(text))]))
                case .generate(let c, let until, let maxTokens):
                    args["gen_args_\(j)"] = .object(JSONObject([("arg_0", .string(c)), ("arg_1", .object(JSONObject([
                        ("until", .array(until.map(JSONValue.string))), ("max_gen_toks", .int(maxTokens)), ("do_sample", .bool(false))])))]))
                }
            }
            s["arguments"] = .object(args)
            let firstArgument: String
            switch t.task.definition.outputType {
            case .multipleChoice:
                let pairs = t.outcomes[i].map { JSONValue.array([.string(pyStr($0.logLikelihood)), .string($0.isGreedy ? "True" : "False")]) }
                s["resps"] = .array(pairs.map { .array([$0]) })
                s["filtered_resps"] = .array(pairs)
                if case .loglikelihood(let c, _) = d.requests[0] { firstArgument = c } else { firstArgument = "" }
            case .loglikelihoodRolling:
                s["resps"] = .array([.array([.string(pyStr(t.rolling[i]))])])
                s["filtered_resps"] = .array([.string(pyStr(t.rolling[i]))])
                if case .rolling(let text) = d.requests[0] { firstArgument = text } else { firstArgument = "" }
            case .generateUntil:
                s["resps"] = .array([.array((t.samples.isEmpty ? [t.generations[i]] : t.samples[i]).map(JSONValue.string))])
                s["filtered_resps"] = .array([.string(t.filtered[i])])
                firstArgument = d.contexts.first ?? ""
            }
            s["filter"] = .string(t.task.definition.outputType == .generateUntil ? t.filterName : "none")
            s["metrics"] = .array(t.itemMetrics[i].map { .string($0.0) })
            s["doc_hash"] = .string(SHA256.hex(JSONValue.object(d.doc).serialized(indent: 2)))
            s["prompt_hash"] = .string(SHA256.hex(firstArgument))
            s["target_hash"] = .string(SHA256.hex(PythonRepr.str(d.target)))
            for (name, value) in t.itemMetrics[i] {
                switch value {
                case .number(let x): s[name] = .double(x)
                case .weighted(let ll, let n): s[name] = .array([.double(ll), .int(n)])
                }
            }
            out += JSONValue.object(s).serialized() + "\n"
        }
        return out
    }

    /// Writes a file atomically (see `AtomicWrite`).
    public static func writeAtomically(_ text: String, to path: String) throws {
        do { try AtomicWrite.write(Data(text.utf8), to: path) } catch let e as AtomicWrite.Failure { throw EvaluationError(e.description) }
    }
}
