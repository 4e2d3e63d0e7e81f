import Foundation

/// Scores generated code by running it (lm-eval 0.4.x's humaneval with HF evaluate's code_eval):
/// the candidate is the filtered generation (prompt + completion, humaneval.build_predictions),
/// the program is `candidate + "\n" + doc_to_target` (the tests and `check(entry_point)`), run
/// in the sandbox; it passes when it exits normally within the time limit. Like code_eval the
/// program is exec'd in a fresh, empty globals dict behind a guard that disables the process-,
/// file- and directory-destroying functions, so the same completions fail here and there.
public struct ProgramChecks: Sendable {
    public let sandbox: Sandbox
    /// Programs run at once (each one process).
    public let workers: Int

    public init(sandbox: Sandbox, workers: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.sandbox = sandbox
        self.workers = max(1, workers)
    }

    /// What the program text is for a candidate and its test (code_eval's test_program).
    public static func program(candidate: String, test: String) -> String { candidate + "\n" + test }

    /// Runs every program, `workers` at a time; outcomes in order.
    public func run(_ programs: [String]) throws -> [SandboxOutcome] {
        let state = WorkQueue(count: programs.count)
        DispatchQueue.concurrentPerform(iterations: min(workers, programs.count)) { _ in
            while let i = state.take() {
                do { state.finish(i, try sandbox.run(arguments: ["-I", "-B", "-c", Self.runner], files: ["program.py": programs[i]])) }
                catch { state.fail(error) }
            }
        }
        return try state.results()
    }

    /// The interpreter's -c text: the guard, then the program exec'd in an empty globals dict.
    static let runner = """
    import builtins, faulthandler, os, shutil, subprocess, sys
    src = open('program.py').read()
    faulthandler.disable()
    for name in ('kill', 'system', 'putenv', 'remove', 'removedirs', 'rmdir', 'fchdir', 'setuid', 'fork', 'forkpty',
                 'killpg', 'rename', 'renames', 'truncate', 'replace', 'unlink', 'fchmod', 'fchown', 'chmod', 'chown',
                 'chroot', 'lchflags', 'lchmod', 'lchown', 'getcwd', 'chdir'):
        if hasattr(os, name): setattr(os, name, None)
    shutil.rmtree = shutil.move = shutil.chown = None
    subprocess.Popen = None
    builtins.exit = builtins.quit = None
    for m in ('ipdb', 'joblib', 'resource', 'psutil', 'tkinter'): sys.modules[m] = None
    exec(compile(src, 'program.py', 'exec'), {})
    """
}

/// Indices handed out to the workers and their outcomes, under one lock.
private final class WorkQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private var outcomes: [SandboxOutcome?]
    private var failure: Error?

    init(count: Int) { outcomes = Array(repeating: nil, count: count) }

    /// The next index, or nil when all are taken or one failed.
    func take() -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard failure == nil, next < outcomes.count else { return nil }
        next += 1
        return next - 1
    }

    func finish(_ i: Int, _ o: SandboxOutcome) { lock.lock(); outcomes[i] = o; lock.unlock() }
    func fail(_ e: Error) { lock.lock(); failure = failure ?? e; lock.unlock() }

    func results() throws -> [SandboxOutcome] {
        if let failure { throw failure }
        return outcomes.map { $0! }
    }
}
