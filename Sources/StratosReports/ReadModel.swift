import LedgerEvents
import PostgresClient
import StratosEconomics
import StratosProjections

/// The queries the service, the console and the CLI report verbs read the projections with:
/// `StratosProjections.LedgerQueries` over one connection, with its "not closed", "not
/// projected" and "not built" errors mapped to `nil` (unknown account/node, epoch not closed);
/// the caller turns that into the right problem. Values are typed and exact; their JSON is made
/// in one place (`ReadModel+JSON.swift`). All methods run on the connection's thread, blocking.
public struct ReadModel {
    let queries: LedgerQueries

    public init(queries: LedgerQueries) { self.queries = queries }

    /// Runs `body`; "not closed", "not projected" and "not built" become nil.
    private func optional<T>(_ body: () throws -> T?) throws -> T? {
        do { return try body() } catch let e as ProjectionError {
            switch e {
            case .epochNotClosed, .positionNotProjected, .notBuilt: return nil
            default: throw e
            }
        }
    }

    /// The economy snapshot now, right after `EpochClosed epoch`, or after `position` events.
    public func snapshot(_ point: SnapshotPoint) throws -> EconomySnapshot? {
        try optional { try queries.snapshot(at: point) }
    }

    /// The stored settlement report of a closed epoch.
    public func settlement(epoch: Int64) throws -> StoredSettlement? {
        try optional { try queries.settlement(epoch: epoch) }
    }

    /// The economy right after `EpochClosed epoch` (a fresh one for epoch 0) and the log
    /// position it reflects; nil if not closed. It may be partial (see `prepare`).
    public func economy(afterEpoch epoch: Int64) throws -> (economy: Economy, position: Int64)? {
        try optional { try queries.economyAndPosition(at: .epoch(epoch)) }
    }

    /// Gives a partial economy at log `position` the locked vesting entries `event` (the next
    /// one) reads, fetching maturities up to `maturingThrough` at once.
    public func prepare(_ economy: inout Economy, for event: LedgerEvent, at position: Int64, maturingThrough: Int64?) throws {
        try queries.prepare(&economy, for: event, at: position, maturingThrough: maturingThrough)
    }

    /// The last epoch before `epoch` whose settlement included `node`, and its close's position.
    public func lastSettlement(of node: NodeID, before epoch: Int64) throws -> (epoch: Int64, position: Int64)? {
        try queries.lastSettlement(of: node, before: epoch)
    }

    /// The log position the projections have applied (0 before the first build).
    public func projectedPosition() throws -> Int64 {
        try optional { try queries.health().position } ?? 0
    }

    /// The last epoch the projections have closed (0 before the first build), from their state
    /// row: cheap, unlike a snapshot, which rebuilds the economy.
    public func lastClosedEpoch() throws -> Int64 {
        try optional { try queries.health().lastClosedEpoch } ?? 0
    }

    /// The SHA-256 of the canonical JSON of the build's rule set ("" before the first build).
    public func rulesSha256() throws -> String {
        try optional { try queries.health().rulesSha256 } ?? ""
    }

    /// Whether the projections have seen `node` (in any status), from the `nodes` table.
    public func nodeExists(_ node: NodeID) throws -> Bool {
        try optional { try queries.nodeExists(node) } ?? false
    }

    /// A node now, nil if never seen (from the `nodes` table: cheap, unlike a snapshot).
    public func node(_ id: NodeID) throws -> NodeSnapshot? {
        try optional { try queries.node(id) }
    }

    /// The nodes an account owns, by id.
    public func nodes(ownedBy owner: AccountID) throws -> [NodeID] {
        try optional { try queries.nodes(ownedBy: owner) } ?? []
    }

    /// An account's balances (docs/EVENTS.md account fields), nil if never seen.
    public func account(_ id: AccountID) throws -> AccountBalances? {
        try queries.balances(account: id)
    }

    /// An account's vesting entries with their status, and its scheduled releases; nil if the
    /// account was never seen.
    public func vesting(_ id: AccountID) throws -> VestingSchedule? {
        guard try queries.balances(account: id) != nil else { return nil }
        return try queries.vestingSchedule(account: id)
    }

    /// How many vesting entries an account or a node has, and its locked ones by maturity epoch.
    public func vestingSummary(_ holder: VestingHolder) throws -> VestingSummary {
        try queries.vestingSummary(holder)
    }

