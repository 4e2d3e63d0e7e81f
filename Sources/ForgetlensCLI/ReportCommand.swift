import ArgumentParser
import Experiments
import Foundation
import Reports

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write OUTPUT/index.html (tradeoff, forgetting, spectra figures; self-contained) and OUTPUT/summary.md from the results store.",
        discussion: """
        Learning = mean over targets of each task's primary metric (acc, exact_match or -bits_per_byte);
        probe mean = mean acc over the accuracy probes; forgetting = base probe mean - variant probe mean.
        Bits-per-byte (rolling) probes are never averaged with accuracies: their own mean and
        Δ bits/byte = variant - base are separate columns, and lead the tradeoff plot only when no accuracy
        probe is above chance on the base. Each carries its standard error (sqrt(sum se^2)/k). Paired tests
        against the base use the same items: McNemar's exact test per accuracy probe and seeded paired
        bootstraps of the probe-mean and per-document bits-per-byte differences.
        """
    )

    @Argument(help: "The experiment file (YAML).")
    var file: String

    @OptionGroup var storeOption: StoreOption

    @Option(help: "Paired bootstrap resamples.")
    var bootstrap: Int = 10_000

    @Option(help: "Seed of the paired bootstrap.")
    var seed: UInt64 = 20240605

    @Option(name: .customLong("x-axis"), help: "Training curves against 'tokens' or 'steps' (default: tokens when every checkpoint knows them; curves are drawn for runs: globs, or for any variants with step:/tokens: when this is given).")
    var xAxis: String?

    func validate() throws {
        guard bootstrap > 0 else { throw ValidationError("--bootstrap must be positive.") }
        if let xAxis, TrainingAxis(rawValue: xAxis) == nil { throw ValidationError("--x-axis must be tokens or steps, not '\(xAxis)'.") }
    }

    func run() throws {
        let (experiment, catalog) = try ExperimentContext.load(file)
        let store = try ResultsStore.existing(path: storeOption.path(experiment))
        let model = try ExperimentSummary.build(experiment, catalog: catalog, store: store, toolVersion: ExperimentContext.toolVersion,
                                                bootstrapResamples: bootstrap, seed: seed, trainingAxis: xAxis.flatMap(TrainingAxis.init(rawValue:)))
        let (html, md, summary) = try Self.write(model, experiment)
        print(summary, terminator: "")
        print("\nWrote \(html) and \(md)")
    }

    /// OUTPUT/index.html and OUTPUT/summary.md, each replaced atomically (also by `run --watch`).
    static func write(_ model: ReportModel, _ experiment: Experiment) throws -> (html: String, md: String, summary: String) {
        let dir = URL(fileURLWithPath: experiment.output)
        let html = dir.appendingPathComponent("index.html").path, md = dir.appendingPathComponent("summary.md").path
        try AtomicFile.write(Data(HTMLReport.render(model).utf8), to: html)
        let summary = SummaryTable.markdown(model)
        try AtomicFile.write(Data(summary.utf8), to: md)
        return (html, md, summary)
    }
}
