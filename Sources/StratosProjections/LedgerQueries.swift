import EventStore
import LedgerEvents
import PostgresClient
import StratosEconomics

// The read API of the projections, for the CLI and the HTTP service. Every method reads the
// serving projection schema (`projection` by default) over one connection; nothing here writes.
// Amounts are exact (`Wei`, `Noz`, `UInt128`); JSON is produced by the report types' `json()`.
//
// Errors are `ProjectionError` (e.g. `.epochNotClosed` for a settlement or snapshot of an epoch
// the projection has not closed, `.notBuilt` when nothing was projected yet) or `PostgresError`.

public final class LedgerQueries {
    public let connection: PostgresConnection
    public let schema: String
    let sql: ProjectionSQL
    let reader: LogReader
    /// The rule set of the schema as `health()` last resolved it, and the state it came from.
    private var ruleSet: RuleSet?
    private var ruleSetKey: [String?] = []

    /// Opens its own connection to the database at `url`, reading schema `schemas.serving`.
    public convenience init(url: String, schemas: ProjectionSchemas = ProjectionSchemas(), sql: ProjectionSQL? = nil) throws {
        try self.init(connection: PostgresConnection(url: url), schema: schemas.serving, sql: sql)
    }

    /// Uses `connection` (whose search_path it sets to `schema`, public).
    public init(connection: PostgresConnection, schema: String = "projection", sql: ProjectionSQL? = nil) throws {
        self.connection = connection
        self.schema = schema
        self.sql = try sql ?? ProjectionSQL.load()
        self.reader = LogReader(sql: self.sql)
        try connection.query(self.sql("search_path.set"), binding: connection.escapeIdentifier(schema) + ", public")
    }

    // MARK: Health

    public func health() throws -> ProjectionHealth {
        guard try connection.query(sql("schema.exists"), binding: schema).rowCount > 0,
            let st = try ProjectionStatus.decode(connection.query(sql("state.select")))
        else {
            throw ProjectionError.notBuilt(schema: schema)
        }
        try st.requireCurrentLayout(schema: schema)
        if ruleSet == nil || ruleSetKey != [st.rules, st.rulesSha256] {
            ruleSet = try st.ruleSet()
            ruleSetKey = [st.rules, st.rulesSha256]
        }
        return ProjectionHealth(
            schema: schema, rules: st.rules, rulesSha256: st.rulesSha256 ?? ruleSet?.sha256, status: st.status, buildID: st.buildID,
            position: st.lastPosition, lastClosedEpoch: st.lastEpoch, head: try reader.head(connection),
            appliedEvents: st.applied, refusedEvents: st.refused, indexed: st.indexed)
    }

    // MARK: Snapshots and settlements

    /// The docs/EVENTS.md economy snapshot at `point`: the nearest checkpoint plus a replay.
    public func snapshot(at point: SnapshotPoint) throws -> EconomySnapshot {
        try economy(at: point).snapshot()
    }

    /// The economy at `point` (see `snapshot`). It may be partial (restored from a checkpoint
    /// head without its locked vesting entries): snapshots never need them; to apply further
    /// events, meet their needs with `prepare(_:for:at:)`.
    public func economy(at point: SnapshotPoint) throws -> Economy {
        try economyAndPosition(at: point).economy
    }

    /// The economy at `point` and the log position it reflects.
    public func economyAndPosition(at point: SnapshotPoint) throws -> (economy: Economy, position: Int64) {
        let h = try health()
        let rules = try rulesOf(h)
        let loader = EconomyLoader(sql: sql, reader: reader)
        switch point {
        case .latest:
            var start = try loader.checkpoint(connection, atOrBeforePosition: h.position, rules: rules)
            try loader.replay(connection, from: &start, through: h.position)
            return (start.economy, start.position)
        case .position(let p):
            guard p <= h.position else { throw ProjectionError.positionNotProjected(position: p, lastPosition: h.position) }
            var start = try loader.checkpoint(connection, atOrBeforePosition: max(p, 0), rules: rules)
            try loader.replay(connection, from: &start, through: p)
            return (start.economy, start.position)
        case .epoch(let n):
            guard n >= 0, n <= h.lastClosedEpoch else { throw ProjectionError.epochNotClosed(epoch: n, lastClosedEpoch: h.lastClosedEpoch) }
            var start = try loader.checkpoint(connection, atOrBeforeEpoch: n, rules: rules)
            if start.economy.lastClosedEpoch == n { return (start.economy, start.position) }
            try loader.replay(connection, from: &start, through: n == 0 ? h.position : try positionOfClose(n)) { applied, _ in
                applied.settlement?.epoch != n
            }
            precondition(start.economy.lastClosedEpoch == n, "replay did not reach the close of epoch \(n)")
            return (start.economy, start.position)
        }
    }

