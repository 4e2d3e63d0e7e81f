import Foundation

/// The task definitions by name: the shipped tasks directory (tasks/*.yaml) plus every include
/// path (lm-eval's --include_path: searched recursively). One registry: lm-eval's design. A name
/// defined twice is an error naming both files, never a silent shadow.
public struct TaskRegistry: Sendable {
    public let directory: String
    public let includePaths: [String]
    /// name -> definition file
    public let files: [String: String]

    public init(directory: String, includePaths: [String] = []) throws {
        self.directory = directory
        self.includePaths = includePaths
        let fm = FileManager.default
        guard let entries = try? fm.contentsOfDirectory(atPath: directory) else {
            throw EvaluationError("\(directory): cannot list the task directory")
        }
        var files: [String: String] = [:]
        func add(_ name: String, _ path: String) throws {
            // the same file reached twice (an include path that is the tasks directory, or inside another) is one definition
            if let other = files[name], other == path { return }
            if let other = files[name] { throw EvaluationError("task '\(name)' is defined twice: \(other) and \(path)") }
            files[name] = path
        }
        for entry in entries.sorted() where Self.isYAML(entry) {
            let path = URL(fileURLWithPath: directory).appendingPathComponent(entry).standardized.path
            try add(try Self.taskName(path) ?? String(entry.prefix(upTo: entry.lastIndex(of: ".")!)), path)
        }
        for dir in includePaths {
            for path in try Self.yamlFiles(under: dir) {
                // lm-eval's include directories also hold group and template YAMLs (no `task:`): not tasks
                guard let name = try Self.taskName(path) else { continue }
                try add(name, path)
            }
        }
        self.files = files
    }

    static func isYAML(_ name: String) -> Bool { name.hasSuffix(".yaml") || name.hasSuffix(".yml") }

    /// Every YAML file below `dir`, sorted (deterministic error messages).
    static func yamlFiles(under dir: String) throws -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw EvaluationError("\(dir): include path is not a directory")
        }
        guard let walker = FileManager.default.enumerator(atPath: dir) else {
            throw EvaluationError("\(dir): cannot list the include path")
        }
        var paths: [String] = []
        while let rel = walker.nextObject() as? String {
            if isYAML(rel) { paths.append(URL(fileURLWithPath: dir).appendingPathComponent(rel).standardized.path) }
        }
        return paths.sorted()
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

    /// The tasks/ directory: $FORGETLENS_TASKS, ./tasks, an installed PREFIX/share/forgetlens/tasks
    /// for a binary in PREFIX/bin (`make install`), or the nearest tasks/ above the executable (a checkout).
    public static func defaultDirectory(executable: String = CommandLine.arguments.first ?? "") -> String? {
        let fm = FileManager.default
        if let env = ProcessInfo.processInfo.environment["FORGETLENS_TASKS"] { return env }
        let cwd = URL(fileURLWithPath: fm.currentDirectoryPath).appendingPathComponent("tasks")
        if Self.looksLikeTasks(cwd.path) { return cwd.path }
        if let installed = installedDirectory(executable: executable) { return installed }
        var dir = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent("tasks")
            if Self.looksLikeTasks(candidate.path) { return candidate.path }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    /// PREFIX/share/forgetlens/tasks for PREFIX/bin/forgetlens (symlinks to the binary followed).
    public static func installedDirectory(executable: String) -> String? {
        let exe = executable.contains("/") ? URL(fileURLWithPath: executable) : Self.onPath(executable)
        guard let exe else { return nil }
        let prefix = exe.resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent()
        let candidate = prefix.appendingPathComponent("share/forgetlens/tasks").path
        return looksLikeTasks(candidate) ? candidate : nil
    }

    /// A bare command name (run from $PATH) as the shell found it.
    static func onPath(_ name: String) -> URL? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let url = URL(fileURLWithPath: String(dir)).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }

    static func looksLikeTasks(_ path: String) -> Bool {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: path) else { return false }
        return entries.contains { $0.hasSuffix(".yaml") }
    }
}
