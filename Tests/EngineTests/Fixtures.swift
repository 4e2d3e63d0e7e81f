import Foundation
import XCTest
@testable import Engine

/// Paths of the committed fixtures (scripts/fixtures/make_model_fixtures.py), found from this file.
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static let models = root.appendingPathComponent("models")
    static let logprobs = root.appendingPathComponent("reference/logprobs")

    static func model(_ name: String) -> String { models.appendingPathComponent(name).path }

    /// One line of a reference log-prob file (HF float64).
    struct Reference {
        let id: String
        let ids: [Int]
        let logprobs: [Double]
        let argmax: [Int]
        let truncated: Bool
        let fullIds: [Int]
    }

    static func referenceLabels() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: logprobs.path)) ?? []
        return names.filter { $0.hasSuffix(".jsonl") }.map { String($0.dropLast(6)) }.sorted()
    }

    static func references(_ label: String) throws -> [Reference] {
        let text = try String(contentsOf: logprobs.appendingPathComponent(label + ".jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            return Reference(id: o["id"] as! String, ids: o["ids"] as! [Int], logprobs: (o["logprobs"] as! [NSNumber]).map(\.doubleValue),
                             argmax: o["argmax"] as! [Int], truncated: o["truncated"] as? Bool ?? false,
                             fullIds: o["full_ids"] as? [Int] ?? [])
        }
    }

    /// (model dir, adapter dir) for a reference label: "base" or "base__adapter".
    static func paths(_ label: String) -> (model: String, adapter: String?) {
        let parts = label.components(separatedBy: "__")
        return (model(parts[0]), parts.count > 1 ? model(parts[1]) : nil)
    }

    static func requireReferences(file: StaticString = #filePath, line: UInt = #line) throws {
        if referenceLabels().isEmpty {
            throw XCTSkip("no reference log-probs in \(logprobs.path); run scripts/fixtures/make_model_fixtures.py")
        }
    }
}
