import Checkpoints
import Foundation
import Yams

/// `compute_dtype: fp32|bf16` in experiment files (issue 17): at the top level (the base, and
/// every variant without its own) or per variant. It is part of each checkpoint's fingerprint,
/// so bf16 and fp32 results never mix in a store. 4-bit bases keep their own compute dtype
/// (quantization.compute_dtype); served checkpoints compute however the server does.
extension Experiment {
    static func parseComputeDType(_ n: Node, where what: String, fail: (Node?, String) -> ExperimentError) throws -> ComputeDType {
        guard let text = n.string, let d = ComputeDType(rawValue: text) else {
            throw fail(n, "\(what)compute_dtype: expected fp32 or bf16")
        }
        return d
    }

    static func variantComputeDType(_ m: Node.Mapping, variant v: Variant, served: Bool, top: ComputeDType, where what: String,
                                    fail: (Node?, String) -> ExperimentError) throws -> ComputeDType {
        guard let node = m["compute_dtype"] else { return top }
        let d = try parseComputeDType(node, where: what, fail: fail)
        if served { throw fail(node, "\(what)compute_dtype is for natively scored variants (the server decides how it computes)") }
        if v.quantization != nil {
            throw fail(node, "\(what)compute_dtype: this variant runs on a 4-bit base; set quantization.compute_dtype instead")
        }
        return d
    }
}