    /// Gives a partial economy at log position `position` the vesting entries `event` (the event
    /// at `position + 1`) reads; `maturingThrough` fetches the maturities of later closes up to
    /// that epoch at once. Nothing to do for a complete economy.
    public func prepare(
        _ economy: inout Economy, for event: LedgerEvent, at position: Int64,
        maturingThrough: Int64? = nil
    ) throws {
        try EconomyLoader(sql: sql, reader: reader).prepare(
            &economy, for: event, at: position,
            maturingThrough: maturingThrough, connection)
    }

    /// The stored settlement audit of epoch `epoch` (docs/EVENTS.md JSON through `json()`).
    public func settlement(epoch: Int64) throws -> StoredSettlement {
        try connection.transaction(isolation: .repeatableRead) { c in
            let head = try c.query(sql("q.settlement"), binding: epoch)
            guard head.rowCount == 1 else {
                throw ProjectionError.epochNotClosed(epoch: epoch, lastClosedEpoch: try health().lastClosedEpoch)
            }
            var report = SettlementReport(
                rules: try head.string(0, 2), epoch: epoch, T: try noz(head, 0, 3), Y: try noz(head, 0, 4),
                settled: [], trafficReward: try wei(head, 0, 5), miningReward: try wei(head, 0, 6),
                rewards: [], trafficDust: try wei(head, 0, 7), miningDust: try wei(head, 0, 8))
            let settled = try c.query(sql("q.settled_nodes"), binding: epoch)
            for i in 0..<settled.rowCount {
                report.settled.append(SettledNode(node: NodeID(unchecked: try settled.string(i, 0)), traffic: try noz(settled, i, 1)))
            }
            let rewards = try c.query(sql("q.settlement_rewards"), binding: epoch)
            for i in 0..<rewards.rowCount {
                report.rewards.append(
                    SettlementReward(
                        account: AccountID(unchecked: try rewards.string(i, 1)),
                        node: rewards.optionalString(i, 2).map(NodeID.init(unchecked:)),
                        validator: rewards.optionalString(i, 3).map(ValidatorID.init(unchecked:)),
                        role: try enumValue(rewards, i, 4), source: try enumValue(rewards, i, 5),
                        amount: try wei(rewards, i, 6), matureEpoch: try rewards.int64(i, 7),
                        entry: VestingEntryID(UInt64(try rewards.int64(i, 0)))))
            }
            return StoredSettlement(report)
        }
    }

    /// The last epoch before `epoch` whose settlement included `node`, and the log position of
    /// its close; nil if none (the node's traffic since then is its carried contribution).
    public func lastSettlement(of node: NodeID, before epoch: Int64) throws -> (epoch: Int64, position: Int64)? {
        let r = try connection.query(sql("q.node_last_settled"), binding: node.rawValue, epoch)
        guard r.rowCount == 1 else { return nil }
        return (try r.int64(0, 0), try r.int64(0, 1))
    }

    /// Recomputes epoch `epoch` from the checkpoint at or before epoch − 1 plus a replay of the
    /// epoch's events.
    public func recomputeSettlement(epoch: Int64) throws -> SettlementReport {
        let h = try health()
        guard epoch >= 1, epoch <= h.lastClosedEpoch else {
            throw ProjectionError.epochNotClosed(epoch: epoch, lastClosedEpoch: h.lastClosedEpoch)
        }
        let loader = EconomyLoader(sql: sql, reader: reader)
        var start = try loader.checkpoint(connection, atOrBeforeEpoch: epoch - 1, rules: try rulesOf(h))
        var report: SettlementReport?
        try loader.replay(connection, from: &start, through: try positionOfClose(epoch)) { applied, _ in
            if let s = applied.settlement, s.epoch == epoch {
                report = s
                return false
            }
            return true
        }
        guard let report else { throw ProjectionError.corrupt("the log holds no EpochClosed \(epoch)") }
        return report
    }

