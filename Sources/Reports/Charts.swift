import Foundation

/// The plotting area of a chart and its axes.
struct Frame {
    var width: Double
    var height: Double
    var left = 64.0, right = 16.0, top = 34.0, bottom = 48.0
    var plotLeft: Double { left }
    var plotRight: Double { width - right }
    var plotTop: Double { top }
    var plotBottom: Double { height - bottom }

    func drawTitle(_ svg: inout SVG, _ title: String) {
        svg.text(title, left, 20, size: 14, weight: "bold")
    }

    /// Grid lines, ticks and labels for a linear x and y axis.
    func drawAxes(_ svg: inout SVG, x: LinearScale?, xTicks: [Double], xLabels: [String], y: (Double) -> Double,
                  yTicks: [Double], yLabels: [String], xTitle: String, yTitle: String) {
        for (t, label) in zip(yTicks, yLabels) {
            let py = y(t)
            svg.line(plotLeft, py, plotRight, py, stroke: "#e5e5e5")
            svg.text(label, plotLeft - 6, py + 4, size: 11, anchor: .end, fill: "#555")
        }
        if let x {
            for (t, label) in zip(xTicks, xLabels) {
                let px = x(t)
                svg.line(px, plotTop, px, plotBottom, stroke: "#eeeeee")
                svg.text(label, px, plotBottom + 16, size: 11, anchor: .middle, fill: "#555")
            }
        }
        svg.line(plotLeft, plotBottom, plotRight, plotBottom, stroke: "#888")
        svg.line(plotLeft, plotTop, plotLeft, plotBottom, stroke: "#888")
        svg.text(xTitle, (plotLeft + plotRight) / 2, plotBottom + 36, size: 12, anchor: .middle)
        svg.text(yTitle, 16, (plotTop + plotBottom) / 2, size: 12, anchor: .middle, rotate: -90)
    }
}

/// A legend drawn as a column of entries at (x, y).
public struct Legend: Sendable {
    public enum Mark: Sendable { case dot, line, dashed, star, square }
    public var entries: [(label: String, color: String, mark: Mark)]

    public init(entries: [(label: String, color: String, mark: Mark)]) { self.entries = entries }

    static let rowHeight = 18.0

    /// A legend on its own, laid out in rows across `width` (shared by a grid of small charts).
    public func render(width: Double) -> String {
        let cell = max(120, self.width)
        let perRow = max(1, Int(width / cell))
        let rows = (entries.count + perRow - 1) / perRow
        var svg = SVG(width: width, height: Double(rows) * Self.rowHeight + 8)
        for (i, e) in entries.enumerated() {
            Legend(entries: [e]).draw(&svg, x: Double(i % perRow) * cell + 4, y: 12 + Double(i / perRow) * Self.rowHeight)
        }
        return svg.render()
    }

    func draw(_ svg: inout SVG, x: Double, y: Double) {
        for (i, e) in entries.enumerated() {
            let cy = y + Double(i) * Self.rowHeight
            switch e.mark {
            case .dot: svg.circle(x + 8, cy, r: 5, fill: e.color)
            case .square: svg.rect(x + 2, cy - 6, 12, 12, fill: e.color)
            case .line: svg.line(x, cy, x + 16, cy, stroke: e.color, width: 2.5)
            case .dashed: svg.line(x, cy, x + 16, cy, stroke: e.color, width: 2, dash: "4 3")
            case .star: svg.path(Star.path(cx: x + 8, cy: cy, r: 7), fill: e.color, stroke: "#222", strokeWidth: 0.8)
            }
            svg.text(e.label, x + 22, cy + 4, size: 12)
        }
    }

    /// Width needed for the longest label (12px Helvetica, about 6.8 px per character).
    var width: Double { 30 + Double(entries.map(\.label.count).max() ?? 0) * 6.8 }
}

enum Star {
    static func path(cx: Double, cy: Double, r: Double) -> String {
        var parts: [String] = []
        for i in 0..<10 {
            let radius = i % 2 == 0 ? r : r * 0.45
            let angle = -Double.pi / 2 + Double(i) * Double.pi / 5
            parts.append("\(i == 0 ? "M" : "L")\(SVG.number(cx + radius * cos(angle))),\(SVG.number(cy + radius * sin(angle)))")
        }
        return parts.joined(separator: " ") + " Z"
    }
}

