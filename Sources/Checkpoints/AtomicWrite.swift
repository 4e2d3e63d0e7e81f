import Foundation

/// Writes an output file so that readers see either the old content or the complete new one,
/// never a half-written file: a temporary sibling is written and renamed over the target. The
/// one place every command's outputs (reports, results, exports, spectra JSON) go through.
///
/// - A symlink at the destination is followed: its target is replaced, the link stays (renaming
///   over the link would silently turn it into a regular file).
/// - A FIFO or character device (`/dev/stdout`, a shell's `>(...)`) is written directly, since it
///   cannot be replaced; a write error (`/dev/full`) is reported, never swallowed.
/// - A directory, socket or block device is refused with the reason.
/// Errors name the path and say what went wrong in words, not Foundation's NSError text.
public enum AtomicWrite {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func write(_ data: Data, to path: String) throws {
        let target = try resolveLinks(path)
        var st = stat()
        if lstat(target, &st) == 0 {
            switch st.st_mode & S_IFMT {
            case S_IFREG: break
            case S_IFCHR, S_IFIFO:
                try writeAll(data, to: target, flags: O_WRONLY | O_TRUNC, mode: 0, shown: path)
                return
            case S_IFDIR: throw Failure(description: "cannot write \(path): it is a directory (give a file name)")
            default: throw Failure(description: "cannot write \(path): it exists and is not a regular file (a socket or block device)")
            }
        }
        let url = URL(fileURLWithPath: target)
        let directory = url.deletingLastPathComponent().path
        try makeDirectory(directory, for: path)
        let temporary = directory + "/.\(url.lastPathComponent).tmp-\(getpid())"
        // Keep the mode of a file being replaced; new files get 0644 less the umask.
        let mode: mode_t = lstat(target, &st) == 0 ? st.st_mode & 0o7777 : 0o644
        do {
            try writeAll(data, to: temporary, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: mode, shown: path)
            guard rename(temporary, target) == 0 else {
                throw Failure(description: "cannot write \(path): moving the finished file into place failed: \(String(cString: strerror(errno)))")
            }
        } catch {
            unlink(temporary)
            throw error
        }
    }

    /// The path a write to `path` must replace: symlinks followed (relative ones against their
    /// own directory), up to 40 hops as the kernel allows.
    static func resolveLinks(_ path: String) throws -> String {
        var current = path
        for _ in 0..<40 {
            var st = stat()
            guard lstat(current, &st) == 0, st.st_mode & S_IFMT == S_IFLNK else { return current }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(current, &buffer, buffer.count - 1)
            guard n >= 0 else { throw Failure(description: "cannot write \(path): reading the symlink \(current) failed: \(String(cString: strerror(errno)))") }
            let link = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            current = link.hasPrefix("/") ? link : URL(fileURLWithPath: current).deletingLastPathComponent().path + "/" + link
        }
        throw Failure(description: "cannot write \(path): too many levels of symbolic links")
    }

    private static func makeDirectory(_ directory: String, for shown: String) throws {
        var st = stat()
        if stat(directory, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFDIR else {
                throw Failure(description: "cannot write \(shown): \(directory) is a file, not a directory")
            }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            // Find the part of the path that blocks creation, for a message in words.
            var prefix = ""
            for part in directory.split(separator: "/") {
                prefix += "/" + part
                if stat(prefix, &st) == 0 {
                    if st.st_mode & S_IFMT != S_IFDIR { throw Failure(description: "cannot write \(shown): \(prefix) is a file, not a directory") }
                    continue
                }
                if mkdir(prefix, 0o755) != 0 {
                    throw Failure(description: "cannot write \(shown): cannot create the directory \(prefix): \(String(cString: strerror(errno)))")
                }
            }
        }
    }

    private static func writeAll(_ data: Data, to file: String, flags: Int32, mode: mode_t, shown: String) throws {
        let fd = open(file, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw Failure(description: "cannot write \(shown): \(String(cString: strerror(errno)))") }
        var failure: Int32 = 0
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                offset += n
            }
        }
        if close(fd) != 0 && failure == 0 { failure = errno }
        if failure != 0 { throw Failure(description: "cannot write \(shown): \(String(cString: strerror(failure)))") }
    }
}
