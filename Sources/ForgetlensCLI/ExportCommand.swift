import ArgumentParser
import Experiments
import Foundation

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write lm-evaluation-harness-layout results.json per checkpoint to OUTPUT/export/<label>/results.json, from the store."
    )

    @Argument(help: "The experiment file (YAML).")
    var file: String

    @OptionGroup var storeOption: StoreOption

    func run() throws {
        let (experiment, catalog) = try ExperimentContext.load(file)
        let store = try ResultsStore.existing(path: storeOption.path(experiment))
        let dir = URL(fileURLWithPath: experiment.output).appendingPathComponent("export")
        for (label, json) in try ResultsExport.results(experiment, catalog: catalog, store: store) {
            if let problem = Experiment.unsafeLabel(label) { throw CLIError("\(file): label '\(label)' \(problem)") }
            let path = dir.appendingPathComponent(label).appendingPathComponent("results.json").path
            try AtomicFile.write(Data((json + "\n").utf8), to: path)
            print(path)
        }
    }
}
