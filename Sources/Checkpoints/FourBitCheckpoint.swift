import Foundation
import JSONReader

/// What to quantize a 16/32-bit checkpoint to at load (`--quantize`), or how a saved 4-bit
/// checkpoint is computed with. Which modules: the linear layers of the blocks, as transformers
/// quantizes them; never embeddings, norms or the LM head; `skipModules` as transformers'
/// llm_int8_skip_modules.
public struct QuantizationSettings: Sendable, Equatable, Codable {
    public var type: FourBitType
    public var doubleQuant: Bool
    public var blocksize: Int
    /// bf16, f16 or f32: what the dequantized weights are rounded to before the matmul.
    public var computeDType: DType
    public var skipModules: [String]

    public init(type: FourBitType, doubleQuant: Bool = false, blocksize: Int = 64, computeDType: DType = .bf16,
                skipModules: [String] = []) {
        self.type = type
        self.doubleQuant = doubleQuant
        self.blocksize = blocksize
        self.computeDType = computeDType
        self.skipModules = skipModules
    }

    /// The QLoRA paper's setup: NF4, double quantization, bfloat16 compute.
    public static let qlora = QuantizationSettings(type: .nf4, doubleQuant: true, blocksize: 64, computeDType: .bf16)

    public static let computeDTypes: [String: DType] = ["bf16": .bf16, "bfloat16": .bf16, "fp16": .f16, "float16": .f16,
                                                        "fp32": .f32, "float32": .f32]

    public static func dtypeName(_ d: DType) -> String {
        switch d {
        case .bf16: "bf16"
        case .f16: "fp16"
        default: "fp32"
        }
    }

    /// Stable text for fingerprints and reports, e.g. "nf4+dq/b64/bf16".
    public var descriptor: String {
        "\(type.rawValue)\(doubleQuant ? "+dq" : "")/b\(blocksize)/\(Self.dtypeName(computeDType))"
            + (skipModules.isEmpty ? "" : "/skip=\(skipModules.sorted().joined(separator: ","))")
    }

    /// A checkpoint's content fingerprint extended with the 4-bit form it runs in, so stored
    /// results of an NF4 run never answer a 16-bit one or the reverse.
    public static func fingerprint(_ base: String, _ quantization: QuantizationSettings?) -> String {
        guard let quantization else { return base }
        return base + "+q4:" + quantization.descriptor
    }

    /// transformers' rule for modules_to_not_convert: the module itself or any module under it.
    public func skips(module: String) -> Bool {
        skipModules.contains { key in module == key || module.hasSuffix("." + key) || module.contains(key + ".") }
    }

    public func validate() throws {
        guard FourBitTensor.validBlocksizes.contains(blocksize) else {
            throw CheckpointError(file: "", field: "blocksize", "\(blocksize) is not one of \(FourBitTensor.validBlocksizes.map(String.init).joined(separator: ", "))")
        }
        guard [.bf16, .f16, .f32].contains(computeDType) else {
            throw CheckpointError(file: "", field: "compute_dtype", "must be bf16, fp16 or fp32")
        }
    }
}

/// config.json's `quantization_config` of a transformers bitsandbytes 4-bit checkpoint.
public struct SavedQuantizationConfig: Sendable, Equatable {
    public var type: FourBitType
    public var doubleQuant: Bool
    public var computeDType: DType
    public var skipModules: [String]

    /// nil when config.json has no quantization_config; errors for one forgetlens cannot read.
    public static func load(configPath: String) throws -> SavedQuantizationConfig? {
        let fields = try JSONFields.load(configPath)
        guard let q = try fields.nested("quantization_config") else { return nil }
        let method = try q.string("quant_method") ?? "bitsandbytes"
        guard method == "bitsandbytes" else {
            throw q.error("quant_method", "\"\(method)\" is not supported (only bitsandbytes 4-bit checkpoints)")
        }
        guard try q.bool("load_in_4bit") == true else {
            throw q.error("load_in_4bit", "only 4-bit bitsandbytes checkpoints are supported (8-bit is not)")
        }
        let typeName = try q.string("bnb_4bit_quant_type") ?? "fp4"
        guard let type = FourBitType(rawValue: typeName) else {
            throw q.error("bnb_4bit_quant_type", "\"\(typeName)\" is not nf4 or fp4")
        }
        let computeName = try q.string("bnb_4bit_compute_dtype") ?? "float32"
        guard let compute = QuantizationSettings.computeDTypes[computeName] else {
            throw q.error("bnb_4bit_compute_dtype", "\"\(computeName)\" is not bfloat16, float16 or float32")
        }
        return SavedQuantizationConfig(type: type, doubleQuant: try q.bool("bnb_4bit_use_double_quant") ?? false,
                                       computeDType: compute, skipModules: try q.strings("llm_int8_skip_modules") ?? [])
    }
}

