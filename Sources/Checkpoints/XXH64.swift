/// XXH64 (Yann Collet's xxHash, 64-bit variant), written from the published specification.
/// Why our own: checkpoint fingerprints hash gigabytes and need a fast, well-known, stable
/// function (users can check with `xxhsum -H1`); no package on this machine provides one,
/// and a cryptographic hash would be several times slower for no gain here.
public struct XXH64: Sendable {
    static let p1: UInt64 = 0x9E37_79B1_85EB_CA87
    static let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    static let p3: UInt64 = 0x1656_67B1_9E37_79F9
    static let p4: UInt64 = 0x85EB_CA77_C2B2_AE63
    static let p5: UInt64 = 0x27D4_EB2F_1656_67C5

    private var v1, v2, v3, v4: UInt64
    private let seed: UInt64
    private var total: UInt64 = 0
    private var buffer: [UInt8] = []

    public init(seed: UInt64 = 0) {
        self.seed = seed
        v1 = seed &+ Self.p1 &+ Self.p2
        v2 = seed &+ Self.p2
        v3 = seed
        v4 = seed &- Self.p1
        buffer.reserveCapacity(32)
    }

    @inline(__always) static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
        var a = acc &+ input &* p2
        a = (a << 31) | (a >> 33)
        return a &* p1
    }

    @inline(__always) static func merge(_ acc: UInt64, _ v: UInt64) -> UInt64 {
        (acc ^ round(0, v)) &* p1 &+ p4
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        total &+= UInt64(bytes.count)
        var offset = 0
        if !buffer.isEmpty {
            let take = min(32 - buffer.count, bytes.count)
            buffer.append(contentsOf: bytes[0..<take])
            offset = take
            if buffer.count == 32 {
                buffer.withUnsafeBytes { consumeStripe($0.baseAddress!) }
                buffer.removeAll(keepingCapacity: true)
            }
        }
        let base = bytes.baseAddress!
        while bytes.count - offset >= 32 {
            consumeStripe(base + offset)
            offset += 32
        }
        if offset < bytes.count { buffer.append(contentsOf: bytes[offset...]) }
    }

    public mutating func update<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        Array(bytes).withUnsafeBytes { update($0) }
    }

    @inline(__always) private mutating func consumeStripe(_ p: UnsafeRawPointer) {
        v1 = Self.round(v1, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 0, as: UInt64.self)))
        v2 = Self.round(v2, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        v3 = Self.round(v3, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 16, as: UInt64.self)))
        v4 = Self.round(v4, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 24, as: UInt64.self)))
    }

    public func digest() -> UInt64 {
        var h: UInt64
        if total >= 32 {
            h = ((v1 << 1) | (v1 >> 63)) &+ ((v2 << 7) | (v2 >> 57)) &+ ((v3 << 12) | (v3 >> 52)) &+ ((v4 << 18) | (v4 >> 46))
            h = Self.merge(h, v1); h = Self.merge(h, v2); h = Self.merge(h, v3); h = Self.merge(h, v4)
        } else {
            h = seed &+ Self.p5
        }
        h &+= total
        var i = 0
        let tail = buffer
        while i + 8 <= tail.count {
            var k: UInt64 = 0
            for j in 0..<8 { k |= UInt64(tail[i + j]) << (8 * UInt64(j)) }
            h ^= Self.round(0, k)
            h = ((h << 27) | (h >> 37)) &* Self.p1 &+ Self.p4
            i += 8
        }
        if i + 4 <= tail.count {
            var k: UInt64 = 0
            for j in 0..<4 { k |= UInt64(tail[i + j]) << (8 * UInt64(j)) }
            h ^= k &* Self.p1
            h = ((h << 23) | (h >> 41)) &* Self.p2 &+ Self.p3
            i += 4
        }
        while i < tail.count {
            h ^= UInt64(tail[i]) &* Self.p5
            h = ((h << 11) | (h >> 53)) &* Self.p1
            i += 1
        }
        h ^= h >> 33
        h &*= Self.p2
        h ^= h >> 29
        h &*= Self.p3
        h ^= h >> 32
        return h
    }

    public static func hash(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        var h = XXH64(seed: seed)
        h.update(bytes)
        return h.digest()
    }
}
