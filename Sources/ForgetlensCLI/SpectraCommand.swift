import ArgumentParser
import Checkpoints
import Engine
import Foundation
import LinearAlgebra
import Spectra

struct SpectraCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spectra",
        abstract: "Singular-value spectra of what a fine-tune changed (W_ft - W_base, or a LoRA's B A).",
        discussion: """
        Full fine-tunes: every 2-D weight present in both checkpoints with equal shape whose values
        differ. Adapters: every base weight the adapter modifies (LoRA through its factors, never
        forming Delta; DoRA and modules_to_save densely). One tensor pair is in memory at a time.
        With --quantize nf4|fp4 [--double-quant]: spectra of the quantization error
        E = deq(q(W)) - W of each block linear weight (q bit-identical to bitsandbytes, deq rounded
        to --compute-dtype); with --adapter also adapter_error_ratio = ||E + Delta||_F / ||E||_F and
        the overlap (subspace_similarity) of the adapter's and E's top singular subspaces.
        """
    )

    @Option(help: "Base model directory (config.json + safetensors).")
    var base: String

    @Option(help: "Fully fine-tuned model directory of the same architecture.")
    var finetuned: String?

    @Option(help: "PEFT LoRA adapter directory (adapter_config.json + adapter_model.safetensors).")
    var adapter: String?

    @Option(help: "Only tensors whose base name matches this regular expression (searched anywhere in the name).")
    var modules: String?

    @Option(help: "Variance fraction for rank90 (the smallest k whose top-k singular values hold this share of ||Delta||_F^2).")
    var variance: Double = 0.9

    @Option(help: "Write the full report as JSON to this file (atomically).")
    var json: String?

    @Option(help: "Also write the terminal table to this file.")
    var table: String?

    @Option(help: "A second adapter of the same base: adds subspace similarity (Hu et al. 2021, eq. 4) per shared tensor.")
    var compareAdapter: String?

    @Flag(help: "Amplification factor ||Delta||_F / ||U_r^T W_base V_r||_F (needs singular vectors).")
    var amplification = false

    @Flag(help: "Intruder dimensions of W_ft against W_base (needs full SVDs of both; slow on big weights).")
    var intruders = false

    @Flag(help: "Also the singular values of W_base and W_ft = W_base + Delta per tensor (base_singular_values, finetuned_singular_values in the JSON; forms both densely).")
    var weights = false

    @Option(help: "Top singular directions of dense perturbations used for subspace similarity and amplification.")
    var topK: Int = 16

    @Option(help: "Dense SVD route: gram (float64 Gram + two-stage eigensolver, streamed; default) or gesdd (float32 LAPACK SGESDD on the formed Delta).")
    var svd: String = "gram"

    @Option(help: "OpenBLAS threads (default: OpenBLAS's own choice).")
    var threads: Int?

    @Flag(help: "Print no table (JSON only).")
    var quiet = false

    @OptionGroup var quantization: QuantizationFlags

    func validate() throws {
        if quantization.quantize != nil {
            guard finetuned == nil, compareAdapter == nil, !intruders, !amplification, !weights else {
                throw ValidationError("--quantize gives quantization-error spectra of --base (optionally with --adapter); --finetuned, --compare-adapter, --intruders, --amplification and --weights do not apply")
            }
        } else if (finetuned == nil) == (adapter == nil) {
            throw ValidationError("Give exactly one of --finetuned DIR or --adapter DIR (or --quantize nf4|fp4 for quantization-error spectra).")
        }
        guard variance > 0, variance <= 1 else {
            throw ValidationError("--variance must be in (0, 1], got \(variance).")
        }
        guard SVDMethod(rawValue: svd) != nil else {
            throw ValidationError("--svd must be one of \(SVDMethod.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        guard topK > 0 else { throw ValidationError("--top-k must be positive.") }
        if let modules, (try? NSRegularExpression(pattern: modules)) == nil {
            throw ValidationError("--modules is not a valid regular expression: \(modules)")
        }
    }

    func run() throws {
        if let threads { BLAS.setThreads(threads) }
        let baseModel = try ModelDirectory(path: base)
        let filter = try modules.map { pattern -> (String) -> Bool in
            let regex = try NSRegularExpression(pattern: pattern)
            return { name in regex.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)) != nil }
        }
        if let settings = quantization.settings {
            var options = SpectraOptions()
            options.variance = variance
            options.method = SVDMethod(rawValue: svd)!
            options.subspaceK = topK
            let lora = try adapter.map { try LoRAAdapter(path: $0, base: baseModel.tensors) }
            let bar = ProgressBar(label: "spectra")
            let report = try QuantizationError.run(base: baseModel, settings: settings, adapter: lora, options: options, filter: filter) {
                done, total, name in bar.update(done: done, total: total, item: name)
            }
            return try emit(report)
        }
        let source: PerturbationSource
        if let finetuned {
            source = .finetuned(base: baseModel, finetuned: try ModelDirectory(path: finetuned))
        } else {
            source = .adapter(base: baseModel, adapter: try LoRAAdapter(path: adapter!, base: baseModel.tensors))
        }
        let compare = try compareAdapter.map { try LoRAAdapter(path: $0, base: baseModel.tensors) }
        var options = SpectraOptions()
        options.variance = variance
        options.method = SVDMethod(rawValue: svd)!
        options.amplification = amplification
        options.intruders = intruders
        options.weights = weights
        options.amplificationRank = topK
        options.subspaceK = topK
        let bar = ProgressBar(label: "spectra")
        let report = try SpectraRun(source: source, options: options, compare: compare, compareLabel: compareAdapter)
            .run(filter: filter) { done, total, name in bar.update(done: done, total: total, item: name) }
        if report.tensors.isEmpty {
            FileHandle.standardError.write(Data("forgetlens: warning: no perturbed 2-D tensor found\(modules.map { " matching \($0)" } ?? "")\n".utf8))
        }
        try emit(report)
    }

    func emit(_ report: SpectraReport) throws {
        if let unmatched = report.unmatchedAdapterKeys, !unmatched.isEmpty {
            FileHandle.standardError.write(Data("forgetlens: warning: \(unmatched.count) adapter tensors match no base weight: \(unmatched.prefix(5).joined(separator: ", "))\(unmatched.count > 5 ? ", ..." : "")\n".utf8))
        }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            try AtomicFile.write(try encoder.encode(report), to: json)
        }
        let text = SpectraTable.render(report)
        if let table { try AtomicFile.write(Data(text.utf8), to: table) }
        if !quiet { print(text, terminator: "") }
    }
}