    /// The log segment a recomputation of `epoch` reads: from the position of the economy
    /// checkpoint at or before epoch − 1 (0: from Genesis) through the epoch's `EpochClosed`.
    /// `closeAt`: the position of that `EpochClosed` when the caller found it in the log (the
    /// projection may not have reached it yet).
    public func replaySegment(epoch: Int64, closeAt: Int64? = nil) throws -> (after: Int64, through: Int64) {
        let through = try closeAt ?? positionOfClose(epoch)
        let r = try connection.query(sql("checkpoint.position_through_epoch"), binding: epoch - 1)
        return (r.rowCount > 0 ? try r.int64(0, 0) : 0, through)
    }

    /// Walks the hash chain of `replaySegment(epoch:)`: a recomputation that starts from a
    /// checkpoint reads only that part of the log, so that is the part it must be able to trust.
    public func verifyChain(epoch: Int64, closeAt: Int64? = nil) throws -> SegmentVerifyReport {
        let segment = try replaySegment(epoch: epoch, closeAt: closeAt)
        return try EventStore(connection: connection).verify(after: segment.after, through: segment.through)
    }

    /// Recomputes epoch `epoch` and compares it with the stored settlement, field by field,
    /// after checking the hash chain of the log segment it reads.
    public func verify(epoch: Int64) throws -> EpochVerification {
        let chain = try verifyChain(epoch: epoch)
        guard chain.isIntact else {
            return EpochVerification(epoch: epoch, firstDifference: nil, exceptions: [], recomputeSeconds: 0, chain: chain)
        }
        let clock = ContinuousClock()
        let t0 = clock.now
        let recomputed = try recomputeSettlement(epoch: epoch)
        let elapsed = (clock.now - t0).inSeconds
        let stored = try settlement(epoch: epoch)
        let closeAt = try positionOfClose(epoch)
        let previousClose = epoch > 1 ? try positionOfClose(epoch - 1) : 0
        return EpochVerification(
            epoch: epoch, firstDifference: stored.firstDifference(from: recomputed),
            exceptions: try exceptions(after: previousClose, through: closeAt),
            recomputeSeconds: elapsed, chain: chain)
    }

    // MARK: Balances and vesting

    /// An account's balances now (`atEpoch` nil) or right after the close of `atEpoch`; nil
    /// when the account had no balance by then.
    public func balances(account: AccountID, atEpoch: Int64? = nil) throws -> AccountBalances? {
        let r: PostgresResult
        if let epoch = atEpoch {
            let h = try health()
            guard epoch <= h.lastClosedEpoch else { throw ProjectionError.epochNotClosed(epoch: epoch, lastClosedEpoch: h.lastClosedEpoch) }
            r = try connection.query(sql("q.balances_at_epoch"), binding: account.rawValue, epoch)
        } else {
            r = try connection.query(sql("q.balances_now"), binding: account.rawValue)
        }
        guard r.rowCount == 1 else { return nil }
        var b = AccountBalances()
        b.wallet = try wei(r, 0, 0)
        b.ozone = try noz(r, 0, 1)
        b.escrow = try wei(r, 0, 2)
        b.bonded = try wei(r, 0, 3)
        b.unbonding = try wei(r, 0, 4)
        b.vesting = try wei(r, 0, 5)
        return b
    }

    /// Every vesting entry of `account` and every deposit release and unbonding it is owed.
    public func vestingSchedule(account: AccountID) throws -> VestingSchedule {
        try connection.transaction(isolation: .repeatableRead) { c in
            VestingSchedule(
                account: account, entries: try Self.vestingEntries(c.query(sql("q.vesting_schedule"), binding: account.rawValue)),
                releases: try Self.releases(c.query(sql("q.releases"), binding: account.rawValue)))
        }
    }

