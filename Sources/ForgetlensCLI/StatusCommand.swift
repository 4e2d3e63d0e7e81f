import ArgumentParser
import Experiments
import Foundation

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "How far an experiment is: documents and spectra stored per checkpoint, in its store and in each shard's store.",
        discussion: """
        Reads OUTPUT/results.sqlite (or --store) and every OUTPUT/shards/*.sqlite. A shard store is measured
        against its own part of the work (run --shard I/N). Nothing is computed and no model is loaded.
        """
    )

    @Argument(help: "The experiment file (YAML).")
    var file: String

    @OptionGroup var storeOption: StoreOption

    func run() throws {
        let (experiment, catalog) = try ExperimentContext.load(file)
        let main = storeOption.path(experiment)
        let shardDirectory = URL(fileURLWithPath: experiment.output).appendingPathComponent("shards")
        let shards = ((try? FileManager.default.contentsOfDirectory(atPath: shardDirectory.path)) ?? [])
            .filter { $0.hasSuffix(".sqlite") }.sorted().map { shardDirectory.appendingPathComponent($0).path }
        let units = try experiment.spectraUnits()
        var printed = false
        if FileManager.default.fileExists(atPath: main) {
            let p = try StoreProgress.read(experiment, catalog: catalog, path: main, spectraUnits: units)
            print(table(p, experiment: experiment), terminator: "")
            printed = true
        } else {
            print("\(main): no results yet")
        }
        for path in shards {
            let p = try StoreProgress.read(experiment, catalog: catalog, path: path, spectraUnits: units)
            let d = p.documentTotals, s = p.spectraTotals
            let part = p.shard.map { "shard \($0)" } ?? "store"
            var line = "\(path): \(part): \(d.stored) of \(d.due) documents (\(percent(d.stored, d.due)))"
            if s.due > 0 { line += ", \(s.stored) of \(s.due) spectra tensors" }
            if let run = p.lastRun { line += ", " + describe(run) }
            print(line)
            printed = true
        }
        if !printed { print("Nothing run yet: forgetlens run \(file)") }
    }

    func table(_ p: StoreProgress, experiment: Experiment) -> String {
        var t = TextTable(header: ["checkpoint"] + experiment.allTasks + ["spectra", "aggregates"])
        t.numeric = Set(1...(experiment.allTasks.count + 1))
        for row in p.rows {
            let docs = row.documents
            let cells = experiment.allTasks.map { task -> String in
                let (stored, due) = docs[task] ?? (0, 0)
                return "\(stored)/\(due)"
            }
            let spectra = row.spectra.map { "\($0.stored)/\($0.due)" } ?? "-"
            t.rows.append([row.label] + cells + [spectra, row.aggregated ? "yes" : "no"])
        }
        let d = p.documentTotals
        var out = "\(p.path): \(d.stored) of \(d.due) documents (\(percent(d.stored, d.due)))"
        if let run = p.lastRun { out += ", " + describe(run) }
        return out + "\n" + t.render()
    }

    func percent(_ a: Int, _ b: Int) -> String { b == 0 ? "-" : String(format: "%.1f%%", 100 * Double(a) / Double(b)) }

    func describe(_ run: RunRecord) -> String {
        let f = ISO8601DateFormatter()
        switch run.status {
        case "running": return "last run started \(f.string(from: run.startedAt)) and has not finished (running, or killed)"
        case "finished", "merged": return "last \(run.status == "merged" ? "merge" : "run") \(f.string(from: run.finishedAt ?? run.startedAt))"
        default: return "last run \(run.status.prefix(200))"
        }
    }
}
