/// `/nodes/{id}`: the node, its rewards per epoch (chart and paged table), the derivation of one
/// epoch's reward (the text of `stratos-ledger audit node`) and its vesting entries.
public struct NodePage: Sendable {
    public struct Reward: Sendable {
        public var epoch: Int64
        public var role: String
        public var source: String
        public var amountWei: UInt128
        public init(epoch: Int64, role: String, source: String, amountWei: UInt128) {
            self.epoch = epoch
            self.role = role
            self.source = source
            self.amountWei = amountWei
        }
    }
    /// The audit of one epoch (`Auditor.auditNode`): its text and its credited lines.
    public struct Audit: Sendable {
        public var epoch: Int64
        /// `NodeAudit.text()`: every formula with its numbers.
        public var text: String
        public var rewards: [(account: String, role: String, source: String, amountWei: UInt128, matureEpoch: Int64, entry: Int64)]
        public var totalWei: UInt128
        public var consistent: Bool
        public var matchesProjection: Bool?
        public init(
            epoch: Int64, text: String,
            rewards: [(account: String, role: String, source: String, amountWei: UInt128, matureEpoch: Int64, entry: Int64)],
            totalWei: UInt128, consistent: Bool, matchesProjection: Bool?
        ) {
            self.epoch = epoch
            self.text = text
            self.rewards = rewards
            self.totalWei = totalWei
            self.consistent = consistent
            self.matchesProjection = matchesProjection
        }
    }

    public var id: String
    public var kind = ""
    public var owner = ""
    public var status = ""
    public var depositWei: UInt128 = 0
    public var unsettledNoz: UInt128 = 0
    public var lastClosedEpoch: Int64 = 0
    /// One page (`rewardsPage`) of the node's rewards per epoch, role and source, newest first,
    /// of `rewardLines` (the lines of `GET /v1/nodes/{id}/rewards`); `totalWei` is their sum.
    public var rewards: [Reward] = []
    public var rewardLines = 0
    public var totalWei: UInt128 = 0
    /// The chart: the rewards summed over consecutive ranges of epochs (every range of the axis,
    /// empty ones too, oldest first), one value per `layers` entry.
    public var rewardRanges: [(epochs: ClosedRange<Int64>, valuesWei: [UInt128])] = []
    public var audit: Audit?
    /// Why there is no audit (e.g. the node never earned anything).
    public var auditNote: String?
    /// One page (`vestingPage`) of the owner's vesting entries from this node, newest first, of
    /// `vestingTotal`; its locked entries summed by maturity; the releases tied to it (its deposit).
    public var vesting: [VestingRow] = []
    public var vestingTotal = 0
    public var maturity: [MaturityRow] = []
    public var releases: [ReleaseRow] = []
    public var rewardsPage = 1
    public var vestingPage = 1
    public static let pageSize = 100

    public init(id: String) { self.id = id }

    func url(rewards: Int? = nil, vesting: Int? = nil) -> String {
        ConsolePath.node(id, epoch: audit?.epoch)
            + (audit == nil ? "?" : "&")
            + "rewards=\(rewards ?? rewardsPage)&vesting=\(vesting ?? vestingPage)"
    }

    /// At most this many bars in the rewards chart.
    public static let chartRanges = 120

    /// The six (role, source) layers of the chart, in a fixed order.
    public static let layers: [(role: String, source: String)] = [
        ("resource", "traffic"), ("resource", "mining"), ("meta", "traffic"), ("meta", "mining"), ("deposit", "traffic"),
        ("deposit", "mining"),
    ]