    /// The deposit releases and unbondings owed to `account`, in the order they were scheduled.
    public func releases(account: AccountID) throws -> [ScheduledRelease] {
        try Self.releases(connection.query(sql("q.releases"), binding: account.rawValue))
    }

    /// How many entries `holder` has and its locked ones summed by maturity epoch: what the
    /// console shows, from one scan of the holder's entries, without reading them out.
    public func vestingSummary(_ holder: VestingHolder) throws -> VestingSummary {
        let r =
            switch holder {
            case .account(let id): try connection.query(sql("q.vesting_summary_account"), binding: id.rawValue)
            case .node(let id): try connection.query(sql("q.vesting_summary_node"), binding: id.rawValue)
            }
        try r.expectColumns(3, statement: "q.vesting_summary")
        var summary = VestingSummary(entries: 0, lockedByMaturity: [])
        for i in 0..<r.rowCount {
            let count = Int(try r.int64(i, 1))
            summary.entries += count
            if let epoch = try r.optionalInt64(i, 0) {
                summary.lockedByMaturity.append(MaturityTotal(matureEpoch: epoch, entries: count, amount: try wei(r, i, 2)))
            }
        }
        return summary
    }

    /// At most `limit` of the entries earned from `node`, newest first, after skipping `offset`.
    public func vestingEntries(node: NodeID, newestFirst limit: Int, offset: Int) throws -> [VestingScheduleEntry] {
        precondition(limit >= 0 && offset >= 0)
        return try Self.vestingEntries(connection.query(sql("q.vesting_page_node"), binding: node.rawValue, Int64(limit), Int64(offset)))
    }

    /// Rows of `q.vesting_schedule` and `q.vesting_page_node`.
    static func vestingEntries(_ v: PostgresResult) throws -> [VestingScheduleEntry] {
        try v.expectColumns(11, statement: "vesting schedule")
        return try (0..<v.rowCount).map { i in
            VestingScheduleEntry(
                entry: VestingEntryID(UInt64(try v.int64(i, 0))), node: v.optionalString(i, 1).map(NodeID.init(unchecked:)),
                validator: v.optionalString(i, 2).map(ValidatorID.init(unchecked:)), role: try enumValue(v, i, 3),
                source: try enumValue(v, i, 4), amount: try wei(v, i, 5), epochEarned: try v.int64(i, 6),
                matureEpoch: try v.int64(i, 7), status: try enumValue(v, i, 8), feeTaken: try wei(v, i, 9),
                closedEpoch: try v.optionalInt64(i, 10))
        }
    }

    /// Rows of `q.releases`.
    static func releases(_ r: PostgresResult) throws -> [ScheduledRelease] {
        try r.expectColumns(9, statement: "q.releases")
        return try (0..<r.rowCount).map { i in
            ScheduledRelease(
                kind: try enumValue(r, i, 0), reference: try r.string(i, 1), node: r.optionalString(i, 2).map(NodeID.init(unchecked:)),
                validator: r.optionalString(i, 3).map(ValidatorID.init(unchecked:)), amount: try wei(r, i, 4),
                releaseDay: try r.int64(i, 5), scheduledAt: try r.int64(i, 6), releasedAt: try r.optionalInt64(i, 7),
                releasedEpoch: try r.optionalInt64(i, 8))
        }
    }

    // MARK: Rewards and supply

    /// Whether the projection has a row for `node` (nodes keep their row in every status).
    public func nodeExists(_ node: NodeID) throws -> Bool {
        _ = try health()
        return try connection.query(sql("q.node_exists"), binding: node.rawValue).rowCount > 0
    }

    /// A node as the projection holds it now (the `nodes` table), nil if never seen: what a
    /// snapshot says of it, without rebuilding the economy.
    public func node(_ node: NodeID) throws -> NodeSnapshot? {
        _ = try health()
        let r = try connection.query(sql("q.node"), binding: node.rawValue)
        guard r.rowCount == 1 else { return nil }
        return NodeSnapshot(
            kind: try enumValue(r, 0, 0), owner: AccountID(unchecked: try r.string(0, 1)), status: try enumValue(r, 0, 2),
            deposit: try wei(r, 0, 3), unsettled: try noz(r, 0, 4))
    }

