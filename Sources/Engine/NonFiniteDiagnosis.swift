import Checkpoints

/// What to say when a forward pass yields a NaN or infinite log-probability. Scanning every
/// weight at load would read a 7B checkpoint twice, so the engine checks its outputs (cheap) and
/// only then walks the checkpoint's and the adapter's floating-point tensors to name the ones
/// that hold NaN or Inf. When none does, the values overflowed float32 inside the forward pass.
struct NonFiniteDiagnosis: Sendable {
    let stores: [TensorStore]

    func error(at position: String) -> EngineError {
        var bad: [String] = []
        scan: for store in stores {
            for name in store.names {
                guard let info = store.info(name), info.dtype.isFloatingPoint else { continue }
                guard let values = try? store.floats(name) else { continue }
                if let i = values.firstIndex(where: { !$0.isFinite }) {
                    bad.append("\(name) in \(store.location) (element \(i) is \(values[i]))")
                    if bad.count == 5 { break scan }
                }
            }
        }
        if bad.isEmpty {
            return EngineError("the model computed a non-finite log-probability (\(position)); no weight is NaN or infinite, "
                + "so values overflowed float32 in the forward pass (weights, or a LoRA scale, far too large?)")
        }
        return EngineError("the model computed a non-finite log-probability (\(position)): non-finite weights: "
            + bad.joined(separator: "; ") + (bad.count == 5 ? "; ..." : ""))
    }
}
