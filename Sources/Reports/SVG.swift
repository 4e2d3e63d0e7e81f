import Foundation

/// A minimal SVG writer: elements appended as text, every attribute value and text escaped.
public struct SVG {
    public let width: Double
    public let height: Double
    private var body: [String] = []

    public init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                // XML 1.0 forbids most control characters.
                if ch.value < 0x20 && ch != "\n" && ch != "\t" { continue }
                out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    static func number(_ x: Double) -> String {
        guard x.isFinite else { return "0" }
        let r = (x * 100).rounded() / 100
        return r == r.rounded() ? String(Int(r)) : String(format: "%.2f", r)
    }

    static func attributes(_ attrs: [(String, String)]) -> String {
        attrs.map { " \($0.0)=\"\(escape($0.1))\"" }.joined()
    }

    public mutating func raw(_ text: String) { body.append(text) }

    public mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, width: Double = 1, dash: String? = nil, opacity: Double? = nil) {
        var a: [(String, String)] = [("x1", Self.number(x1)), ("y1", Self.number(y1)), ("x2", Self.number(x2)), ("y2", Self.number(y2)),
                                     ("stroke", stroke), ("stroke-width", Self.number(width))]
        if let dash { a.append(("stroke-dasharray", dash)) }
        if let opacity { a.append(("stroke-opacity", Self.number(opacity))) }
        body.append("<line\(Self.attributes(a))/>")
    }

    public mutating func polyline(_ points: [(Double, Double)], stroke: String, width: Double = 1.5, dash: String? = nil, opacity: Double? = nil) {
        guard points.count > 1 else { return }
        let pts = points.map { "\(Self.number($0.0)),\(Self.number($0.1))" }.joined(separator: " ")
        var a: [(String, String)] = [("points", pts), ("fill", "none"), ("stroke", stroke), ("stroke-width", Self.number(width)),
                                     ("stroke-linejoin", "round")]
        if let dash { a.append(("stroke-dasharray", dash)) }
        if let opacity { a.append(("stroke-opacity", Self.number(opacity))) }
        body.append("<polyline\(Self.attributes(a))/>")
    }

    public mutating func circle(_ cx: Double, _ cy: Double, r: Double, fill: String, stroke: String = "white", strokeWidth: Double = 1, title: String? = nil) {
        let a: [(String, String)] = [("cx", Self.number(cx)), ("cy", Self.number(cy)), ("r", Self.number(r)), ("fill", fill),
                                     ("stroke", stroke), ("stroke-width", Self.number(strokeWidth))]
        if let title { body.append("<circle\(Self.attributes(a))><title>\(Self.escape(title))</title></circle>") }
        else { body.append("<circle\(Self.attributes(a))/>") }
    }

    public mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String, stroke: String? = nil, title: String? = nil, opacity: Double? = nil) {
        var a: [(String, String)] = [("x", Self.number(x)), ("y", Self.number(y)), ("width", Self.number(max(0, w))), ("height", Self.number(max(0, h))), ("fill", fill)]
        if let stroke { a.append(("stroke", stroke)) }
        if let opacity { a.append(("fill-opacity", Self.number(opacity))) }
        if let title { body.append("<rect\(Self.attributes(a))><title>\(Self.escape(title))</title></rect>") }
        else { body.append("<rect\(Self.attributes(a))/>") }
    }

    public mutating func path(_ d: String, fill: String, stroke: String = "none", strokeWidth: Double = 1, title: String? = nil) {
        let a: [(String, String)] = [("d", d), ("fill", fill), ("stroke", stroke), ("stroke-width", Self.number(strokeWidth))]
        if let title { body.append("<path\(Self.attributes(a))><title>\(Self.escape(title))</title></path>") }
        else { body.append("<path\(Self.attributes(a))/>") }
    }

    public enum Anchor: String { case start, middle, end }

    public mutating func text(_ s: String, _ x: Double, _ y: Double, size: Double = 12, anchor: Anchor = .start, fill: String = "#333",
                              weight: String? = nil, rotate: Double? = nil, baseline: String? = nil) {
        var a: [(String, String)] = [("x", Self.number(x)), ("y", Self.number(y)), ("font-size", Self.number(size)),
                                     ("text-anchor", anchor.rawValue), ("fill", fill)]
        if let weight { a.append(("font-weight", weight)) }
        if let baseline { a.append(("dominant-baseline", baseline)) }
        if let rotate { a.append(("transform", "rotate(\(Self.number(rotate)) \(Self.number(x)) \(Self.number(y)))")) }
        body.append("<text\(Self.attributes(a))>\(Self.escape(s))</text>")
    }

    public func render() -> String {
        let head = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Self.number(width))\" height=\"\(Self.number(height))\" viewBox=\"0 0 \(Self.number(width)) \(Self.number(height))\" font-family=\"Helvetica, Arial, sans-serif\">"
        return ([head] + body + ["</svg>"]).joined(separator: "\n")
    }
}

