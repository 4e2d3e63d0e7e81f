import Foundation

/// A task step too irregular for a template, written in Swift and named from YAML with
/// `!function <module>.<name>` exactly as lm-eval's YAMLs name their Python utils.
public enum TaskFunction: Sendable {
    /// doc_to_text / doc_to_target / doc_to_choice.
    case field(@Sendable (JSONObject) throws -> JSONValue)
    /// process_docs, applied to one document (lm-eval maps it over the dataset).
    case processDoc(@Sendable (JSONObject) throws -> JSONObject)
}

/// A group of functions for one task, registered under the task's module name.
public protocol TaskFunctionLibrary {
    static var module: String { get }
    static var functions: [String: TaskFunction] { get }
}

public enum TaskFunctions {
    nonisolated(unsafe) public static let libraries: [any TaskFunctionLibrary.Type] = [HellaSwagFunctions.self, WinograndeFunctions.self, COPAFunctions.self]

    /// "module.name" -> function.
    public static let registry: [String: TaskFunction] = {
        var out: [String: TaskFunction] = [:]
        for lib in libraries { for (name, f) in lib.functions { out["\(lib.module).\(name)"] = f } }
        return out
    }()

    static func string(_ doc: JSONObject, _ field: String) throws -> String {
        guard let v = doc[field] else { throw TemplateError.missingField(field) }
        guard case .string(let s) = v else { throw TemplateError.type("field '\(field)' should be a string, is a \(v.typeName)") }
        return s
    }
}

/// lm-eval tasks/hellaswag/utils.py.
public enum HellaSwagFunctions: TaskFunctionLibrary {
    public static let module = "hellaswag"
    public static var functions: [String: TaskFunction] { ["process_docs": .processDoc(process)] }

    /// text.strip(); " [title]" -> ". "; re.sub("\\[.*?\\]", ""); "  " -> " " (once, non-overlapping).
    public static func preprocess(_ text: String) -> String {
        var t = PythonString.strip(text)
        t = PythonString.replace(t, " [title]", ". ")
        t = removeBracketSpans(t)
        return PythonString.replace(t, "  ", " ")
    }

    /// re.sub(r"\[.*?\]", "", s): "." does not match a newline.
    static func removeBracketSpans(_ s: String) -> String {
        // '[', ']' and '\n' are ASCII, so scanning UTF-8 bytes finds exactly the regex's spans.
        let bytes = Array(s.utf8)
        guard bytes.contains(UInt8(ascii: "[")) else { return s }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "[") {
                var j = i + 1
                while j < bytes.count && bytes[j] != UInt8(ascii: "]") && bytes[j] != UInt8(ascii: "\n") { j += 1 }
                if j < bytes.count && bytes[j] == UInt8(ascii: "]") { i = j + 1; continue }
            }
            out.append(bytes[i])
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func process(_ doc: JSONObject) throws -> JSONObject {
        let ctx = try TaskFunctions.string(doc, "ctx_a") + " " + PythonString.capitalize(try TaskFunctions.string(doc, "ctx_b"))
        var out = doc
        out["query"] = .string(preprocess(try TaskFunctions.string(doc, "activity_label") + ": " + ctx))
        guard case .array(let endings) = doc["endings"] ?? .null else { throw TemplateError.missingField("endings") }
        out["choices"] = .array(try endings.map { e in
            guard case .string(let s) = e else { throw TemplateError.type("endings should hold strings") }
            return .string(preprocess(s))
        })
        let label = try TaskFunctions.string(doc, "label")
        guard let gold = Int(label) else { throw TemplateError.type("label '\(label)' is not an integer") }
        out["gold"] = .int(gold)
        return out
    }
}

/// lm-eval tasks/winogrande/preprocess_winogrande.py: partial scoring.
public enum WinograndeFunctions: TaskFunctionLibrary {
    public static let module = "winogrande"
    public static var functions: [String: TaskFunction] {
        ["doc_to_text": .field(docToText), "doc_to_target": .field(docToTarget), "doc_to_choice": .field(docToChoice)]
    }

    /// The gold option's index: {"1": 0, "2": 1}[answer].
    static func docToText(_ doc: JSONObject) throws -> JSONValue {
        let answer = try TaskFunctions.string(doc, "answer")
        guard let i = ["1": 0, "2": 1][answer] else { throw TemplateError.type("answer '\(answer)' is not \"1\" or \"2\"") }
        return .int(i)
    }

    static func blank(_ sentence: String) throws -> Int {
        guard let i = Array(sentence.unicodeScalars).firstIndex(of: "_") else { throw TemplateError.type("sentence has no '_'") }
        return i
    }

    /// sentence[idx+1:].strip()
    static func docToTarget(_ doc: JSONObject) throws -> JSONValue {
        let s = try TaskFunctions.string(doc, "sentence")
        let scalars = Array(s.unicodeScalars)
        return .string(PythonString.strip(String(String.UnicodeScalarView(scalars[(try blank(s) + 1)...]))))
    }

    /// [sentence[:idx] + option for option in (option1, option2)]
    static func docToChoice(_ doc: JSONObject) throws -> JSONValue {
        let s = try TaskFunctions.string(doc, "sentence")
        let head = String(String.UnicodeScalarView(Array(s.unicodeScalars)[..<(try blank(s))]))
        return .array([.string(head + (try TaskFunctions.string(doc, "option1"))), .string(head + (try TaskFunctions.string(doc, "option2")))])
    }
}

/// lm-eval tasks/super_glue/copa/utils.py.
public enum COPAFunctions: TaskFunctionLibrary {
    public static let module = "copa"
    public static var functions: [String: TaskFunction] {
        ["doc_to_text": .field(docToText), "doc_to_target": .field(docToTarget), "doc_to_choice": .field(docToChoice)]
    }

    /// choice[0].lower() + choice[1:]
    static func convert(_ choice: String) -> String {
        guard let first = choice.unicodeScalars.first else { return choice }
        return String(first).lowercased() + String(String.UnicodeScalarView(choice.unicodeScalars.dropFirst()))
    }

    /// premise.strip()[:-1] + " because" / " therefore"
    static func docToText(_ doc: JSONObject) throws -> JSONValue {
        let question = try TaskFunctions.string(doc, "question")
        guard let connector = ["cause": "because", "effect": "therefore"][question] else {
            throw TemplateError.type("question '\(question)' is not \"cause\" or \"effect\"")
        }
        let premise = Array(PythonString.strip(try TaskFunctions.string(doc, "premise")).unicodeScalars)
        return .string(String(String.UnicodeScalarView(premise.dropLast())) + " \(connector)")
    }

    static func docToTarget(_ doc: JSONObject) throws -> JSONValue {
        guard let label = doc["label"]?.intValue else { throw TemplateError.missingField("label") }
        return .string(" " + convert(try TaskFunctions.string(doc, label == 0 ? "choice1" : "choice2")))
    }

    static func docToChoice(_ doc: JSONObject) throws -> JSONValue {
        .array([.string(" " + convert(try TaskFunctions.string(doc, "choice1"))), .string(" " + convert(try TaskFunctions.string(doc, "choice2")))])
    }
}