/// Reading one quantized weight of a saved checkpoint: `W` (the packed bytes in any storage
/// dtype), `W.absmax`, `W.quant_map`, with double quantization `W.nested_absmax` and
/// `W.nested_quant_map`, and `W.quant_state.bitsandbytes__nf4|fp4` (JSON bytes). Every
/// inconsistency is an error naming the tensor.
public enum FourBitCheckpoint {
    static let statePrefix = ".quant_state.bitsandbytes__"

    /// The quant_state tensor of `weight`, when the checkpoint holds it quantized.
    public static func stateTensor(_ weight: String, in store: TensorStore) -> String? {
        for t in FourBitType.allCases where store.contains(weight + statePrefix + t.rawValue) {
            return weight + statePrefix + t.rawValue
        }
        return nil
    }

    /// Tensors that belong to quantized weights' state (not weights of the model themselves).
    public static func isStateTensor(_ name: String, in store: TensorStore) -> Bool {
        for suffix in [".absmax", ".quant_map", ".nested_absmax", ".nested_quant_map"] where name.hasSuffix(suffix) {
            if stateTensor(String(name.dropLast(suffix.count)), in: store) != nil { return true }
        }
        return name.contains(statePrefix)
    }

    /// The blocksize of the first quantized weight of `store` (transformers uses one for all).
    public static func blocksize(in store: TensorStore) -> Int? {
        guard let state = store.names.first(where: { $0.contains(statePrefix) }) else { return nil }
        let weight = String(state[..<state.range(of: statePrefix)!.lowerBound])
        return try? stateJSON(weight, store: store).blocksize
    }

    /// The shape the quantized weight had ([out, in]), from its quant_state; nil if not quantized.
    public static func logicalShape(_ weight: String, in store: TensorStore) -> [Int]? {
        guard stateTensor(weight, in: store) != nil else { return nil }
        return try? stateJSON(weight, store: store).shape
    }

    struct State {
        var type: FourBitType
        var blocksize: Int
        var dtype: DType
        var shape: [Int]
        var nestedBlocksize: Int?
        var nestedOffset: Float?
    }

