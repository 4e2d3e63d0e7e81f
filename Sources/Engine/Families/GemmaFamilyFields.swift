import Checkpoints

/// What Gemma 2 and Gemma 3 share: their config defaults and the options of their block ((1 + w)
/// RMSNorms, sandwich norms, embeddings scaled by sqrt(hidden), GeGLU, query_pre_attn_scalar,
/// optional soft-capping). Each has its own file for the rest.
public struct GemmaAttentionFields: Sendable, Equatable, Codable {
    /// Scores are scaled by 1/sqrt(this) instead of 1/sqrt(head_dim).
    public var queryPreAttentionScalar: Double?
    /// Scores (attention) and logits (final) pass through cap * tanh(x / cap).
    public var attentionSoftcap: Double?
    public var finalSoftcap: Double?

    /// transformers' defaults apply when a key is absent; an explicit null turns capping off.
    init(fields f: JSONFields, softcaps: (attention: Double?, final: Double?)) throws {
        func optional(_ key: String, _ fallback: Double?) throws -> Double? {
            f.contains(key) ? try f.double(key) : fallback
        }
        queryPreAttentionScalar = try optional("query_pre_attn_scalar", 256)
        attentionSoftcap = try optional("attn_logit_softcapping", softcaps.attention)
        finalSoftcap = try optional("final_logit_softcapping", softcaps.final)
    }

    func validate(_ f: JSONFields) throws {
        try ConfigLimits.checkPositive(f, [("query_pre_attn_scalar", queryPreAttentionScalar),
                                           ("attn_logit_softcapping", attentionSoftcap),
                                           ("final_logit_softcapping", finalSoftcap)])
    }

    static var defaults: DecoderDefaults {
        DecoderDefaults(headDim: 256, tieWordEmbeddings: true, activationKeys: ["hidden_activation", "hidden_act"], activation: "gelu_pytorch_tanh")
    }

    var blockOptions: GatedBlockOptions {
        GatedBlockOptions(normPlacement: .sandwich, onePlusNormWeights: true, scaledEmbeddings: true,
                          queryPreAttentionScalar: queryPreAttentionScalar,
                          attentionSoftcap: attentionSoftcap, finalSoftcap: finalSoftcap)
    }
}
