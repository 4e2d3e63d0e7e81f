import Foundation

/// One `run` per store at a time. Two runs of one experiment on one store would both score the
/// same missing documents (SQLite keeps the rows consistent, but the work is done twice and
/// their progress lines count it twice), so the second refuses at once and names the first.
/// Shards do not meet here: each writes its own store. The lock is flock(2) on a file beside the
/// store, released by the kernel when the process ends however it ends (SIGKILL included), so
/// a killed run never leaves a stale lock behind.
public final class RunLock {
    private let fd: Int32

    private init(fd: Int32) { self.fd = fd }
    deinit { close(fd) }

    public static func acquire(store: String) throws -> RunLock {
        let path = store + ".run-lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw ExperimentError(file: store, line: nil, "cannot create the run lock \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = Self.describe(fd)
            close(fd)
            throw ExperimentError(file: store, line: nil, "another `forgetlens run` \(holder)is writing this store; "
                + "wait for it to finish (a rerun then scores only what is missing), or give this run its own --store")
        }
        let note = "pid \(getpid()) on \(ProcessInfo.processInfo.hostName), started \(ISO8601DateFormatter().string(from: Date()))\n"
        _ = ftruncate(fd, 0)
        _ = note.withCString { pwrite(fd, $0, strlen($0), 0) }
        return RunLock(fd: fd)
    }

    /// "(pid 123 on host, started ...) " from the holder's note, or "" when it wrote none yet.
    private static func describe(_ fd: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = pread(fd, &buffer, buffer.count, 0)
        guard n > 0 else { return "" }
        let text = String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "" : "(\(text)) "
    }
}
