/// Everything reported about one perturbed tensor (the `tensors` entries of spectra JSON).
public struct TensorSpectrum: Codable, Sendable {
    public var name: String
    public var kind: PerturbationKind
    /// [out, in] of the linear map (GPT-2 Conv1D weights are reported transposed from storage).
    public var shape: [Int]
    /// Descending: all min(out, in) for dense perturbations, the r non-trivial ones for LoRA.
    public var singularValues: [Double]
    public var rank: Int
    public var rank90: Int
    public var stableRank: Double
    public var effectiveRank: Double
    public var frobeniusNorm: Double
    public var spectralNorm: Double
    /// nil when the base tensor is all zeros.
    public var relativeChange: Double?
    public var baseFrobeniusNorm: Double
    public var gaussianRank90: Int
    public var loraRank: Int?
    public var scaling: Double?
    public var amplificationFactor: Double?
    public var intruderDimensions: IntruderDimensions?
    public var subspaceSimilarity: SubspaceSimilarity?
    /// Quantization-error spectra with an adapter: ||E + Delta||_F / ||E||_F.
    public var adapterErrorRatio: Double?
    /// With SpectraOptions.weights: singular values of W_base and W_ft = W_base + Delta (descending).
    public var baseSingularValues: [Double]?
    public var finetunedSingularValues: [Double]?

    enum CodingKeys: String, CodingKey {
        case name, kind, shape, rank, rank90, scaling
        case singularValues = "singular_values"
        case stableRank = "stable_rank"
        case effectiveRank = "effective_rank"
        case frobeniusNorm = "frobenius_norm"
        case spectralNorm = "spectral_norm"
        case relativeChange = "relative_change"
        case baseFrobeniusNorm = "base_frobenius_norm"
        case gaussianRank90 = "gaussian_rank90"
        case loraRank = "lora_rank"
        case amplificationFactor = "amplification_factor"
        case intruderDimensions = "intruder_dimensions"
        case subspaceSimilarity = "subspace_similarity"
        case adapterErrorRatio = "adapter_error_ratio"
        case baseSingularValues = "base_singular_values"
        case finetunedSingularValues = "finetuned_singular_values"
    }
}

/// Shuttleworth et al. (2024): top-k singular vectors of the fine-tuned weight that no
/// singular vector of the base weight resembles (max |cos| < threshold).
public struct IntruderDimensions: Codable, Sendable {
    public var k: Int
    public var threshold: Double
    public var count: Int
    /// 0-based indices among the fine-tuned weight's top-k left singular vectors.
    public var indices: [Int]
    /// max |cos| of each top-k vector with any base singular vector.
    public var maxCosine: [Double]

    enum CodingKeys: String, CodingKey {
        case k, threshold, count, indices
        case maxCosine = "max_cosine"
    }
}

/// Hu et al. (2021) eq. 4 between this perturbation and another of the same base:
/// phi[i-1][j-1] = ||U1[:, :i]^T U2[:, :j]||_F^2 / min(i, j).
public struct SubspaceSimilarity: Codable, Sendable {
    public var other: String
    public var phi: [[Double]]
}