// MARK: - Learning-forgetting tradeoff

public struct TradeoffPoint: Sendable {
    public var x: Double
    public var y: Double
    public var xErr: Double?
    public var yErr: Double?
    /// Training step (sets the marker size); nil draws the smallest marker.
    public var step: Double?
    public var label: String
    public init(x: Double, y: Double, xErr: Double? = nil, yErr: Double? = nil, step: Double? = nil, label: String) {
        self.x = x; self.y = y; self.xErr = xErr; self.yErr = yErr; self.step = step; self.label = label
    }
}

public struct TradeoffSeries: Sendable {
    public var name: String
    /// Points in step order; they are joined by a line.
    public var points: [TradeoffPoint]
    public init(name: String, points: [TradeoffPoint]) { self.name = name; self.points = points }
}

/// Biderman et al. (2024) fig. 3 style: x = probe mean (right = less forgetting), y = learning.
public struct TradeoffChart: Sendable {
    public var title: String
    public var xTitle: String
    public var yTitle: String
    public var series: [TradeoffSeries]
    /// The base model, drawn as a star.
    public var base: TradeoffPoint?
    /// Frontier points (labels of series points), joined in x order with a dashed line.
    public var frontier: [TradeoffPoint]

    public init(title: String, xTitle: String, yTitle: String, series: [TradeoffSeries], base: TradeoffPoint?, frontier: [TradeoffPoint]) {
        self.title = title; self.xTitle = xTitle; self.yTitle = yTitle; self.series = series; self.base = base; self.frontier = frontier
    }