    public func render() -> String {
        var body = "<nav class=\"links\">" + HTML.link("/v1/nodes/\(HTML.urlComponent(id))/rewards", "rewards as JSON")
        if let a = audit { body += HTML.link("/v1/audit/nodes/\(HTML.urlComponent(id))?epoch=\(a.epoch)", "audit as JSON") }
        body += "</nav>"
        var facts: [(String, String)] = [
            ("kind", HTML.escape(kind)), ("owner", HTML.link(ConsolePath.account(owner), owner)), ("status", HTML.escape(status)),
            ("deposit escrowed", Amounts.wei(depositWei)), ("unsettled traffic C_i", Amounts.noz(unsettledNoz)),
            ("rewards earned, all epochs", Amounts.wei(totalWei)),
        ]
        for r in releases {
            facts.append(
                (
                    "\(r.kind) release",
                    "\(Amounts.wei(r.amountWei)) on day \(r.releaseDay)"
                        + (r.releasedEpoch.map { ", released at epoch " + HTML.link(ConsolePath.epoch($0), String($0)) } ?? ", not yet")
                ))
        }
        body += Layout.section("Node", Layout.facts(facts))

        // Rewards per range of epochs, stacked by role and source.
        let chart = BarChart(
            title: "Rewards per epoch by role and source",
            series: Self.layers.enumerated().map { .init(name: "\($0.element.role)/\($0.element.source)", cssClass: "s\($0.offset)") },
            bars: rewardRanges.map { r in
                let (a, b) = (r.epochs.lowerBound, r.epochs.upperBound)
                return BarChart.Bar(label: a == b ? "epoch \(a)" : "epochs \(a)–\(b)", values: r.valuesWei)
            }, format: Amounts.stosText)
        var auditSection = ""
        if let a = audit {
            var nav = "<nav class=\"links\">"
            if a.epoch > 1 { nav += HTML.link(ConsolePath.node(id, epoch: a.epoch - 1), "‹ epoch \(a.epoch - 1)") }
            if a.epoch < lastClosedEpoch { nav += HTML.link(ConsolePath.node(id, epoch: a.epoch + 1), "epoch \(a.epoch + 1) ›") }
            nav += HTML.link(ConsolePath.epoch(a.epoch), "the settlement of epoch \(a.epoch)") + "</nav>"
            let credited = a.rewards.map { w -> [String] in
                [
                    HTML.link(ConsolePath.account(w.account), w.account), HTML.escape(w.role), HTML.escape(w.source), Amounts.wei(w.amountWei),
                    String(w.matureEpoch), "v\(w.entry)",
                ]
            }
            let checks = Layout.facts([
                ("derivation = engine report", Layout.check(a.consistent)),
                ("recomputation = stored projection", Layout.check(a.matchesProjection, unknown: "not projected yet")),
                ("total credited", Amounts.wei(a.totalWei)),
            ])
            auditSection = Layout.section(
                "Derivation of the reward of epoch \(a.epoch)", id: "audit",
                nav + checks
                    + Layout.table(["recipient", "role", "source", "amount", "matures at epoch", "entry"], credited, numeric: [3, 4])
                    + "<pre>\(HTML.escape(a.text))</pre>")
        } else if let note = auditNote {
            auditSection = Layout.section("Derivation", "<p class=\"muted\">\(HTML.escape(note))</p>")
        }

        let pager = Pager(total: rewardLines, pageSize: Self.pageSize, page: rewardsPage)
        let rows = rewards.map { r -> [String] in
            [
                HTML.link(ConsolePath.epoch(r.epoch), String(r.epoch)), HTML.escape(r.role), HTML.escape(r.source), Amounts.wei(r.amountWei),
                HTML.link(ConsolePath.node(id, epoch: r.epoch), "derivation"),
            ]
        }
        body += Layout.section("Rewards per epoch", chart.render())
        body += auditSection
        body += Layout.section(
            "Rewards, newest first",
            Layout.table(["epoch", "role", "source", "amount", ""], rows, numeric: [3])
                + pager.navigation { url(rewards: $0) })

        let schedule = MaturitySchedule(maturity)
        let vpager = Pager(total: vestingTotal, pageSize: Self.pageSize, page: vestingPage)
        body += Layout.section(
            "Vesting entries of the owner from this node",
            schedule.chart("Locked entries by maturity epoch")
                + Layout.table(VestingRow.headers, vesting.map(\.cells), numeric: [4])
                + vpager.navigation { url(vesting: $0) })
        return Layout.document(title: "Node \(id)", body: body)
    }
}
