import Foundation
import TestSupport
import XCTest

/// `--help` and `--version` print and exit 0 for the root and every subcommand (ArgumentParser
/// answers them through a help command whose run() throws; it must not be reported as an error).
final class HelpTests: XCTestCase {
    func testHelpAndVersion() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CommandRunner.executable.path), "build the forgetlens executable first")
        let root = try CommandRunner.run(["--help"])
        XCTAssertEqual(root.status, 0, root.stderr)
        XCTAssertTrue(root.stdout.contains("SUBCOMMANDS"), root.stdout)
        XCTAssertFalse(root.stderr.contains("error"), root.stderr)
        let commands = ["spectra", "tokenize", "logprobs", "eval", "tasks", "run", "merge", "status", "report", "pareto", "export", "import"]
        for c in commands { XCTAssertTrue(root.stdout.contains(c), "\(c) missing from the overview") }
        for c in commands {
            let r = try CommandRunner.run([c, "--help"])
            XCTAssertEqual(r.status, 0, "\(c): \(r.stderr)")
            XCTAssertTrue(r.stdout.contains("USAGE: forgetlens \(c)"), "\(c): \(r.stdout)")
            XCTAssertTrue(r.stderr.isEmpty, "\(c): \(r.stderr)")
        }
        let runHelp = try CommandRunner.run(["run", "--help"]).stdout
        for flag in ["--shard", "--watch", "--interval", "--until-step"] { XCTAssertTrue(runHelp.contains(flag), flag) }
        let version = try CommandRunner.run(["--version"])
        XCTAssertEqual(version.status, 0)
        XCTAssertEqual(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "0.2.0")
        let missing = try CommandRunner.run(["run"])
        XCTAssertEqual(missing.status, 64, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("Missing expected argument"), missing.stderr)
    }
}
