import Foundation

/// HF's BPE model: a word becomes its initial symbols (bytes for byte-level tokenizers, Unicode
/// scalars otherwise), then the adjacent pair with the lowest merge rank is merged, leftmost
/// first, until no pair has a rank. That is what HF's heap-based `Word::merge_all` computes.
final class BPEModel: @unchecked Sendable {
    // Immutable after init, so sharing across threads is safe; the cache has its own lock.
    /// Token id by exact UTF-8 (a Swift [String: Int] would merge canonically equivalent tokens).
    let vocab: ByteStringMap<Int32>
    let tokens: [Int: String]
    let byteLevel: Bool
    let unkId: Int32?
    let fuseUnk: Bool
    let byteFallback: Bool
    let ignoreMerges: Bool
    let prefix: [UInt8]?
    let suffix: [UInt8]?

    /// Token id by its bytes: raw bytes for byte-level models (GPT-2 mapping undone), UTF-8 otherwise.
    private let lookup: ByteStringMap<Int32>
    /// Byte-level: id of the single-character token for each byte, or -1.
    private let byteIds: [Int32]
    /// Scalar mode: id of the single-scalar token (ASCII table + dictionary for the rest).
    private let asciiIds: [Int32]
    private let scalarIds: [UInt32: Int32]
    /// Ids of "<0x00>"..."<0xFF>" for byte_fallback, or -1.
    private let fallbackIds: [Int32]
    private let merges: MergeTable
    private let cache = WordCache(capacity: 10_000)

    static let supported = ["BPE"]