/// Categorical colours (Tableau 10), readable on white and distinguishable in most colour-vision types.
public enum Palette {
    public static let colors = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]
    public static func color(_ i: Int) -> String { colors[((i % colors.count) + colors.count) % colors.count] }
}

/// Axis scales and "nice" tick values.
public struct LinearScale {
    public var domain: (Double, Double)
    public var range: (Double, Double)

    public init(domain: (Double, Double), range: (Double, Double)) {
        var d = domain
        if !(d.1 > d.0) { d = (d.0 - 0.5, d.0 + 0.5) }
        self.domain = d
        self.range = range
    }

    public func callAsFunction(_ x: Double) -> Double {
        range.0 + (x - domain.0) / (domain.1 - domain.0) * (range.1 - range.0)
    }

    /// Widens the domain to nice tick boundaries and returns the ticks (about `count` of them).
    public static func niceTicks(_ lo: Double, _ hi: Double, count: Int = 5) -> [Double] {
        var lo = lo, hi = hi
        if !(hi > lo) { lo -= 0.5; hi += 0.5 }
        let step = niceStep((hi - lo) / Double(max(1, count)))
        let start = (lo / step).rounded(.down) * step
        let end = (hi / step).rounded(.up) * step
        var ticks: [Double] = []
        var t = start
        while t <= end + step * 1e-9 {
            ticks.append(abs(t) < step * 1e-9 ? 0 : t)
            t += step
        }
        return ticks
    }

    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let exponent = (log10(raw)).rounded(.down)
        let fraction = raw / pow(10, exponent)
        let nice: Double = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 2.5 ? 2.5 : fraction <= 5 ? 5 : 10
        return nice * pow(10, exponent)
    }

    /// Tick labels with just enough decimals to tell neighbours apart.
    public static func format(_ ticks: [Double]) -> [String] {
        guard ticks.count > 1 else { return ticks.map { String(format: "%g", $0) } }
        let step = abs(ticks[1] - ticks[0])
        let decimals = step >= 1 ? 0 : min(6, Int((-log10(step)).rounded(.up)) + (step * pow(10, (-log10(step)).rounded(.up)) == 2.5 ? 1 : 0))
        return ticks.map { String(format: "%.\(decimals)f", $0) }
    }
}

public struct LogScale {
    public var domain: (Double, Double)
    public var range: (Double, Double)
    public init(domain: (Double, Double), range: (Double, Double)) {
        // Within 1e-300...1e300, so that the decade bounds and their exponents stay finite.
        let lo = min(max(domain.0, 1e-300), 1e299), hi = min(max(domain.1, lo * 10), 1e300)
        self.domain = (pow(10, log10(lo).rounded(.down)), pow(10, log10(hi).rounded(.up)))
        self.range = range
    }
    public func callAsFunction(_ x: Double) -> Double {
        let v = log10(max(x, domain.0))
        let a = log10(domain.0), b = log10(domain.1)
        return range.0 + (v - a) / (b - a) * (range.1 - range.0)
    }
    public var ticks: [Double] {
        let a = Int(log10(domain.0).rounded()), b = Int(log10(domain.1).rounded())
        let stride = max(1, (b - a + 5) / 6)
        return Swift.stride(from: a, through: b, by: stride).map { pow(10, Double($0)) }
    }
    public static func label(_ x: Double) -> String {
        let e = Int(log10(x).rounded())
        return (-2...3).contains(e) ? String(format: "%g", x) : "1e\(e)"
    }
}
