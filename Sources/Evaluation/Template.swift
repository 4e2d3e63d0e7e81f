import Foundation

/// The small Jinja subset lm-evaluation-harness task YAMLs use, evaluated against a document.
///
/// A template is text with `{{ expression }}` blocks. Expressions (see tasks/README.md):
/// - names: `question` (a document field), nested `choices.text`, `choices['text'][0]`, `[-1]`
/// - literals: `'a'`, `"a"`, `3`, `[sol1, sol2]`, `(expr)`
/// - methods (Python's): `.strip()` `.lstrip()` `.rstrip()` `.lower()` `.upper()` `.capitalize()`
///   `.index(x)` `.split(sep)` `.replace(a, b)`
/// - filters (Jinja's): `|int` `|float` `|string` `|lower` `|upper` `|capitalize` `|trim` `|length`
///   `|first` `|last` `|join(sep)` `|replace(a, b)`
/// - `+` and `-` between numbers (or `+` between strings / lists)
/// A field the document lacks is an error naming it (Jinja's StrictUndefined, as lm-eval sets).
public struct Template: Sendable {
    public let source: String
    let parts: [Part]

    enum Part: Sendable {
        case text(String)
        case expression(Expression)
    }

    public init(_ source: String) throws {
        self.source = source
        var parts: [Part] = []
        var rest = Substring(source)
        while let open = rest.range(of: "{{") {
            if open.lowerBound > rest.startIndex { parts.append(.text(String(rest[..<open.lowerBound]))) }
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                throw TemplateError.syntax(source, "'{{' without a closing '}}'")
            }
            let body = String(rest[open.upperBound..<close.lowerBound])
            parts.append(.expression(try ExpressionParser.parse(body, template: source)))
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { parts.append(.text(String(rest))) }
        if source.contains("{%") { throw TemplateError.syntax(source, "'{% ... %}' statements are not supported (only {{ expressions }})") }
        self.parts = parts
    }

    /// The template is exactly one `{{ expression }}`: its value keeps its type (a list stays a list).
    public var isSingleExpression: Bool {
        if parts.count == 1, case .expression = parts[0] { return true }
        return false
    }

    /// Renders to text, as Jinja does (values through Python's str()).
    public func render(_ doc: JSONObject) throws -> String {
        let budget = EvaluationBudget(doc)
        var out = ""
        for part in parts {
            switch part {
            case .text(let t): out += t
            case .expression(let e):
                out += PythonRepr.str(try e.evaluate(doc, budget))
            }
        }
        return out
    }

    /// The value of a single-expression template, else the rendered text.
    public func value(_ doc: JSONObject) throws -> JSONValue {
        if parts.count == 1, case .expression(let e) = parts[0] { return try e.evaluate(doc, EvaluationBudget(doc)) }
        return .string(try render(doc))
    }

    /// Field names the template reads at the top level (for error messages and checks).
    public var fieldNames: [String] {
        var names: [String] = []
        for part in parts { if case .expression(let e) = part { e.collectNames(&names) } }
        return names
    }
}

public enum TemplateError: Error, CustomStringConvertible, Equatable {
    case syntax(String, String)
    case missingField(String)
    case type(String)

    public var description: String {
        switch self {
        case .syntax(let template, let message): return "template \(Self.show(template)): \(message)"
        case .missingField(let name): return "the document has no field '\(name)'"
        case .type(let message): return message
        }
    }

    static func show(_ s: String) -> String {
        let escaped = s.replacingOccurrences(of: "\n", with: "\\n")
        return "\"" + (escaped.count > 80 ? String(escaped.prefix(77)) + "..." : escaped) + "\""
    }
}

// MARK: - Expressions

