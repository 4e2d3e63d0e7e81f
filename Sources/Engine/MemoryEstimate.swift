import Checkpoints
import Foundation

/// What a model will occupy once loaded in the chosen form, checked against what the machine
/// can give before a byte is read: a 7B checkpoint expanded to float32 on a 24 GB machine
/// otherwise dies by SIGABRT or the OOM killer minutes in.
public struct MemoryEstimate: Sendable, Equatable {
    /// Resident weights in bytes.
    public var weights: Int
    /// Working memory on top: activations, KV caches, weight tiles, one mapped tensor at a time.
    public var working: Int
    public var total: Int { weights + working }

    /// The resident size of `model`'s weights: float32 tensors 4 bytes per element, bf16/fp16
    /// 2 (kept as stored), 4-bit weights their packed bytes and scales (saved, or as
    /// `quantization` would make them), LoRA-merged 16-bit weights widened to float32.
    public static func of(model: ModelDirectory, quantization: QuantizationSettings?, adapter: LoRAAdapter? = nil,
                          mode: AdapterMode = .merged) -> MemoryEstimate {
        let store = model.tensors
        let merged = Set(mode == .merged ? (adapter?.modules.map(\.baseTensor) ?? []) : [])
        var weights = 0, largest = 0
        for name in store.names {
            guard let info = store.info(name), !FourBitCheckpoint.isStateTensor(name, in: store) else { continue }
            let n = info.elementCount
            largest = max(largest, info.byteRange.count)
            if let shape = FourBitCheckpoint.logicalShape(name, in: store) {
                let count = shape.reduce(1, *)
                weights += (count + 1) / 2 + (count / 32 + 1) * 4 // packed codes + scales (at most blocksize 32, fp32)
                continue
            }
            if let q = quantization, quantizable(name, model.config), !q.skips(module: String(name.dropLast(".weight".count))) {
                let blocks = (n + q.blocksize - 1) / q.blocksize
                weights += (n + 1) / 2 + (q.doubleQuant ? blocks + 4 * (blocks / 256 + 1) : 4 * blocks)
                continue
            }
            switch info.dtype {
            case .bf16, .f16: weights += (merged.contains(name) ? 4 : 2) * n
            default: weights += 4 * n
            }
        }
        let c = model.config
        // activations and caches of a typical scoring batch (a few thousand tokens), tiles, the
        // largest mapped tensor while it is read, and the allocator's slack
        let tokens = 4096
        let activations = tokens * (4 * c.hiddenSize + 2 * c.intermediateSize + (c.headCount + 2 * c.kvHeadCount) * c.headDim) * 4
        let cache = tokens * c.layerCount * 2 * c.kvHeadCount * c.headDim * 4
        let logits = 64 * c.vocabSize * 4
        return MemoryEstimate(weights: weights, working: activations + cache + logits + largest + (64 << 20))
    }

    /// The block linear weights transformers would quantize (Llama family: *_proj.weight in layers).
    static func quantizable(_ name: String, _ config: ModelConfig) -> Bool {
        config.layout.supportsFourBit && name.contains("layers.") && name.hasSuffix("_proj.weight")
    }

    /// Bytes this process can still use: the smallest of MemAvailable, the cgroup's headroom and
    /// the address-space limit's headroom. nil when none can be read.
    /// FORGETLENS_MEMORY_AVAILABLE (bytes) overrides, for tests and for machines that lie.
    public static func available() -> Int? {
        if let text = ProcessInfo.processInfo.environment["FORGETLENS_MEMORY_AVAILABLE"], let v = Int(text) { return v }
        var limits: [Int] = []
        if let meminfo = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
           let kb = field(meminfo, "MemAvailable:") { limits.append(kb * 1024) }
        if let maxText = try? String(contentsOfFile: "/sys/fs/cgroup/memory.max", encoding: .utf8),
           let max = Int(maxText.trimmingCharacters(in: .whitespacesAndNewlines)),
           let curText = try? String(contentsOfFile: "/sys/fs/cgroup/memory.current", encoding: .utf8),
           let current = Int(curText.trimmingCharacters(in: .whitespacesAndNewlines)) {
            limits.append(max - current)
        }
        var rl = rlimit()
        if getrlimit(Int32(RLIMIT_AS.rawValue), &rl) == 0, rl.rlim_cur != rlim_t.max,
           let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8), let vm = field(status, "VmSize:") {
            limits.append(Int(clamping: rl.rlim_cur) - vm * 1024)
        }
        return limits.min()
    }

    private static func field(_ text: String, _ key: String) -> Int? {
        for line in text.split(separator: "\n") where line.hasPrefix(key) {
            return Int(line.dropFirst(key.count).split(separator: " ").first ?? "")
        }
        return nil
    }

    static func gib(_ bytes: Int) -> String { String(format: "%.1f GiB", Double(bytes) / Double(1 << 30)) }

    /// Throws when the estimate exceeds what is available, naming both and an option that fits.
    public static func check(model: ModelDirectory, quantization: QuantizationSettings?, adapter: LoRAAdapter?,
                             mode: AdapterMode, saved: Bool) throws {
        guard let available = available() else { return }
        let need = of(model: model, quantization: quantization, adapter: adapter, mode: mode)
        guard need.total > available else { return }
        var advice = ""
        if quantization == nil && !saved && model.config.layout.supportsFourBit {
            let nf4 = of(model: model, quantization: .qlora, adapter: adapter, mode: .unmerged)
            advice = nf4.total <= available
                ? "; with --quantize nf4 --double-quant it needs about \(gib(nf4.total)), which fits"
                : "; even --quantize nf4 --double-quant needs about \(gib(nf4.total))"
        }
        throw EngineError("\(model.path): loading needs about \(gib(need.total)) (weights \(gib(need.weights)) + working memory \(gib(need.working))) but only \(gib(available)) is available\(advice)")
    }
}