    /// One page of the entries earned from `node`, newest first.
    public func vestingEntries(node: NodeID, newestFirst limit: Int, offset: Int) throws -> [VestingScheduleEntry] {
        try queries.vestingEntries(node: node, newestFirst: limit, offset: offset)
    }

    /// The deposit releases and unbondings owed to `account`.
    public func releases(account: AccountID) throws -> [ScheduledRelease] {
        try queries.releases(account: account)
    }

    /// A node's rewards per epoch, role and source over `epochs`, nil if the node was never seen.
    public func nodeRewards(_ id: NodeID, epochs: ClosedRange<Int64>) throws -> [NodeEpochReward]? {
        guard try nodeExists(id) else { return nil }
        return try queries.nodeRewards(node: id, epochs: epochs)
    }

    /// A node's rewards summed into at most `maxRanges` ranges of epochs through `lastEpoch`,
    /// for a chart; nil when it has earned nothing (check `node` for whether it exists).
    public func nodeRewardChart(_ id: NodeID, through lastEpoch: Int64, maxRanges: Int) throws -> NodeRewardChart? {
        try queries.nodeRewardChart(node: id, through: lastEpoch, maxRanges: maxRanges)
    }

    /// The epochs of a node's first and last reward; nil when it has earned nothing.
    public func nodeRewardSpan(_ id: NodeID) throws -> ClosedRange<Int64>? { try queries.nodeRewardSpan(node: id) }

    /// One page of a node's reward lines (every epoch), newest first.
    public func nodeRewards(_ id: NodeID, newestFirst limit: Int, offset: Int) throws -> [NodeEpochReward] {
        try queries.nodeRewards(node: id, newestFirst: limit, offset: offset)
    }

    /// The `limit` nodes that earned the most over `epochs`, best first, with their totals by role.
    public func topNodes(epochs: ClosedRange<Int64>, limit: Int) throws -> [NodeRewardTotal] {
        try queries.topNodes(epochs: epochs, limit: limit)
    }

    /// Ozone supply and price after each closed epoch of `epochs`.
    public func ozoneSeries(epochs: ClosedRange<Int64>) throws -> [OzoneSupplyPoint] {
        try queries.ozoneSupply(epochs: epochs)
    }

    /// The Ozone price after each closed epoch of `epochs`, as an exact fraction.
    public func ozonePrices(epochs: ClosedRange<Int64>) throws -> [(epoch: Int64, numeratorWei: Wei, denominatorNoz: Noz)] {
        try queries.ozonePrices(epochs: epochs)
    }

    /// The rule set's name of the build ("" before the first build).
    public func rulesName() throws -> String {
        try optional { try queries.health().rules } ?? ""
    }

    /// The stake rewards `account` received in `epochs` (as validator operator, commission,
    /// delegator or node owner), in epoch order.
    public func stakeRewards(account: AccountID, epochs: ClosedRange<Int64>) throws -> [StakeReward] {
        try queries.stakeRewards(account: account, epochs: epochs)
    }

    /// The stake-reward ledger of a validator or a delegator, nil if neither.
    public func stake(_ id: String) throws -> StakeLedger? {
        let all = Int64(1)...Int64.max
        let asValidator = try queries.stakeRewards(validator: ValidatorID(unchecked: id), epochs: all)
        let asRecipient = try queries.stakeRewards(account: AccountID(unchecked: id), epochs: all)
        if asValidator.isEmpty, asRecipient.isEmpty, try queries.balances(account: AccountID(unchecked: id)) == nil {
            return nil
        }
        return StakeLedger(id: id, asValidator: asValidator, asRecipient: asRecipient)
    }

    /// Streams the journal transactions of the events applied while epochs `epochs` were open,
    /// in position order, one at a time (memory does not grow with the range).
    public func journal(epochs: ClosedRange<Int64>, _ body: (JournalTransaction) throws -> Void) throws {
        try queries.journal(epochs: epochs, body)
    }
}

/// The stake rewards of one id: those of the validator it names (every recipient) and those it
/// received (as an operator, a delegator or a node owner).
public struct StakeLedger: Sendable, Hashable {
    public var id: String
    public var asValidator: [StakeReward]
    public var asRecipient: [StakeReward]
}
