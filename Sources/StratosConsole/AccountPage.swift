/// `/accounts/{id}`: balances, the vesting schedule by maturity, the stake-reward ledger, the
/// journal lines of recent epochs and export links.
public struct AccountPage: Sendable {
    /// One stake reward (`GET /v1/stake/{id}`).
    public struct StakeRow: Sendable {
        public var epoch: Int64
        public var account: String
        public var validator: String?
        public var node: String?
        public var role: String
        public var kind: String
        public var source: String?
        public var amountWei: UInt128
        public init(
            epoch: Int64, account: String, validator: String?, node: String?, role: String, kind: String, source: String?, amountWei: UInt128
        ) {
            self.epoch = epoch
            self.account = account
            self.validator = validator
            self.node = node
            self.role = role
            self.kind = kind
            self.source = source
            self.amountWei = amountWei
        }
    }
    /// One posting of the journal touching this account (`GET /v1/journal?account=`).
    public struct JournalLine: Sendable {
        public var position: Int64
        public var eventID: String
        public var type: String
        public var epoch: Int64
        public var account: String
        /// STOS or OZ.
        public var commodity: String
        public var negative: Bool
        public var amount: UInt128
        public var reason: String
        public init(
            position: Int64, eventID: String, type: String, epoch: Int64, account: String, commodity: String, negative: Bool,
            amount: UInt128, reason: String
        ) {
            self.position = position
            self.eventID = eventID
            self.type = type
            self.epoch = epoch
            self.account = account
            self.commodity = commodity
            self.negative = negative
            self.amount = amount
            self.reason = reason
        }
    }

    public var id: String
    public var walletWei: UInt128 = 0
    public var ozoneNoz: UInt128 = 0
    public var vestingWei: UInt128 = 0
    public var bondedWei: UInt128 = 0
    public var unbondingWei: UInt128 = 0
    public var escrowWei: UInt128 = 0
    public var ownedNodes: [String] = []
    /// The locked vesting summed by maturity epoch, and how many entries there are in all.
    public var maturity: [MaturityRow] = []
    public var vestingEntries = 0
    public var releases: [ReleaseRow] = []
    public var stake: [StakeRow] = []
    public var journal: [JournalLine] = []
    /// The epochs whose journal lines are shown.
    public var journalEpochs: ClosedRange<Int64> = 1...1
    public var lastClosedEpoch: Int64 = 0
    public var maturityPage = 1
    /// The day shown of the stake-reward ledger: 1 is the last `stakeWindowEpochs` epochs up to
    /// the last close, 2 the day before, …; `stake` holds its rewards, `stakeEpochs` its epochs.
    public var stakePage = 1
    public var stakeEpochs: ClosedRange<Int64> = 1...1
    public static let stakeWindowEpochs: Int64 = 144
    public static let pageSize = 100

    public init(id: String) { self.id = id }

    func url(maturity: Int? = nil, stake: Int? = nil, journal: Int64? = nil) -> String {
        ConsolePath.account(id)
            + HTML.query([
                ("maturity", String(maturity ?? maturityPage)), ("stake", String(stake ?? stakePage)),
                ("journal", journal.map(String.init) ?? String(journalEpochs.upperBound)),
            ])
    }