    static func stateJSON(_ weight: String, store: TensorStore) throws -> State {
        guard let name = stateTensor(weight, in: store) else {
            throw CheckpointError(file: store.location, field: weight, "not a 4-bit tensor (no quant_state)")
        }
        let fail = { (problem: String) in CheckpointError(file: store.location, field: name, problem) }
        let bytes = try store.rawBytes(name)
        // bitsandbytes reads this with Python's json (a key written twice keeps its last value).
        guard let members = (try? JSONReader.parse(bytes))?.dictionaryMembers else {
            throw fail("is not the bytes of a JSON object (bitsandbytes quant_state)")
        }
        let object = JSONFields(file: store.location, prefix: name, members: members)
        func shown(_ key: String) -> String { object.value(key).map(JSONFields.describe) ?? "missing" }
        guard let typeName = object.value("quant_type")?.stringValue, let type = FourBitType(rawValue: typeName) else {
            throw fail("quant_type \(shown("quant_type")) is not nf4 or fp4")
        }
        guard name.hasSuffix(typeName) else { throw fail("quant_type \(typeName) does not match the tensor's name") }
        guard let blocksize = object.value("blocksize").flatMap(Self.integerLiteral), FourBitTensor.validBlocksizes.contains(blocksize) else {
            throw fail("blocksize \(shown("blocksize")) is not one of \(FourBitTensor.validBlocksizes)")
        }
        let dtypes: [String: DType] = ["float32": .f32, "bfloat16": .bf16, "float16": .f16]
        guard let dtypeName = object.value("dtype")?.stringValue, let dtype = dtypes[dtypeName] else {
            throw fail("dtype \(shown("dtype")) is not float32, bfloat16 or float16")
        }
        guard let shape = object.value("shape")?.arrayValue?.compactMap(Self.integerLiteral), shape.count == 2,
              object.value("shape")?.arrayValue?.count == 2, shape.allSatisfy({ $0 > 0 }) else {
            throw fail("shape \(shown("shape")) is not a 2-D shape of positive sizes")
        }
        // Far above any real weight; keeps the element, byte and block counts from overflowing.
        let (elements, overflow) = shape[0].multipliedReportingOverflow(by: shape[1])
        guard !overflow, elements <= 1 << 48 else { throw fail("shape \(shape) has more than 2^48 elements") }
        var state = State(type: type, blocksize: blocksize, dtype: dtype, shape: shape)
        if object.contains("nested_blocksize") || object.contains("nested_offset") {
            guard let nb = object.value("nested_blocksize").flatMap(Self.integerLiteral), (1...(1 << 20)).contains(nb) else {
                throw fail("nested_blocksize \(shown("nested_blocksize")) is not a positive integer up to 2^20 (bitsandbytes writes 256)")
            }
            guard let offset = object.value("nested_offset")?.numberValue?.double, offset.isFinite else {
                throw fail("nested_offset missing or not a number")
            }
            if let nd = object.value("nested_dtype")?.stringValue, nd != "float32" { throw fail("nested_dtype \(nd) is not float32") }
            state.nestedBlocksize = nb
            state.nestedOffset = Float(offset)
        }
        return state
    }

    /// An integer written as one (Python's json gives int only for those).
    private static func integerLiteral(_ value: JSON) -> Int? { value.numberValue?.int }

    /// The quantized weight `weight` of `store`.
    public static func read(_ weight: String, store: TensorStore) throws -> FourBitTensor {
        let state = try stateJSON(weight, store: store)
        let n = state.shape.reduce(1, *)
        let blocks = (n + state.blocksize - 1) / state.blocksize
        let packed = Array(try store.rawBytes(weight))
        guard packed.count == (n + 1) / 2 else {
            throw CheckpointError(file: store.location, field: weight,
                                  "holds \(packed.count) bytes but a 4-bit \(state.shape) tensor needs \((n + 1) / 2)")
        }
        func floats(_ name: String, count: Int) throws -> [Float] {
            let info = try store.require(name)
            guard info.dtype == .f32, info.elementCount == count else {
                throw CheckpointError(file: store.location, field: name, "expected \(count) float32 values, found \(info.elementCount) \(info.dtype.rawValue)")
            }
            return try store.floats(name)
        }
        if store.contains(weight + ".quant_map") {
            let map = try floats(weight + ".quant_map", count: 16)
            guard map.map(\.bitPattern) == state.type.code.map(\.bitPattern) else {
                throw CheckpointError(file: store.location, field: weight + ".quant_map", "is not bitsandbytes' \(state.type.rawValue) code table")
            }
        }
        let absmax: FourBitAbsmax
        if let nb = state.nestedBlocksize, let offset = state.nestedOffset {
            let info = try store.require(weight + ".absmax")
            guard info.dtype == .u8, info.elementCount == blocks else {
                throw CheckpointError(file: store.location, field: weight + ".absmax",
                                      "expected \(blocks) uint8 codes (one per block of \(state.blocksize)), found \(info.elementCount) \(info.dtype.rawValue)")
            }
            let nested = try floats(weight + ".nested_absmax", count: (blocks + nb - 1) / nb)
            let map = try floats(weight + ".nested_quant_map", count: 256)
            absmax = .nested(codes: Array(try store.rawBytes(weight + ".absmax")), nestedAbsmax: nested, nestedMap: map,
                             offset: offset, nestedBlocksize: nb)
        } else {
            absmax = .plain(try floats(weight + ".absmax", count: blocks))
        }
        return FourBitTensor(type: state.type, blocksize: state.blocksize, shape: state.shape, dtype: state.dtype,
                             packed: packed, absmax: absmax)
    }
}
