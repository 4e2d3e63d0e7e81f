@testable import Evaluation
import Foundation
import TestSupport
import XCTest

/// The code sandbox (issue 12): every hostile program the issue lists is killed or fails, counts
/// as failed, and the next program runs. Limits are kept small so each test is bounded (about
/// one wall-clock limit at worst); nothing here measures speed.
final class SandboxTests: XCTestCase {
    var limits: SandboxLimits {
        var l = SandboxLimits()
        l.seconds = 2
        l.memoryBytes = 512 << 20
        l.processes = 16
        l.outputBytes = 64 << 10
        return l
    }

    func sandbox() throws -> Sandbox {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: Sandbox.defaultInterpreter), "no \(Sandbox.defaultInterpreter)")
        return try Sandbox(limits: limits)
    }

    func testACorrectProgramPassesAndAWrongOneFails() throws {
        let s = try sandbox()
        XCTAssertEqual(try s.run(python: "def add(a, b):\n    return a + b\nassert add(2, 3) == 5\n"), .passed)
        guard case .failed(_, let stderr) = try s.run(python: "def add(a, b):\n    return a * b\nassert add(2, 3) == 5\n") else { return XCTFail() }
        XCTAssertTrue(stderr.contains("AssertionError"), stderr)
    }

    func testAHangingProgramIsKilledAtTheWallClockLimit() throws {
        let s = try sandbox()
        XCTAssertEqual(try s.run(python: "import time\nwhile True:\n    time.sleep(1)\n"), .timedOut)
        XCTAssertEqual(try s.run(python: "while True:\n    pass\n"), .timedOut)
        XCTAssertEqual(try s.run(python: "print('next')\n"), .passed)
    }

    func testAForkBombIsContainedAndLeavesNothingBehind() throws {
        let s = try sandbox()
        let marker = "forgetlens-forkbomb-\(UUID().uuidString.prefix(8))"
        // every child renames itself so that survivors could be counted afterwards
        let outcome = try s.run(python: """
        import os, time
        open('/proc/self/comm', 'w').write('\(marker.prefix(15))')
        while True:
            try:
                os.fork()
            except OSError:
                time.sleep(0.01)
        """)
        XCTAssertFalse(outcome.passed)
        usleep(200_000)
        let survivors = try processes(named: String(marker.prefix(15)))
        XCTAssertEqual(survivors, 0, "processes left after the fork bomb")
        XCTAssertEqual(try s.run(python: "print('next')\n"), .passed)
    }

    func testUnboundedAllocationFails() throws {
        let s = try sandbox()
        guard case .failed(_, let stderr) = try s.run(python: "x = []\nwhile True:\n    x.append(bytearray(50 << 20))\n") else { return XCTFail("not failed") }
        XCTAssertTrue(stderr.contains("MemoryError"), stderr)
    }

    func testWritingOutsideItsDirectoryFails() throws {
        let s = try sandbox()
        let outside = Fixtures.temporaryDirectory("sandbox-outside")
        defer { try? FileManager.default.removeItem(at: outside) }
        chmod(outside.path, 0o755)
        let target = outside.appendingPathComponent("owned.txt").path
        let outcome = try s.run(python: "open('\(target)', 'w').write('x')\n")
        XCTAssertFalse(outcome.passed, "\(outcome)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: target))
        // its own directory is writable, and /tmp is a private one that vanishes with it
        let tmpName = "/tmp/forgetlens-sandbox-probe-\(UUID().uuidString.prefix(8))"
        XCTAssertEqual(try s.run(python: "open('mine.txt', 'w').write('x')\nopen('\(tmpName)', 'w').write('x')\n"), .passed)
        if s.isolation > 0 { XCTAssertFalse(FileManager.default.fileExists(atPath: tmpName)) } else { try? FileManager.default.removeItem(atPath: tmpName) }
    }

    func testNoNetwork() throws {
        let s = try sandbox()
        try XCTSkipIf(s.isolation == 0, "no network namespaces on this kernel")
        // a listener on the host's loopback: the program must not reach it
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, len) } }
        listen(listener, 4)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &len) } }
        let port = Int(UInt16(bigEndian: addr.sin_port))
        let outcome = try s.run(python: "import socket\ns = socket.create_connection(('127.0.0.1', \(port)), timeout=1)\n")
        guard case .failed(_, let stderr) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertTrue(stderr.contains("Error"), stderr)
        XCTAssertEqual(try s.run(python: "import socket\nsocket.getaddrinfo('pypi.org', 443)\n").passed, false)
    }

    func testTheEnvironmentIsScrubbedAndOutputCapped() throws {
        let s = try sandbox()
        setenv("FORGETLENS_TEST_SECRET", "sk-do-not-leak", 1)
        defer { unsetenv("FORGETLENS_TEST_SECRET") }
        XCTAssertEqual(try s.run(python: "import os\nassert 'FORGETLENS_TEST_SECRET' not in os.environ, os.environ\nassert os.listdir('.') == ['program.py'], os.listdir('.')\n"), .passed)
        XCTAssertFalse(try s.run(python: "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n").passed)
    }

    /// Live (not zombie) processes whose name is `comm`, from /proc. Killed processes whose parent
    /// died wait as zombies until the container's init reaps them: they run nothing.
    func processes(named comm: String) throws -> Int {
        var n = 0
        for entry in try FileManager.default.contentsOfDirectory(atPath: "/proc") where Int(entry) != nil {
            guard let c = try? String(contentsOfFile: "/proc/\(entry)/comm", encoding: .utf8), c.trimmingCharacters(in: .whitespacesAndNewlines) == comm,
                  let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let state = stat[stat.index(close, offsetBy: 2)]
            if state != "Z" && state != "X" { n += 1 }
        }
        return n
    }

    /// Without namespaces (kernels or containers that refuse them) a hang and a fork bomb are
    /// still ended by the limits and the process-group kill.
    func testWithoutNamespacesTheLimitsStillHold() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: Sandbox.defaultInterpreter), "no \(Sandbox.defaultInterpreter)")
        var l = limits
        l.namespaces = false
        let s = try Sandbox(limits: l)
        XCTAssertEqual(try s.run(python: "while True:\n    pass\n"), .timedOut)
        let marker = "flfb-\(UUID().uuidString.prefix(8))"
        let outcome = try s.run(python: """
        import os, time
        open('/proc/self/comm', 'w').write('\(marker)')
        while True:
            try:
                os.fork()
            except OSError:
                time.sleep(0.01)
        """)
        XCTAssertFalse(outcome.passed)
        usleep(200_000)
        XCTAssertEqual(try processes(named: marker), 0, "processes left after the fork bomb")
        guard case .failed(_, let stderr) = try s.run(python: "x = []\nwhile True:\n    x.append(bytearray(50 << 20))\n") else { return XCTFail() }
        XCTAssertTrue(stderr.contains("MemoryError"), stderr)
        XCTAssertEqual(try s.run(python: "print('next')\n"), .passed)
    }
}
