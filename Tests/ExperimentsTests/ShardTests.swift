import Experiments
import TestSupport
import XCTest

/// The shard plan: every unit of work in exactly one shard, balanced, identical in every process.
final class ShardTests: XCTestCase {
    func testParsing() throws {
        XCTAssertEqual(try Shard(parsing: "3/8"), Shard(index: 3, count: 8))
        XCTAssertEqual(try Shard(parsing: "1/1"), Shard(index: 1, count: 1))
        for bad in ["0/4", "5/4", "1/0", "2", "a/b", "1/2/3", "-1/2", "/4", "1/"] {
            XCTAssertThrowsError(try Shard(parsing: bad), bad) { XCTAssertTrue("\($0)".contains("--shard \(bad)"), "\($0)") }
        }
        XCTAssertThrowsError(try Shard(parsing: "0/4")) { XCTAssertTrue("\($0)".contains("numbered 1...N"), "\($0)") }
    }

    /// Documents: the shards' ranges tile 0..<n for every checkpoint and task, whatever C, N, n.
    func testDocumentRangesTileEveryTaskExactlyOnce() {
        var rng = SeededRandom(seed: 7)
        for _ in 0..<400 {
            let checkpoints = Int.random(in: 1...12, using: &rng), shards = Int.random(in: 1...20, using: &rng), n = Int.random(in: 0..<300, using: &rng)
            for c in 0..<checkpoints {
                var next = 0
                for i in 1...shards {
                    let r = Shard(index: i, count: shards).documents(checkpoint: c, of: checkpoints, documents: n)
                    XCTAssertEqual(r.lowerBound, next, "C=\(checkpoints) N=\(shards) n=\(n) c=\(c) shard \(i)")
                    next = r.upperBound
                }
                XCTAssertEqual(next, n, "C=\(checkpoints) N=\(shards) n=\(n) c=\(c)")
            }
        }
    }

    /// Each shard gets 1/N of the documents of every task mix (within rounding: one document per
    /// checkpoint and task it touches) and touches at most ceil(C/N) + 1 checkpoints.
    func testDocumentShareIsBalancedAndLocal() {
        let tasks = [10_042, 1_267, 1_172, 2_376]  // hellaswag, winogrande, arc_challenge, arc_easy sizes
        for (checkpoints, shards) in [(10, 4), (3, 8), (7, 7), (1, 5), (28, 6)] {
            let total = Double(tasks.reduce(0, +) * checkpoints)
            for i in 1...shards {
                let s = Shard(index: i, count: shards)
                var mine = 0, touched = 0
                for c in 0..<checkpoints {
                    let counts = tasks.map { s.documents(checkpoint: c, of: checkpoints, documents: $0).count }
                    mine += counts.reduce(0, +)
                    if counts.contains(where: { $0 > 0 }) { touched += 1 }
                }
                XCTAssertEqual(Double(mine), total / Double(shards), accuracy: Double(tasks.count * (touched + 1)), "C=\(checkpoints) N=\(shards) shard \(i)")
                XCTAssertLessThanOrEqual(touched, (checkpoints + shards - 1) / shards + 1)
            }
        }
    }

    /// Spectra: longest-processing-time-first is deterministic, assigns everything, and stays
    /// within its classic bound (max load <= 4/3 of the optimum, here checked against the
    /// lower bound max(total/N, largest item)).
    func testSpectraAssignmentIsDeterministicAndBalanced() {
        // A 7-matrix transformer layer repeated: q,k,v,o 4096^2; gate, up, down 11008 x 4096.
        let layer: [Double] = [4096, 4096, 4096, 4096].map { $0 * $0 * $0 } + [11008, 11008, 11008].map { $0 * 4096 * 4096 }
        let costs = Array((0..<32).map { _ in layer }.joined())
        for shards in [1, 2, 3, 7, 8, 64] {
            let a = Shard.assign(costs: costs, shards: shards)
            XCTAssertEqual(a, Shard.assign(costs: costs, shards: shards))
            XCTAssertTrue(a.allSatisfy { (0..<shards).contains($0) })
            var load = [Double](repeating: 0, count: shards)
            for (i, s) in a.enumerated() { load[s] += costs[i] }
            let lower = max(costs.reduce(0, +) / Double(shards), costs.max()!)
            XCTAssertLessThanOrEqual(load.max()!, lower * 4 / 3, "N=\(shards)")
        }
    }
}
