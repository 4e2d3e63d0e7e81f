import ArgumentParser
import Experiments
import Foundation

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Bring lm-evaluation-harness results of one checkpoint into the experiment's results store.",
        discussion: """
        DIR is lm-eval 0.4.x output made with --log_samples (--output_path DIR: results_<date>.json and
        samples_<task>_<date>.jsonl in DIR or in its one model folder). Each of the experiment's tasks that lm-eval
        ran is checked first: the same documents (doc_hash), the same prompts (prompt_hash, few-shot examples
        included), the same few-shot count and number of choices, and the experiment's metrics computed from
        lm-eval's log-likelihoods equal to lm-eval's own per-item values. Anything that does not match is refused
        with the reason and nothing is written. The checkpoint is fingerprinted from its files as `run` does, so
        `forgetlens run` afterwards scores only what lm-eval did not, and `report` / `pareto` use the imported items
        (paired tests included) as scored ones.
        """
    )

    @Argument(help: "The experiment file (YAML).")
    var file: String

    @Option(help: "The checkpoint the results are of: 'base' or a variant label (LABEL-sSTEP for runs: globs).")
    var label: String

    @Option(help: "lm-eval's output folder (--output_path, with --log_samples).")
    var lmeval: String

    @OptionGroup var storeOption: StoreOption

    @Flag(help: "Hash the checkpoint again instead of trusting the fingerprints stored for unchanged files.")
    var rehash = false

    func run() throws {
        let (experiment, catalog) = try ExperimentContext.load(file)
        let output = try LMEvalOutput.locate(lmeval)
        func say(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
        say("lm-eval results: \(output.resultsFile)")
        // The hashes prove the task, not the model: show what lm-eval says it ran, for the user to match with --label.
        if let args = output.results["config"]?["model_args"] {  // "k=v,..." in older 0.4.x, an object in newer
            say("lm-eval's model_args: \(args.stringValue ?? args.objectValue?.pairs.map { "\($0.0)=\($0.1.stringValue ?? $0.1.serialized())" }.joined(separator: ",") ?? args.serialized())")
        }
        let storePath = storeOption.path(experiment)
        // An existing store's fingerprint cache; a new store is created only if the import is accepted.
        let cache = !rehash && FileManager.default.fileExists(atPath: storePath) ? try ResultsStore.existing(path: storePath).fingerprintCache : nil
        let outcome = try LMEvalImport.run(experiment, catalog: catalog, openStore: { try ResultsStore(path: storePath) }, fingerprints: cache,
                                           label: label, output: output, toolVersion: ExperimentContext.toolVersion) { say($0) }
        for t in outcome.tasks {
            let name = t.task.padding(toLength: max(t.task.count, 18), withPad: " ", startingAt: 0)
            print("  \(name) \(t.metric) " + String(format: "%.4f", t.value) + "  (\(t.documents) docs imported"
                  + (t.replaced > 0 ? ", replacing \(t.replaced) stored" : "")
                  + (t.ignored > 0 ? "; \(t.ignored) more lm-eval documents beyond the experiment's limit left out" : "") + ")")
        }
        if !outcome.missing.isEmpty {
            print("Not in the lm-eval output (`forgetlens run` scores them): \(outcome.missing.joined(separator: ", "))")
        }
        print("Imported \(label) into \(storePath). Next: forgetlens run \(file) (scores what is missing), forgetlens report \(file)")
    }
}
