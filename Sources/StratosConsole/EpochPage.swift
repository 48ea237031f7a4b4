import StratosEconomics

/// `/epochs/{n}` (and `/epochs/{n}/recompute`): one settlement, every reward line, and on
/// request the settlement recomputed from its checkpoint and compared with the stored one.
public struct EpochPage: Sendable {
    /// The recomputation from history (`Auditor.recompute`), when asked for.
    public struct Recomputation: Sendable {
        public var report: SettlementReport
        public var inputs: SettlementInputs
        /// nil: nothing stored to compare with.
        public var matchesProjection: Bool?
        public var difference: (field: String, stored: String, recomputed: String)?
        public var replayedFromEpoch: Int64
        public var replayedFromPosition: Int64
        public var replayedEvents: Int
        public var closePosition: Int64
        public init(
            report: SettlementReport, inputs: SettlementInputs, matchesProjection: Bool?,
            difference: (field: String, stored: String, recomputed: String)?, replayedFromEpoch: Int64, replayedFromPosition: Int64,
            replayedEvents: Int, closePosition: Int64
        ) {
            self.report = report
            self.inputs = inputs
            self.matchesProjection = matchesProjection
            self.difference = difference
            self.replayedFromEpoch = replayedFromEpoch
            self.replayedFromPosition = replayedFromPosition
            self.replayedEvents = replayedEvents
            self.closePosition = closePosition
        }
    }

    public var epoch: Int64
    public var lastClosedEpoch: Int64
    public var report: SettlementReport
    /// Log positions of the closes of epoch − 1 (0 for the first) and of this epoch, when known:
    /// the epoch's events lie between them.
    public var previousClosePosition: Int64?
    public var closePosition: Int64?
    /// Ozone carried over to the next epoch (T − Y, from the supply series).
    public var carriedOverNoz: UInt128?
    public var recomputation: Recomputation?
    public var rewardsPage = 1
    public var settledPage = 1
    public static let pageSize = 100

    public init(epoch: Int64, lastClosedEpoch: Int64, report: SettlementReport) {
        self.epoch = epoch
        self.lastClosedEpoch = lastClosedEpoch
        self.report = report
    }

    func url(rewards: Int? = nil, settled: Int? = nil) -> String {
        (recomputation == nil ? ConsolePath.epoch(epoch) : ConsolePath.recompute(epoch))
            + HTML.query([
                ("rewards", (rewards ?? rewardsPage) > 1 ? String(rewards ?? rewardsPage) : nil),
                ("settled", (settled ?? settledPage) > 1 ? String(settled ?? settledPage) : nil),
            ])
    }

    public func render() -> String {
        let r = report
        var nav = "<nav class=\"links\">"
        if epoch > 1 { nav += HTML.link(ConsolePath.epoch(epoch - 1), "‹ epoch \(epoch - 1)") }
        if epoch < lastClosedEpoch { nav += HTML.link(ConsolePath.epoch(epoch + 1), "epoch \(epoch + 1) ›") }
        nav += HTML.link(ConsolePath.recompute(epoch), "recompute from its checkpoint")
        if let closePosition {
            nav += HTML.link(ConsolePath.events(after: previousClosePosition ?? 0, through: closePosition), "the epoch's events")
            nav += HTML.link(ConsolePath.event(closePosition), "its EpochClosed")
        }
        nav += HTML.link("/v1/epochs/\(epoch)/settlement", "JSON")
        nav += "</nav>"
        var body = nav

        var facts: [(String, String)] = [
            ("rules", "<code>\(HTML.escape(r.rules))</code>"),
            ("T = Σ C_i", Amounts.noz(r.T.rawValue)), ("Y (settled)", Amounts.noz(r.Y.rawValue)),
            ("settled nodes", Amounts.count(r.settled.count)),
        ]
        if let carriedOverNoz { facts.append(("carried over", Amounts.noz(carriedOverNoz))) }
        facts += [
            ("R (traffic reward)", Amounts.wei(r.trafficReward.rawValue)), ("M (mining reward)", Amounts.wei(r.miningReward.rawValue)),
            ("dust of R (stays in p)", Amounts.wei(r.trafficDust.rawValue)),
            ("dust of M (stays in the mining pool)", Amounts.wei(r.miningDust.rawValue)),
            ("reward lines", Amounts.count(r.rewards.count)),
        ]
        body += Layout.section("Settlement of epoch \(epoch)", Layout.facts(facts))

        if let c = recomputation { body += recomputed(c) }

        // The splits: what each role received from each source.
        var byRole: [String: (traffic: UInt128, mining: UInt128)] = [:]
        for w in r.rewards {
            var v = byRole[w.role.rawValue] ?? (0, 0)
            if w.source == .traffic { v.traffic += w.amount.rawValue } else { v.mining += w.amount.rawValue }
            byRole[w.role.rawValue] = v
        }
        let splitRows = RewardRole.allCases.compactMap { role -> [String]? in
            guard let v = byRole[role.rawValue] else { return nil }
            return [HTML.escape(role.rawValue), Amounts.wei(v.traffic), Amounts.wei(v.mining), Amounts.wei(v.traffic + v.mining)]
        }
        body += Layout.section(
            "Splits (credited, by role)",
            Layout.table(["role", "from R (traffic)", "from M (mining)", "total"], splitRows, numeric: [1, 2, 3]))

        let settledPager = Pager(total: r.settled.count, pageSize: Self.pageSize, page: settledPage)
        let settledRows = r.settled[settledPager.range].enumerated().map { i, s -> [String] in
            [
                String(settledPager.range.lowerBound + i + 1), HTML.link(ConsolePath.node(s.node.rawValue, epoch: epoch), s.node.rawValue),
                Amounts.noz(s.traffic.rawValue),
            ]
        }
        body += Layout.section(
            "Settled set (C_i descending)",
            Layout.table(["rank", "node", "Y_i"], settledRows, numeric: [0, 2]) + settledPager.navigation { url(settled: $0) })

        let pager = Pager(total: r.rewards.count, pageSize: Self.pageSize, page: rewardsPage)
        let rows = r.rewards[pager.range].map { w -> [String] in
            [
                HTML.link(ConsolePath.account(w.account.rawValue), w.account.rawValue),
                w.node.map { HTML.link(ConsolePath.node($0.rawValue, epoch: epoch), $0.rawValue) } ?? "",
                w.validator.map { HTML.escape($0.rawValue) } ?? "", HTML.escape(w.role.rawValue), HTML.escape(w.source.rawValue),
                Amounts.wei(w.amount.rawValue), String(w.matureEpoch), "v\(w.entry.rawValue)",
            ]
        }
        body += Layout.section(
            "Reward lines",
            Layout.table(["recipient", "node", "validator", "role", "source", "amount", "matures at epoch", "entry"], rows, numeric: [5, 6])
                + pager.navigation { url(rewards: $0) })
        body += Layout.section(
            "Journal of the epoch",
            "<nav class=\"links\">"
                + ["csv", "ledger", "beancount"].map { HTML.link(ConsolePath.export($0, from: epoch, to: epoch), $0) }.joined() + "</nav>")
        return Layout.document(title: "Epoch \(epoch)", body: body)
    }