indirect enum Expression: Sendable {
    case name(String)
    case literal(JSONValue)
    case list([Expression])
    case attribute(Expression, String)
    case subscriptIndex(Expression, Expression)
    case call(Expression, String, [Expression])
    case filter(Expression, String, [Expression])
    case binary(Expression, Character, Expression)
    case negate(Expression)

    func collectNames(_ names: inout [String]) {
        switch self {
        case .name(let n): if !names.contains(n) { names.append(n) }
        case .literal: break
        case .list(let items): items.forEach { $0.collectNames(&names) }
        case .attribute(let e, _): e.collectNames(&names)
        case .subscriptIndex(let e, let i): e.collectNames(&names); i.collectNames(&names)
        case .call(let e, _, let args), .filter(let e, _, let args):
            e.collectNames(&names); args.forEach { $0.collectNames(&names) }
        case .binary(let a, _, let b): a.collectNames(&names); b.collectNames(&names)
        case .negate(let e): e.collectNames(&names)
        }
    }

    /// The expression's value. `budget` bounds what one template evaluation may build: a
    /// 4096-token expression can otherwise chain `.replace('', x)` calls into gigabytes.
    func evaluate(_ doc: JSONObject, _ budget: EvaluationBudget) throws -> JSONValue {
        switch self {
        case .name(let n):
            guard let v = doc[n] else { throw TemplateError.missingField(n) }
            return v
        case .literal(let v): return v
        case .list(let items): return try budget.charge(.array(try items.map { try $0.evaluate(doc, budget) }))
        case .attribute(let base, let name):
            let v = try base.evaluate(doc, budget)
            guard case .object(let o) = v else { throw TemplateError.type("'\(v.typeName)' value has no attribute '\(name)'") }
            guard let field = o[name] else { throw TemplateError.missingField(Self.path(self) ?? name) }
            return field
        case .subscriptIndex(let base, let index):
            let v = try base.evaluate(doc, budget), i = try index.evaluate(doc, budget)
            switch (v, i) {
            case (.object(let o), .string(let key)):
                guard let field = o[key] else { throw TemplateError.missingField(Self.path(self) ?? key) }
                return field
            case (.array(let a), .int(let k)):
                let j = k < 0 ? a.count + k : k
                guard a.indices.contains(j) else { throw TemplateError.type("list index \(k) out of range (the list has \(a.count) items)") }
                return a[j]
            case (.string(let s), .int(let k)):
                let scalars = Array(s.unicodeScalars)
                let j = k < 0 ? scalars.count + k : k
                guard scalars.indices.contains(j) else { throw TemplateError.type("string index \(k) out of range") }
                return .string(String(scalars[j]))
            default:
                throw TemplateError.type("cannot index a \(v.typeName) with a \(i.typeName)")
            }
        case .call(let base, let method, let args):
            let v = try base.evaluate(doc, budget)
            return try budget.charge(try Builtins.method(method, v, try args.map { try $0.evaluate(doc, budget) }, budget))
        case .filter(let base, let name, let args):
            let v = try base.evaluate(doc, budget)
            return try budget.charge(try Builtins.filter(name, v, try args.map { try $0.evaluate(doc, budget) }, budget))
        case .binary(let a, let op, let b):
            let x = try a.evaluate(doc, budget), y = try b.evaluate(doc, budget)
            switch (x, y, op) {
            case (.int(let p), .int(let q), "+"), (.int(let p), .int(let q), "-"):
                // Python's integers do not overflow; forgetlens' are 64-bit, so say so rather than trap.
                let (r, overflow) = op == "+" ? p.addingReportingOverflow(q) : p.subtractingReportingOverflow(q)
                guard !overflow else { throw TemplateError.type("integer overflow: \(p) \(op) \(q) does not fit in 64 bits") }
                return .int(r)
            case (.string(let p), .string(let q), "+"):
                return try budget.charge(.string(p + q))  // linear: charged once built
            case (.array(let p), .array(let q), "+"): return try budget.charge(.array(p + q))
            default:
                if let p = x.doubleValue, let q = y.doubleValue { return .double(op == "+" ? p + q : p - q) }
                throw TemplateError.type("unsupported operand types for \(op): '\(x.typeName)' and '\(y.typeName)'")
            }
        case .negate(let e):
            switch try e.evaluate(doc, budget) {
            case .int(let i):
                guard i != .min else { throw TemplateError.type("integer overflow: -(\(i)) does not fit in 64 bits") }
                return .int(-i)
            case .double(let d): return .double(-d)
            case let v: throw TemplateError.type("bad operand type for unary -: '\(v.typeName)'")
            }
        }
    }

    /// "choices.text" for a chain of names and attributes, for error messages.
    static func path(_ e: Expression) -> String? {
        switch e {
        case .name(let n): return n
        case .attribute(let b, let n): return path(b).map { "\($0).\(n)" }
        case .subscriptIndex(let b, .literal(.string(let k))): return path(b).map { "\($0).\(k)" }
        default: return nil
        }
    }
}

