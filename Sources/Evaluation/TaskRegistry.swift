import Foundation

/// The task definitions in a directory (tasks/*.yaml), by name. One registry: lm-eval's design.
public struct TaskRegistry: Sendable {
    public let directory: String
    /// name -> definition file
    public let files: [String: String]

    public init(directory: String) throws {
        self.directory = directory
        let fm = FileManager.default
        guard let entries = try? fm.contentsOfDirectory(atPath: directory) else {
            throw EvaluationError("\(directory): cannot list the task directory")
        }
        var files: [String: String] = [:]
        for entry in entries.sorted() where entry.hasSuffix(".yaml") || entry.hasSuffix(".yml") {
            let path = URL(fileURLWithPath: directory).appendingPathComponent(entry).path
            let name = try Self.taskName(path) ?? String(entry.prefix(upTo: entry.lastIndex(of: ".")!))
            if let other = files[name] { throw EvaluationError("task '\(name)' is defined twice: \(other) and \(path)") }
            files[name] = path
        }
        self.files = files
    }

    /// The `task:` line, read without parsing the whole file.
    static func taskName(_ path: String) throws -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("task:") {
            return line.dropFirst(5).trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
        }
        return nil
    }

    public var names: [String] { files.keys.sorted() }

    public func definition(_ name: String) throws -> TaskDefinition {
        guard let file = files[name] else {
            throw EvaluationError("unknown task '\(name)'; known tasks: \(names.joined(separator: ", "))")
        }
        return try TaskDefinition.load(path: file)
    }

    /// The tasks/ directory: $FORGETLENS_TASKS, ./tasks, or the nearest tasks/ above the executable.
    public static func defaultDirectory(executable: String = CommandLine.arguments.first ?? "") -> String? {
        let fm = FileManager.default
        if let env = ProcessInfo.processInfo.environment["FORGETLENS_TASKS"] { return env }
        let cwd = URL(fileURLWithPath: fm.currentDirectoryPath).appendingPathComponent("tasks")
        if Self.looksLikeTasks(cwd.path) { return cwd.path }
        var dir = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent("tasks")
            if Self.looksLikeTasks(candidate.path) { return candidate.path }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    static func looksLikeTasks(_ path: String) -> Bool {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: path) else { return false }
        return entries.contains { $0.hasSuffix(".yaml") }
    }
}