    private func recomputed(_ c: Recomputation) -> String {
        let i = c.inputs
        var facts: [(String, String)] = [
            (
                "recomputed from",
                c.replayedFromEpoch == 0 ? "Genesis" : "the checkpoint after epoch \(c.replayedFromEpoch) (log position \(c.replayedFromPosition))"
            ),
            ("events replayed", Amounts.count(c.replayedEvents)),
            ("close at position", HTML.link(ConsolePath.event(c.closePosition), String(c.closePosition))),
            ("recomputation = stored settlement", Layout.check(c.matchesProjection, unknown: "nothing stored yet")),
        ]
        if let d = c.difference {
            facts.append(
                ("first difference", "<code>\(HTML.escape(d.field))</code>: stored \(HTML.escape(d.stored)), recomputed \(HTML.escape(d.recomputed))")
            )
        }
        facts += [
            ("s before", Amounts.wei(i.supply.s.rawValue)), ("p before", Amounts.wei(i.supply.p.rawValue)),
            ("l before", Amounts.noz(i.supply.l.rawValue)), ("mined before", Amounts.wei(i.supply.mined.rawValue)),
            ("tier reward per epoch", Amounts.wei(i.tier.rewardPerEpoch.rawValue)),
            ("tier split", "resource \(i.tier.resourceBp) bp, meta \(i.tier.metaBp) bp, stake \(i.tier.stakeBp) bp"),
            ("mining cap", Amounts.wei(i.miningCap.rawValue)),
            ("settled share", "\(i.settledShareBp) bp of T"),
            ("active meta nodes", Amounts.count(i.activeMetaNodes.count)),
            ("D (delegation)", Amounts.wei(i.totalDelegation.rawValue)), ("K (stake deposits)", Amounts.wei(i.totalStakeDeposits.rawValue)),
            ("recomputed T", Amounts.noz(c.report.T.rawValue)), ("recomputed Y", Amounts.noz(c.report.Y.rawValue)),
            ("recomputed R", Amounts.wei(c.report.trafficReward.rawValue)), ("recomputed M", Amounts.wei(c.report.miningReward.rawValue)),
        ]
        let settled = Set(c.report.settled.map(\.node))
        let carried = i.unsettled.filter { !settled.contains($0.node) && $0.traffic.rawValue > 0 }
        var out = Layout.facts(facts)
        let shown = carried.prefix(Self.pageSize)
        out += "<h2>Carried over to epoch \(epoch + 1) (\(Amounts.count(carried.count)) nodes)</h2>"
        out += Layout.table(
            ["node", "C_i carried"],
            shown.map { [HTML.link(ConsolePath.node($0.node.rawValue, epoch: epoch), $0.node.rawValue), Amounts.noz($0.traffic.rawValue)] },
            numeric: [1])
        if carried.count > shown.count { out += "<p class=\"muted\">the first \(shown.count) of \(carried.count)</p>" }
        out += "<p class=\"muted\">" + HTML.link("/v1/audit/epochs/\(epoch)", "the recomputation as JSON") + "</p>"
        return Layout.section("Recomputed from history", id: "recompute", out)
    }
}
