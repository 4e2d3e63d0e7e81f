/// How singular values of dense perturbations are computed.
public enum SVDMethod: String, Sendable, CaseIterable, Codable {
    /// float64 Gram matrix streamed from the checkpoints + two-stage symmetric eigensolver.
    /// Fast, never materialises Delta, accurate to ~1e-7 relative for sigma >= 1e-3 sigma_1.
    case gram
    /// float32 SGESDD on the formed Delta: resolves the tiniest singular values, slower.
    case gesdd
}

public struct SpectraOptions: Sendable {
    public var variance: Double = 0.9
    public var method: SVDMethod = .gram
    /// Compute the amplification factor (needs singular vectors of Delta and W_base).
    public var amplification = false
    /// Top-k directions used for the amplification factor of dense perturbations
    /// (LoRA uses its own rank).
    public var amplificationRank = 16
    /// Intruder dimensions (needs full SVDs of W_base and W_ft).
    public var intruders = false
    public var intruderK = 10
    public var intruderThreshold = 0.5
    /// Top-k directions of dense perturbations compared in subspace similarity.
    public var subspaceK = 16
    /// Also the singular values of W_base and W_ft (Biderman et al. 2024: Delta's spectrum
    /// against the weights'); forms both densely.
    public var weights = false

    public init() {}
}
