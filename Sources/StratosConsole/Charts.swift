/// Bar charts as inline SVG, drawn from exact integers.
///
/// Why SVG on the server: the page carries its picture without JavaScript (the policy allows no
/// script at all), and each bar's height is `value × height / max` in integer arithmetic, so
/// the picture cannot disagree with the table next to it by more than the pixel it floors.
/// Each bar has a `<title>` with its exact value (the browser shows it on hover); the numbers
/// themselves are in the page's tables.
public struct BarChart: Sendable {
    /// One stacked layer: its legend name and the CSS class that colours it (`s0`…`s5`).
    public struct Series: Sendable {
        public var name: String
        public var cssClass: String
        public init(name: String, cssClass: String) {
            self.name = name
            self.cssClass = cssClass
        }
    }
    /// One bar: its label (an epoch range) and one value per series.
    public struct Bar: Sendable {
        public var label: String
        public var values: [UInt128]
        public init(label: String, values: [UInt128]) {
            self.label = label
            self.values = values
        }
    }

    public var title: String
    public var series: [Series]
    public var bars: [Bar]
    /// How a value is written in the tooltips and on the axis (e.g. `Amounts.stosText`).
    public var format: @Sendable (UInt128) -> String
    /// When false, the axis starts a little below the smallest bar, so that a slowly moving
    /// series (a price) shows its movement; stacked series always start at zero.
    public var zeroBased: Bool

    public init(
        title: String, series: [Series], bars: [Bar], zeroBased: Bool = true, format: @escaping @Sendable (UInt128) -> String
    ) {
        self.title = title
        self.series = series
        self.bars = bars
        self.zeroBased = zeroBased
        self.format = format
    }

    /// The drawing's height in SVG units (its width follows the number of bars).
    static let height: UInt128 = 120

    /// At most `maxBars` bars from `points` (ordered by key): consecutive points are grouped
    /// into buckets of equal size; a bucket's value is the sum of its points (`sum`) or its last
    /// point's (`last`, for levels such as a price). Labels name the keys a bucket covers.
    public static func bucketed(
        _ points: [(key: Int64, values: [UInt128])], maxBars: Int, sum: Bool, keyName: String = "epoch"
    ) -> [Bar] {
        guard !points.isEmpty else { return [] }
        let size = (points.count + maxBars - 1) / max(1, maxBars)
        var bars: [Bar] = []
        var i = 0
        while i < points.count {
            let chunk = points[i..<min(i + size, points.count)]
            var values = chunk.last!.values
            if sum {
                values = Array(repeating: 0, count: values.count)
                for p in chunk { for (k, v) in p.values.enumerated() where k < values.count { values[k] += v } }
            }
            let first = chunk.first!.key
            let last = chunk.last!.key
            bars.append(Bar(label: first == last ? "\(keyName) \(first)" : "\(keyName)s \(first)–\(last)", values: values))
            i += size
        }
        return bars
    }

    public func render() -> String {
        guard !bars.isEmpty else { return "<p class=\"muted\">\(HTML.escape(title)): nothing to draw yet.</p>" }
        let totals = bars.map { $0.values.reduce(UInt128(0), +) }
        let top = totals.max() ?? 0
        let low = totals.min() ?? 0
        let base: UInt128 = zeroBased || series.count > 1 || top == low ? 0 : low - min(low, max(1, (top - low) / 10))
        let span = max(1, top - base)
        let barWidth: UInt128 = bars.count <= 60 ? 10 : 4
        let gap: UInt128 = bars.count <= 60 ? 2 : 1
        let width = UInt128(bars.count) * barWidth
        let h = Self.height
        var svg =
            "<svg class=\"chart\" viewBox=\"0 0 \(width) \(h)\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"\(HTML.escape(title))\">"
        for (i, bar) in bars.enumerated() {
            let x = UInt128(i) * barWidth
            svg += "<g>"
            svg += "<title>\(HTML.escape(bar.label)): \(HTML.escape(format(totals[i])))"
            if series.count > 1 {
                for (k, v) in bar.values.enumerated() where v > 0 && k < series.count {
                    svg += "\n\(HTML.escape(series[k].name)): \(HTML.escape(format(v)))"
                }
            }
            svg += "</title>"
            // Each layer's edges are placed from the running total, floored once: the layers of
            // a bar add up to the bar's height exactly.
            var cumulative: UInt128 = 0
            for (k, v) in bar.values.enumerated() where k < series.count {
                let lower = cumulative
                cumulative += v
                let below = (max(lower, base) - base) * h / span
                let above = (max(min(cumulative, top), base) - base) * h / span
                guard above > below else { continue }
                svg +=
                    "<rect class=\"\(HTML.escape(series[k].cssClass))\" x=\"\(x)\" y=\"\(h - above)\" width=\"\(barWidth - gap)\" height=\"\(above - below)\"></rect>"
            }
            svg += "</g>"
        }
        svg += "</svg>"
        var out = "<figure class=\"chart\"><figcaption>\(HTML.escape(title))</figcaption>"
        out += "<div class=\"axis\"><span>top: \(HTML.escape(format(top)))</span>"
        out += "<span>bottom: \(base == 0 ? "0" : HTML.escape(format(base)))</span></div>"
        out += svg
        out += "<div class=\"labels\"><span>\(HTML.escape(bars.first!.label))</span><span>\(HTML.escape(bars.last!.label))</span></div>"
        if series.count > 1 {
            out += "<ul class=\"legend\">"
            for s in series { out += "<li><i class=\"\(HTML.escape(s.cssClass))\"></i>\(HTML.escape(s.name))</li>" }
            out += "</ul>"
        }
        return out + "</figure>"
    }
}
