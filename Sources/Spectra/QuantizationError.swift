import Checkpoints
import Foundation
import LinearAlgebra

/// Spectra of what 4-bit quantization does to a base (issue 11): E = deq(q(W)) - W per linear
/// weight of the blocks, q exactly as bitsandbytes quantizes and deq rounded to the compute dtype
/// (the weights Linear4bit multiplies with). With a QLoRA adapter, also how the adapter's
/// Delta = s B A relates to E: ||E + Delta||_F / ||E||_F (below 1: the adapter undoes part of the
/// quantization error, as the QLoRA paper suggests it can) and the overlap of their top singular
/// subspaces (Hu et al. 2021's phi, in `subspace_similarity`).
public enum QuantizationError {
    /// E [out, in] in float64 for the base tensor `name`.
    static func dense(_ store: TensorStore, _ name: String, shape: [Int], settings q: QuantizationSettings) throws -> Matrix<Double> {
        let info = try store.require(name)
        let w = try store.floats(name)
        let t = w.withUnsafeBufferPointer {
            FourBitQuantizer.quantize($0.baseAddress!, shape: shape, dtype: [.bf16, .f16].contains(info.dtype) ? info.dtype : .f32,
                                      type: q.type, blocksize: q.blocksize, doubleQuant: q.doubleQuant)
        }
        let deq = t.dequantized(compute: q.computeDType)
        var e = Matrix<Double>(zeros: shape[0], shape[1])
        for i in 0..<w.count { e.storage[i] = Double(deq[i]) - Double(w[i]) }
        store.release(name)
        return e
    }

    /// The weights transformers quantizes: the Llama family's block linears (never embeddings,
    /// norms or the LM head), minus `skipModules`.
    public static func quantizable(_ name: String, model: ModelDirectory, settings: QuantizationSettings) -> Bool {
        model.config.layout.supportsFourBit && name.contains("layers.") && name.hasSuffix("_proj.weight")
            && !settings.skips(module: String(name.dropLast(".weight".count)))
    }

    /// The report: one entry per quantized tensor (kind "quantization"), with the adapter's relation
    /// to E where `adapter` modifies the tensor.
    public static func run(base: ModelDirectory, settings: QuantizationSettings, adapter: LoRAAdapter?, options: SpectraOptions,
                           filter: ((String) -> Bool)? = nil, progress: (Int, Int, String) -> Void = { _, _, _ in }) throws -> SpectraReport {
        guard base.config.layout.supportsFourBit else {
            throw CheckpointError(file: base.path, field: "config.json model_type",
                                  "quantization-error spectra cover llama, mistral and qwen2 models, not \(base.config.modelType)")
        }
        let names = base.tensors.names.filter { quantizable($0, model: base, settings: settings) && (filter?($0) ?? true) }
        let modules = Dictionary(uniqueKeysWithValues: (adapter?.modules ?? []).map { ($0.baseTensor, $0) })
        let analyzer = SpectraAnalyzer(options: options)
        var tensors: [TensorSpectrum] = []
        for (i, name) in names.enumerated() {
            progress(i, names.count, name)
            let info = try base.tensors.require(name)
            var p = Perturbation(kind: .quantization, name: name, storedShape: info.shape, storedTransposed: false,
                                 changed: nil, module: nil, adapter: nil)
            p.quantization = settings
            var entry = try analyzer.analyze(p, base: base)
            if let module = modules[name], let adapter {
                let e = try dense(base.tensors, name, shape: info.shape, settings: settings)
                let factors = try LowRankFactors.load(module, adapter: adapter)
                let delta = factors.dense()
                var sum = 0.0, eNorm = 0.0
                for k in e.storage.indices {
                    let v = e.storage[k] + delta.storage[k]
                    sum += v * v
                    eNorm += e.storage[k] * e.storage[k]
                }
                entry.adapterErrorRatio = eNorm > 0 ? (sum / eNorm).squareRoot() : nil
                if let uDelta = try factors.svd(withVectors: true).u {
                    let uE = try SVD.thin(e).u
                    let k1 = min(module.rank, uDelta.cols), k2 = min(options.subspaceK, uE.cols)
                    entry.subspaceSimilarity = SubspaceSimilarity(other: "quantization error (top \(k2))",
                                                                  phi: SubspaceMeasures.similarity(uDelta.leadingColumns(k1), uE.leadingColumns(k2)))
                }
            }
            tensors.append(entry)
        }
        progress(names.count, names.count, "")
        var report = SpectraReport(base: base.path, variance: options.variance, svdMethod: options.method, tensors: tensors)
        report.adapter = adapter?.path
        report.quantization = settings.descriptor
        return report
    }
}
