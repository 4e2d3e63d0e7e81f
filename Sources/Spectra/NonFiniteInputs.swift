import Checkpoints

/// Why a spectrum came out NaN or infinite: the stored tensors it was computed from that hold
/// NaN or Inf. Scanning costs a read of a few tensors, so it runs only once a spectrum (or its
/// decomposition) has failed, never on the way to a good one.
extension Perturbation {
    /// The stored tensors this perturbation is computed from: the base weight, the fine-tuned or
    /// replacing tensor, or the adapter's factors, bias and magnitude.
    public func inputTensors(base: ModelDirectory) -> [(store: TensorStore, name: String)] {
        var out: [(store: TensorStore, name: String)] = []
        if base.tensors.contains(tensor) { out.append((base.tensors, tensor)) }
        if let changed { out.append((changed.store, changed.name)) }
        if let module, let adapter {
            for name in [module.aTensor, module.bTensor, module.biasTensor, module.magnitudeTensor].compactMap({ $0 })
            where adapter.tensors.contains(name) {
                out.append((adapter.tensors, name))
            }
        }
        return out
    }

    /// Each input tensor holding NaN or Inf, as "NAME in FILE (element I is nan)".
    public func nonFiniteInputs(base: ModelDirectory) -> [String] {
        inputTensors(base: base).compactMap { store, name in
            guard let info = store.info(name), info.dtype.isFloatingPoint, let values = try? store.floats(name),
                  let i = values.firstIndex(where: { !$0.isFinite }) else { return nil }
            return "\(name) in \(info.file) (element \(i) is \(values[i]))"
        }
    }
}

extension TensorSpectrum {
    /// The singular values are finite. A NaN or Inf input makes them NaN, which would otherwise
    /// only fail later, in the store's encoder, naming nothing. (Ratios such as the stable rank
    /// of an all-zero change may be NaN legitimately; they are not checked.)
    public var hasFiniteSingularValues: Bool { singularValues.allSatisfy(\.isFinite) }
}
