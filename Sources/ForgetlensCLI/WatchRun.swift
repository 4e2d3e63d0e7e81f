import ArgumentParser
import Experiments
import Foundation

/// `run --watch` options.
struct WatchOptions: ParsableArguments {
    @Flag(help: "Keep watching the experiment's runs: globs: evaluate each checkpoint as the training run writes it and refresh the report after each; stop with Ctrl-C or --until-step.")
    var watch = false

    @Option(help: "With --watch: seconds between looks at the run folders (default 60).")
    var interval: Double?

    @Option(name: .customLong("until-step"), help: "With --watch: stop once every run has a checkpoint at or past this step (after evaluating it).")
    var untilStep: Int?

    func validate() throws {
        if !watch, interval != nil || untilStep != nil { throw ValidationError("--interval and --until-step go with --watch.") }
        if let interval, !(interval > 0 && interval.isFinite) { throw ValidationError("--interval must be a positive number of seconds.") }
        if let untilStep, untilStep < 0 { throw ValidationError("--until-step must not be negative.") }
    }
}

/// Set by SIGINT / SIGTERM; read between committed units of work and while waiting.
nonisolated(unsafe) private var stopRequested: sig_atomic_t = 0

/// The watch loop of `run`: RunWatcher's rounds, each a `run` of the experiment as it is now;
/// unsharded, the report is refreshed after each new checkpoint's scores and at the round's end. Ctrl-C stops at the next boundary between committed
/// units (a chunk of documents, a tensor) or at once while waiting: nothing is left half-written.
struct WatchRun {
    let file: String
    let store: ResultsStore
    let options: RunOptions
    let shard: Shard?
    let say: (String) -> Void

    func run(_ w: WatchOptions, printer: @escaping (RunEvent) -> Void) throws {
        // A second Ctrl-C does not wait for the unit in flight (a long chunk on a big model):
        // each unit is one SQLite transaction, so the store stays consistent either way.
        signal(SIGINT) { _ in if stopRequested != 0 { _exit(130) }; stopRequested = 1 }
        signal(SIGTERM) { _ in stopRequested = 1 }  // Slurm's notice before it kills a job
        let watcher = RunWatcher(interval: w.interval ?? 60, untilStep: w.untilStep, sharded: shard != nil)
        var catalogs: [String: TaskCatalog] = [:]
        var newLabels: Set<String> = []
        var failures: RunFailures? = nil  // of the last round
        let ending = try watcher.watch(load: {
            let (e, catalog) = try ExperimentContext.load(file)
            catalogs[e.file] = catalog
            return e
        }, round: { e in
            let catalog = catalogs[e.file]!
            func refresh() {
                guard shard == nil else { return }  // a shard's store has no aggregates to report
                do {
                    let model = try ExperimentSummary.build(e, catalog: catalog, store: store, toolVersion: ExperimentContext.toolVersion)
                    say("report refreshed: \(try ReportCommand.write(model, e).html)")
                } catch { say("report not refreshed: \(error)") }
            }
            var previous: String? = nil
            do {
                try ExperimentRunner(experiment: e, catalog: catalog, store: store, options: options).run(shard: shard) { event in
                    if stopRequested != 0 { stop() }  // every event falls between two commits
                    if case .checkpoint(_, _, let label) = event {
                        if let previous, newLabels.contains(previous) { refresh() }  // a new checkpoint's scores are in
                        previous = label
                    }
                    printer(event)
                }
                failures = nil
            } catch let f as RunFailures {
                // One broken checkpoint does not stop the watch: the next round tries it again.
                failures = f
                say("[watch] \(f)")
            }
            refresh()  // the last checkpoint and the spectra
        }, shouldStop: { stopRequested != 0 }, events: { event in
            switch event {
            case .round(let n, let new, let total):
                newLabels = Set(new)
                say("[watch] round \(n): \(new.isEmpty ? "no new checkpoints" : "new: \(new.joined(separator: ", "))") (\(total) checkpoints)")
            case .skipped(let notes): for n in notes { say("[watch] \(n)") }
            case .waiting(let s): say("[watch] looking again in \(String(format: "%g", s)) s (Ctrl-C stops)")
            case .reachedStep(let n): say("[watch] every run has reached step \(n)")
            }
        })
        if ending == .stopped { stop() }
        if let failures { throw failures }
        print("Results in \(store.path). Watched until step \(w.untilStep ?? 0).")
    }

    func stop() -> Never {
        say("stopped: everything finished so far is committed to \(store.path); `forgetlens run \(file) --watch` continues")
        Foundation.exit(130)
    }
}
