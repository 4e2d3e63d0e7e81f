import Foundation
import Yams

/// A dataset on the Hugging Face hub that a task's rows come from (lm-eval's dataset_path /
/// dataset_name). forgetlens never downloads: it names the dataset so that a missing local file
/// gets the exact command that writes it.
public struct HubDataset: Sendable, Equatable {
    public var path: String
    public var name: String?

    /// The `datasets` one-liner that writes `split` of this dataset to `file` as JSONL.
    public func command(split: String, file: String) -> String {
        let config = name.map { ", '\($0)'" } ?? ""
        return "python3 -c \"import datasets; datasets.load_dataset('\(path)'\(config), split='\(split)').to_json('\(file)')\""
    }
}

/// Where a task's rows come from, by one of two spellings:
/// - forgetlens's `data:` (and `fewshot_file:`), paths relative to the YAML;
/// - lm-eval's local-data form, `dataset_path: json` with `dataset_kwargs: {data_files: {SPLIT: PATH}}`
///   and the `*_split` keys, read with lm-eval's rules: the evaluated split is test_split, else
///   validation_split; few-shot examples come from fewshot_split, else training_split, else
///   validation_split, else test_split; the evaluated document is dropped from its own few-shot
///   sample exactly when fewshot_split equals test_split (both possibly unset), as lm-eval does.
///   Relative data_files are resolved against the YAML's directory (lm-eval resolves them against
///   its working directory: run lm_eval from the YAML's directory, or write absolute paths).
struct TaskDataSource {
    var dataFile: String
    var split: String
    var fewshotFile: String?
    var fewshotSplit: String?
    /// nil: forgetlens's rule (the evaluated document is dropped when the pool is the evaluated data).
    var excludeEvaluated: Bool?
    var hub: HubDataset?

    /// datasets builders that read local files; only JSON lines are read here.
    static let localBuilders: Set<String> = ["json", "csv", "parquet", "text", "arrow", "pandas"]

    static func resolve(_ node: Node, task: String, file: String, directory: String) throws -> TaskDataSource {
        func fail(_ m: String) -> TaskDefinitionError { TaskDefinitionError(file: file, message: m) }
        func str(_ key: String) throws -> String? {
            guard let n = node[key] else { return nil }
            if n.tag.description == Tag.Name.null.rawValue { return nil }
            guard n.scalar != nil, let s = n.string else { throw fail("\(key): expected a string") }
            return s
        }
        func absolute(_ p: String) -> String {
            p.hasPrefix("/") ? p : URL(fileURLWithPath: directory).appendingPathComponent(p).standardized.path
        }
        let datasetPath = try str("dataset_path")
        let hub: HubDataset? = datasetPath.flatMap { localBuilders.contains($0) ? nil : HubDataset(path: $0, name: try? str("dataset_name")) }
        let testSplit = try str("test_split"), validationSplit = try str("validation_split")
        let trainingSplit = try str("training_split"), fewshotSplitKey = try str("fewshot_split")
        let dataFiles = node["dataset_kwargs"]?["data_files"]

        if let data = try str("data") {
            if dataFiles != nil { throw fail("data: and dataset_kwargs.data_files both name the data; keep one") }
            let split = try str("split") ?? testSplit ?? validationSplit ?? "validation"
            let fewshot = try str("fewshot_file").map(absolute)
            return TaskDataSource(dataFile: absolute(data), split: split, fewshotFile: fewshot,
                                  fewshotSplit: fewshot == nil ? nil : (fewshotSplitKey ?? trainingSplit), excludeEvaluated: nil, hub: hub)
        }
        if let datasetPath, datasetPath == "json" {
            let files = try splitFiles(dataFiles, fail: fail)
            guard let split = testSplit ?? validationSplit else {
                throw fail("dataset_path json: set test_split or validation_split to the split to evaluate (data_files has \(files.keys.sorted().joined(separator: ", ")))")
            }
            guard let evalFile = files[split] else {
                throw fail("dataset_kwargs.data_files has no '\(split)' split (it has \(files.keys.sorted().joined(separator: ", ")))")
            }
            let poolSplit = fewshotSplitKey ?? trainingSplit ?? validationSplit ?? testSplit ?? split
            guard let poolFile = files[poolSplit] else {
                throw fail("few-shot split '\(poolSplit)' is not in dataset_kwargs.data_files (it has \(files.keys.sorted().joined(separator: ", ")))")
            }
            if try str("fewshot_file") != nil { throw fail("fewshot_file: with dataset_kwargs.data_files, name the few-shot split with fewshot_split") }
            return TaskDataSource(dataFile: absolute(evalFile), split: split,
                                  fewshotFile: poolSplit == split ? nil : absolute(poolFile), fewshotSplit: poolSplit,
                                  excludeEvaluated: fewshotSplitKey == testSplit, hub: nil)
        }
        if let datasetPath, localBuilders.contains(datasetPath) {
            throw fail("dataset_path: '\(datasetPath)' files are not read; convert them to JSON lines and use dataset_path: json")
        }
        if let hub {
            let split = testSplit ?? validationSplit ?? "validation"
            let target = absolute("data/\(task).\(split).jsonl")
            var message = "dataset_path: '\(hub.path)' is a Hugging Face dataset and forgetlens reads local files only. Write the split once with\n  \(hub.command(split: split, file: target))\nthen add `data: data/\(task).\(split).jsonl` to this file"
            if let pool = fewshotSplitKey ?? trainingSplit, pool != split {
                let poolTarget = absolute("data/\(task).\(pool).jsonl")
                message += ", and for the few-shot examples\n  \(hub.command(split: pool, file: poolTarget))\nwith `fewshot_file: data/\(task).\(pool).jsonl`"
            }
            throw fail(message)
        }
        throw fail("data: missing (the data file, relative to this file; or lm-eval's dataset_path: json with dataset_kwargs.data_files)")
    }

    /// data_files as datasets reads it: one path (the "train" split), or split -> path.
    static func splitFiles(_ node: Node?, fail: (String) -> TaskDefinitionError) throws -> [String: String] {
        guard let node else { throw fail("dataset_path json needs dataset_kwargs: {data_files: {SPLIT: PATH}}") }
        switch node {
        case .scalar: return ["train": node.string ?? ""]
        case .mapping(let m):
            var files: [String: String] = [:]
            for (k, v) in m {
                if case .sequence(let s) = v, s.count == 1, let p = s.first?.string { files[k.string ?? ""] = p; continue }
                guard case .scalar = v, let p = v.string else {
                    throw fail("dataset_kwargs.data_files.\(k.string ?? ""): expected one file path (line \(TaskYAMLKeys.line(v)))")
                }
                files[k.string ?? ""] = p
            }
            return files
        default: throw fail("dataset_kwargs.data_files: expected a path or a mapping of split to path")
        }
    }
}

extension TaskDefinition {
    /// The data and few-shot files exist; a missing one from a hub dataset gets the command that writes it.
    public func checkDataFiles() throws {
        let needed = [(dataFile, split)] + (fewshotFile.map { [($0, fewshotSplit ?? "train")] } ?? [])
        for (path, split) in needed where !FileManager.default.fileExists(atPath: path) {
            if let hub {
                throw EvaluationError("\(file): task \(name): data file \(path) not found. It is the '\(split)' split of the Hugging Face dataset '\(hub.path)'\(hub.name.map { " (\($0))" } ?? ""), which is not shipped; write it once with\n  \(hub.command(split: split, file: path))")
            }
            throw EvaluationError("\(file): task \(name): data file \(path) not found")
        }
    }
}
