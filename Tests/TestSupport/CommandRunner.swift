import Foundation

/// Runs the built `forgetlens` executable as a user would and captures what it prints.
public enum CommandRunner {
    public struct Result {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// The executable next to the test bundle (.build/<config>/forgetlens).
    public static var executable: URL {
        var dir = Bundle.main.bundleURL
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("forgetlens")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return Bundle.main.bundleURL.appendingPathComponent("forgetlens")
    }

    public struct CommandTimeout: Error, CustomStringConvertible {
        public var arguments: [String]
        public var seconds: TimeInterval
        public var description: String { "forgetlens \(arguments.joined(separator: " ")) did not finish within \(Int(seconds)) s" }
    }

    public static func run(_ arguments: [String], stdin: String? = nil, timeout: TimeInterval = 900) throws -> Result {
        // Output goes to temporary files, not pipes: no risk of a full pipe blocking the child.
        let dir = Fixtures.temporaryDirectory("forgetlens-run")
        defer { try? FileManager.default.removeItem(at: dir) }
        let outURL = dir.appendingPathComponent("stdout"), errURL = dir.appendingPathComponent("stderr")
        let inURL = dir.appendingPathComponent("stdin")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        FileManager.default.createFile(atPath: inURL.path, contents: Data((stdin ?? "").utf8))
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        process.standardInput = try FileHandle(forReadingFrom: inURL)
        try process.run()
        // Bounded wait: a hung child must fail the test, not stall the whole suite.
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            throw CommandTimeout(arguments: arguments, seconds: timeout)
        }
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
                      stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }
}
