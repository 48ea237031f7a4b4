import LedgerEvents
import PostgresClient
import StratosEconomics
import StratosProjections

/// The queries the service and the CLI report verbs need from the projections — the narrow
/// boundary to `StratosProjections` (`LedgerQueries`), which implements it (see
/// `ProjectionReadModel.swift`). All methods run on one connection's thread, blocking.
///
/// "Not there" is `nil` (unknown account/node, epoch not closed); the caller turns it into
/// the right problem.
public protocol LedgerReadModel {
    /// The economy snapshot now, right after `EpochClosed epoch`, or after `position` events.
    func snapshot(_ point: SnapshotPoint) throws -> EconomySnapshot?
    /// The stored settlement report of a closed epoch.
    func settlement(epoch: Int64) throws -> StoredSettlement?
    /// An account's balances (docs/EVENTS.md account fields), nil if never seen.
    func account(_ id: AccountID) throws -> JSONValue?
    /// An account's vesting entries with their status, nil if never seen.
    func vesting(_ id: AccountID) throws -> JSONValue?
    /// A node's rewards per epoch over `epochs`, nil if the node was never seen.
    func nodeRewards(_ id: NodeID, epochs: ClosedRange<Int64>) throws -> JSONValue?
    /// The `limit` nodes that earned the most over `epochs`, ranked, with their totals by role.
    func topNodes(epochs: ClosedRange<Int64>, limit: Int) throws -> JSONValue
    /// Ozone supply and price after each closed epoch of `epochs`.
    func ozoneSeries(epochs: ClosedRange<Int64>) throws -> JSONValue
    /// The stake-reward ledger of a validator or a delegator, nil if neither.
    func stake(_ id: String) throws -> JSONValue?
    /// Streams the journal transactions of the events applied while epochs `epochs` were open,
    /// in position order, one at a time (memory does not grow with the range).
    func journal(epochs: ClosedRange<Int64>, _ body: (JournalTransaction) throws -> Void) throws
    /// The economy right after `EpochClosed epoch` (a fresh one for epoch 0) and the log
    /// position it reflects; nil if not closed. It may be partial (see `prepare`).
    func economy(afterEpoch epoch: Int64) throws -> (economy: Economy, position: Int64)?
    /// Gives a partial economy at log `position` the locked vesting entries `event` (the next
    /// one) reads, fetching maturities up to `maturingThrough` at once.
    func prepare(_ economy: inout Economy, for event: LedgerEvent, at position: Int64, maturingThrough: Int64?) throws
    /// The last epoch before `epoch` whose settlement included `node`, and its close's position.
    func lastSettlement(of node: NodeID, before epoch: Int64) throws -> (epoch: Int64, position: Int64)?
    /// The log position the projections have applied (0 before the first build).
    func projectedPosition() throws -> Int64
    /// The last epoch the projections have closed (0 before the first build), from their state
    /// row: cheap, unlike a snapshot, which rebuilds the economy.
    func lastClosedEpoch() throws -> Int64
    /// Whether the projections have seen `node` (in any status), from the `nodes` table.
    func nodeExists(_ node: NodeID) throws -> Bool
}

/// Makes a read model over one connection (the pool hands out connections per request).
public protocol ReadModelFactory: Sendable {
    func readModel(on connection: PostgresConnection) throws -> any LedgerReadModel
    /// A read model of the build in projection schema `schema` (`?build=NAME`: a build that is
    /// not serving).
    func readModel(on connection: PostgresConnection, schema: String) throws -> any LedgerReadModel
}
