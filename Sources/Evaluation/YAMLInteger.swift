import Yams

/// Reads an integer scalar of a task or experiment file the way PyYAML (lm-eval's YAML loader,
/// YAML 1.1) does, with overflow-checked arithmetic. Every integer we read from YAML goes
/// through here, never through Yams' `Node.int`: Yams multiplies base-60 integers (`1:30`)
/// unchecked, so `9223372036854775807:0` or `1:0:0:0:0:0:0:0:0:0:0:0` trapped the process.
///
/// Accepted, as PyYAML's resolver and constructor accept them (each with an optional sign, `_`
/// anywhere after the first digit ignored): decimal `1000` / `1_000`, hexadecimal `0x1F`, binary
/// `0b101`, octal with a leading zero `017` (= 15), base 60 `1:30` (= 90). `0o17` is YAML 1.2's
/// octal: PyYAML reads it as the string "0o17", so it is not an integer here either (Yams'
/// resolver tags it int; lm-eval would see text). A value past the 64-bit range is
/// `.outOfRange`, which callers report as an error: PyYAML would keep the big integer, but no
/// count, seed or size of ours means anything there.
public enum YAMLInteger {
    public enum Reading: Equatable, Sendable {
        case integer(Int)
        case notInteger
        case outOfRange
    }

    /// The node's integer, or nil (not an integer, or out of range: see `rangeNote`).
    public static func int(_ node: Node) -> Int? {
        if case .integer(let i) = read(node) { return i }
        return nil
    }

    /// " ('TEXT' is beyond the 64-bit integer range)" when that is why `int` gave nil, else "":
    /// appended to a caller's "expected an integer ..." message.
    public static func rangeNote(_ node: Node) -> String {
        read(node) == .outOfRange ? " ('\(node.string ?? "")' is beyond the 64-bit integer range)" : ""
    }

    /// A scalar the resolver tagged int (plain `12`, or an explicit `!!int "12"`), read by
    /// PyYAML's grammar; anything else (strings, floats, lists) is `.notInteger`.
    public static func read(_ node: Node) -> Reading {
        // node.tag, not the scalar's own: Yams resolves a plain scalar's tag when Node.tag is asked.
        guard case .scalar(let scalar) = node, node.tag.rawValue == Tag.Name.int.rawValue else { return .notInteger }
        return read(scalar.string)
    }

    /// The text of an int-tagged scalar.
    public static func read(_ text: String) -> Reading {
        var body = Substring(text)
        var negative = false
        if let first = body.first, first == "-" || first == "+" {
            negative = first == "-"
            body = body.dropFirst()
        }
        let magnitude: Magnitude
        if body.hasPrefix("0b") {
            magnitude = digits(body.dropFirst(2), radix: 2)
        } else if body.hasPrefix("0x") {
            magnitude = digits(body.dropFirst(2), radix: 16)
        } else if body.hasPrefix("0") {
            magnitude = digits(body, radix: 8)  // "0", or PyYAML's 0[0-7_]+ octal ("0_" is 0 there too)
        } else if body.contains(":") {
            magnitude = sexagesimal(body)
        } else {
            guard let first = body.first, first != "_" else { return .notInteger }
            magnitude = digits(body, radix: 10)
        }
        switch magnitude {
        case .notInteger: return .notInteger
        case .outOfRange: return .outOfRange
        case .value(let m):
            // The magnitude is unsigned so that -9223372036854775808 (Int.min) still reads.
            if negative { return m <= UInt64(Int.max) + 1 ? .integer(Int(truncatingIfNeeded: 0 &- m)) : .outOfRange }
            return m <= UInt64(Int.max) ? .integer(Int(m)) : .outOfRange
        }
    }

    private enum Magnitude { case value(UInt64), notInteger, outOfRange }

    /// PyYAML's `[1-9][0-9_]*(:[0-5]?[0-9])+`: the first part any decimal, each further part
    /// 0...59 in one or two digits; the value is the parts as digits of base 60.
    private static func sexagesimal(_ body: Substring) -> Magnitude {
        let parts = body.split(separator: ":", omittingEmptySubsequences: false)
        guard let head = parts.first, let first = head.first, ("1"..."9").contains(first) else { return .notInteger }
        let headValue = digits(head, radix: 10)
        guard case .value(var value) = headValue else { return headValue }
        for part in parts.dropFirst() {
            guard (1...2).contains(part.count), part.allSatisfy({ $0.isASCII && $0.isWholeNumber }),
                  let d = UInt64(part), d < 60 else { return .notInteger }
            let (shifted, o1) = value.multipliedReportingOverflow(by: 60)
            let (sum, o2) = shifted.addingReportingOverflow(d)
            if o1 || o2 { return .outOfRange }
            value = sum
        }
        return .value(value)
    }

    /// Digits of `radix` with `_` separators (at least one digit), accumulated with overflow checks.
    private static func digits(_ text: Substring, radix: Int) -> Magnitude {
        var value: UInt64 = 0
        var seen = false
        for c in text {
            if c == "_" { continue }
            guard c.isASCII, let d = c.hexDigitValue, d < radix else { return .notInteger }
            seen = true
            let (shifted, o1) = value.multipliedReportingOverflow(by: UInt64(radix))
            let (sum, o2) = shifted.addingReportingOverflow(UInt64(d))
            if o1 || o2 { return .outOfRange }
            value = sum
        }
        return seen ? .value(value) : .notInteger
    }
}