/// What one evaluation of a template may build, in bytes of UTF-8 (a list counts 16 bytes an
/// item plus its strings' text): 1 MiB, or four times the document's text when that is more.
/// Prompts are kilobytes; the bound only stops expressions that multiply their input
/// (`x.replace('', x)` chained, `split()` of the result) from exhausting memory and time, while a
/// template over a long document (a book, a source file) keeps room for a few passes over it.
final class EvaluationBudget {
    static let base = 1 << 20
    private let document: JSONObject
    private var extended = false
    private(set) var remaining = EvaluationBudget.base

    init(_ document: JSONObject) { self.document = document }

    var exceeded: String { "the template builds more text than it may (1 MiB, or 4x the document's text)" }

    /// Counts a value just built against the budget (sizes of values in memory: no overflow).
    @discardableResult
    func charge(_ value: JSONValue) throws -> JSONValue {
        let bytes: Int
        switch value {
        case .string(let s): bytes = s.utf8.count
        case .array(let a): bytes = a.reduce(16 * a.count) { if case .string(let s) = $1 { $0 + s.utf8.count } else { $0 } }
        default: return value
        }
        guard bytes <= remaining || extend() && bytes <= remaining else { throw TemplateError.type(exceeded) }
        remaining -= bytes
        return value
    }

    /// Raises the limit to 4x the document's text, once, the first time the base is not enough
    /// (so the document is only measured when a template builds that much).
    func extend() -> Bool {
        guard !extended else { return false }
        extended = true
        let allowance = Self.textBytes(.object(document)).multipliedReportingOverflow(by: 4)
        let extra = allowance.overflow ? Int.max : allowance.partialValue - Self.base
        if extra > 0 { remaining = remaining.addingReportingOverflow(extra).overflow ? .max : remaining + extra }
        return extra > 0
    }

    static func textBytes(_ v: JSONValue) -> Int {
        switch v {
        case .string(let s): return s.utf8.count
        case .array(let a): return a.reduce(0) { $0 &+ textBytes($1) }
        case .object(let o): return o.pairs.reduce(0) { $0 &+ textBytes($1.1) }
        default: return 0
        }
    }
}

// MARK: - Parser

struct ExpressionParser {
    enum Token: Equatable {
        case name(String), string(String), number(Int), float(Double), punct(Character), end
    }

    var tokens: [Token]
    var position = 0
    let template: String
    /// Nested sub-expressions being parsed. Parsing and evaluation recurse once per level, so
    /// 20k nested parentheses would overflow the stack; prompt templates nest a few levels.
    var depth = 0
    static let maxDepth = 100

    mutating func descend() throws {
        depth += 1
        guard depth <= Self.maxDepth else {
            throw TemplateError.syntax(template, "expression nested deeper than \(Self.maxDepth) levels")
        }
    }

    static func parse(_ text: String, template: String) throws -> Expression {
        let tokens = try tokenize(text, template: template)
        // Chains (a + b + ..., x.y.z...) build trees as deep as they are long, and evaluating
        // them recurses: bound the length too, far above any prompt template.
        guard tokens.count <= 4_096 else {
            throw TemplateError.syntax(template, "expression of \(tokens.count) tokens is longer than the 4096 allowed")
        }
        var p = ExpressionParser(tokens: tokens, template: template)
        let e = try p.expression()
        guard p.peek == .end else { throw TemplateError.syntax(template, "unexpected \(p.describe(p.peek)) in '{{\(text)}}'") }
        return e
    }

