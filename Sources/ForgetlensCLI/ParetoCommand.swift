import ArgumentParser
import Experiments
import Foundation
import Reports

struct ParetoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pareto",
        abstract: "The variants no other variant beats on every objective (default: learning up, forgetting down), with standard errors."
    )

    @Argument(help: "The experiment file (YAML).")
    var file: String

    @OptionGroup var storeOption: StoreOption

    @Option(help: "Write the frontier as CSV to this file.")
    var csv: String?

    @Option(help: "Write the frontier as JSON to this file.")
    var json: String?

    @Option(help: "Objectives NAME:max|min, comma-separated; NAME is learning, forgetting, probe_mean (accuracy, or bits per byte when no accuracy probe is above chance), forgetting_acc, probe_acc, forgetting_bpb, probe_bpb, or a task name.")
    var objectives: String = "learning:max,forgetting:min"

    func validate() throws {
        do { _ = try Objective.parseList(objectives) } catch { throw ValidationError("--objectives: \(error)") }
    }

    func run() throws {
        let (experiment, catalog) = try ExperimentContext.load(file)
        let objs = try Objective.parseList(objectives)
        let known = Set(ReportModel.probeObjectives + experiment.allTasks)
        for o in objs where !known.contains(o.name) {
            throw ValidationError("--objectives: unknown objective '\(o.name)' (known: \(known.sorted().joined(separator: ", ")))")
        }
        let store = try ResultsStore.existing(path: storeOption.path(experiment))
        let model = try ExperimentSummary.build(experiment, catalog: catalog, store: store, toolVersion: ExperimentContext.toolVersion,
                                                bootstrapResamples: 1)
        let frontier = FrontierExport(model: model, objectives: objs)
        if let csv { try AtomicFile.write(Data(frontier.csv().utf8), to: csv) }
        if let json { try AtomicFile.write(try frontier.json(), to: json) }
        var table = TextTable(header: ["label", "method", "rank", "step"] + objs.map(\.description))
        table.numeric = Set(2..<(4 + objs.count))
        for e in frontier.frontier {
            table.rows.append([e.label, e.method, e.rank.map(String.init) ?? "", e.step.map(String.init) ?? ""]
                              + objs.map { e.scores[$0.name]?.formatted(digits: 4) ?? "n/a" })
        }
        print("Pareto frontier of \(experiment.name) (\(frontier.frontier.count) of \(model.variants.count) variants; forgetting = \(model.headlineForgettingText))")
        print(table.render(), terminator: "")
    }
}