    init(json: JSONNode, byteLevel: Bool) throws {
        if json.has("type") {
            _ = try json.componentType(Self.supported)
        } else if !json.has("merges") {
            throw json.unsupported("model without \"type\" is not a BPE model (supported: BPE)")
        }
        if let d = try json.optional("dropout"), try d.double() != 0 {
            throw d.unsupported("BPE dropout \(try d.double()) is not supported (must be null): it makes encoding random")
        }
        self.byteLevel = byteLevel

        let entries = try json.required("vocab").object()
        var vocab = ByteStringMap<Int32>(capacity: entries.count)
        var tokens: [Int: String] = [:]
        for (token, node) in entries {
            let id = try node.int()
            guard id >= 0 && id < Int(Int32.max) else { throw node.malformed("token id \(id) out of range") }
            vocab.set(Array(token.utf8), Int32(id))
            tokens[id] = token
        }
        self.vocab = vocab
        self.tokens = tokens

        fuseUnk = try json.bool("fuse_unk", default: false)
        byteFallback = try json.bool("byte_fallback", default: false)
        ignoreMerges = try json.bool("ignore_merges", default: false)
        prefix = try json.string("continuing_subword_prefix").map { Array($0.utf8) }
        suffix = try json.string("end_of_word_suffix").map { Array($0.utf8) }
        if let unk = try json.optional("unk_token") {
            let name = try unk.string()
            guard let id = vocab.get(Array(name.utf8)) else {
                throw unk.malformed("unk_token \"\(name)\" is not in model.vocab")
            }
            unkId = Int32(id)
        } else {
            unkId = nil
        }

        var lookup = ByteStringMap<Int32>(capacity: byteLevel ? vocab.count : 0)
        var byteIds = [Int32](repeating: -1, count: 256)
        var asciiIds = [Int32](repeating: -1, count: 128)
        var scalarIds: [UInt32: Int32] = [:]
        var fallbackIds = [Int32](repeating: -1, count: 256)
        for (id, token) in tokens {
            if byteLevel {
                if let raw = ByteLevelAlphabet.rawBytes(of: token) {
                    lookup.set(raw, Int32(id))
                    if raw.count == 1 { byteIds[Int(raw[0])] = Int32(id) }
                }
            } else {
                let scalars = token.unicodeScalars
                if scalars.count == 1, let s = scalars.first?.value {
                    if s < 128 { asciiIds[Int(s)] = Int32(id) } else { scalarIds[s] = Int32(id) }
                }
            }
            let u = Array(token.utf8)
            if u.count == 6, token.hasPrefix("<0x"), u[5] == UInt8(ascii: ">"),
               let b = UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16),
               token == String(format: "<0x%02X>", b) {
                fallbackIds[Int(b)] = Int32(id)
            }
        }
        self.lookup = byteLevel ? lookup : vocab
        self.byteIds = byteIds
        self.asciiIds = asciiIds
        self.scalarIds = scalarIds
        self.fallbackIds = fallbackIds
        self.merges = try Self.parseMerges(json.optional("merges"), vocab: vocab, prefix: prefix)
    }

    /// Merges as "a b" strings (tokenizers < 0.20) or ["a", "b"] pairs. The merged token is
    /// a + b with b's continuing_subword_prefix removed, as in HF.
    private static func parseMerges(_ node: JSONNode?, vocab: ByteStringMap<Int32>, prefix: [UInt8]?) throws -> MergeTable {
        guard let node else { return MergeTable(capacity: 0) }
        let items = try node.array()
        var table = MergeTable(capacity: items.count)
        for (rank, item) in items.enumerated() {
            let a: String
            let b: String
            if let line = item.stringValue {
                let parts = line.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw item.malformed("merge \"\(line)\" is not two tokens separated by one space") }
                a = String(parts[0])
                b = String(parts[1])
            } else {
                let pair = try item.array()
                guard pair.count == 2 else { throw item.malformed("a merge must have exactly two tokens") }
                a = try pair[0].string()
                b = try pair[1].string()
            }
            guard let aId = vocab.get(Array(a.utf8)) else { throw item.malformed("merge names token \"\(a)\" which is not in model.vocab") }
            guard let bId = vocab.get(Array(b.utf8)) else { throw item.malformed("merge names token \"\(b)\" which is not in model.vocab") }
            var tail = Array(b.utf8)
            if let prefix, tail.count >= prefix.count { tail.removeFirst(prefix.count) }
            let mergedBytes = Array(a.utf8) + tail
            guard let merged = vocab.get(mergedBytes) else {
                throw item.malformed("merged token \"\(String(decoding: mergedBytes, as: UTF8.self))\" is not in model.vocab")
            }
            table.set(aId, bId, rank: Int32(rank), merged: merged)
        }
        return table
    }

    /// Reusable buffers for one encode call, so words do not allocate.
    struct Scratch {
        var symbols = ContiguousArray<Int32>()
        var ranks = ContiguousArray<Int32>()
        var mergedIds = ContiguousArray<Int32>()
        var key = [UInt8]()
    }

    /// Encodes one pre-tokenized word, appending its ids to `out`.
    func encode(word w: UnsafeBufferPointer<UInt8>, into out: inout [Int], scratch: inout Scratch) {
        guard !w.isEmpty else { return }
        if ignoreMerges, let id = lookup.get(w) {
            out.append(Int(id))
            return
        }
        let cacheable = w.count < 256
        if cacheable && cache.get(w, into: &out) { return }
        initialSymbols(w, &scratch)
        merge(&scratch)
        if cacheable { cache.insert(w, scratch.symbols) }
        for id in scratch.symbols { out.append(Int(id)) }
    }

    /// One word's ids without the cache, by the scan or the heap merge (tests compare the two).
    func mergedSymbols(of word: [UInt8], heap: Bool) -> [Int32] {
        var scratch = Scratch()
        word.withUnsafeBufferPointer { initialSymbols($0, &scratch) }
        merge(&scratch, forceHeap: heap)
        if !heap, scratch.symbols.count > 1, word.count > 0 {
            // merge() picks the heap for long words on its own; force the scan for the comparison.
            var scan = Scratch()
            word.withUnsafeBufferPointer { initialSymbols($0, &scan) }
            scanMerge(&scan)
            return Array(scan.symbols)
        }
        return Array(scratch.symbols)
    }

    private func initialSymbols(_ w: UnsafeBufferPointer<UInt8>, _ s: inout Scratch) {
        s.symbols.removeAll(keepingCapacity: true)
        var pendingUnk = false
        @inline(__always) func known(_ id: Int32) {
            if pendingUnk, let unkId { s.symbols.append(unkId) }
            pendingUnk = false
            s.symbols.append(id)
        }
        // HF merge_word's miss path: byte_fallback tokens if all exist, else <unk> (fused with
        // a pending one when fuse_unk), else the character is dropped.
        func unknown(_ bytes: UnsafeBufferPointer<UInt8>) {
            if byteFallback && bytes.allSatisfy({ fallbackIds[Int($0)] >= 0 }) {
                // As in HF, a pending <unk> is not flushed here.
                for b in bytes { s.symbols.append(fallbackIds[Int(b)]) }
                return
            }
            guard let unkId else { return }
            if pendingUnk && !fuseUnk { s.symbols.append(unkId) }
            pendingUnk = true
        }
        if byteLevel {
            for b in w {
                let id = byteIds[Int(b)]
                if id >= 0 {
                    known(id)
                } else {
                    let mapped = Array(ByteLevelAlphabet.string(forByte: b).utf8)
                    mapped.withUnsafeBufferPointer { unknown($0) }
                }
            }
        } else if prefix == nil && suffix == nil {
            var i = 0
            while i < w.count {
                let (scalar, n) = UnicodeScan.decode(w, at: i)
                let id = scalar < 128 ? asciiIds[Int(scalar)] : (scalarIds[scalar] ?? -1)
                if id >= 0 { known(id) } else { unknown(UnsafeBufferPointer(rebasing: w[i..<(i + n)])) }
                i += n
            }
        } else {
            var i = 0
            while i < w.count {
                let n = UnicodeScan.length(lead: w[i])
                s.key.removeAll(keepingCapacity: true)
                if i > 0, let prefix { s.key.append(contentsOf: prefix) }
                s.key.append(contentsOf: UnsafeBufferPointer(rebasing: w[i..<(i + n)]))
                if i + n == w.count, let suffix { s.key.append(contentsOf: suffix) }
                let key = s.key
                if let id = lookup.get(key) { known(id) } else { key.withUnsafeBufferPointer { unknown($0) } }
                i += n
            }
        }
        if pendingUnk, let unkId { s.symbols.append(unkId) }
    }

    /// Words up to this many initial symbols merge by linear scans (fewest instructions for
    /// ordinary words); longer ones by a heap, so one long pre-token (a Llama-2-style tokenizer
    /// sees a whole line as one word) costs O(n log n) instead of O(n^2).
    static let heapMergeThreshold = 64

    /// Repeatedly merges the lowest-ranked adjacent pair, leftmost on ties.
    func merge(_ s: inout Scratch, forceHeap: Bool = false) {
        let n = s.symbols.count
        guard n >= 2 else { return }
        if forceHeap || n > Self.heapMergeThreshold { heapMerge(&s) } else { scanMerge(&s) }
    }

    /// Ranks of the pairs in a parallel array, so each step is one linear scan over integers.
    private func scanMerge(_ s: inout Scratch) {
        let n = s.symbols.count
        s.ranks.removeAll(keepingCapacity: true)
        s.mergedIds.removeAll(keepingCapacity: true)
        for i in 0..<(n - 1) {
            let (r, m) = merges.lookup(s.symbols[i], s.symbols[i + 1])
            s.ranks.append(r)
            s.mergedIds.append(m)
        }
        while true {
            var best = -1
            var bestRank = Int32.max
            s.ranks.withUnsafeBufferPointer { r in
                for i in 0..<r.count where r[i] < bestRank {
                    bestRank = r[i]
                    best = i
                }
            }
            if best < 0 { break }
            s.symbols[best] = s.mergedIds[best]
            s.symbols.remove(at: best + 1)
            s.ranks.remove(at: best)
            s.mergedIds.remove(at: best)
            if best > 0 {
                let (r, m) = merges.lookup(s.symbols[best - 1], s.symbols[best])
                s.ranks[best - 1] = r
                s.mergedIds[best - 1] = m
            }
            if best < s.symbols.count - 1 {
                let (r, m) = merges.lookup(s.symbols[best], s.symbols[best + 1])
                s.ranks[best] = r
                s.mergedIds[best] = m
            }
        }
    }

    /// HF's `Word::merge_all`: symbols in a doubly linked list over their original positions and a
    /// min-heap of candidate pairs keyed (rank, left position), so the pop order is lowest rank,
    /// leftmost first, exactly the scan's order. A popped pair is stale when its left symbol was
    /// merged away or its current right neighbour no longer forms a pair of that rank; ranks are
    /// unique per pair, so the rank check identifies the pair.
    private func heapMerge(_ s: inout Scratch) {
        let n = s.symbols.count
        var next = [Int32](unsafeUninitializedCapacity: n) { b, c in
            for i in 0..<n { b[i] = i + 1 < n ? Int32(i + 1) : -1 }
            c = n
        }
        var prev = [Int32](unsafeUninitializedCapacity: n) { b, c in
            for i in 0..<n { b[i] = Int32(i - 1) }
            c = n
        }
        var alive = [Bool](repeating: true, count: n)
        var heap = MinHeap(capacity: n)
        for i in 0..<(n - 1) {
            let r = merges.lookup(s.symbols[i], s.symbols[i + 1]).rank
            if r != Int32.max { heap.push(rank: r, position: Int32(i)) }
        }
        while let (rank, pos32) = heap.pop() {
            let pos = Int(pos32)
            guard alive[pos], next[pos] >= 0 else { continue }
            let right = Int(next[pos])
            let (r, merged) = merges.lookup(s.symbols[pos], s.symbols[right])
            guard r == rank else { continue }
            s.symbols[pos] = merged
            alive[right] = false
            let after = next[right]
            next[pos] = after
            if after >= 0 { prev[Int(after)] = Int32(pos) }
            if prev[pos] >= 0 {
                let left = Int(prev[pos])
                let lr = merges.lookup(s.symbols[left], merged).rank
                if lr != Int32.max { heap.push(rank: lr, position: Int32(left)) }
            }
            if after >= 0 {
                let rr = merges.lookup(merged, s.symbols[Int(after)]).rank
                if rr != Int32.max { heap.push(rank: rr, position: Int32(pos)) }
            }
        }
        var w = 0
        for i in 0..<n where alive[i] {
            s.symbols[w] = s.symbols[i]
            w += 1
        }
        s.symbols.removeLast(n - w)
    }
}

