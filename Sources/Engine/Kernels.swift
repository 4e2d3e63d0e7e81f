import Foundation

/// Per-token elementwise work: norms, activations, residual adds, log-softmax. Reductions
/// accumulate in Double: they are a tiny share of the time next to the GEMMs and keep digits.
enum Kernels {
    /// out[r] = weight * x[r] / sqrt(mean(x[r]^2) + eps), as transformers' LlamaRMSNorm.
    static func rmsNorm(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, dim: Int,
                        weight: UnsafePointer<Float>, eps: Double) {
        for r in 0..<rows {
            let xr = x + r * dim, or = out + r * dim
            var sum = 0.0
            for i in 0..<dim { let v = Double(xr[i]); sum += v * v }
            let inv = Float(1 / (sum / Double(dim) + eps).squareRoot())
            for i in 0..<dim { or[i] = weight[i] * (xr[i] * inv) }
        }
    }

    /// out[r] = (x[r] - mean) / sqrt(var + eps) * weight + bias (biased variance, as torch LayerNorm).
    static func layerNorm(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, dim: Int,
                          weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, eps: Double) {
        for r in 0..<rows {
            let xr = x + r * dim, or = out + r * dim
            var sum = 0.0
            for i in 0..<dim { sum += Double(xr[i]) }
            let mean = sum / Double(dim)
            var sq = 0.0
            for i in 0..<dim { let d = Double(xr[i]) - mean; sq += d * d }
            let inv = 1 / (sq / Double(dim) + eps).squareRoot()
            let m = Float(mean), s = Float(inv)
            for i in 0..<dim { or[i] = (xr[i] - m) * s * weight[i] + bias[i] }
        }
    }

    /// y[r, 0..<cols] += bias for rows with leading dimension ld.
    static func addBias(_ y: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ld: Int, bias: UnsafePointer<Float>) {
        for r in 0..<rows {
            let yr = y + r * ld
            for c in 0..<cols { yr[c] += bias[c] }
        }
    }

    /// dst[r, c] += src[r, c].
    static func add(_ dst: UnsafeMutablePointer<Float>, ldDst: Int, _ src: UnsafePointer<Float>, ldSrc: Int,
                    rows: Int, cols: Int) {
        for r in 0..<rows {
            let d = dst + r * ldDst, s = src + r * ldSrc
            for c in 0..<cols { d[c] += s[c] }
        }
    }

    /// Applies `activation` in place to rows x cols (leading dimension ld).
    static func activate(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ld: Int, _ activation: Activation) {
        for r in 0..<rows {
            let p = x + r * ld
            switch activation {
            case .silu: for c in 0..<cols { let v = p[c]; p[c] = v / (1 + expf(-v)) }
            case .geluErf: for c in 0..<cols { let v = p[c]; p[c] = 0.5 * v * (1 + erff(v * 0.70710678118654752)) }
            case .geluTanh: VectorTanh.geluTanhInPlace(p, count: cols)
            case .relu: for c in 0..<cols { p[c] = Swift.max(p[c], 0) }
            }
        }
    }

    /// SwiGLU on a fused [gate | up] buffer: gate[r, c] = act(gate[r, c]) * up[r, c] in place.
    static func gatedActivation(_ x: UnsafeMutablePointer<Float>, rows: Int, width: Int, ld: Int, _ activation: Activation) {
        activate(x, rows: rows, cols: width, ld: ld, activation)
        for r in 0..<rows {
            let g = x + r * ld, u = g + width
            for c in 0..<width { g[c] *= u[c] }
        }
    }

    /// log-sum-exp of one logits row (max-shifted, float64 accumulation) and its first argmax.
    static func logSumExp(_ row: UnsafePointer<Float>, count: Int) -> (lse: Double, argmax: Int) {
        var best = row[0], arg = 0
        for i in 1..<count where row[i] > best { best = row[i]; arg = i }
        var sum = 0.0
        for i in 0..<count { sum += Double(expf(row[i] - best)) }
        return (Double(best) + Foundation.log(sum), arg)
    }
}

/// Feed-forward nonlinearities by their transformers names.
enum Activation: Sendable {
    case silu, geluErf, geluTanh, relu

    init(configName: String) throws {
        switch configName {
        case "silu", "swish": self = .silu
        case "gelu": self = .geluErf
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": self = .geluTanh
        case "relu": self = .relu
        default: throw EngineError("activation \"\(configName)\" is not supported (supported: silu, gelu, gelu_new, gelu_pytorch_tanh, relu)")
        }
    }
}
