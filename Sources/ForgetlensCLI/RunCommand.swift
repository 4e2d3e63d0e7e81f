import ArgumentParser
import Experiments
import Foundation

/// Loading an experiment file the same way in every experiment command.
enum ExperimentContext {
    static func load(_ file: String) throws -> (Experiment, TaskCatalog) {
        let catalog = try TaskCatalog()
        let experiment = try Experiment.load(path: file, knownTasks: catalog.names)
        return (experiment, catalog)
    }

    static var toolVersion: String { Forgetlens.configuration.version }
}

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Evaluate the base and every variant of an experiment on its targets and probes, and compute spectra, into its results store.",
        discussion: """
        Results go to OUTPUT/results.sqlite (OUTPUT: the experiment's output:, default reports/NAME/ next to the file).
        Every finished chunk of documents and every tensor's spectrum is committed as it completes: a rerun
        (also after a crash or kill) skips what is stored, and a checkpoint whose files changed (new fingerprint)
        is evaluated again.
        """
    )

    @Argument(help: "The experiment file (YAML).")
    var file: String

    @Option(help: "Documents scored and committed together.")
    var chunkSize: Int = 32

    @Option(help: "Requests per engine call.")
    var batchSize: Int = 64

    @Option(help: "Threads for the engine (default: its own choice).")
    var threads: Int?

    func validate() throws {
        guard chunkSize > 0 else { throw ValidationError("--chunk-size must be positive.") }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive.") }
    }

    func run() throws {
        let (experiment, catalog) = try ExperimentContext.load(file)
        let store = try ResultsStore(path: experiment.storePath)
        var options = RunOptions()
        options.chunkSize = chunkSize
        options.batchSize = batchSize
        options.threads = threads
        options.toolVersion = ExperimentContext.toolVersion
        let runner = ExperimentRunner(experiment: experiment, catalog: catalog, store: store, options: options)
        var bar: ProgressBar? = nil
        func say(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
        try runner.run { event in
            switch event {
            case .fingerprinting(let label): say("fingerprinting \(label)")
            case .checkpoint(let i, let n, let label): say("[\(i)/\(n)] \(label)")
            case .task(let label, let task, let done, let total):
                if done == 0 || bar == nil { bar = ProgressBar(label: "  \(label) \(task)") }
                bar?.update(done: done, total: total)
            case .taskFinished(_, let task, let metric, let value, let stderr, let scored, let total):
                bar = nil
                let se = stderr.map { String(format: " ± %.4f", $0) } ?? ""
                let name = task.padding(toLength: max(task.count, 18), withPad: " ", startingAt: 0)
                say("  \(name) \(metric) " + String(format: "%.4f", value) + se + "  (\(total) docs, \(scored == 0 ? "all stored" : "\(scored) scored now"))")
            case .spectra(let label, let done, let total, let tensor):
                if done == 0 { bar = ProgressBar(label: "  \(label) spectra") }
                bar?.update(done: done, total: total, item: tensor)
            case .spectraFinished(let label, let computed, let total):
                bar = nil
                say("  \(label) spectra: \(total) tensors (\(computed == 0 ? "all stored" : "\(computed) computed now"))")
            }
        }
        print("Results in \(experiment.storePath). Next: forgetlens report \(file)")
    }
}
