/// Allocation-free lookup tables for the encode hot path. Swift's Dictionary would need a
/// `[UInt8]` or `String` key per lookup (an allocation, and String hashing normalizes); these
/// tables hash the bytes in place.

/// Open-addressing map from byte strings to values. Keys live in one arena.
struct ByteStringMap<Value> {
    private var arena: [UInt8] = []
    private var keyStart: [Int32] = []
    private var keyLength: [Int32] = []
    private var values: [Value] = []
    private var slots: [Int32]
    private var mask: Int

    init(capacity: Int = 16) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
    }

    var count: Int { values.count }

    @inline(__always)
    static func hash(_ key: UnsafeBufferPointer<UInt8>) -> Int {
        // FNV-1a; words are short, so a byte loop beats anything fancier here.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }

    @inline(__always)
    private func keyEquals(_ entry: Int, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        let len = Int(keyLength[entry])
        guard len == key.count else { return false }
        let start = Int(keyStart[entry])
        return arena.withUnsafeBufferPointer { a in
            var i = 0
            while i < len {
                if a[start + i] != key[i] { return false }
                i += 1
            }
            return true
        }
    }

    func get(_ key: UnsafeBufferPointer<UInt8>) -> Value? {
        var i = Self.hash(key) & mask
        while true {
            let e = Int(slots[i])
            if e < 0 { return nil }
            if keyEquals(e, key) { return values[e] }
            i = (i + 1) & mask
        }
    }

    func get(_ key: [UInt8]) -> Value? { key.withUnsafeBufferPointer { get($0) } }

    /// Inserts or overwrites.
    mutating func set(_ key: UnsafeBufferPointer<UInt8>, _ value: Value) {
        if (values.count + 1) * 2 > slots.count { grow() }
        var i = Self.hash(key) & mask
        while true {
            let e = Int(slots[i])
            if e < 0 { break }
            if keyEquals(e, key) {
                values[e] = value
                return
            }
            i = (i + 1) & mask
        }
        slots[i] = Int32(values.count)
        keyStart.append(Int32(arena.count))
        keyLength.append(Int32(key.count))
        arena.append(contentsOf: key)
        values.append(value)
    }

    mutating func set(_ key: [UInt8], _ value: Value) { key.withUnsafeBufferPointer { set($0, value) } }

    private mutating func grow() {
        let size = slots.count * 2
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
        arena.withUnsafeBufferPointer { a in
            for e in 0..<values.count {
                let key = UnsafeBufferPointer(rebasing: a[Int(keyStart[e])..<Int(keyStart[e] + keyLength[e])])
                var i = Self.hash(key) & mask
                while slots[i] >= 0 { i = (i + 1) & mask }
                slots[i] = Int32(e)
            }
        }
    }
}

/// Open-addressing map from a pair of token ids to (merge rank, merged id): the BPE merge table.
struct MergeTable {
    private var keys: [UInt64]
    private var ranks: [Int32]
    private var merged: [Int32]
    private var mask: Int
    private(set) var count = 0
    private static let empty = UInt64.max

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: Self.empty, count: size)
        ranks = [Int32](repeating: 0, count: size)
        merged = [Int32](repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always)
    private static func key(_ a: Int32, _ b: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
    }

    @inline(__always)
    private func slot(_ k: UInt64) -> Int {
        Int(truncatingIfNeeded: (k &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    /// Later entries overwrite earlier ones, as HF's HashMap collect does for duplicate merges.
    mutating func set(_ a: Int32, _ b: Int32, rank: Int32, merged m: Int32) {
        let k = Self.key(a, b)
        var i = slot(k)
        while keys[i] != Self.empty && keys[i] != k { i = (i + 1) & mask }
        if keys[i] == Self.empty { count += 1 }
        keys[i] = k
        ranks[i] = rank
        merged[i] = m
    }

    /// (rank, merged id) of the pair, or rank Int32.max when the pair never merges.
    @inline(__always)
    func lookup(_ a: Int32, _ b: Int32) -> (rank: Int32, merged: Int32) {
        let k = Self.key(a, b)
        var i = slot(k)
        while true {
            let stored = keys[i]
            if stored == k { return (ranks[i], merged[i]) }
            if stored == Self.empty { return (Int32.max, -1) }
            i = (i + 1) & mask
        }
    }
}