    public func render() -> String {
        let json = "/v1/accounts/" + HTML.urlComponent(id)
        var body = "<nav class=\"links\">" + HTML.link(json, "balances as JSON") + HTML.link(json + "/vesting", "vesting as JSON")
        body += HTML.link("/v1/stake/" + HTML.urlComponent(id), "stake rewards as JSON") + "</nav>"
        var facts: [(String, String)] = [
            ("wallet", Amounts.wei(walletWei)), ("Ozone", Amounts.noz(ozoneNoz)), ("vesting (locked)", Amounts.wei(vestingWei)),
            ("bonded", Amounts.wei(bondedWei)), ("unbonding", Amounts.wei(unbondingWei)), ("escrow", Amounts.wei(escrowWei)),
        ]
        if !ownedNodes.isEmpty {
            facts.append(("nodes owned", ownedNodes.map { HTML.link(ConsolePath.node($0), $0) }.joined(separator: ", ")))
        }
        body += Layout.section("Balances", Layout.facts(facts))

        let schedule = MaturitySchedule(maturity)
        let pager = Pager(total: schedule.rows.count, pageSize: Self.pageSize, page: maturityPage)
        let rows = schedule.rows[pager.range].map { r -> [String] in
            [String(r.epoch), Amounts.count(r.count), Amounts.wei(r.amountWei)]
        }
        var vestingHTML = schedule.chart("Locked vesting by maturity epoch")
        vestingHTML += Layout.table(["matures at epoch", "entries", "amount"], rows, numeric: [0, 1, 2]) + pager.navigation { url(maturity: $0) }
        vestingHTML += "<p class=\"muted\">\(Amounts.count(vestingEntries)) entries in all (locked, released and cancelled); "
        vestingHTML += HTML.link(json + "/vesting", "every entry as JSON") + "</p>"
        if !releases.isEmpty {
            vestingHTML += "<h2>Deposit releases and unbondings</h2>" + Layout.table(ReleaseRow.headers, releases.map(\.cells), numeric: [3, 4])
        }
        body += Layout.section("Vesting schedule", vestingHTML)

        let stakeRows = stake.reversed().map { s -> [String] in
            [
                HTML.link(ConsolePath.epoch(s.epoch), String(s.epoch)), HTML.escape(s.validator ?? ""),
                s.node.map { HTML.link(ConsolePath.node($0, epoch: s.epoch), $0) } ?? "", HTML.escape(s.role), HTML.escape(s.kind),
                HTML.escape(s.source ?? ""), Amounts.wei(s.amountWei),
            ]
        }
        var snav = "<nav class=\"pager\">"
        if stakePage > 1 { snav += HTML.link(url(stake: stakePage - 1), "‹ later") }
        snav += "<span>epochs \(stakeEpochs.lowerBound)–\(stakeEpochs.upperBound), newest first</span>"
        if stakeEpochs.lowerBound > 1 { snav += HTML.link(url(stake: stakePage + 1), "earlier ›") }
        snav += "</nav>"
        body += Layout.section(
            "Stake-reward ledger",
            snav + Layout.table(["epoch", "validator", "node", "role", "kind", "source", "amount"], stakeRows, numeric: [6])
                + (stake.isEmpty ? "<p class=\"muted\">No stake reward in these epochs.</p>" : ""))

        var jnav = "<nav class=\"links\">"
        if journalEpochs.lowerBound > 1 { jnav += HTML.link(url(journal: journalEpochs.lowerBound - 1), "‹ earlier") }
        if journalEpochs.upperBound < lastClosedEpoch { jnav += HTML.link(url(journal: journalEpochs.upperBound + 1), "later ›") }
        jnav += "</nav>"
        let lines = journal.map { l -> [String] in
            [
                HTML.link(ConsolePath.event(l.position), String(l.position)), HTML.escape(l.type), String(l.epoch),
                "<code>\(HTML.escape(l.account))</code>",
                (l.negative ? "−" : "+") + (l.commodity == "OZ" ? Amounts.noz(l.amount) : Amounts.wei(l.amount)), HTML.escape(l.reason),
            ]
        }
        body += Layout.section(
            "Journal lines, epoch \(journalEpochs.lowerBound == journalEpochs.upperBound ? "\(journalEpochs.lowerBound)" : "s \(journalEpochs.lowerBound)–\(journalEpochs.upperBound)")",
            jnav + Layout.table(["position", "event", "epoch", "account", "amount", "reason"], lines, numeric: [0, 4]))

        let from = max(1, lastClosedEpoch - 143)
        if lastClosedEpoch > 0 {
            body += Layout.section(
                "Exports of this account's journal, epochs \(from)–\(lastClosedEpoch)",
                "<nav class=\"links\">"
                    + ["csv", "ledger", "beancount"].map { HTML.link(ConsolePath.export($0, from: from, to: lastClosedEpoch, account: id), $0) }
                    .joined() + "</nav>")
        }
        return Layout.document(title: "Account \(id)", body: body)
    }
}
