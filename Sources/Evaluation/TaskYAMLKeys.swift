import Foundation
import Yams

/// The vocabulary of a task YAML: forgetlens's keys, lm-eval 0.4.x's keys that forgetlens reads,
/// lm-eval's keys that do not change a score (accepted and ignored, so one file serves both tools),
/// and lm-eval's keys that change a score in a way forgetlens does not reproduce (an error that
/// says so). Any other key is a typo or a feature nobody implements: an error with its line, never
/// a silent default.
enum TaskYAMLKeys {
    /// Top-level keys that forgetlens reads.
    static let read: Set<String> = [
        "task", "data", "split", "output_type", "process_docs", "doc_to_text", "doc_to_target", "doc_to_choice",
        "target_delimiter", "fewshot_delimiter", "description", "num_fewshot", "fewshot_file", "fewshot_config",
        "metric_list", "generation_kwargs", "filter_list", "metadata", "repeats", "unsafe_code",
        "dataset_path", "dataset_name", "dataset_kwargs", "training_split", "validation_split", "test_split", "fewshot_split",
    ]
    /// lm-eval keys that name, group or annotate a task without changing how it is scored.
    static let ignored: Set<String> = [
        "task_alias", "tag", "group", "group_alias", "should_decontaminate", "doc_to_decontamination_query",
    ]
    /// lm-eval keys that change scoring and that forgetlens does not implement.
    static let unsupported: [String: String] = [
        "include": "forgetlens does not merge included YAMLs: copy the included file's keys into this one",
        "process_results": "a Python scoring function; use metric_list with a registered metric",
        "use_prompt": "promptsource templates are not supported; write doc_to_text / doc_to_target",
        "doc_to_image": "multimodal tasks are not supported",
        "doc_to_audio": "multimodal tasks are not supported",
        "gen_prefix": "gen_prefix is not supported",
        "custom_dataset": "a Python dataset loader; write the data to JSONL and name it with data: or dataset_kwargs.data_files",
        "class": "a Python task class; only YAML-defined tasks run",
    ]
    static let metricKeys: Set<String> = [
        "metric", "aggregation", "higher_is_better", "ignore_case", "ignore_punctuation", "ignore_numbers",
        "regexes_to_ignore", "k",
    ]
    static let generationKeys: Set<String> = ["until", "max_gen_toks", "do_sample", "temperature", "top_p", "top_k"]
    static let fewshotConfigKeys: Set<String> = ["sampler"]
    static let filterKeys: Set<String> = ["name", "filter"]
    static let filterStepKeys: Set<String> = ["function", "regex_pattern", "group_select", "fallback", "filter_fn"]
    /// datasets.load_dataset keyword arguments: data_files is read; the others do not change the rows.
    static let datasetKwargs: Set<String> = ["data_files", "trust_remote_code", "revision", "download_mode"]

    /// 1-based line of a node, as editors count.
    static func line(_ node: Node) -> Int { node.mark?.line ?? 0 }

    /// Throws at the first key that is neither read nor ignored, naming its line.
    static func check(_ node: Node, file: String) throws {
        func fail(_ key: Node, _ message: String) -> TaskDefinitionError {
            TaskDefinitionError(file: file, message: "line \(line(key)): \(message)")
        }
        func checkMapping(_ node: Node?, _ allowed: Set<String>, _ context: String) throws {
            guard let node, case .mapping(let m) = node else { return }
            for (k, _) in m {
                let name = k.string ?? ""
                if !allowed.contains(name) {
                    throw fail(k, "unknown key '\(name)' in \(context) (known: \(allowed.sorted().joined(separator: ", ")))")
                }
            }
        }
        guard case .mapping(let top) = node else { return }
        for (k, _) in top {
            let name = k.string ?? ""
            if read.contains(name) || ignored.contains(name) { continue }
            if let why = unsupported[name] { throw fail(k, "lm-eval's '\(name)' changes scoring and is not supported: \(why)") }
            throw fail(k, "unknown key '\(name)' (neither forgetlens nor lm-eval 0.4 has it; see tasks/README.md for the fields)")
        }
        for m in node["metric_list"]?.array() ?? [] { try checkMapping(m, metricKeys, "a metric_list entry") }
        try checkMapping(node["generation_kwargs"], generationKeys, "generation_kwargs")
        try checkMapping(node["fewshot_config"], fewshotConfigKeys, "fewshot_config")
        try checkMapping(node["dataset_kwargs"], datasetKwargs, "dataset_kwargs")
        for f in node["filter_list"]?.array() ?? [] {
            try checkMapping(f, filterKeys, "a filter_list entry")
            for s in f["filter"]?.array() ?? [] { try checkMapping(s, filterStepKeys, "a filter step") }
        }
    }
}