    public func render(width: Double = 900, height: Double = 520) -> String {
        var legend = Legend(entries: series.enumerated().map { ($0.element.name, Palette.color($0.offset), .dot) })
        if base != nil { legend.entries.append(("base", "#ffd700", .star)) }
        if !frontier.isEmpty { legend.entries.append(("Pareto frontier", "#222", .dashed)) }
        var frame = Frame(width: width, height: height)
        frame.right = legend.width + 24
        var svg = SVG(width: width, height: height)
        frame.drawTitle(&svg, title)

        let all = series.flatMap(\.points) + (base.map { [$0] } ?? [])
        guard !all.isEmpty else {
            svg.text("no results yet", width / 2, height / 2, size: 14, anchor: .middle)
            return svg.render()
        }
        let xs = all.flatMap { [$0.x - ($0.xErr ?? 0), $0.x + ($0.xErr ?? 0)] }
        let ys = all.flatMap { [$0.y - ($0.yErr ?? 0), $0.y + ($0.yErr ?? 0)] }
        let xTicks = LinearScale.niceTicks(xs.min()!, xs.max()!, count: 6)
        let yTicks = LinearScale.niceTicks(ys.min()!, ys.max()!, count: 6)
        let x = LinearScale(domain: (xTicks.first!, xTicks.last!), range: (frame.plotLeft, frame.plotRight))
        let y = LinearScale(domain: (yTicks.first!, yTicks.last!), range: (frame.plotBottom, frame.plotTop))
        frame.drawAxes(&svg, x: x, xTicks: xTicks, xLabels: LinearScale.format(xTicks), y: { y($0) },
                       yTicks: yTicks, yLabels: LinearScale.format(yTicks), xTitle: xTitle, yTitle: yTitle)

        // Frontier underneath everything.
        let f = frontier.sorted { $0.x < $1.x }.map { (x($0.x), y($0.y)) }
        svg.polyline(f, stroke: "#222", width: 1.5, dash: "6 4", opacity: 0.7)

        let steps = all.compactMap(\.step)
        let maxStep = steps.max() ?? 1, minStep = steps.min() ?? 0
        func radius(_ p: TradeoffPoint) -> Double {
            guard let s = p.step, maxStep > minStep else { return 6 }
            return 4 + 6 * (s - minStep) / (maxStep - minStep)
        }
        for (si, s) in series.enumerated() {
            let color = Palette.color(si)
            svg.polyline(s.points.map { (x($0.x), y($0.y)) }, stroke: color, width: 1.5, opacity: 0.8)
            for p in s.points {
                if let e = p.xErr, e > 0 { svg.line(x(p.x - e), y(p.y), x(p.x + e), y(p.y), stroke: color, width: 1, opacity: 0.6) }
                if let e = p.yErr, e > 0 { svg.line(x(p.x), y(p.y - e), x(p.x), y(p.y + e), stroke: color, width: 1, opacity: 0.6) }
            }
            for p in s.points {
                svg.circle(x(p.x), y(p.y), r: radius(p), fill: color, title: Self.tooltip(p))
            }
        }
        // Labels next to the markers (points at the same place share one label), when few enough to read.
        let labelled = series.flatMap(\.points)
        if labelled.count <= 16 {
            var groups: [(x: Double, y: Double, labels: [String])] = []
            for p in labelled {
                if let i = groups.firstIndex(where: { abs($0.x - p.x) < 1e-12 && abs($0.y - p.y) < 1e-12 }) { groups[i].labels.append(p.label) }
                else { groups.append((p.x, p.y, [p.label])) }
            }
            // Greedy placement: the first of a few positions next to the marker that overlaps no earlier label.
            var placed: [(x0: Double, y0: Double, x1: Double, y1: Double)] = []
            for g in groups {
                let text = g.labels.joined(separator: ", ")
                let w = Double(text.count) * 5.6, h = 11.0
                let candidates: [(Double, Double)] = [(9, 14), (9, -8), (-9 - w, 14), (-9 - w, -8), (9, 26), (9, -20), (-9 - w, 26), (-9 - w, -20)]
                var chosen = candidates[0]
                for (dx, dy) in candidates {
                    let r = (x0: x(g.x) + dx, y0: y(g.y) + dy - h, x1: x(g.x) + dx + w, y1: y(g.y) + dy)
                    if !placed.contains(where: { r.x0 < $0.x1 && $0.x0 < r.x1 && r.y0 < $0.y1 && $0.y0 < r.y1 }) { chosen = (dx, dy); break }
                }
                placed.append((x(g.x) + chosen.0, y(g.y) + chosen.1 - h, x(g.x) + chosen.0 + w, y(g.y) + chosen.1))
                svg.text(text, x(g.x) + chosen.0, y(g.y) + chosen.1, size: 10, fill: "#444")
            }
        }
        if let b = base {
            if let e = b.xErr, e > 0 { svg.line(x(b.x - e), y(b.y), x(b.x + e), y(b.y), stroke: "#555", width: 1) }
            if let e = b.yErr, e > 0 { svg.line(x(b.x), y(b.y - e), x(b.x), y(b.y + e), stroke: "#555", width: 1) }
            svg.path(Star.path(cx: x(b.x), cy: y(b.y), r: 10), fill: "#ffd700", stroke: "#222", strokeWidth: 1, title: Self.tooltip(b))
            svg.text("base", x(b.x) + 12, y(b.y) - 8, size: 11, fill: "#222")
        }
        legend.draw(&svg, x: frame.plotRight + 16, y: frame.plotTop + 8)
        if !steps.isEmpty {
            svg.text("marker size: training step", frame.plotRight + 16, frame.plotTop + 8 + Double(legend.entries.count) * Legend.rowHeight + 6, size: 11, fill: "#666")
        }
        return svg.render()
    }

    static func tooltip(_ p: TradeoffPoint) -> String {
        var s = p.label + String(format: ": x %.4f", p.x)
        if let e = p.xErr { s += String(format: " ± %.4f", e) }
        s += String(format: ", y %.4f", p.y)
        if let e = p.yErr { s += String(format: " ± %.4f", e) }
        if let st = p.step { s += ", step \(Int(st))" }
        return s
    }
}

// MARK: - Grouped bars

public struct GroupedBarChart: Sendable {
    public var title: String
    public var yTitle: String
    public var categories: [String]
    public var series: [String]
    /// values[series][category]
    public var values: [[Estimate?]]
    /// One colour per series (default: the palette in order).
    public var colors: [String]?

