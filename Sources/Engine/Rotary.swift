import Foundation
import Checkpoints

/// Rotary position embedding tables (rotate-half convention, as Llama and GPT-NeoX in
/// transformers). Angles are formed as transformers forms them: inverse frequencies and
/// position * frequency in float32, cos/sin of that float32 angle. Matching the reference's
/// float32 angles matters more than extra digits here.
struct Rotary: Sendable {
    let rotaryDim: Int
    let half: Int
    let maxPositions: Int
    /// [maxPositions, half]
    let cos: [Float]
    let sin: [Float]

    init(rotaryDim: Int, theta base: Double, scaling: RopeScaling?, positions: Int) throws {
        let half = rotaryDim / 2, maxPositions = positions
        self.rotaryDim = rotaryDim
        self.half = half
        self.maxPositions = maxPositions
        let theta = Float(base)
        var inv = (0..<half).map { i in Float(1) / powf(theta, Float(2 * i) / Float(rotaryDim)) }
        var amplitude: Float = 1
        if let s = scaling, s.type == "longrope", let short = s.shortFactor {
            // the engine serves only positions below original_max_position_embeddings (see
            // DecoderConfig.servedPositions), where transformers uses the short factors
            inv = (0..<half).map { i in Float(1) / (Float(short[i]) * powf(theta, Float(2 * i) / Float(rotaryDim))) }
            amplitude = Float(s.attentionFactor ?? 1)
        } else if let s = scaling {
            switch s.type {
            case "linear":
                inv = inv.map { $0 / Float(s.factor) }
            case "dynamic":
                break // NTK rescaling only starts past max_position_embeddings, which inputs never reach
            case "llama3":
                let factor = s.factor, low = s.lowFrequencyFactor ?? 1, high = s.highFrequencyFactor ?? 4
                let original = Double(s.originalMaxPositions ?? 8192)
                let lowWavelen = original / low, highWavelen = original / high
                inv = inv.map { f32 in
                    let f = Double(f32)
                    let wavelen = 2 * Double.pi / f
                    if wavelen < highWavelen { return f32 }
                    if wavelen > lowWavelen { return Float(f / factor) }
                    let smooth = (original / wavelen - low) / (high - low)
                    return Float((1 - smooth) * f / factor + smooth * f)
                }
            default:
                throw EngineError("rope_scaling type \(s.type) is not supported by the engine")
            }
        }
        var c = [Float](repeating: 0, count: maxPositions * half), s = c
        for p in 0..<maxPositions {
            for i in 0..<half {
                let angle = Float(p) * inv[i]
                c[p * half + i] = Float(Foundation.cos(Double(angle))) * amplitude
                s[p * half + i] = Float(Foundation.sin(Double(angle))) * amplitude
            }
        }
        cos = c
        sin = s
    }

    /// Rotates the first `rotaryDim` dims of `heads` heads of width `headDim` stored from column 0 of
    /// each row of `x` (leading dimension ld); row r is at position positions[r].
    func apply(_ x: UnsafeMutablePointer<Float>, ld: Int, rows: Int, heads: Int, headDim: Int, positions: UnsafePointer<Int32>) {
        if half == 0 { return }
        cos.withUnsafeBufferPointer { cb in
            sin.withUnsafeBufferPointer { sb in
                for r in 0..<rows {
                    let p = Int(positions[r])
                    let c = cb.baseAddress! + p * half, s = sb.baseAddress! + p * half
                    let row = x + r * ld
                    for h in 0..<heads {
                        let v = row + h * headDim
                        for i in 0..<half {
                            let x1 = v[i], x2 = v[i + half]
                            v[i] = x1 * c[i] - x2 * s[i]
                            v[i + half] = x2 * c[i] + x1 * s[i]
                        }
                    }
                }
            }
        }
    }
}
