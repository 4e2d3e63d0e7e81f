// engine-bench: timings of forgetlens' Engine for bench/engine/run.sh.
//   engine-bench forward  MODEL_DIR TOKENS_JSON BATCH [REPEATS]   tokens/s of full forward passes (all logits)
//   engine-bench sgemm    MODEL_DIR ROWS                          OpenBLAS GFLOP/s at the forward's GEMM shapes vs the engine's
//   engine-bench prefix   MODEL_DIR QUESTIONS                     HellaSwag-shaped scoring, prefix sharing on vs off
//   engine-bench generate MODEL_DIR                               greedy decoding tokens/s
// OpenBLAS threads: $BENCH_THREADS (default 2).
import Engine
import Foundation
import LinearAlgebra

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
func fail(_ message: String) -> Never {
    FileHandle.standardError.write((message + "\n").data(using: .utf8)!)
    exit(2)
}

// As the forgetlens executable: OpenBLAS's kernel choice fixed at load time (see BLASCoreType).
BLASCoreType.reexecIfMisdetected()
let args = CommandLine.arguments
guard args.count >= 3 else { fail("usage: engine-bench forward|sgemm|prefix MODEL_DIR ...") }
let threads = Int(ProcessInfo.processInfo.environment["BENCH_THREADS"] ?? "2") ?? 2
let t0 = now()
let model: LanguageModel
do { model = try LanguageModel(directory: args[2], threads: threads) } catch { fail("\(error)") }
let loadSeconds = now() - t0

/// Seeded token ids (a 64-bit LCG), so every run scores the same requests.
struct LCG {
    var state: UInt64
    mutating func next(_ bound: Int) -> Int {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Int((state >> 33) % UInt64(bound))
    }
}

switch args[1] {
case "forward":
    guard args.count >= 5 else { fail("usage: engine-bench forward MODEL_DIR TOKENS_JSON BATCH [REPEATS]") }
    let data = try! Data(contentsOf: URL(fileURLWithPath: args[3]))
    let sequences = try! JSONSerialization.jsonObject(with: data) as! [[Int]]
    let batch = Int(args[4])!, repeats = args.count > 5 ? Int(args[5])! : 3
    let batches = stride(from: 0, to: sequences.count, by: batch).map { Array(sequences[$0..<min($0 + batch, sequences.count)]) }
    _ = try! model.logits([Array(sequences[0].prefix(16))]) // warm up the thread pool
    var best = Double.infinity
    var checksum = 0.0
    for _ in 0..<repeats {
        let start = now()
        for b in batches {
            let out = try! model.logits(b)
            checksum = Double(out[0][0])
        }
        best = min(best, now() - start)
    }
    let tokens = sequences.reduce(0) { $0 + $1.count }
    let flops = batches.reduce(0.0) { $0 + EngineDiagnostics.forwardFLOPs(model, sequences: $1.count, length: $1[0].count) }
    print(String(format: "engine forward: %d tokens in %.3f s = %.1f tokens/s (%.1f GFLOP/s, load %.2f s, threads %d, checksum %.4f)",
                 tokens, best, Double(tokens) / best, flops / best / 1e9, loadSeconds, threads, checksum))
case "sgemm":
    guard args.count >= 4 else { fail("usage: engine-bench sgemm MODEL_DIR ROWS") }
    let rows = Int(args[3])!
    let shapes = EngineDiagnostics.gemmShapes(model, rows: rows)
    var unique: [String: (m: Int, n: Int, k: Int, count: Int)] = [:]
    for s in shapes { unique["\(s.m)x\(s.n)x\(s.k)", default: (s.m, s.n, s.k, 0)].count += 1 }
    var totalFlops = 0.0, totalSeconds = 0.0
    for (key, s) in unique.sorted(by: { $0.key < $1.key }) {
        let rate = EngineDiagnostics.sgemmRate(m: s.m, n: s.n, k: s.k)
        let flops = 2 * Double(s.m * s.n * s.k) * Double(s.count)
        totalFlops += flops
        totalSeconds += flops / (rate * 1e9)
        print(String(format: "sgemm %@ (x%d): %.1f GFLOP/s", key, s.count, rate))
    }
    print(String(format: "sgemm alone, per shape best-of-5, weighted: %.1f GFLOP/s", totalFlops / totalSeconds / 1e9))
    // Interleave OpenBLAS-alone passes with engine forward passes over the same rows (4 sequences
    // of rows/4 tokens), so a busy machine slows both alike; best of each.
    var rng = LCG(state: 9)
    let length = rows / 4
    let sequences = (0..<4).map { _ in (0..<length).map { _ in rng.next(model.vocabSize) } }
    let flops = EngineDiagnostics.forwardFLOPs(model, sequences: 4, length: length)
    var blasBest = 0.0, engineBest = 0.0
    for _ in 0..<4 {
        blasBest = max(blasBest, EngineDiagnostics.sgemmSequenceRate(shapes, repeats: 1))
        let start = now()
        _ = try! model.logits(sequences)
        engineBest = max(engineBest, flops / (now() - start) / 1e9)
    }
    print(String(format: "sgemm alone, one forward's GEMM calls back to back at %d rows: %.1f GFLOP/s", rows, blasBest))
    print(String(format: "engine prefill (same rows, interleaved): %.1f GFLOP/s = %.0f%% of sgemm alone", engineBest, 100 * engineBest / blasBest))
case "prefix":
    let questions = args.count > 3 ? Int(args[3])! : 16
    var rng = LCG(state: 42)
    var requests: [LoglikelihoodRequest] = []
    for _ in 0..<questions {
        let context = (0..<(55 + rng.next(11))).map { _ in rng.next(model.vocabSize) }
        for _ in 0..<4 {
            requests.append(LoglikelihoodRequest(context: context, continuation: (0..<(15 + rng.next(11))).map { _ in rng.next(model.vocabSize) }))
        }
    }
    _ = try! model.loglikelihood(Array(requests.prefix(4)))
    func time(_ share: Bool) -> (Double, [LoglikelihoodResult]) {
        var best = Double.infinity, out: [LoglikelihoodResult] = []
        for _ in 0..<3 {
            let start = now()
            out = try! model.loglikelihood(requests, options: ScoringOptions(sharePrefixes: share))
            best = min(best, now() - start)
        }
        return (best, out)
    }
    let (shared, a) = time(true)
    let (full, b) = time(false)
    var maxDiff = 0.0
    for (x, y) in zip(a, b) { for (p, q) in zip(x.tokenLogProbs, y.tokenLogProbs) { maxDiff = max(maxDiff, abs(p - q)) } }
    print(String(format: "prefix sharing: %d requests (%d questions x 4 endings): shared %.3f s, full sequences %.3f s, speedup %.2fx, max |diff| %.2e",
                 requests.count, questions, shared, full, full / shared, maxDiff))
case "generate":
    // greedy decoding with the KV cache: 64 new tokens after a 32-token prompt
    var rng = LCG(state: 5)
    let prompt = (0..<32).map { _ in rng.next(model.vocabSize) }
    _ = try! model.generate(prompt: prompt, maxTokens: 4, eosTokenIds: [], decode: { _ in "" })
    let start = now()
    let g = try! model.generate(prompt: prompt, maxTokens: 64, eosTokenIds: [], decode: { _ in "" })
    let seconds = now() - start
    print(String(format: "greedy generation: %d tokens in %.3f s = %.1f tokens/s (prompt 32)", g.tokens.count, seconds, Double(g.tokens.count) / seconds))
default:
    fail("unknown command \(args[1])")
}
