import Evaluation
import Foundation

/// An lm-evaluation-harness 0.4.x output folder: `--output_path OUT --log_samples` leaves
/// OUT/<model_name_sanitized>/results_<date>.json and samples_<task>_<date>.jsonl (ours, from
/// `forgetlens eval`, are results.json and samples_<task>.jsonl). Either the folder holding the
/// files or OUT with one model folder below it may be given; of several runs in one folder the
/// newest results file (lm-eval's dates sort as text) and its own samples files are taken.
public struct LMEvalOutput {
    public let folder: String
    public let resultsFile: String
    public let results: JSONValue
    /// Task name -> its samples file.
    public let samplesFiles: [String: String]

    public static func locate(_ directory: String) throws -> LMEvalOutput {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw ExperimentError(file: directory, line: nil, "--lmeval: no such folder (expected lm-eval's --output_path folder)")
        }
        var folder = directory
        if resultsFiles(in: folder).isEmpty {
            let subfolders = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
                .map { URL(fileURLWithPath: directory).appendingPathComponent($0).path }
                .filter { !resultsFiles(in: $0).isEmpty }
            guard let only = subfolders.first else {
                throw ExperimentError(file: directory, line: nil, "--lmeval: no results_*.json here or in a folder below (is this lm-eval's --output_path?)")
            }
            guard subfolders.count == 1 else {
                throw ExperimentError(file: directory, line: nil, "--lmeval: results of several models below this folder; give one of: \(subfolders.joined(separator: ", "))")
            }
            folder = only
        }
        let name = resultsFiles(in: folder).last!
        // results_2024-05-01T10-00-00.123456.json -> "2024-05-01T10-00-00.123456"; results.json -> ""
        let date = String(name.dropFirst("results".count).dropLast(".json".count).drop { $0 == "_" })
        let path = URL(fileURLWithPath: folder).appendingPathComponent(name).path
        let results: JSONValue
        do {
            guard let data = FileManager.default.contents(atPath: path) else { throw ExperimentError(file: path, line: nil, "cannot be read") }
            results = try JSONValue.parse(data)
        } catch let e as ExperimentError { throw e } catch {
            throw ExperimentError(file: path, line: nil, "not valid JSON: \(error)")
        }
        guard results["results"]?.objectValue != nil else {
            throw ExperimentError(file: path, line: nil, "no \"results\" object: not an lm-eval results file")
        }
        let suffix = date.isEmpty ? ".jsonl" : "_\(date).jsonl"
        var samples: [String: String] = [:]
        for file in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where file.hasPrefix("samples_") && file.hasSuffix(suffix) {
            let task = String(file.dropFirst("samples_".count).dropLast(suffix.count))
            if !task.isEmpty { samples[task] = URL(fileURLWithPath: folder).appendingPathComponent(file).path }
        }
        return LMEvalOutput(folder: folder, resultsFile: path, results: results, samplesFiles: samples)
    }

    /// results.json or results_<date>.json, oldest first.
    static func resultsFiles(in folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
            .filter { $0 == "results.json" || ($0.hasPrefix("results_") && $0.hasSuffix(".json")) }.sorted()
    }

    /// The task names lm-eval reports results for.
    public var tasks: [String] { results["results"]?.objectValue?.keys.sorted() ?? [] }

    /// The samples of a task by doc_id, each with its line number.
    func samples(_ task: String) throws -> [Int: (line: Int, sample: JSONValue)] {
        guard let path = samplesFiles[task] else {
            throw ExperimentError(file: folder, line: nil, "\(task): no samples_\(task)_*.jsonl next to \(URL(fileURLWithPath: resultsFile).lastPathComponent): run lm-eval with --log_samples (per-item results are what the store keeps)")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw ExperimentError(file: path, line: nil, "cannot be read") }
        var out: [Int: (Int, JSONValue)] = [:]
        for (i, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() where !line.allSatisfy({ $0 == 32 || $0 == 13 }) {
            let sample: JSONValue
            do { sample = try JSONValue.parse(line) } catch { throw ExperimentError(file: path, line: i + 1, "not valid JSON: \(error)") }
            guard let doc = sample["doc_id"]?.intValue else { throw ExperimentError(file: path, line: i + 1, "doc_id: expected an integer") }
            if out[doc] != nil { throw ExperimentError(file: path, line: i + 1, "doc_id \(doc) appears twice (repeats > 1 is not supported)") }
            out[doc] = (i + 1, sample)
        }
        return out
    }
}
