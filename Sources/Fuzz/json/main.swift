import Foundation
import Evaluation
import FuzzSupport

// JSON as task data rows and server bodies are read: parse, and a parsed value serializes to
// text that parses back to the same value.
FuzzDriver.main { data in
    guard let value = try? JSONValue.parse(data) else { return }
    let text = value.serialized()
    guard let again = try? JSONValue.parse(text) else { fatalError("serialized JSON does not parse: \(text.prefix(200))") }
    if again.serialized() != text { fatalError("JSON round trip is not stable") }
}
