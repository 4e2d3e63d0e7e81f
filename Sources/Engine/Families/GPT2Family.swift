import Checkpoints

/// gpt2: learned positions, LayerNorm, Conv1D projections stored [in, out], gelu_new MLP, tied
/// LM head; its own key names (n_embd, n_layer, ...). Its layer code is GPT2.swift.
public struct GPT2Configuration: FamilyConfiguration {
    public var decoder: DecoderConfig
    /// Scores scaled by 1/sqrt(head_dim) (scale_attn_weights), and further by 1/(layer + 1).
    public var scaleAttentionWeights: Bool
    public var scaleAttentionByInverseLayerIndex: Bool
    public var model: ModelConfig { decoder.model(layout: Self.layout) }

    /// GPT-2's Conv1D modules keep their weight [in, out], the transpose of every other family's.
    static let layout = TensorLayout(transposedModules: ["attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"])

    init(fields f: JSONFields, modelType: String) throws {
        let vocabSize = try f.requireInt("vocab_size")
        let hiddenSize = try f.requireInt("n_embd")
        let layerCount = try DecoderConfig.layers(f, "n_layer")
        let headCount = try f.requireInt("n_head")
        // 4 * n_embd before validate() has bounded n_embd: saturate, so a huge n_embd is
        // refused by name rather than trapping here.
        let fourTimes = hiddenSize.multipliedReportingOverflow(by: 4)
        let intermediateSize = try f.int("n_inner") ?? (fourTimes.overflow ? .max : fourTimes.partialValue)
        let maxPositions = try f.requireInt("n_positions")
        let normEpsilon = try f.double("layer_norm_epsilon") ?? 1e-5
        let tie = try f.bool("tie_word_embeddings") ?? true
        let activation = try f.string("activation_function") ?? "gelu_new"
        scaleAttentionWeights = try f.bool("scale_attn_weights") ?? true
        scaleAttentionByInverseLayerIndex = try f.bool("scale_attn_by_inverse_layer_idx") ?? false
        guard hiddenSize % headCount == 0 else { throw f.error("n_head", "\(headCount) does not divide n_embd \(hiddenSize)") }
        let keys = DecoderKeys(hidden: "n_embd", intermediate: "n_inner", layers: "n_layer", heads: "n_head",
                               positions: "n_positions", normEpsilon: "layer_norm_epsilon")
        decoder = DecoderConfig(
            modelType: modelType, vocabSize: vocabSize, hiddenSize: hiddenSize, intermediateSize: intermediateSize,
            layerCount: layerCount, headCount: headCount, kvHeadCount: headCount, headDim: hiddenSize / headCount,
            maxPositions: maxPositions, normEpsilon: normEpsilon, ropeTheta: nil, rotaryDim: 0, ropeScaling: nil,
            tieWordEmbeddings: tie, qkvBias: true, outputBias: true, mlpBias: true, activation: activation,
            slidingWindows: Array(repeating: nil, count: layerCount),
            bosTokenId: try? f.int("bos_token_id"), eosTokenIds: (try? f.intList("eos_token_id")) ?? [], keys: keys)
        try decoder.validate(f)
    }

    func transformer(_ w: WeightLoader) throws -> Transformer { try GPT2.load(w, self) }
}