    /// The nodes `owner` owns (in any status), by id.
    public func nodes(ownedBy owner: AccountID) throws -> [NodeID] {
        _ = try health()
        let r = try connection.query(sql("q.nodes_owned_by"), binding: owner.rawValue)
        return try (0..<r.rowCount).map { NodeID(unchecked: try r.string($0, 0)) }
    }

    /// A node's rewards (resource, meta and deposit roles) per epoch over `epochs`.
    public func nodeRewards(node: NodeID, epochs: ClosedRange<Int64>) throws -> [NodeEpochReward] {
        let r = try connection.query(sql("q.node_rewards"), binding: node.rawValue, epochs.lowerBound, epochs.upperBound)
        return try (0..<r.rowCount).map { i in
            NodeEpochReward(epoch: try r.int64(i, 0), role: try enumValue(r, i, 1), source: try enumValue(r, i, 2), amount: try wei(r, i, 3))
        }
    }

    /// A node's rewards summed into at most `maxRanges` equal ranges of epochs from its first
    /// reward through `lastEpoch` (or its last reward, if later); nil when it has none. Two
    /// statements: the ends of the node key, then one scan of it grouped by range.
    public func nodeRewardChart(node: NodeID, through lastEpoch: Int64, maxRanges: Int) throws -> NodeRewardChart? {
        precondition(maxRanges > 0)
        guard let span = try nodeRewardSpan(node: node) else { return nil }
        let (first, lastReward) = (span.lowerBound, span.upperBound)
        let last = max(lastEpoch, lastReward)
        let width = (last - first + Int64(maxRanges)) / Int64(maxRanges)
        let r = try connection.query(sql("q.node_reward_buckets"), binding: node.rawValue, first, width)
        try r.expectColumns(5, statement: "q.node_reward_buckets")
        let buckets = try (0..<r.rowCount).map { i in
            NodeRewardChart.Bucket(
                index: try r.int64(i, 0), role: try enumValue(r, i, 1), source: try enumValue(r, i, 2), amount: try wei(r, i, 3),
                lines: Int(try r.int64(i, 4)))
        }
        let chart = NodeRewardChart(firstEpoch: first, lastRewardEpoch: lastReward, lastEpoch: last, widthEpochs: width, buckets: buckets)
        assert(chart.rangeCount <= Int64(maxRanges) && buckets.allSatisfy { $0.index >= 0 && $0.index < chart.rangeCount })
        return chart
    }

    /// The epochs of a node's first and last reward; nil when it has none.
    public func nodeRewardSpan(node: NodeID) throws -> ClosedRange<Int64>? {
        let r = try connection.query(sql("q.node_reward_span"), binding: node.rawValue)
        try r.expectColumns(2, statement: "q.node_reward_span")
        guard r.rowCount == 1, !r.isNull(0, 0) else { return nil }
        let (first, last) = (try r.int64(0, 0), try r.int64(0, 1))
        assert(first <= last)
        return first...last
    }

    /// `limit` lines of `nodeRewards` (every epoch), newest first, after skipping `offset`.
    public func nodeRewards(node: NodeID, newestFirst limit: Int, offset: Int) throws -> [NodeEpochReward] {
        precondition(limit >= 0 && offset >= 0)
        let r = try connection.query(sql("q.node_rewards_page"), binding: node.rawValue, Int64(limit), Int64(offset))
        try r.expectColumns(4, statement: "q.node_rewards_page")
        return try (0..<r.rowCount).map { i in
            NodeEpochReward(epoch: try r.int64(i, 0), role: try enumValue(r, i, 1), source: try enumValue(r, i, 2), amount: try wei(r, i, 3))
        }
    }

