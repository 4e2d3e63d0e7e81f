import Foundation

/// Reads a task's documents: JSONL, plain or gzip-compressed (through /usr/bin/gzip).
public enum TaskData {
    public static func readDocuments(path: String) throws -> [JSONObject] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw EvaluationError("\(path): data file not found")
        }
        let bytes: Data
        if path.hasSuffix(".gz") {
            bytes = try gunzip(path)
        } else {
            bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        }
        var docs: [JSONObject] = []
        var line = 0
        for raw in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            line += 1
            if raw.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            let value: JSONValue
            do { value = try JSONValue.parse(raw) } catch {
                throw EvaluationError("\(path): line \(line): \(error)")
            }
            guard case .object(let o) = value else { throw EvaluationError("\(path): line \(line): expected a JSON object per line") }
            docs.append(o)
        }
        // An empty file would score nothing and report no metrics, with exit 0.
        guard !docs.isEmpty else { throw EvaluationError("\(path): no documents (the data file is empty; expected one JSON object per line)") }
        return docs
    }

    /// The number of documents (non-blank lines) without parsing them.
    public static func countDocuments(path: String) throws -> Int {
        guard FileManager.default.fileExists(atPath: path) else { throw EvaluationError("\(path): data file not found") }
        let bytes = path.hasSuffix(".gz") ? try gunzip(path) : try Data(contentsOf: URL(fileURLWithPath: path))
        var count = 0, blank = true
        for b in bytes {
            if b == UInt8(ascii: "\n") { if !blank { count += 1 }; blank = true }
            else if b != 0x20 && b != 0x09 && b != 0x0D { blank = false }
        }
        return blank ? count : count + 1
    }

    static func gunzip(_ path: String) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/gzip")
        process.arguments = ["-dc", path]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read before waiting so a full pipe cannot block gzip.
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let message = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw EvaluationError("\(path): gzip -dc failed: \(String(decoding: message, as: UTF8.self))")
        }
        return data
    }
}

public struct EvaluationError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
