import Foundation
import TestSupport
import XCTest

/// `forgetlens eval --backend openai` as a user runs it, against llama-cpp-python on loopback.
final class RemoteCLITests: XCTestCase {
    var tmp: URL!
    override func setUp() { tmp = Fixtures.temporaryDirectory("forgetlens-remote-cli") }
    override func tearDown() { try? FileManager.default.removeItem(at: tmp) }

    var llama: String { Fixtures.model("llama-tiny") }

    func requireExecutable() throws {
        guard FileManager.default.isExecutableFile(atPath: CommandRunner.executable.path) else {
            throw XCTSkip("the forgetlens executable is not built next to the tests")
        }
    }

    /// The key goes in through the environment only and appears in no output file, stdout or stderr.
    func testRunWritesResultsAndNeverTheKey() throws {
        try requireExecutable()
        let server = try LocalServer.llamaCpp()
        defer { server.stop() }
        let secret = "sk-remote-cli-\(UUID().uuidString)"
        setenv("FORGETLENS_TEST_API_KEY", secret, 1)
        defer { unsetenv("FORGETLENS_TEST_API_KEY") }
        let out = tmp.appendingPathComponent("out")
        let r = try CommandRunner.run(["eval", "--backend", "openai", "--base-url", server.url.absoluteString, "--api-key-env", "FORGETLENS_TEST_API_KEY",
                                       "--model", llama, "--tasks", "arc_easy", "--limit", "5", "--concurrency", "3",
                                       "--output", out.path, "--log-samples"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let results = try String(contentsOf: out.appendingPathComponent("results.json"), encoding: .utf8)
        XCTAssertTrue(results.contains("openai-completions"), results)
        XCTAssertTrue(results.contains("prompt=text logprobs=echo"), results)
        var texts = [r.stdout, r.stderr, server.logText]
        for f in try FileManager.default.contentsOfDirectory(atPath: out.path) {
            texts.append(try String(contentsOf: out.appendingPathComponent(f), encoding: .utf8))
        }
        for t in texts { XCTAssertFalse(t.contains(secret), "the API key was written somewhere") }
    }

    func testMissingKeyVariableIsAClearError() throws {
        try requireExecutable()
        unsetenv("FORGETLENS_TEST_NO_SUCH_KEY")
        let r = try CommandRunner.run(["eval", "--backend", "openai", "--base-url", "http://127.0.0.1:9", "--api-key-env", "FORGETLENS_TEST_NO_SUCH_KEY",
                                       "--model", llama, "--tasks", "arc_easy", "--output", tmp.appendingPathComponent("o").path])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("FORGETLENS_TEST_NO_SUCH_KEY"), r.stderr)
    }

    func testOptionsNeedTheOpenAIBackend() throws {
        try requireExecutable()
        let r = try CommandRunner.run(["eval", "--model", llama, "--tasks", "arc_easy", "--output", tmp.path, "--base-url", "http://127.0.0.1:9"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("--backend openai"), r.stderr)
        let a = try CommandRunner.run(["eval", "--backend", "openai", "--base-url", "http://127.0.0.1:9", "--adapter", Fixtures.model("lora-llama-r8"),
                                       "--model", llama, "--tasks", "arc_easy", "--output", tmp.path])
        XCTAssertTrue(a.stderr.contains("--served-model"), a.stderr)
    }

    /// The server goes away after a few requests: retries, one clear error, exit 2, nothing written.
    func testServerDyingMidRunWritesNothing() throws {
        try requireExecutable()
        let server = try LocalServer.llamaCpp()
        defer { server.stop() }
        let proxy = try LocalServer.faultProxy(["--upstream", server.url.absoluteString, "--die-after", "8"])
        defer { proxy.stop() }
        let out = tmp.appendingPathComponent("out")
        let r = try CommandRunner.run(["eval", "--backend", "openai", "--base-url", proxy.url.absoluteString, "--model", llama,
                                       "--tasks", "arc_easy", "--limit", "20", "--concurrency", "2", "--output", out.path, "--log-samples"])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("failed after 5 attempts") && r.stderr.contains("connection refused"), r.stderr)
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []
        XCTAssertTrue(leftovers.isEmpty, "files left: \(leftovers)")
        print("DYING-SERVER CLI: \(r.stderr.split(separator: "\n").last ?? "")")
    }
}
