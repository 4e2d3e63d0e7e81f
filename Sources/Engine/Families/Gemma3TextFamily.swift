import Checkpoints

/// gemma3_text: Gemma's block with per-head q/k norms, no soft-capping unless asked, local
/// (sliding) and global layers from layer_types or sliding_window_pattern, each kind with its
/// own rotary base and scaling.
public struct Gemma3TextConfiguration: GatedFamilyConfiguration {
    /// ropeTheta / ropeScaling here are the global layers'.
    public var decoder: DecoderConfig
    public var gemma: GemmaAttentionFields
    public var localRopeTheta: Double
    public var localRopeScaling: RopeScaling?
    public var localRopeLayers: [Bool]
    public var model: ModelConfig { decoder.model(layout: layout) }

    init(fields f: JSONFields, modelType: String) throws {
        let pattern = { (f: JSONFields) in try f.int("sliding_window_pattern") ?? 6 }
        decoder = try DecoderConfig(fields: f, modelType: modelType, defaults: GemmaAttentionFields.defaults,
                                    slidingWindows: SlidingWindowRule.gemma(pattern: pattern))
        gemma = try GemmaAttentionFields(fields: f, softcaps: (attention: nil, final: nil))
        guard try f.bool("use_bidirectional_attention") != true else {
            throw f.error("use_bidirectional_attention", "true is not a causal language model (expected false or absent)")
        }
        // 5.x: rope_parameters.{full_attention, sliding_attention}; 4.x: rope_theta,
        // rope_local_base_freq and a rope_scaling of the global layers
        let rope = try f.nested("rope_parameters"), legacyScaling = try f.nested("rope_scaling")
        let global = try rope?.nested("full_attention"), local = try rope?.nested("sliding_attention")
        decoder.ropeTheta = try global?.double("rope_theta") ?? f.double("rope_theta") ?? 1_000_000
        localRopeTheta = try local?.double("rope_theta") ?? f.double("rope_local_base_freq") ?? 10_000
        decoder.ropeScaling = try DecoderConfig.scaling(global ?? legacyScaling, top: f, maxPositions: decoder.maxPositions)
        localRopeScaling = try DecoderConfig.scaling(local, top: f, maxPositions: decoder.maxPositions)
        if let t = localRopeScaling?.type, t != "linear" {
            throw f.error("rope_parameters.sliding_attention.rope_type", "\"\(t)\" is not supported for the local layers (supported: default, linear)")
        }
        localRopeLayers = try SlidingWindowRule.gemmaSlidingLayers(f, layers: decoder.layerCount, pattern: pattern(f))
        try decoder.validate(f)
        guard localRopeTheta.isFinite && localRopeTheta > 0 else {
            throw f.error("rope_local_base_freq", "\(localRopeTheta) is not a usable rotary base (expected a positive number)")
        }
        if let s = localRopeScaling, !(s.factor.isFinite && s.factor > 0) {
            throw f.error("rope_parameters.sliding_attention.factor", "\(s.factor) is not a usable scaling factor (expected a positive number)")
        }
        try gemma.validate(f)
    }

    var blockOptions: GatedBlockOptions {
        var o = gemma.blockOptions
        o.qkNorm = .perHead
        o.localRotary = (localRopeTheta, localRopeScaling)
        o.localRotaryLayers = localRopeLayers
        return o
    }
}