    static func tokenize(_ text: String, template: String) throws -> [Token] {
        var tokens: [Token] = []
        let chars = Array(text.unicodeScalars)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == " " || c == "\t" || c == "\n" { i += 1; continue }
            if CharacterSet.letters.contains(c) || c == "_" {
                var j = i
                while j < chars.count, CharacterSet.alphanumerics.contains(chars[j]) || chars[j] == "_" { j += 1 }
                tokens.append(.name(String(String.UnicodeScalarView(chars[i..<j]))))
                i = j
            } else if CharacterSet.decimalDigits.contains(c) {
                var j = i
                while j < chars.count, CharacterSet.decimalDigits.contains(chars[j]) || chars[j] == "." { j += 1 }
                let s = String(String.UnicodeScalarView(chars[i..<j]))
                if let n = Int(s) { tokens.append(.number(n)) }
                else if !s.contains(".") { throw TemplateError.syntax(template, "integer \(s) does not fit in 64 bits") }
                else if let d = Double(s) { tokens.append(.float(d)) }
                else { throw TemplateError.syntax(template, "bad number \(s)") }
                i = j
            } else if c == "'" || c == "\"" {
                var j = i + 1
                var s = String.UnicodeScalarView()
                while j < chars.count, chars[j] != c {
                    if chars[j] == "\\", j + 1 < chars.count {
                        j += 1
                        switch chars[j] {
                        case "n": s.append("\n")
                        case "t": s.append("\t")
                        default: s.append(chars[j])
                        }
                    } else { s.append(chars[j]) }
                    j += 1
                }
                guard j < chars.count else { throw TemplateError.syntax(template, "unterminated string literal") }
                tokens.append(.string(String(s)))
                i = j + 1
            } else if "()[].,|+-:".unicodeScalars.contains(c) {
                tokens.append(.punct(Character(c)))
                i += 1
            } else {
                throw TemplateError.syntax(template, "unsupported character '\(c)' (see tasks/README.md for the expression syntax)")
            }
        }
        tokens.append(.end)
        return tokens
    }

    var peek: Token { tokens[position] }

    func describe(_ t: Token) -> String {
        switch t {
        case .name(let n): return "'\(n)'"
        case .string(let s): return "'\(s)'"
        case .number(let n): return "\(n)"
        case .float(let d): return "\(d)"
        case .punct(let c): return "'\(c)'"
        case .end: return "end of expression"
        }
    }

    mutating func expect(_ c: Character) throws {
        guard peek == .punct(c) else { throw TemplateError.syntax(template, "expected '\(c)', found \(describe(peek))") }
        position += 1
    }

    mutating func expression() throws -> Expression {
        try descend()
        defer { depth -= 1 }
        var e = try filtered()
        while case .punct(let op) = peek, op == "+" || op == "-" {
            position += 1
            e = .binary(e, op, try filtered())
        }
        return e
    }

    mutating func filtered() throws -> Expression {
        var e = try unary()
        while peek == .punct("|") {
            position += 1
            guard case .name(let name) = peek else { throw TemplateError.syntax(template, "expected a filter name after '|'") }
            position += 1
            var args: [Expression] = []
            if peek == .punct("(") { args = try arguments() }
            guard Builtins.filters.contains(name) else {
                throw TemplateError.syntax(template, "unknown filter '\(name)' (known: \(Builtins.filters.sorted().joined(separator: ", ")))")
            }
            e = .filter(e, name, args)
        }
        return e
    }

    mutating func unary() throws -> Expression {
        if peek == .punct("-") {
            position += 1
            try descend()
            defer { depth -= 1 }
            return .negate(try unary())
        }
        return try postfix()
    }

    mutating func arguments() throws -> [Expression] {
        try expect("(")
        var args: [Expression] = []
        if peek == .punct(")") { position += 1; return args }
        while true {
            args.append(try expression())
            if peek == .punct(",") { position += 1; continue }
            try expect(")")
            return args
        }
    }

    mutating func postfix() throws -> Expression {
        var e = try primary()
        while true {
            if peek == .punct(".") {
                position += 1
                guard case .name(let name) = peek else { throw TemplateError.syntax(template, "expected a name after '.'") }
                position += 1
                if peek == .punct("(") {
                    guard Builtins.methods.contains(name) else {
                        throw TemplateError.syntax(template, "unknown method '\(name)()' (known: \(Builtins.methods.sorted().joined(separator: ", ")))")
                    }
                    e = .call(e, name, try arguments())
                } else {
                    e = .attribute(e, name)
                }
            } else if peek == .punct("[") {
                position += 1
                let index = try expression()
                try expect("]")
                e = .subscriptIndex(e, index)
            } else {
                return e
            }
        }
    }

    mutating func primary() throws -> Expression {
        let t = peek
        position += 1
        switch t {
        case .name("True"), .name("true"): return .literal(.bool(true))
        case .name("False"), .name("false"): return .literal(.bool(false))
        case .name("None"), .name("none"): return .literal(.null)
        case .name(let n): return .name(n)
        case .string(let s): return .literal(.string(s))
        case .number(let n): return .literal(.int(n))
        case .float(let d): return .literal(.double(d))
        case .punct("("):
            let e = try expression()
            try expect(")")
            return e
        case .punct("["):
            var items: [Expression] = []
            if peek == .punct("]") { position += 1; return .list(items) }
            while true {
                items.append(try expression())
                if peek == .punct(",") { position += 1; if peek == .punct("]") { position += 1; return .list(items) }; continue }
                try expect("]")
                return .list(items)
            }
        default:
            throw TemplateError.syntax(template, "unexpected \(describe(t))")
        }
    }
}

