/// The rows several pages share, as the JSON API returns them (amounts as exact integers).

/// One vesting entry (`GET /v1/accounts/{id}/vesting`, `entries`).
public struct VestingRow: Sendable {
    public var entry: Int64
    public var node: String?
    public var validator: String?
    public var role: String
    public var source: String
    public var amountWei: UInt128
    public var epochEarned: Int64
    public var matureEpoch: Int64
    /// locked, released, cancelled, …
    public var status: String
    public init(
        entry: Int64, node: String?, validator: String?, role: String, source: String, amountWei: UInt128, epochEarned: Int64,
        matureEpoch: Int64, status: String
    ) {
        self.entry = entry
        self.node = node
        self.validator = validator
        self.role = role
        self.source = source
        self.amountWei = amountWei
        self.epochEarned = epochEarned
        self.matureEpoch = matureEpoch
        self.status = status
    }

    static let headers = ["entry", "node", "role", "source", "amount", "earned", "matures", "status"]
    var cells: [String] {
        [
            "v\(entry)", node.map { HTML.link(ConsolePath.node($0, epoch: epochEarned), $0) } ?? validator.map(HTML.escape) ?? "",
            HTML.escape(role), HTML.escape(source), Amounts.wei(amountWei), HTML.link(ConsolePath.epoch(epochEarned), String(epochEarned)),
            String(matureEpoch), HTML.escape(status),
        ]
    }
}

/// A deposit release or an unbonding owed (`releases`).
public struct ReleaseRow: Sendable {
    public var kind: String
    public var reference: String
    public var node: String?
    public var amountWei: UInt128
    public var releaseDay: Int64
    public var releasedEpoch: Int64?
    public init(kind: String, reference: String, node: String?, amountWei: UInt128, releaseDay: Int64, releasedEpoch: Int64?) {
        self.kind = kind
        self.reference = reference
        self.node = node
        self.amountWei = amountWei
        self.releaseDay = releaseDay
        self.releasedEpoch = releasedEpoch
    }

    static let headers = ["kind", "reference", "node", "amount", "release day", "released at epoch"]
    var cells: [String] {
        [
            HTML.escape(kind), "<code>\(HTML.escape(reference))</code>", node.map { HTML.link(ConsolePath.node($0), $0) } ?? "",
            Amounts.wei(amountWei), String(releaseDay), releasedEpoch.map { HTML.link(ConsolePath.epoch($0), String($0)) } ?? "not yet",
        ]
    }
}

/// The locked vesting entries maturing at the close of one epoch, summed (the read model's
/// `MaturityTotal`: the sums are made by PostgreSQL, not from the whole schedule).
public struct MaturityRow: Sendable, Hashable {
    public var epoch: Int64
    public var count: Int
    public var amountWei: UInt128
    public init(epoch: Int64, count: Int, amountWei: UInt128) {
        self.epoch = epoch
        self.count = count
        self.amountWei = amountWei
    }
}

/// Locked vesting by maturity epoch, for a chart and a table.
struct MaturitySchedule {
    var rows: [MaturityRow]

    init(_ rows: [MaturityRow]) {
        self.rows = rows.sorted { $0.epoch < $1.epoch }
    }

    func chart(_ title: String) -> String {
        BarChart(
            title: title, series: [.init(name: "maturing", cssClass: "s2")],
            bars: BarChart.bucketed(rows.map { ($0.epoch, [$0.amountWei]) }, maxBars: 120, sum: true), format: Amounts.stosText
        ).render()
    }
}
