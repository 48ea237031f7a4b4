/// `/`: where the log and the projections stand, the supply, the Ozone price, the top nodes.
public struct OverviewPage: Sendable {
    public struct TopNode: Sendable {
        public var rank: Int
        public var node: String
        public var totalWei: UInt128
        public var byRole: [(role: String, amountWei: UInt128)]
        public var lastEpoch: Int64
        public init(rank: Int, node: String, totalWei: UInt128, byRole: [(role: String, amountWei: UInt128)], lastEpoch: Int64) {
            self.rank = rank
            self.node = node
            self.totalWei = totalWei
            self.byRole = byRole
            self.lastEpoch = lastEpoch
        }
    }

    public var logHead: Int64 = 0
    public var projectedPosition: Int64 = 0
    /// `ok`, `degraded` or `down`, and why (the `/health` status of the service).
    public var health = "ok"
    public var healthReasons: [String] = []
    public var rules = ""
    public var lastClosedEpoch: Int64 = 0
    public var sWei: UInt128 = 0
    public var pWei: UInt128 = 0
    public var lNoz: UInt128 = 0
    public var minedWei: UInt128 = 0
    public var capWei: UInt128 = 0
    public var feeCollectorWei: UInt128 = 0
    /// The price after each closed epoch: wei per OZ, floored (the exact fraction is (s + p) / l wei per noz).
    public var pricePerOZ: [(epoch: Int64, wei: UInt128)] = []
    public var topNodes: [TopNode] = []
    /// The epochs the top nodes are ranked over.
    public var topEpochs: ClosedRange<Int64> = 1...1
    /// Set when a search found nothing.
    public var searchMessage: String?

    public init() {}

    public var lag: Int64 { max(0, logHead - projectedPosition) }

    public func render() -> String {
        var body = ""
        if let searchMessage { body += "<p class=\"bad\">\(HTML.escape(searchMessage))</p>" }
        let healthClass = health == "ok" ? "ok" : "bad"
        var log: [(String, String)] = [
            ("log head", "<span class=\"mono\">\(Amounts.count(logHead))</span> " + HTML.link(ConsolePath.event(logHead), "event")),
            ("projected position", "<span class=\"mono\">\(Amounts.count(projectedPosition))</span>"),
            ("lag", "<span class=\"mono\">\(Amounts.count(lag))</span> events"),
            ("health", "<strong class=\"\(healthClass)\">\(HTML.escape(health))</strong>"),
            ("rules", "<code>\(HTML.escape(rules))</code>"),
            ("last closed epoch", lastClosedEpoch > 0 ? HTML.link(ConsolePath.epoch(lastClosedEpoch), String(lastClosedEpoch)) : "none yet"),
        ]
        for r in healthReasons { log.append(("why", HTML.escape(r))) }
        var supply: [(String, String)] = [
            ("s (deposit constant)", Amounts.wei(sWei)), ("p (volume pool)", Amounts.wei(pWei)),
            ("l (Ozone limit)", Amounts.noz(lNoz)), ("mined", Amounts.wei(minedWei)), ("mining cap", Amounts.wei(capWei)),
            ("fee collector", Amounts.wei(feeCollectorWei)),
        ]
        if capWei > 0 {
            // Percent of the cap with 4 decimals, floored: for reading only.
            supply.append(("mined of cap", "\(Amounts.decimal(minedWei * 1_000_000 / capWei, decimals: 4)) %"))
        }
        body += "<div class=\"grid\">" + Layout.section("Log and projections", Layout.facts(log))
        let supplyTitle = lastClosedEpoch > 0 ? "Supply after the close of epoch \(lastClosedEpoch)" : "Supply"
        body += Layout.section(supplyTitle, Layout.facts(supply)) + "</div>"

        let bars = BarChart.bucketed(pricePerOZ.map { ($0.epoch, [$0.wei]) }, maxBars: 240, sum: false)
        let chart = BarChart(
            title: "Ozone price after each closed epoch, STOS per OZ (floored to the wei)",
            series: [.init(name: "price", cssClass: "s0")], bars: bars, zeroBased: false, format: Amounts.stosText)
        var price = chart.render()
        if let first = pricePerOZ.first, let last = pricePerOZ.last {
            price += Layout.facts([
                ("after epoch \(first.epoch)", Amounts.wei(first.wei) + " per OZ"),
                ("after epoch \(last.epoch)", Amounts.wei(last.wei) + " per OZ"),
            ])
        }
        price += "<p class=\"muted\">" + HTML.link("/v1/ozone", "the series as JSON") + "</p>"
        body += Layout.section("Ozone price", price)

        let rows = topNodes.map { t -> [String] in
            [
                String(t.rank), HTML.link(ConsolePath.node(t.node), t.node), Amounts.wei(t.totalWei),
                t.byRole.map { "\(HTML.escape($0.role)): \(Amounts.wei($0.amountWei))" }.joined(separator: "<br>"),
                HTML.link(ConsolePath.node(t.node, epoch: t.lastEpoch), "epoch \(t.lastEpoch)"),
            ]
        }
        body += Layout.section(
            "Top nodes by reward, epochs \(topEpochs.lowerBound)–\(topEpochs.upperBound)",
            Layout.table(["rank", "node", "total", "by role", "derivation of its last reward"], rows, numeric: [0, 2])
                + "<p class=\"muted\">" + HTML.link("/v1/nodes/top?from=\(topEpochs.lowerBound)&to=\(topEpochs.upperBound)&limit=10", "as JSON")
                + "</p>")
        if lastClosedEpoch > 0 {
            let from = max(1, lastClosedEpoch - 143)
            body += Layout.section(
                "Journal exports, epochs \(from)–\(lastClosedEpoch)",
                "<nav class=\"links\">"
                    + ["csv", "ledger", "beancount"].map { HTML.link(ConsolePath.export($0, from: from, to: lastClosedEpoch), $0) }.joined()
                    + "</nav>")
        }
        return Layout.document(title: "Overview", body: body)
    }
}
