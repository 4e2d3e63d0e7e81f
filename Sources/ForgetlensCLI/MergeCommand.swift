import ArgumentParser
import Evaluation
import Experiments
import Foundation

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge results stores of one experiment (the parts of `run --shard I/N`, or runs on several machines) into OUT.",
        discussion: """
        Refuses stores that answer different experiment definitions (tasks and their data, limits, few-shot,
        variants, spectra settings) or that disagree on a checkpoint's fingerprint. Work held by several stores
        is kept once; if OUT exists its rows are kept and the inputs' added. Then each task whose documents are
        all present gets its aggregate from the stored items (no model is loaded) and tasks still incomplete
        are listed. OUT is replaced atomically. Afterwards `forgetlens report FILE` reads OUT when OUT is the
        experiment's OUTPUT/results.sqlite (or pass --store OUT).
        """
    )

    @Argument(help: "The merged store to write (e.g. reports/NAME/results.sqlite).")
    var output: String

    @Argument(help: "The stores to merge (e.g. reports/NAME/shards/*.sqlite).")
    var inputs: [String]

    @Option(name: .customLong("include-path"), help: "A directory of your own task YAMLs (the experiment's task_paths). Repeatable.")
    var includePath: [String] = []

    @Flag(name: .customLong("allow-code-execution"), help: "Run the stored programs of code tasks (humaneval) again, sandboxed, to compute their aggregates.")
    var allowCodeExecution = false

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one input store") }
    }

    func run() throws {
        let catalog = try TaskCatalog(includePaths: includePath)
        let checks = allowCodeExecution ? ProgramChecks(sandbox: try Sandbox()) : nil
        let s = try StoreMerger.merge(into: output, from: inputs, catalog: catalog, toolVersion: ExperimentContext.toolVersion, codeChecks: checks)
        var lines = ["Merged \(s.inputs) store\(s.inputs == 1 ? "" : "s") into \(output):",
                     "  items: \(s.itemsAdded) added, \(s.itemsDuplicate) already present (identical)",
                     "  spectra: \(s.spectraAdded) tensors added, \(s.spectraDuplicate) already present",
                     "  aggregates computed: \(s.aggregatesFinished)"]
        if s.itemsConflicting > 0 {
            lines.append(String(format: "  warning: %d items were stored with different outcomes (largest |delta ll| %.3g); the first store's were kept",
                                s.itemsConflicting, s.maxConflictDelta))
        }
        for n in s.notes { lines.append("  note: \(n)") }
        if !s.incomplete.isEmpty {
            lines.append("  incomplete (run the missing shards, then merge again):")
            for i in s.incomplete { lines.append("    \(i.label) \(i.task): \(i.present) of \(i.total) documents") }
        }
        print(lines.joined(separator: "\n"))
    }
}
