import Foundation

/// Writes safetensors files for tests, including deliberately broken ones: the header can be
/// overridden or the bytes truncated after the fact.
public struct SafetensorsWriter {
    public struct Entry {
        public var name: String
        public var dtype: String
        public var shape: [Int]
        public var data: Data
        public init(name: String, dtype: String = "F32", shape: [Int], data: Data) {
            self.name = name; self.dtype = dtype; self.shape = shape; self.data = data
        }
        public init(name: String, shape: [Int], floats: [Float]) {
            self.init(name: name, dtype: "F32", shape: shape,
                      data: floats.withUnsafeBufferPointer { Data(buffer: $0) })
        }
    }

    public var entries: [Entry] = []
    public init(_ entries: [Entry] = []) { self.entries = entries }

    /// The header JSON the entries imply (offsets contiguous in entry order).
    public func header() -> String {
        var offset = 0
        var parts: [String] = []
        for e in entries {
            let end = offset + e.data.count
            parts.append("\"\(e.name)\":{\"dtype\":\"\(e.dtype)\",\"shape\":[\(e.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        return "{" + parts.joined(separator: ",") + "}"
    }

    /// File bytes; `headerOverride` replaces the JSON, `lengthOverride` the 8-byte length.
    public func bytes(headerOverride: String? = nil, lengthOverride: UInt64? = nil) -> Data {
        var json = Data((headerOverride ?? header()).utf8)
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var length = (lengthOverride ?? UInt64(json.count)).littleEndian
        var out = Data(bytes: &length, count: 8)
        out.append(json)
        for e in entries { out.append(e.data) }
        return out
    }

    @discardableResult
    public func write(to url: URL, headerOverride: String? = nil, lengthOverride: UInt64? = nil, truncateBy: Int = 0) throws -> URL {
        var data = bytes(headerOverride: headerOverride, lengthOverride: lengthOverride)
        if truncateBy > 0 { data = data.prefix(data.count - truncateBy) }
        try data.write(to: url)
        return url
    }
}

/// Deterministic pseudo-random numbers (SplitMix64) so tests do not depend on the platform RNG.
public struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Standard normal by Box-Muller.
    public mutating func gaussian() -> Double {
        let u1 = max(Double.leastNonzeroMagnitude, Double.random(in: 0..<1, using: &self))
        let u2 = Double.random(in: 0..<1, using: &self)
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }
}
