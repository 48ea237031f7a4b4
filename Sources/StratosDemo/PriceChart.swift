import LedgerEvents
import StratosProjections

/// The Ozone price over time as a terminal bar chart.
///
/// The price is the exact fraction (s + p) / l wei per noz that the projections store per epoch
/// close. For display only, each point becomes a scaled integer — thousandths of a wei per noz,
/// floor((s + p) × 1000 / l) — so every label is derived from integers by integer division and
/// nothing is rounded through floating point. Bars use the eighth blocks ▁▂▃▄▅▆▇█, so a chart
/// of `height` rows resolves 8 × `height` levels between the lowest and highest price shown.
public struct PriceChart: Sendable {
    /// One column: the price at the last epoch close of a bucket of epochs.
    public struct Column: Sendable, Hashable {
        /// The last epoch of the bucket (the price is right after its close).
        public var epoch: Int64
        /// Thousandths of a wei per noz, truncated.
        public var milliWeiPerNoz: UInt128
    }

    public var columns: [Column]
    /// Epochs per column (144: a day, 6: an hour, 1: an epoch; or a multiple of those).
    public var bucketEpochs: Int64
    /// How an x-axis label counts buckets: "day", "hour" or "epoch".
    public var unit: String
    /// Epochs per `unit`.
    public var unitEpochs: Int64

    /// One price point: right after the close of `epoch`, (s + p) / l = numerator / denominator wei per noz.
    public typealias Price = (epoch: Int64, numeratorWei: Wei, denominatorNoz: Noz)

    /// The chart of the projections' Ozone series.
    public init(points: [OzoneSupplyPoint], maxColumns: Int = 60) {
        self.init(prices: points.map { ($0.epoch, $0.priceNumeratorWei, $0.priceDenominatorNoz) }, maxColumns: maxColumns)
    }

    /// Keeps the last point of every bucket; at most `maxColumns` columns. `prices` are in epoch order.
    public init(prices points: [Price], maxColumns: Int = 60) {
        let lastEpoch = points.last?.epoch ?? 0
        (unit, unitEpochs) = lastEpoch >= 7 * 144 ? ("day", 144) : lastEpoch >= 12 * 6 ? ("hour", 6) : ("epoch", 1)
        var bucket = unitEpochs
        let perUnit = (lastEpoch + unitEpochs - 1) / unitEpochs
        if perUnit > Int64(maxColumns) { bucket = unitEpochs * ((perUnit + Int64(maxColumns) - 1) / Int64(maxColumns)) }
        bucketEpochs = bucket
        var byBucket: [Int64: Price] = [:]
        for p in points where !p.denominatorNoz.isZero {
            let key = (p.epoch - 1) / bucket
            if let seen = byBucket[key], seen.epoch > p.epoch { continue }
            byBucket[key] = p
        }
        columns = byBucket.keys.sorted().map { key in
            let p = byBucket[key]!
            return Column(epoch: p.epoch, milliWeiPerNoz: Self.milli(p.numeratorWei, p.denominatorNoz))
        }
    }

    /// floor(numerator × 1000 / denominator): thousandths of a wei per noz.
    static func milli(_ numerator: Wei, _ denominator: Noz) -> UInt128 {
        scaled(numerator, denominator, by: 1000)
    }

    /// floor(numerator × factor / denominator), exact (the product may exceed 128 bits).
    static func scaled(_ numerator: Wei, _ denominator: Noz, by factor: UInt128) -> UInt128 {
        let product = numerator.rawValue.multipliedFullWidth(by: factor)
        precondition(product.high < denominator.rawValue, "a price above 2^128 / \(factor) wei per noz")
        return denominator.rawValue.dividingFullWidth(product).quotient
    }

    /// `thousandths` as a decimal with three places and thousands separators, e.g. 20,000,000.125.
    public static func format(milli thousandths: UInt128) -> String {
        let whole = String(thousandths / 1000)
        var grouped = ""
        for (i, c) in whole.enumerated() {
            if i > 0 && (whole.count - i) % 3 == 0 { grouped.append(",") }
            grouped.append(c)
        }
        let fraction = String(thousandths % 1000)
        return grouped + "." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    /// The chart, `height` rows of bars with the price axis on the left and the time axis below.
    public func render(height: Int = 10) -> String {
        guard let low = columns.map(\.milliWeiPerNoz).min(), let high = columns.map(\.milliWeiPerNoz).max() else {
            return "  (no epoch closed yet: no price to show)\n"
        }
        let levels = UInt128(height * 8)
        let span = high - low
        // Level of each column: 1...levels (the lowest price still shows a sliver).
        let heights: [Int] = columns.map { c in
            span == 0 ? Int(levels / 2) : Int(1 + (c.milliWeiPerNoz - low) * (levels - 1) / span)
        }
        let width = columns.count <= 30 ? 2 : 1
        let blocks: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
        let labels = (0..<height).map { row -> String in
            // The price at the top of this row (row 0 is the bottom one).
            let top = span == 0 ? low : low + span * UInt128(row + 1) / UInt128(height)
            return row == height - 1 || row == 0 || row == height / 2 ? Self.format(milli: top) : ""
        }
        let labelWidth = labels.map(\.count).max() ?? 0
        var out = ""
        for row in stride(from: height - 1, through: 0, by: -1) {
            let label = labels[row]
            out += String(repeating: " ", count: labelWidth - label.count) + label + " ┤"
            for h in heights {
                let fill = min(8, max(0, h - row * 8))
                let cell: Character = fill == 0 ? " " : blocks[fill - 1]
                out += String(repeating: String(cell), count: width)
            }
            out += "\n"
        }
        out += String(repeating: " ", count: labelWidth) + " └" + String(repeating: "─", count: columns.count * width) + "\n"
        // Time axis: the first, middle and last column, in `unit`s at the end of their bucket.
        var axis = [Character](repeating: " ", count: columns.count * width + 16)
        func place(_ text: String, at column: Int) {
            let start = min(column * width, axis.count - text.count)
            for (i, c) in text.enumerated() where start + i < axis.count { axis[start + i] = c }
        }
        let marks = Set([0, columns.count / 2, columns.count - 1]).sorted()
        var lastEnd = -1
        for m in marks {
            let text = "\(unit) \((columns[m].epoch + unitEpochs - 1) / unitEpochs)"
            if m * width <= lastEnd { continue }
            place(text, at: m)
            lastEnd = m * width + text.count
        }
        out += String(repeating: " ", count: labelWidth + 2) + String(axis).replacingTrailingSpaces() + "\n"
        return out
    }
}

extension String {
    fileprivate func replacingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