    /// The Ozone supply and price after each closed epoch in `epochs`.
    public func ozoneSupply(epochs: ClosedRange<Int64>) throws -> [OzoneSupplyPoint] {
        let r = try connection.query(sql("q.ozone_supply"), binding: epochs.lowerBound, epochs.upperBound)
        return try (0..<r.rowCount).map { i in
            OzoneSupplyPoint(
                epoch: try r.int64(i, 0), position: try r.int64(i, 1),
                supply: Supply(s: try wei(r, i, 2), p: try wei(r, i, 3), l: try noz(r, i, 4), mined: try wei(r, i, 5)),
                feeCollector: try wei(r, i, 6), priceNumeratorWei: try wei(r, i, 7), priceDenominatorNoz: try noz(r, i, 8),
                bought: try noz(r, i, 9), consumed: try noz(r, i, 10), settled: try noz(r, i, 11), carriedOver: try noz(r, i, 12))
        }
    }

    /// The Ozone price (s + p) / l after each closed epoch in `epochs`: (epoch, wei, noz).
    public func ozonePrices(epochs: ClosedRange<Int64>) throws -> [(epoch: Int64, numeratorWei: Wei, denominatorNoz: Noz)] {
        let r = try connection.query(sql("q.ozone_prices"), binding: epochs.lowerBound, epochs.upperBound)
        try r.expectColumns(3, statement: "q.ozone_prices")
        return try (0..<r.rowCount).map { i in (try r.int64(i, 0), try wei(r, i, 1), try noz(r, i, 2)) }
    }

    /// The stake-reward ledger of one recipient (validator operator, delegator or node owner).
    public func stakeRewards(account: AccountID, epochs: ClosedRange<Int64>) throws -> [StakeReward] {
        try stakeRewards(
            connection.query(
                sql("q.stake_rewards_by_account"),
                [account.rawValue, String(epochs.lowerBound), String(epochs.upperBound)]))
    }

    /// The stake-reward ledger of everyone paid through one validator (operator, commission, delegators).
    public func stakeRewards(validator: ValidatorID, epochs: ClosedRange<Int64>) throws -> [StakeReward] {
        try stakeRewards(
            connection.query(
                sql("q.stake_rewards_by_validator"),
                [validator.rawValue, String(epochs.lowerBound), String(epochs.upperBound)]))
    }

    private func stakeRewards(_ r: PostgresResult) throws -> [StakeReward] {
        try (0..<r.rowCount).map { i in
            StakeReward(
                epoch: try r.int64(i, 0), account: AccountID(unchecked: try r.string(i, 1)),
                validator: r.optionalString(i, 2).map(ValidatorID.init(unchecked:)),
                node: r.optionalString(i, 3).map(NodeID.init(unchecked:)), role: try enumValue(r, i, 4),
                kind: try enumValue(r, i, 5),
                source: try r.optionalString(i, 6).map { s in
                    guard let v = RewardSource(rawValue: s) else { throw ProjectionError.corrupt("reward source '\(s)'") }
                    return v
                }, amount: try wei(r, i, 7))
        }
    }

    // MARK: Journal

    /// Streams the journal transactions with log positions in `positions`, in order, one at a
    /// time (a single COPY; memory does not grow with the range).
    public func journal(positions: ClosedRange<Int64>, _ body: (JournalTransaction) throws -> Void) throws {
        try connection.query(sql("q.journal_bounds"), binding: positions.lowerBound, positions.upperBound)
        var fields: [[UInt8]?] = []
        func text(_ i: Int) -> String? { fields[i].map { String(decoding: $0, as: UTF8.self) } }
        try connection.copyOut(sql("q.journal_copy")) { chunk in
            parseCopyTextRow(chunk, into: &fields)
            guard fields.count == 6, let position = text(0).flatMap({ Int64($0) }), let id = text(1), let type = text(2),
                let micros = text(3).flatMap({ Int64($0) }), let epoch = text(4).flatMap({ Int64($0) }),
                let transfers = fields[5]
            else {
                throw ProjectionError.corrupt("journal row is malformed")
            }
            try body(
                JournalTransaction(
                    position: position, eventID: EventID(unchecked: id), type: type,
                    time: Timestamp(microsecondsSinceEpoch: micros), epoch: epoch,
                    postings: try JournalText.postings(transfers, position: position)))
        }
    }