    public init(title: String, yTitle: String, categories: [String], series: [String], values: [[Estimate?]], colors: [String]? = nil) {
        self.title = title; self.yTitle = yTitle; self.categories = categories; self.series = series; self.values = values; self.colors = colors
    }

    func color(_ i: Int) -> String { colors.flatMap { i < $0.count ? $0[i] : nil } ?? Palette.color(i) }

    public func render(width: Double = 900, height: Double = 380) -> String {
        let legend = Legend(entries: series.enumerated().map { ($0.element, color($0.offset), .square) })
        var frame = Frame(width: width, height: height)
        frame.right = legend.width + 24
        var svg = SVG(width: width, height: height)
        frame.drawTitle(&svg, title)
        let all = values.flatMap { $0.compactMap { $0 } }
        guard !all.isEmpty, !categories.isEmpty else {
            svg.text("no results yet", width / 2, height / 2, size: 14, anchor: .middle)
            return svg.render()
        }
        let lo = min(0, all.map { $0.value - ($0.stderr ?? 0) }.min()!)
        let hi = max(0, all.map { $0.value + ($0.stderr ?? 0) }.max()!)
        let ticks = LinearScale.niceTicks(lo, hi, count: 6)
        let y = LinearScale(domain: (ticks.first!, ticks.last!), range: (frame.plotBottom, frame.plotTop))
        frame.drawAxes(&svg, x: nil, xTicks: [], xLabels: [], y: { y($0) }, yTicks: ticks, yLabels: LinearScale.format(ticks),
                       xTitle: "", yTitle: yTitle)
        let groupWidth = (frame.plotRight - frame.plotLeft) / Double(categories.count)
        let barWidth = groupWidth * 0.8 / Double(max(1, series.count))
        for (ci, category) in categories.enumerated() {
            let gx = frame.plotLeft + Double(ci) * groupWidth + groupWidth * 0.1
            for si in series.indices {
                guard ci < values[si].count, let v = values[si][ci] else { continue }
                let x0 = gx + Double(si) * barWidth
                let top = y(max(0, v.value)), bottom = y(min(0, v.value))
                svg.rect(x0 + 1, top, barWidth - 2, max(bottom - top, 0), fill: color(si),
                         title: "\(series[si]) on \(category): \(v.formatted(digits: 4))")
                if bottom - top < 1.5 {  // a zero: still show where the bar is
                    svg.line(x0 + 1, y(v.value), x0 + barWidth - 1, y(v.value), stroke: color(si), width: 3)
                }
                if let e = v.stderr, e > 0 {
                    let cx = x0 + barWidth / 2
                    svg.line(cx, y(v.value - e), cx, y(v.value + e), stroke: "#222", width: 1)
                    svg.line(cx - 3, y(v.value - e), cx + 3, y(v.value - e), stroke: "#222", width: 1)
                    svg.line(cx - 3, y(v.value + e), cx + 3, y(v.value + e), stroke: "#222", width: 1)
                }
            }
            svg.text(category, gx + groupWidth * 0.4, frame.plotBottom + 18, size: 12, anchor: .middle)
        }
        svg.line(frame.plotLeft, y(0), frame.plotRight, y(0), stroke: "#444", width: 1)
        legend.draw(&svg, x: frame.plotRight + 16, y: frame.plotTop + 8)
        return svg.render()
    }
}

// MARK: - Lines (rank by layer, spectra)

public struct LineSeries: Sendable {
    public var name: String
    public var points: [(Double, Double)]
    /// Index into the palette; series sharing a colour (a measurement and its reference) pass the same.
    public var colorIndex: Int
    public var dashed: Bool
    public var markers: Bool
    /// Hidden from the legend (e.g. a second reference line of the same kind).
    public var inLegend: Bool
    /// Overrides the palette colour (e.g. grey for references).
    public var color: String?
    /// False for a scatter: markers only, no line joining the points.
    public var connected: Bool
    public init(name: String, points: [(Double, Double)], colorIndex: Int, dashed: Bool = false, markers: Bool = true, inLegend: Bool = true, color: String? = nil,
                connected: Bool = true) {
        self.name = name; self.points = points; self.colorIndex = colorIndex; self.dashed = dashed; self.markers = markers; self.inLegend = inLegend; self.color = color
        self.connected = connected
    }
    var stroke: String { color ?? Palette.color(colorIndex) }
}

