import ArgumentParser
import Evaluation
import Foundation

/// `forgetlens tasks`: the task definitions shipped in tasks/ with their sizes.
struct TasksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tasks",
        abstract: "List the evaluation tasks (tasks/*.yaml) with their output type, metrics and size.",
        discussion: """
        Every task is a YAML definition in the tasks directory (see tasks/README.md) plus its data
        file. The shipped data are the datasets' validation splits (test labels are not public),
        so scores are validation scores, as lm-evaluation-harness reports for these tasks.
        """
    )

    @Option(name: .customLong("tasks-dir"), help: "Directory of task definitions (default: $FORGETLENS_TASKS, ./tasks, or the tasks/ next to the executable).")
    var tasksDir: String?

    @Option(name: .customLong("include-path"), help: "A directory of your own task YAMLs (searched recursively; forgetlens or lm-eval local-data form), added to the shipped tasks. Repeatable.")
    var includePath: [String] = []

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        guard let dir = tasksDir ?? TaskRegistry.defaultDirectory() else {
            throw CLIError("no tasks directory found: pass --tasks-dir DIR or set FORGETLENS_TASKS")
        }
        let registry = try TaskRegistry(directory: dir, includePaths: includePath)
        var rows: [[String]] = []
        var entries: [JSONValue] = []
        for name in registry.names {
            let def = try registry.definition(name)
            // A task whose data the user supplies (gsm8k) is listed without it; eval says how to make the file.
            let present = FileManager.default.fileExists(atPath: def.dataFile)
            let docs = present ? try TaskData.countDocuments(path: def.dataFile) : nil
            let file = URL(fileURLWithPath: def.dataFile).lastPathComponent + (present ? "" : " (missing: supply it, see tasks/README.md)")
            rows.append([name, def.outputType.rawValue, def.metrics.map(\.name).joined(separator: ","), docs.map { "\($0)" } ?? "-", def.split, file])
            entries.append(.object(JSONObject([("task", .string(name)), ("output_type", .string(def.outputType.rawValue)),
                                                ("metrics", .array(def.metrics.map { .string($0.name) })), ("documents", docs.map(JSONValue.int) ?? .null),
                                                ("split", .string(def.split)), ("data", .string(def.dataFile))])))
        }
        if json {
            print(JSONValue.array(entries).serialized(indent: 2))
            return
        }
        print(TextTable(header: ["task", "output type", "metrics", "docs", "split", "data"], rows: rows).render())
        print("\n\(rows.count) tasks in \(([dir] + includePath).joined(separator: ", ")). The shipped data are validation splits: scores are validation scores.")
    }
}
