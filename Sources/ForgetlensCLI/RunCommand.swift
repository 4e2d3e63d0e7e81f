import ArgumentParser
import Experiments
import Foundation

/// Loading an experiment file the same way in every experiment command.
enum ExperimentContext {
    static func load(_ file: String) throws -> (Experiment, TaskCatalog) {
        let catalog = try TaskCatalog(includePaths: try Experiment.taskPaths(path: file))
        let experiment = try Experiment.load(path: file, knownTasks: catalog.names)
        return (experiment, catalog)
    }

    static var toolVersion: String { Forgetlens.configuration.version }
}

/// `--store PATH`: read or write another store than the experiment's OUTPUT/results.sqlite.
struct StoreOption: ParsableArguments {
    @Option(help: "The results store (default: OUTPUT/results.sqlite of the experiment).")
    var store: String?

    func path(_ e: Experiment) -> String { store ?? e.storePath }
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

        --shard I/N does the I-th of N equal parts of the work (documents of every checkpoint and task, and
        spectra tensors), deterministically, into its own store (default OUTPUT/shards/shard-I-of-N.sqlite):
        run the N parts anywhere (a Slurm array: --shard $SLURM_ARRAY_TASK_ID/N with --array=1-N), then
        `forgetlens merge OUTPUT/results.sqlite OUTPUT/shards/*.sqlite` joins them and computes the aggregates.

        --watch keeps evaluating the checkpoints of the file's `runs:` globs as a training run writes them (every
        --interval seconds), refreshing OUTPUT/index.html after each; it stops on Ctrl-C (keeping everything
        committed) or once every run reaches --until-step. With --shard, each checkpoint is split into the N parts
        on its own while watching; merge once every shard has stopped at the same --until-step.

        With `backend: {type: openai, ...}` in the file, every checkpoint is scored by that server under its
        served_model name; --base-url overrides the file's base_url (e.g. a port chosen when the job starts).
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

    @Option(help: "Do part I of N (1 <= I <= N) of the work into its own store; merge the parts with `forgetlens merge`.")
    var shard: String?

    @Option(help: "The results store (default: OUTPUT/results.sqlite, or OUTPUT/shards/shard-I-of-N.sqlite with --shard).")
    var store: String?

    @Option(name: .customLong("base-url"), help: "With an openai backend: the server URL, overriding the file's backend.base_url.")
    var baseURL: String?

    @Flag(help: "Hash every checkpoint again instead of trusting the fingerprints stored for files whose inode, size and times are unchanged.")
    var rehash = false

    @OptionGroup var watchOptions: WatchOptions

    func validate() throws {
        if let shard { do { _ = try Shard(parsing: shard) } catch { throw ValidationError("\(error)") } }
        guard chunkSize > 0 else { throw ValidationError("--chunk-size must be positive.") }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive.") }
        try watchOptions.validate()
    }

    func run() throws {
        let (experiment, catalog) = try ExperimentContext.load(file)
        let part = try shard.map { try Shard(parsing: $0) }
        if baseURL != nil, !experiment.needsServer {
            throw ValidationError("--base-url: no checkpoint of \(file) is served (backend: {type: openai, ...})")
        }
        let server = try experiment.serverOptions(baseURLOverride: baseURL)
        let storePath = store ?? part.map { p in
            URL(fileURLWithPath: experiment.output).appendingPathComponent("shards/shard-\(p.index)-of-\(p.count).sqlite").path
        } ?? experiment.storePath
        let store = try ResultsStore(path: storePath)
        let lock = try RunLock.acquire(store: storePath)
        defer { withExtendedLifetime(lock) {} }
        var options = RunOptions()
        options.chunkSize = chunkSize
        options.batchSize = batchSize
        options.threads = threads
        options.reuseFingerprints = !rehash
        options.toolVersion = ExperimentContext.toolVersion
        let runner = ExperimentRunner(experiment: experiment, catalog: catalog, store: store, options: options)
        var bar: ProgressBar? = nil
        func say(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
        if let part { say("shard \(part) of \(experiment.name) into \(storePath)") }
        for note in experiment.skipped where !watchOptions.watch { say(note) }
        let printer: (RunEvent) -> Void = { event in
            switch event {
            case .fingerprinting(let label): say(server == nil ? "fingerprinting \(label)" : "connecting \(label)")
            case .served(let label, let description): say("  \(label): \(description)")
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
            case .spectraSkipped(let label, let reason):
                say("  \(label) spectra skipped: \(reason)")
            case .failed(let failure):
                bar = nil
                say("  \(failure.label) failed (\(failure.stage.rawValue)): \(failure.message); going on with the others")
            case .partFinished(_, let task, let docs, let scored):
                bar = nil
                let name = task.padding(toLength: max(task.count, 18), withPad: " ", startingAt: 0)
                say("  \(name) documents \(docs.lowerBound)..<\(docs.upperBound) (\(scored == 0 ? "all stored" : "\(scored) scored now"))")
            }
        }
        if watchOptions.watch {
            try WatchRun(file: file, store: store, options: options, shard: part, say: say).run(watchOptions, printer: printer)
            return
        }
        try runner.run(shard: part, server: server, events: printer)
        if part != nil {
            print("Part \(shard!) in \(storePath). When every part is done: forgetlens merge \(experiment.storePath) "
                  + URL(fileURLWithPath: storePath).deletingLastPathComponent().path + "/*.sqlite")
        } else {
            print("Results in \(storePath). Next: forgetlens report \(file)")
        }
    }
}