public struct LineChart: Sendable {
    public var title: String
    public var xTitle: String
    public var yTitle: String
    public var series: [LineSeries]
    public var logY = false
    /// Label x ticks as integers only (layers, indices).
    public var integerX = true
    public var note: String?
    /// False when a grid of charts shares one legend.
    public var showLegend = true

    public init(title: String, xTitle: String, yTitle: String, series: [LineSeries], logY: Bool = false, integerX: Bool = true, note: String? = nil, showLegend: Bool = true) {
        self.title = title; self.xTitle = xTitle; self.yTitle = yTitle; self.series = series; self.logY = logY; self.integerX = integerX; self.note = note; self.showLegend = showLegend
    }

    public var legend: Legend { Legend(entries: series.filter(\.inLegend).map { ($0.name, $0.stroke, !$0.connected ? .dot : $0.dashed ? .dashed : .line) }) }

    public func render(width: Double = 440, height: Double = 300) -> String {
        let legend = self.legend
        var frame = Frame(width: width, height: height)
        frame.right = 12
        let legendRows = showLegend ? Double(legend.entries.count) : 0
        frame.bottom = 48 + legendRows * Legend.rowHeight + (note == nil ? 0 : 16)
        var svg = SVG(width: width, height: height + 0)
        frame.drawTitle(&svg, title)
        let pts = series.flatMap(\.points).filter { $0.0.isFinite && $0.1.isFinite && (!logY || $0.1 > 0) }
        guard !pts.isEmpty else {
            svg.text("no data", width / 2, height / 2, size: 14, anchor: .middle)
            return svg.render()
        }
        var xTicks = LinearScale.niceTicks(pts.map(\.0).min()!, pts.map(\.0).max()!, count: 6)
        if integerX { xTicks = xTicks.filter { $0 == $0.rounded() } }
        let x = LinearScale(domain: (xTicks.first!, xTicks.last!), range: (frame.plotLeft + 4, frame.plotRight - 4))
        let yFunc: (Double) -> Double
        let yTicks: [Double]
        let yLabels: [String]
        if logY {
            let s = LogScale(domain: (pts.map(\.1).min()!, pts.map(\.1).max()!), range: (frame.plotBottom, frame.plotTop))
            yFunc = { s($0) }
            yTicks = s.ticks
            yLabels = yTicks.map(LogScale.label)
        } else {
            let ys = pts.map(\.1)
            let t = LinearScale.niceTicks(min(0, ys.min()!), ys.max()!, count: 5)
            let s = LinearScale(domain: (t.first!, t.last!), range: (frame.plotBottom, frame.plotTop))
            yFunc = { s($0) }
            yTicks = t
            yLabels = LinearScale.format(t)
        }
        frame.drawAxes(&svg, x: x, xTicks: xTicks, xLabels: xTicks.map { integerX ? String(Int($0)) : String(format: "%g", $0) },
                       y: yFunc, yTicks: yTicks, yLabels: yLabels, xTitle: xTitle, yTitle: yTitle)
        for s in series {
            let color = s.stroke
            let p = s.points.filter { $0.0.isFinite && $0.1.isFinite && (!logY || $0.1 > 0) }.map { (x($0.0), yFunc($0.1)) }
            if s.connected { svg.polyline(p, stroke: color, width: s.dashed ? 1.2 : 1.8, dash: s.dashed ? "5 3" : nil, opacity: s.dashed ? 0.8 : 1) }
            if s.markers && (p.count <= 40 || !s.connected) { for q in p { svg.circle(q.0, q.1, r: 2.8, fill: color, stroke: color, strokeWidth: 0) } }
        }
        if showLegend { legend.draw(&svg, x: frame.plotLeft, y: frame.plotBottom + 44) }
        if let note { svg.text(note, frame.plotLeft, height - 8, size: 10, fill: "#666") }
        return svg.render()
    }
}
