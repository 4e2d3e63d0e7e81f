import Foundation

/// What a model's config.json says as far as files, tensors and spectra need it: its shape and
/// how its tensors are laid out. Checkpoints knows no model family: a family (Engine/Families)
/// decodes config.json into its own configuration and describes the model with this value.
public struct ModelConfig: Sendable, Equatable {
    /// config.json's `model_type` (which family decoded it).
    public var modelType: String
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var maxPositions: Int
    /// The positions the engine serves (a longrope model stays within its original length).
    public var servedPositions: Int
    public var tieWordEmbeddings: Bool
    public var bosTokenId: Int?
    public var eosTokenIds: [Int]
    public var layout: TensorLayout

    public init(modelType: String, vocabSize: Int, hiddenSize: Int, intermediateSize: Int, layerCount: Int,
                headCount: Int, kvHeadCount: Int, headDim: Int, maxPositions: Int, servedPositions: Int,
                tieWordEmbeddings: Bool, bosTokenId: Int?, eosTokenIds: [Int], layout: TensorLayout) {
        self.modelType = modelType
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim
        self.maxPositions = maxPositions
        self.servedPositions = servedPositions
        self.tieWordEmbeddings = tieWordEmbeddings
        self.bosTokenId = bosTokenId
        self.eosTokenIds = eosTokenIds
        self.layout = layout
    }

    /// Whether `tensorName` is stored [in, out] (GPT-2's Conv1D); spectra report [out, in] for all.
    public func storesTransposed(_ tensorName: String) -> Bool {
        guard tensorName.hasSuffix(".weight") else { return false }
        let module = tensorName.dropLast(".weight".count)
        return layout.transposedModules.contains { module.hasSuffix($0) }
    }
}

/// The family facts about tensors that code outside the engine needs, as plain data.
public struct TensorLayout: Sendable, Equatable {
    /// Module name suffixes whose weight is stored [in, out].
    public var transposedModules: [String]
    /// Weights stored fused, split into their logical parts by spectra.
    public var fusedWeights: [FusedWeight]
    /// 4-bit weights (load-time quantization, saved bitsandbytes checkpoints, quantization-error
    /// spectra) are tested against bitsandbytes for this family.
    public var supportsFourBit: Bool

    public init(transposedModules: [String] = [], fusedWeights: [FusedWeight] = [], supportsFourBit: Bool = false) {
        self.transposedModules = transposedModules
        self.fusedWeights = fusedWeights
        self.supportsFourBit = supportsFourBit
    }
}

/// A weight stored as several logical matrices stacked by rows (Phi-3's q|k|v, gate|up).
public struct FusedWeight: Sendable, Equatable {
    /// Tensor name suffix, e.g. "self_attn.qkv_proj.weight".
    public var suffix: String
    /// Each part's label and row count, in stored order.
    public var parts: [Part]

    public struct Part: Sendable, Equatable {
        public var label: String
        public var rows: Int
        public init(_ label: String, rows: Int) { self.label = label; self.rows = rows }
    }

    public init(suffix: String, parts: [Part]) { self.suffix = suffix; self.parts = parts }
}

/// Turns config.json into a family's configuration; the engine's family registry is one.
/// ModelDirectory receives it, so Checkpoints needs no list of families.
public protocol ModelConfigDecoder: Sendable {
    func decode(_ fields: JSONFields) throws -> any DecodedModelConfig
}

/// A family's decoded configuration, which describes its model neutrally.
public protocol DecodedModelConfig: Sendable {
    var model: ModelConfig { get }
}
