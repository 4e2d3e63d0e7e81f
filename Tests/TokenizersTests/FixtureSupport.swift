import Foundation
import XCTest

/// Locates Tests/Fixtures and reads the files written by scripts/fixtures/make_tokenizer_fixtures.py.
enum Fixtures {
    /// $FORGETLENS_FIXTURES, else Tests/Fixtures next to this file (symlinks resolved, so an
    /// isolated package that links Tests/TokenizersTests still finds the repository's fixtures).
    static let root: URL = {
        if let env = ProcessInfo.processInfo.environment["FORGETLENS_FIXTURES"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        let here = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        return here.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")
    }()

    static var tokenizers: URL { root.appendingPathComponent("tokenizers") }

    struct Entry: Decodable {
        let name: String
        let tokenizer: String
        let strings: Int?
        let decode_prefix: String?
        let same_as: String?
    }

    struct Manifest: Decodable {
        let tokenizers_version: String
        let fixtures: [Entry]
    }

    static func manifest() throws -> Manifest {
        let data = try Data(contentsOf: tokenizers.appendingPathComponent("manifest.json"))
        return try JSONDecoder().decode(Manifest.self, from: data)
    }

    /// Foundation cannot inflate gzip on Linux; gzip(1) can.
    static func gunzip(_ url: URL) throws -> Data {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["gzip", "-dc", url.path]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw NSError(domain: "gzip", code: Int(p.terminationStatus)) }
        return data
    }

    static func jsonLines(_ data: Data) throws -> [Any] {
        try data.split(separator: UInt8(ascii: "\n")).map {
            try JSONSerialization.jsonObject(with: Data($0), options: [.fragmentsAllowed])
        }
    }

    static func datasetStrings() throws -> [String] {
        try jsonLines(gunzip(tokenizers.appendingPathComponent("dataset_strings.jsonl.gz"))).map { $0 as! String }
    }
}

/// Collects mismatches and reports the first few with their text, then a count.
struct MismatchReport {
    let what: String
    var count = 0
    var samples: [String] = []

    mutating func add(_ text: String, expected: Any, got: Any) {
        count += 1
        if samples.count < 5 {
            samples.append("  text \(String(reflecting: String(text.prefix(200))))\n    expected \(expected)\n    got      \(got)")
        }
    }

    func assertEmpty(file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(count, 0, "\(what): \(count) mismatches, first:\n" + samples.joined(separator: "\n"), file: file, line: line)
    }
}
