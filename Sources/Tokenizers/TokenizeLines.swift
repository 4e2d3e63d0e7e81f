import Foundation
import JSONReader

/// Helpers for `forgetlens tokenize`: line-oriented encoding and a timing loop.
public enum TokenizeLines {
    /// Reads one JSON string per input line and writes one JSON array of ids per output line.
    /// Blank lines are skipped. Throws on a line that is not a JSON string, naming the line.
    public static func run(tokenizer: Tokenizer, input: FileHandle, output: FileHandle, addSpecialTokens: Bool) throws {
        let data = input.readDataToEndOfFile()
        var out = Data()
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let text = try parseLine(Data(line), lineNumber: lineNumber)
            guard let text else { continue }
            let ids = tokenizer.encode(text, addSpecialTokens: addSpecialTokens)
            out.append(contentsOf: Array(("[" + ids.map(String.init).joined(separator: ",") + "]\n").utf8))
            if out.count > 1 << 16 {
                output.write(out)
                out.removeAll(keepingCapacity: true)
            }
        }
        output.write(out)
    }

    /// Reads a file of one JSON string per line (the `--bench` input format).
    public static func readStrings(from url: URL) throws -> [String] {
        let data = try Data(contentsOf: url)
        var strings: [String] = []
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if let s = try parseLine(Data(line), lineNumber: lineNumber) { strings.append(s) }
        }
        return strings
    }

    private static func parseLine(_ line: Data, lineNumber: Int) throws -> String? {
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return nil }
        guard let s = (try? JSONReader.parse(line))?.stringValue else {
            throw TokenizeLinesError(line: lineNumber)
        }
        return s
    }

    /// Encodes every string once (single thread) and returns the number of tokens produced and
    /// the wall-clock seconds spent in the encode loop only.
    public static func benchmark(tokenizer: Tokenizer, strings: [String], addSpecialTokens: Bool = false) -> (tokens: Int, seconds: Double) {
        var tokens = 0
        let start = DispatchTime.now().uptimeNanoseconds
        for s in strings { tokens += tokenizer.encode(s, addSpecialTokens: addSpecialTokens).count }
        let end = DispatchTime.now().uptimeNanoseconds
        return (tokens, Double(end - start) / 1e9)
    }
}

public struct TokenizeLinesError: Error, CustomStringConvertible {
    public let line: Int
    public var description: String { "input line \(line) is not a JSON string (expected one JSON-encoded string per line)" }
}