// MARK: - Methods and filters

enum Builtins {
    static let methods: Set<String> = ["strip", "lstrip", "rstrip", "lower", "upper", "capitalize", "index", "split", "replace", "title"]
    static let filters: Set<String> = ["int", "float", "string", "lower", "upper", "capitalize", "trim", "length", "first", "last", "join", "replace", "title"]

    static func string(_ v: JSONValue, _ what: String) throws -> String {
        guard case .string(let s) = v else { throw TemplateError.type("\(what) needs a string, got a \(v.typeName)") }
        return s
    }

    static func method(_ name: String, _ v: JSONValue, _ args: [JSONValue], _ budget: EvaluationBudget) throws -> JSONValue {
        if name == "index" {
            guard args.count == 1 else { throw TemplateError.type("index() takes one argument") }
            switch v {
            case .array(let a):
                guard let i = a.firstIndex(of: args[0]) else {
                    throw TemplateError.type("\(PythonRepr.repr(args[0])) is not in list \(PythonRepr.repr(v))")
                }
                return .int(i)
            case .string(let s):
                let needle = try string(args[0], "str.index()")
                guard let r = s.range(of: needle) else { throw TemplateError.type("substring not found") }
                return .int(s.unicodeScalars.distance(from: s.startIndex, to: r.lowerBound))
            default: throw TemplateError.type("'\(v.typeName)' has no method index()")
            }
        }
        let s = try string(v, "\(name)()")
        switch name {
        case "strip", "lstrip", "rstrip":
            let chars = try args.first.map { Set(try string($0, name).unicodeScalars) }
            return .string(PythonString.strip(s, chars: chars, leading: name != "rstrip", trailing: name != "lstrip"))
        case "lower": return .string(s.lowercased())
        case "upper": return .string(s.uppercased())
        case "capitalize": return .string(PythonString.capitalize(s))
        case "title": return .string(s.capitalized)
        case "split":
            if let sep = args.first { return .array(s.components(separatedBy: try string(sep, "split()")).map { .string($0) }) }
            return .array(PythonString.splitWhitespace(s).map { .string($0) })
        case "replace":
            guard args.count == 2 else { throw TemplateError.type("replace() takes two arguments") }
            return .string(try replace(s, try string(args[0], "replace()"), try string(args[1], "replace()"), budget))
        default: throw TemplateError.type("unknown method \(name)")
        }
    }

    /// Python's float() of a string, or nil: Swift's parser also reads hexadecimal ("0x1p3")
    /// and "nan(...)" payloads, which Python refuses.
    static func pythonFloat(_ t: String) -> Double? {
        guard !t.contains(where: { $0 == "x" || $0 == "X" || $0 == "(" }) else { return nil }
        return Double(t)
    }

