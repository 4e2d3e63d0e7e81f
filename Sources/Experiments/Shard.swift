import Foundation

/// One of N parts of an experiment's work (`run --shard I/N`, I = 1...N, as a Slurm array
/// `--array=1-N` numbers them). Every shard computes the same plan from the experiment file and
/// the checkpoints' headers alone, so N independent processes split the work with no
/// coordination: each unit of work belongs to exactly one shard.
///
/// - Documents: the checkpoints (base first, then the variants in file order) are laid end to
///   end, each one unit long, and shard k takes [(k-1) C/N, k C/N) of that line. Where a shard
///   covers a fraction [f0, f1) of a checkpoint it scores documents [f0 n, f1 n) of every task of
///   n documents. Each shard so loads at most ceil(C/N) + 1 models and gets the same mix of cheap
///   and expensive tasks.
/// - Spectra: tensors go to shards by longest-processing-time-first on their SVD cost, which
///   balances the few large MLP matrices against the many attention ones.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    /// 1-based.
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// "I/N" with 1 <= I <= N.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw ShardError("--shard \(text): expected I/N, e.g. 3/8")
        }
        guard n >= 1 else { throw ShardError("--shard \(text): N must be at least 1") }
        guard i >= 1, i <= n else {
            throw ShardError("--shard \(text): I must be from 1 to \(n) (shards are numbered 1...N; Slurm: --array=1-\(n))")
        }
        self.init(index: i, count: n)
    }

    public var description: String { "\(index)/\(count)" }

    /// Documents [lower, upper) of a task with `documents` documents on checkpoint `checkpoint`
    /// (0 = base) of `checkpoints`.
    public func documents(checkpoint c: Int, of checkpoints: Int, documents n: Int) -> Range<Int> {
        Self.boundary(index - 1, count, c, checkpoints, n)..<Self.boundary(index, count, c, checkpoints, n)
    }

    /// Where boundary k (of N) falls in checkpoint c's n documents: floor((k C / N - c) n),
    /// clamped to [0, n], in integers so that neighbouring shards agree exactly.
    static func boundary(_ k: Int, _ shards: Int, _ c: Int, _ checkpoints: Int, _ n: Int) -> Int {
        let offset = k * checkpoints - c * shards  // (k C / N - c) * N
        if offset <= 0 { return 0 }
        if offset >= shards { return n }
        return offset * n / shards
    }

    /// Longest processing time first: items in decreasing cost (ties: lower index first), each
    /// to the shard with the least cost so far (ties: the lower shard). Returns a 0-based shard
    /// per item.
    public static func assign(costs: [Double], shards: Int) -> [Int] {
        var load = [Double](repeating: 0, count: shards)
        var out = [Int](repeating: 0, count: costs.count)
        for i in costs.indices.sorted(by: { costs[$0] != costs[$1] ? costs[$0] > costs[$1] : $0 < $1 }) {
            var best = 0
            for s in 1..<shards where load[s] < load[best] { best = s }
            out[i] = best
            load[best] += costs[i]
        }
        return out
    }
}

public struct ShardError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