/// Binary min-heap of (rank, position) packed into one UInt64 (rank high, position low), so the
/// ordering "lowest rank, then leftmost" is a single integer comparison.
struct MinHeap {
    private var items: [UInt64] = []

    init(capacity: Int) { items.reserveCapacity(capacity) }

    mutating func push(rank: Int32, position: Int32) {
        items.append(UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(UInt32(bitPattern: position)))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i] < items[parent] else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> (rank: Int32, position: Int32)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1
                let r = l + 1
                var smallest = i
                if l < items.count && items[l] < items[smallest] { smallest = l }
                if r < items.count && items[r] < items[smallest] { smallest = r }
                if smallest == i { break }
                items.swapAt(i, smallest)
                i = smallest
            }
        }
        return (Int32(bitPattern: UInt32(top >> 32)), Int32(bitPattern: UInt32(top & 0xFFFF_FFFF)))
    }
}

/// Word -> ids cache shared by all threads (HF keeps one too). Bounded: once full it stops
/// inserting, like HF's. Guarded by a lock because encode may run concurrently.
final class WordCache: @unchecked Sendable {
    private let lock = NSLock()
    private var map = ByteStringMap<UInt64>(capacity: 1024)
    private var ids: [Int32] = []
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func get(_ word: UnsafeBufferPointer<UInt8>, into out: inout [Int]) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard let packed = map.get(word) else { return false }
        let start = Int(packed >> 32)
        let count = Int(packed & 0xFFFF_FFFF)
        ids.withUnsafeBufferPointer { b in
            for i in start..<(start + count) { out.append(Int(b[i])) }
        }
        return true
    }

    func insert(_ word: UnsafeBufferPointer<UInt8>, _ symbols: ContiguousArray<Int32>) {
        lock.lock()
        defer { lock.unlock() }
        guard map.count < capacity else { return }
        map.set(word, UInt64(ids.count) << 32 | UInt64(symbols.count))
        ids.append(contentsOf: symbols)
    }
}
