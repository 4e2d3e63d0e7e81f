import Foundation
import Evaluation
import FuzzSupport
import JSONReader

// The one JSON reader (JSONReader), which every layer uses: any bytes either fail with a
// JSONSyntaxError or parse; a parsed value written back as JSON text parses to exactly the same
// value (keys and strings by their scalars, numbers by their literal, member order and
// duplicates kept), strictly and with Python's NaN/Infinity; and Evaluation's JSONValue (task
// rows, server bodies, results files) serializes to text that reads back the same.
FuzzDriver.main { data in
    for options in [JSONReader.Options(), JSONReader.Options(allowsNonFiniteLiterals: true)] {
        guard let value = try? JSONReader.parse(data, options: options) else { continue }
        let text = write(value)
        guard let again = try? JSONReader.parse(text, options: options) else { fatalError("written JSON does not parse: \(text.prefix(200))") }
        if again != value { fatalError("JSON round trip changed the value: \(text.prefix(200))") }
    }
    guard let value = try? JSONValue.parse(data) else { return }
    let text = value.serialized()
    guard let again = try? JSONValue.parse(text) else { fatalError("serialized JSON does not parse: \(text.prefix(200))") }
    if again.serialized() != text { fatalError("JSON round trip is not stable") }
}

/// JSON text for a value: numbers as their literals, every string escaped the simplest way.
func write(_ value: JSON) -> String {
    switch value {
    case .null: return "null"
    case .bool(let b): return b ? "true" : "false"
    case .number(let n): return n.literal
    case .string(let s): return quote(s)
    case .array(let items): return "[" + items.map(write).joined(separator: ",") + "]"
    case .object(let members): return "{" + members.map { quote($0.key) + ":" + write($0.value) }.joined(separator: ",") + "}"
    }
}

func quote(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        default:
            if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
        }
    }
    return out + "\""
}