    /// Jinja's int filter on a float: int(value), falling back to the default 0 where Python
    /// raises ValueError (NaN). A float infinity raises OverflowError in Jinja too, and a finite
    /// value past 64 bits would be a Python big integer: both are errors here, never a trap.
    static func integer(_ d: Double) throws -> JSONValue {
        if d.isNaN { return .int(0) }
        guard let i = Int(exactly: d.rounded(.towardZero)) else {
            throw TemplateError.type("|int of \(d): \(d.isInfinite ? "cannot convert float infinity to integer" : "does not fit in 64 bits")")
        }
        return .int(i)
    }

    /// str.replace within the evaluation's budget: PythonString.replace sizes the result before
    /// building it (an empty `old` multiplies the length), so a refused one costs nothing.
    static func replace(_ s: String, _ old: String, _ new: String, _ budget: EvaluationBudget) throws -> String {
        if let result = PythonString.replace(s, old, new, maxBytes: budget.remaining) { return result }
        guard budget.extend(), let result = PythonString.replace(s, old, new, maxBytes: budget.remaining) else {
            throw TemplateError.type(budget.exceeded)
        }
        return result
    }

    static func filter(_ name: String, _ v: JSONValue, _ args: [JSONValue], _ budget: EvaluationBudget) throws -> JSONValue {
        switch name {
        case "int":
            switch v {
            case .int: return v
            case .bool(let b): return .int(b ? 1 : 0)
            case .double(let d): return try integer(d)
            case .string(let s):
                let t = s.trimmingCharacters(in: .whitespaces)
                if let i = Int(t) { return .int(i) }
                // int(float(s)): Jinja returns the default for the OverflowError of "inf".
                if let d = pythonFloat(t) { return d.isInfinite ? .int(0) : try integer(d) }
                return .int(0) // Jinja's int filter: default 0
            default: return .int(0)
            }
        case "float":
            if let d = v.doubleValue { return .double(d) }
            if case .string(let s) = v, let d = pythonFloat(s.trimmingCharacters(in: .whitespaces)) { return .double(d) }
            return .double(0)
        case "string": return .string(PythonRepr.str(v))
        case "lower": return .string(try string(v, "|lower").lowercased())
        case "upper": return .string(try string(v, "|upper").uppercased())
        case "capitalize": return .string(PythonString.capitalize(try string(v, "|capitalize")))
        case "title": return .string(try string(v, "|title").capitalized)
        case "trim": return .string(PythonString.strip(try string(v, "|trim"), chars: nil, leading: true, trailing: true))
        case "length":
            switch v {
            case .string(let s): return .int(s.unicodeScalars.count)
            case .array(let a): return .int(a.count)
            case .object(let o): return .int(o.count)
            default: throw TemplateError.type("|length of a \(v.typeName)")
            }
        case "first", "last":
            guard case .array(let a) = v, !a.isEmpty else { throw TemplateError.type("|\(name) needs a non-empty list") }
            return name == "first" ? a[0] : a[a.count - 1]
        case "join":
            guard case .array(let a) = v else { throw TemplateError.type("|join needs a list") }
            let sep = try args.first.map { try string($0, "|join") } ?? ""
            return .string(a.map(PythonRepr.str).joined(separator: sep))
        case "replace":
            guard args.count == 2 else { throw TemplateError.type("|replace takes two arguments") }
            return .string(try replace(try string(v, "|replace"), try string(args[0], "|replace"), try string(args[1], "|replace"), budget))
        default: throw TemplateError.type("unknown filter \(name)")
        }
    }
}

/// Python str methods whose exact behaviour matters for prompts.
public enum PythonString {
    /// Python's str.replace(old, new): left to right, non-overlapping, on code points (no
    /// Unicode normalisation, unlike Foundation's replacingOccurrences, which also matches
    /// canonically equivalent text and, on Linux, goes through NSString). An empty `old`
    /// inserts `new` around every code point, as Python does.
    public static func replace(_ s: String, _ old: String, _ new: String) -> String {
        replace(s, old, new, maxBytes: .max) ?? s
    }