    /// Streams the journal transactions of the events applied while epochs `epochs` were open.
    public func journal(epochs: ClosedRange<Int64>, _ body: (JournalTransaction) throws -> Void) throws {
        let r = try connection.query(sql("q.journal_epoch_positions"), binding: epochs.lowerBound, epochs.upperBound)
        let first = try r.int64(0, 0)
        let last = try r.int64(0, 1)
        guard first <= last else { return }
        try journal(positions: first...last, body)
    }

    /// Every event the projection's rule set refused.
    public func exceptions() throws -> [ProjectionException] {
        try decodeExceptions(connection.query(sql("q.exceptions")))
    }

    // MARK: Helpers

    func exceptions(after: Int64, through: Int64) throws -> [ProjectionException] {
        try decodeExceptions(connection.query(sql("q.exceptions_range"), binding: after, through))
    }

    private func positionOfClose(_ epoch: Int64) throws -> Int64 {
        let r = try connection.query(sql("q.settlement_position"), binding: epoch)
        guard r.rowCount == 1 else { throw ProjectionError.epochNotClosed(epoch: epoch, lastClosedEpoch: try health().lastClosedEpoch) }
        return try r.int64(0, 0)
    }

    /// The rule set of the schema, as `health()` last read it.
    private func rulesOf(_ h: ProjectionHealth) throws -> RuleSet {
        guard let ruleSet, ruleSet.name == h.rules else { throw ProjectionError.unknownRules(h.rules) }
        return ruleSet
    }
}

func decodeExceptions(_ r: PostgresResult) throws -> [ProjectionException] {
    try (0..<r.rowCount).map { i in
        ProjectionException(
            position: try r.int64(i, 0), eventID: try r.string(i, 1), type: try r.string(i, 2),
            rule: try r.string(i, 3), message: try r.string(i, 4))
    }
}

func uint(_ r: PostgresResult, _ row: Int, _ column: Int) throws -> UInt128 {
    // From the column's bytes: an amount column is read for every row of every page.
    if let v = r.withValueBytes(row, column, { $0.flatMap { parseDecimalUInt128(utf8: $0) } }) { return v }
    let text = r.optionalString(row, column) ?? "NULL"
    throw ProjectionError.corrupt("not a non-negative integer amount: \(text)")
}
func wei(_ r: PostgresResult, _ row: Int, _ column: Int) throws -> Wei { Wei(try uint(r, row, column)) }
func noz(_ r: PostgresResult, _ row: Int, _ column: Int) throws -> Noz { Noz(try uint(r, row, column)) }
func enumValue<E: RawRepresentable>(_ r: PostgresResult, _ row: Int, _ column: Int) throws -> E where E.RawValue == String {
    let s = try r.string(row, column)
    guard let v = E(rawValue: s) else { throw ProjectionError.corrupt("unexpected value '\(s)' for \(E.self)") }
    return v
}

extension LedgerQueries {
    /// The `limit` nodes that earned the most over `epochs` (every reward tied to the node, as
    /// `nodeRewards` lists them), best first, ties by node id; nodes that earned nothing are not
    /// listed. One query (`q.top_nodes`), however many nodes there are.
    public func topNodes(epochs: ClosedRange<Int64>, limit: Int) throws -> [NodeRewardTotal] {
        let r = try connection.query(sql("q.top_nodes"), binding: epochs.lowerBound, epochs.upperBound, limit)
        var out: [NodeRewardTotal] = []
        for i in 0..<r.rowCount {
            let node = NodeID(unchecked: try r.string(i, 0))
            if out.last?.node != node { out.append(NodeRewardTotal(node: node, total: try wei(r, i, 1), byRole: [:])) }
            let role: RewardRole = try enumValue(r, i, 2)
            out[out.count - 1].byRole[role] = .init(amount: try wei(r, i, 3), lastEpoch: try r.int64(i, 4))
        }
        for t in out {
            precondition(
                t.byRole.values.reduce(UInt128(0)) { $0 + $1.amount.rawValue } == t.total.rawValue,
                "a node's total is the sum of its roles")
        }
        return out
    }
}
