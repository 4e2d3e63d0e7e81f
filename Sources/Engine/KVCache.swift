/// Keys and values of one sequence for every layer, in one contiguous buffer laid out
/// [layer][k|v][kvHead][capacity][headDim], so each head's keys are a row-major [positions, headDim]
/// matrix that sgemm reads directly.
public final class KVCache: @unchecked Sendable {
    public let capacity: Int
    /// Positions filled so far (the next token goes at position `count`).
    public internal(set) var count: Int = 0
    let layers: Int
    let kvHeads: Int
    let headDim: Int
    let storage: FloatBuffer

    init(layers: Int, kvHeads: Int, headDim: Int, capacity: Int) {
        self.layers = layers
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.capacity = capacity
        storage = FloatBuffer(count: layers * 2 * kvHeads * capacity * headDim, zeroed: false)
    }

    @inline(__always)
    func keys(layer: Int, head: Int) -> UnsafeMutablePointer<Float> {
        storage.pointer + ((layer * 2) * kvHeads + head) * capacity * headDim
    }

    @inline(__always)
    func values(layer: Int, head: Int) -> UnsafeMutablePointer<Float> {
        storage.pointer + ((layer * 2 + 1) * kvHeads + head) * capacity * headDim
    }

    /// Starts this cache as a copy of the first `positions` positions of `other` (a shared prefix).
    func copyPrefix(from other: KVCache, positions: Int) {
        precondition(positions <= other.count && positions <= capacity && other.kvHeads == kvHeads && other.layers == layers)
        for l in 0..<layers {
            for h in 0..<kvHeads {
                keys(layer: l, head: h).update(from: other.keys(layer: l, head: h), count: positions * headDim)
                values(layer: l, head: h).update(from: other.values(layer: l, head: h), count: positions * headDim)
            }
        }
        count = positions
    }
}

/// The token rows of one forward call: several sequences (segments) concatenated, each
/// continuing its own KV cache. Linear layers see all rows at once; attention runs per segment,
/// so no sequence ever sees another's keys.
struct Batch {
    struct Segment {
        let cache: KVCache
        let rowStart: Int
        let rows: Int
        /// Position of the segment's first row (the cache's count before this call).
        let positionStart: Int
    }
    let segments: [Segment]
    let rows: Int
    /// Position of every row.
    let positions: [Int32]

    init(_ parts: [(cache: KVCache, count: Int)]) {
        var segments: [Segment] = []
        var positions: [Int32] = []
        var row = 0
        for (cache, count) in parts {
            segments.append(Segment(cache: cache, rowStart: row, rows: count, positionStart: cache.count))
            for i in 0..<count { positions.append(Int32(cache.count + i)) }
            row += count
        }
        self.segments = segments
        self.rows = row
        self.positions = positions
    }
}
