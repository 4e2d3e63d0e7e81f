@testable import Checkpoints
import Foundation
import TestSupport
import XCTest

/// Output files are replaced whole, through symlinks, and never by replacing a device or FIFO
/// (as root, `spectra --json /dev/full` used to replace the device node with a regular file).
final class AtomicWriteTests: XCTestCase {
    var dir: URL!
    override func setUp() { dir = Fixtures.temporaryDirectory("atomic-write") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    private func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
    private func read(_ p: String) -> String? { try? String(contentsOfFile: p, encoding: .utf8) }
    private func leftovers() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { $0.contains(".tmp-") }
    }

    func testNewAndReplacedFilesKeepTheirMode() throws {
        let p = path("sub/dir/out.json")
        try AtomicWrite.write(Data("one".utf8), to: p)
        XCTAssertEqual(read(p), "one")
        chmod(p, 0o600)
        try AtomicWrite.write(Data("two".utf8), to: p)
        XCTAssertEqual(read(p), "two")
        let mode = try FileManager.default.attributesOfItem(atPath: p)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)
    }

    func testSymlinkTargetIsReplacedAndTheLinkStays() throws {
        let target = path("real.txt")
        try AtomicWrite.write(Data("old".utf8), to: target)
        symlink("real.txt", path("link.txt"))  // relative link
        try AtomicWrite.write(Data("new".utf8), to: path("link.txt"))
        XCTAssertEqual(read(target), "new")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: path("link.txt")), "real.txt")
        // A dangling link creates its target.
        symlink(path("later.txt"), path("dangling.txt"))
        try AtomicWrite.write(Data("made".utf8), to: path("dangling.txt"))
        XCTAssertEqual(read(path("later.txt")), "made")
        XCTAssertEqual(leftovers(), [])
    }

    func testDevicesAreWrittenNotReplaced() throws {
        try AtomicWrite.write(Data("discarded".utf8), to: "/dev/null")
        XCTAssertThrowsError(try AtomicWrite.write(Data("x".utf8), to: "/dev/full")) { error in
            XCTAssertTrue("\(error)".contains("/dev/full"), "\(error)")
            XCTAssertTrue("\(error)".contains("No space left"), "\(error)")
        }
        var st = stat()
        XCTAssertEqual(lstat("/dev/full", &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFCHR, "/dev/full must still be a character device")
        XCTAssertEqual(lstat("/dev/null", &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFCHR)
    }

    func testFIFOIsWrittenDirectly() throws {
        let fifo = path("pipe")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let received = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var got = ""
        Thread.detachNewThread {
            // Read to EOF with read(2): Foundation's file reading stops at a FIFO's st_size of 0.
            let fd = open(fifo, O_RDONLY)
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while fd >= 0 {
                let n = Foundation.read(fd, &buffer, buffer.count)
                if n <= 0 { break }
                bytes += buffer[0..<n]
            }
            if fd >= 0 { close(fd) }
            got = String(decoding: bytes, as: UTF8.self)
            received.signal()
        }
        try AtomicWrite.write(Data("through the pipe".utf8), to: fifo)
        XCTAssertEqual(received.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(got, "through the pipe")
        var st = stat()
        XCTAssertEqual(lstat(fifo, &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFIFO)
    }

    func testUnwritableDestinationsAreNamedInWords() throws {
        try FileManager.default.createDirectory(atPath: path("adir"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try AtomicWrite.write(Data(), to: path("adir"))) {
            XCTAssertEqual("\($0)", "cannot write \(self.path("adir")): it is a directory (give a file name)")
        }
        try AtomicWrite.write(Data("f".utf8), to: path("plain"))
        XCTAssertThrowsError(try AtomicWrite.write(Data(), to: path("plain/out.json"))) {
            XCTAssertTrue("\($0)".contains("\(self.path("plain")) is a file, not a directory"), "\($0)")
        }
        XCTAssertThrowsError(try AtomicWrite.write(Data(), to: path("plain/deeper/out.json"))) {
            XCTAssertTrue("\($0)".contains("is a file, not a directory"), "\($0)")
        }
        XCTAssertEqual(leftovers(), [])
    }
}
