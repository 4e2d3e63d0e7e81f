import Foundation
import TestSupport
import XCTest

/// Every committed fuzz input (the seeds and each crash a fuzzer found, kept as
/// `regression-*`) replays through its target, built normally, without a crash or trap: the
/// regression test of `make fuzz`. The targets live in Sources/Fuzz/<name>/main.swift.
final class FuzzCorpusTests: XCTestCase {
    func testEveryCommittedInputReplays() throws {
        let corpus = Fixtures.root.appendingPathComponent("fuzz")
        let targets = try FileManager.default.contentsOfDirectory(atPath: corpus.path).filter { !$0.hasPrefix(".") }.sorted()
        XCTAssertGreaterThanOrEqual(targets.count, 12)
        let binaries = CommandRunner.executable.deletingLastPathComponent()
        // Under AddressSanitizer the replayers run without the at-exit leak check: each keeps its
        // tokenizers and fixtures in globals for the life of the process, reached through Swift
        // pointers that carry enum tag bits, which LeakSanitizer cannot follow
        // (llvm/llvm-project#56751); it would report them as leaked at every exit. Memory errors
        // are still caught. (Children inherit the environment; this process read its own at start.)
        let underASan = ProcessInfo.processInfo.environment["FORGETLENS_SANITIZER"] == "address"
        let saved = ProcessInfo.processInfo.environment["ASAN_OPTIONS"]
        if underASan { setenv("ASAN_OPTIONS", [saved, "detect_leaks=0"].compactMap { $0 }.joined(separator: ":"), 1) }
        defer { if underASan { if let saved { setenv("ASAN_OPTIONS", saved, 1) } else { unsetenv("ASAN_OPTIONS") } } }
        for target in targets {
            let binary = binaries.appendingPathComponent("fuzz-\(target)").path
            try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: binary), "\(binary) is not built (swift build builds every fuzz target)")
            let r = Subprocess.run([binary, corpus.appendingPathComponent(target).path], timeout: 300)
            XCTAssertFalse(r.timedOut, "fuzz-\(target) did not finish its corpus")
            XCTAssertEqual(r.status, 0, "fuzz-\(target): \(r.output.suffix(2000))")
            XCTAssertTrue(r.output.contains("replayed "), r.output)
        }
    }
}
