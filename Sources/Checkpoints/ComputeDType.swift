/// What a 16/32-bit checkpoint's linear layers compute in (issue 17): fp32 (the default, as
/// before) or bf16 (bf16 activations and weights, fp32 accumulation). 4-bit checkpoints carry
/// their compute dtype in QuantizationSettings instead.
public enum ComputeDType: String, Sendable, Codable, CaseIterable {
    case fp32, bf16

    /// A fingerprint extended with the compute dtype, so stored bf16 and fp32 results never
    /// answer for each other; fp32 keeps the fingerprint unchanged (stores made before issue 17
    /// stay valid).
    public func fingerprint(_ base: String) -> String {
        self == .bf16 ? base + "+compute:bf16" : base
    }
}
