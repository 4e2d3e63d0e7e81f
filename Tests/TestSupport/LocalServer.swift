import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest

/// Local servers for the remote-backend tests (EvaluationTests and ExperimentsTests): llama-cpp-python's OpenAI-compatible server on the
/// committed GGUF fixture, and scripts/remote/fault_proxy.py in front of it. Loopback only; every
/// process is killed by `stop()` (tests call it in defer / tearDown) and every wait is bounded.
public final class LocalServer {
    public let process: Process
    public let port: Int
    public let log: URL
    public var url: URL { URL(string: "http://127.0.0.1:\(port)")! }

    init(process: Process, port: Int, log: URL) {
        self.process = process
        self.port = port
        self.log = log
    }

    deinit { stop() }

    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL); waitBriefly() }
    }

    /// waitUntilExit can block forever on Linux if the exit notification is missed; bound it.
    private func waitBriefly(_ seconds: TimeInterval = 5) {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
    }

    /// The server dies at once (SIGKILL): no graceful close of in-flight requests.
    public func killHard() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        waitBriefly()
    }

    public var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    public static var gguf: String { Fixtures.root.appendingPathComponent("gguf/llama-tiny-f32.gguf").path }
    public static var scripts: URL { Fixtures.packageRoot.appendingPathComponent("scripts/remote") }

    public static func python(_ code: String) -> (status: Int32, output: String) {
        let r = Subprocess.run(["python3", "-c", code], timeout: 120)
        return (r.status, r.output)
    }

    /// Skips (never fails) when llama-cpp-python's server is not installed: CI installs it on a
    /// best-effort basis (.ci/run), and the tests must not turn red because a wheel did not build.
    public static func requireLlamaCpp() throws {
        let r = python("import llama_cpp, llama_cpp.server; print(llama_cpp.__version__)")
        guard r.status == 0 else {
            throw XCTSkip("llama-cpp-python's server is not importable (pip install 'llama-cpp-python[server]==0.3.36'); remote-backend tests against a real server are skipped")
        }
        guard FileManager.default.fileExists(atPath: gguf) else {
            throw XCTSkip("\(gguf) is missing (scripts/fixtures/make_gguf.py makes it)")
        }
    }

    public static func freePort() throws -> Int {
        let r = python("import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
        guard r.status == 0, let port = Int(r.output.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw XCTSkip("cannot find a free loopback port: \(r.output)")
        }
        return port
    }

    /// python3 -m llama_cpp.server on 127.0.0.1:<free port>, ready when GET /v1/models answers.
    public static func llamaCpp(timeout: TimeInterval = 120, extra: [String] = [], aliases: [String]? = nil) throws -> LocalServer {
        try requireLlamaCpp()
        let port = try freePort()
        let log = Fixtures.temporaryDirectory("llamacpp-server").appendingPathComponent("server.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        if let aliases {
            // One entry per alias (llama-cpp-python's --config_file): the same weights served
            // under several names, as vLLM serves a base and its LoRA modules side by side.
            let models = aliases.map { ["model": gguf, "model_alias": $0, "logits_all": true, "n_ctx": 512, "n_threads": 1, "n_threads_batch": 1] as [String: Any] }
            let config = log.deletingLastPathComponent().appendingPathComponent("config.json")
            try JSONSerialization.data(withJSONObject: ["host": "127.0.0.1", "port": port, "models": models]).write(to: config)
            p.arguments = ["python3", "-m", "llama_cpp.server", "--config_file", config.path] + extra
        } else {
            p.arguments = ["python3", "-m", "llama_cpp.server", "--model", gguf, "--logits_all", "true",
                           "--host", "127.0.0.1", "--port", "\(port)", "--n_ctx", "512", "--n_threads", "1", "--n_threads_batch", "1"] + extra
        }
        p.standardOutput = try FileHandle(forWritingTo: log)
        p.standardError = try FileHandle(forWritingTo: log)
        try p.run()
        let server = LocalServer(process: p, port: port, log: log)
        try server.waitUntilReady(timeout: timeout)
        return server
    }

    /// scripts/remote/fault_proxy.py with `arguments`; it prints the port it bound.
    public static func faultProxy(_ arguments: [String]) throws -> LocalServer {
        let log = Fixtures.temporaryDirectory("fault-proxy").appendingPathComponent("proxy.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", scripts.appendingPathComponent("fault_proxy.py").path, "--lifetime", "120"] + arguments
        p.standardOutput = try FileHandle(forWritingTo: log)
        p.standardError = try FileHandle(forWritingTo: log)
        try p.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let line = (try? String(contentsOf: log, encoding: .utf8))?.split(separator: "\n").first(where: { $0.hasPrefix("PORT ") }),
               let port = Int(line.dropFirst(5)) {
                return LocalServer(process: p, port: port, log: log)
            }
            guard p.isRunning else { break }
            usleep(50_000)
        }
        p.terminate()
        throw XCTSkip("fault_proxy.py did not start: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
    }

    public func waitUntilReady(timeout: TimeInterval) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard process.isRunning else {
                throw ServerFailure("llama_cpp.server exited during startup (status \(process.terminationStatus)):\n\(logText.suffix(2000))")
            }
            if let (status, _) = LocalServer.get(url.appendingPathComponent("v1/models")), status == 200 { return }
            usleep(250_000)
        }
        stop()
        throw ServerFailure("llama_cpp.server not ready within \(Int(timeout)) s:\n\(logText.suffix(2000))")
    }

    /// A blocking GET (status, body), nil on a connection error.
    public static func get(_ url: URL) -> (Int, Data)? {
        final class Box: @unchecked Sendable { var value: (Int, Data)? }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        var request = URLRequest(url: url)
        request.timeoutInterval = 5
        URLSession.shared.dataTask(with: request) { data, response, _ in
            if let http = response as? HTTPURLResponse { box.value = (http.statusCode, data ?? Data()) }
            done.signal()
        }.resume()
        _ = done.wait(timeout: .now() + 10)
        return box.value
    }

    public func stats() -> [String: Any] {
        guard let (_, data) = LocalServer.get(url.appendingPathComponent("stub/stats")),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
        return object
    }
}

public struct ServerFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