    /// As `replace`, or nil when the result would pass `maxBytes` of UTF-8 (checked before
    /// anything is built). On UTF-8 bytes: a match of a valid UTF-8 pattern always starts on a
    /// code point (its first byte is a lead byte), so byte matching is code point matching; an
    /// empty `old` matches before every lead byte and at the end.
    static func replace(_ s: String, _ old: String, _ new: String, maxBytes: Int) -> String? {
        let source = Array(s.utf8), needle = Array(old.utf8), replacement = Array(new.utf8)
        let matches = old.isEmpty ? s.unicodeScalars.count + 1 : matchStarts(of: needle, in: source).count
        if matches == 0 { return s.utf8.count <= maxBytes ? s : nil }
        let (grown, overflow) = matches.multipliedReportingOverflow(by: replacement.count - needle.count)
        guard !overflow, grown <= maxBytes - source.count else { return nil }
        var result: [UInt8] = []
        result.reserveCapacity(source.count + grown)
        if old.isEmpty {
            var start = 0
            for i in 1..<max(source.count, 1) where source[i] & 0xC0 != 0x80 {
                result.append(contentsOf: replacement)
                result.append(contentsOf: source[start..<i])
                start = i
            }
            if !source.isEmpty {
                result.append(contentsOf: replacement)
                result.append(contentsOf: source[start...])
            }
            result.append(contentsOf: replacement)
        } else {
            var copied = 0
            for at in matchStarts(of: needle, in: source) {
                result.append(contentsOf: source[copied..<at])
                result.append(contentsOf: replacement)
                copied = at + needle.count
            }
            result.append(contentsOf: source[copied...])
        }
        return String(decoding: result, as: UTF8.self)
    }

    /// Starts of the non-overlapping matches of a non-empty `needle`, left to right.
    private static func matchStarts(of needle: [UInt8], in source: [UInt8]) -> [Int] {
        var starts: [Int] = []
        guard let first = needle.first else { return starts }
        var from = source.startIndex
        while let i = source[from...].firstIndex(of: first) {
            guard i + needle.count <= source.count else { break }
            if source[i..<(i + needle.count)].elementsEqual(needle) {
                starts.append(i)
                from = i + needle.count
            } else {
                from = i + 1
            }
        }
        return starts
    }

    /// Python's str.isspace() set (Unicode White_Space plus the ASCII separators 0x1C-0x1F).
    public static func isSpace(_ s: Unicode.Scalar) -> Bool {
        s.properties.isWhitespace || (0x1C...0x1F).contains(s.value)
    }

    public static func strip(_ s: String, chars: Set<Unicode.Scalar>? = nil, leading: Bool = true, trailing: Bool = true) -> String {
        let drop: (Unicode.Scalar) -> Bool = { c in chars.map { $0.contains(c) } ?? isSpace(c) }
        let view = s.unicodeScalars
        var lo = view.startIndex, hi = view.endIndex
        if leading { while lo < hi && drop(view[lo]) { lo = view.index(after: lo) } }
        if trailing { while hi > lo && drop(view[view.index(before: hi)]) { hi = view.index(before: hi) } }
        if lo == view.startIndex && hi == view.endIndex { return s }  // the usual case: nothing to strip
        return String(view[lo..<hi])
    }

    /// str.capitalize(): first character upper-cased (title-cased), the rest lower-cased.
    public static func capitalize(_ s: String) -> String {
        guard let first = s.unicodeScalars.first else { return s }
        let rest = String(s.unicodeScalars.dropFirst())
        return first.properties.titlecaseMapping + rest.lowercased()
    }

    /// str.split() with no separator: runs of whitespace, no empty strings.
    public static func splitWhitespace(_ s: String) -> [String] {
        var out: [String] = [], current = String.UnicodeScalarView()
        for c in s.unicodeScalars {
            if isSpace(c) { if !current.isEmpty { out.append(String(current)); current = .init() } }
            else { current.append(c) }
        }
        if !current.isEmpty { out.append(String(current)) }
        return out
    }

    /// len(re.split(r"\s+", s)): the number of whitespace runs plus one.
    public static func regexWordCount(_ s: String) -> Int {
        var count = 1, inSpace = false
        for c in s.unicodeScalars {
            if isSpace(c) { if !inSpace { count += 1; inSpace = true } } else { inSpace = false }
        }
        return count
    }
}
