import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a short helper command (python one-liners, gzip) with a hard time bound.
///
/// Why not Foundation's Process here: on Linux its pipe reading and waitUntilExit can block
/// forever when a child's exit is missed or a pipe's write end leaks into another child (seen
/// as a hung test run). posix_spawn + waitpid on our own pid, output to a file, cannot hang:
/// past the deadline the child is killed and the call reports it.
public enum Subprocess {
    public struct Result {
        public var status: Int32
        public var output: String
        public var timedOut: Bool
    }

    public static func run(_ arguments: [String], timeout: TimeInterval = 120) -> Result {
        let outPath = FileManager.default.temporaryDirectory.appendingPathComponent("subprocess-\(UUID().uuidString)").path
        defer { unlink(outPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, arguments[0], &actions, nil, argv, environ)
        guard spawned == 0 else {
            return Result(status: 127, output: "cannot start \(arguments[0]): \(String(cString: strerror(spawned)))", timedOut: false)
        }
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        var timedOut = false
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                timedOut = true
                break
            }
            usleep(10_000)
        }
        let output = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        // WIFEXITED / WEXITSTATUS are macros: decode by hand.
        let exited = (status & 0x7F) == 0
        return Result(status: timedOut ? -1 : (exited ? (status >> 8) & 0xFF : 128 + (status & 0x7F)),
                      output: output, timedOut: timedOut)
    }
}
