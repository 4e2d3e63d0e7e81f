import Foundation

/// `run --watch`: evaluates a training run's checkpoints as they appear. Each round reads the
/// experiment file again (expanding its `runs:` globs, which skip folders still being written),
/// and when there are checkpoints not evaluated yet it does a round of work (`run` and the
/// report); what is stored is never redone, so a round costs only the new checkpoints.
public struct RunWatcher {
    public var interval: Double
    /// Stop once every run has a checkpoint at or past this step (after evaluating it).
    public var untilStep: Int?
    /// Shards split each checkpoint on its own while watching (Experiment.stableShardPlan).
    public var sharded: Bool

    public init(interval: Double, untilStep: Int?, sharded: Bool) {
        self.interval = interval; self.untilStep = untilStep; self.sharded = sharded
    }

    public enum Event {
        /// A round of work starts: the checkpoints not evaluated before.
        case round(number: Int, new: [String], total: Int)
        /// The folders skipped as incomplete changed.
        case skipped([String])
        /// Idle until the next look.
        case waiting(seconds: Double)
        case reachedStep(Int)
    }

    public enum Ending { case reachedStep, stopped }

    /// Rounds until `untilStep` is reached or `shouldStop()` (checked between rounds and while
    /// waiting; a round itself decides where it may stop). `load` reads the experiment file.
    public func watch(load: () throws -> Experiment, round: (Experiment) throws -> Void, shouldStop: () -> Bool,
                      events: (Event) -> Void) throws -> Ending {
        var evaluated: Set<String> = []
        var lastSkipped: [String] = []
        var rounds = 0
        while true {
            if shouldStop() { return .stopped }
            var e = try load()
            e.stableShardPlan = sharded
            guard !e.runs.isEmpty else {
                throw ExperimentError(file: e.file, line: nil, "--watch: the experiment has no `runs:` variants (e.g. {runs: OUTPUT/checkpoint-*, label: NAME}) to watch")
            }
            if e.skipped != lastSkipped {
                if !e.skipped.isEmpty { events(.skipped(e.skipped)) }
                lastSkipped = e.skipped
            }
            let new = e.variants.map(\.label).filter { !evaluated.contains($0) }
            if rounds == 0 || !new.isEmpty {
                rounds += 1
                events(.round(number: rounds, new: new, total: e.variants.count))
                try round(e)
                evaluated.formUnion(e.variants.map(\.label))
            }
            if let n = untilStep, Self.reached(e, step: n) {
                events(.reachedStep(n))
                return .reachedStep
            }
            events(.waiting(seconds: interval))
            let wake = Date().addingTimeInterval(interval)
            while Date() < wake {
                if shouldStop() { return .stopped }
                usleep(useconds_t(min(50_000, max(1_000, wake.timeIntervalSinceNow * 1e6))))
            }
        }
    }

    /// Every run has a complete checkpoint at or past `step`.
    static func reached(_ e: Experiment, step: Int) -> Bool {
        e.runs.allSatisfy { run in e.variants.contains { $0.run == run.label && ($0.step ?? 0) >= step } }
    }
}
