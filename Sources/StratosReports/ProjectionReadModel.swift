import LedgerEvents
import PostgresClient
import StratosEconomics
import StratosProjections

/// The service's read model over the projections (`StratosProjections.LedgerQueries`): the
/// queries are theirs; this file only maps their errors to "not there" and their rows to JSON.
public struct ProjectionReadModels: ReadModelFactory {
    public let schema: String
    let sql: ProjectionSQL

    /// Loads `Projections/queries.sql` once (the located folder, or `STRATOS_PROJECTIONS_DIR`).
    public init(schemas: ProjectionSchemas = ProjectionSchemas()) throws {
        self.schema = schemas.serving
        self.sql = try ProjectionSQL.load()
    }

    public func readModel(on connection: PostgresConnection) throws -> any LedgerReadModel {
        try readModel(on: connection, schema: schema)
    }

    public func readModel(on connection: PostgresConnection, schema: String) throws -> any LedgerReadModel {
        ProjectionReadModel(queries: try LedgerQueries(connection: connection, schema: schema, sql: sql))
    }
}

struct ProjectionReadModel: LedgerReadModel {
    let queries: LedgerQueries

    /// Runs `body`; "not closed", "not projected" and "not built" become nil.
    private func optional<T>(_ body: () throws -> T?) throws -> T? {
        do { return try body() } catch let e as ProjectionError {
            switch e {
            case .epochNotClosed, .positionNotProjected, .notBuilt: return nil
            default: throw e
            }
        }
    }

    func snapshot(_ point: SnapshotPoint) throws -> EconomySnapshot? {
        try optional { try queries.snapshot(at: point) }
    }

    func settlement(epoch: Int64) throws -> StoredSettlement? {
        try optional { try queries.settlement(epoch: epoch) }
    }

    func economy(afterEpoch epoch: Int64) throws -> (economy: Economy, position: Int64)? {
        try optional { try queries.economyAndPosition(at: .epoch(epoch)) }
    }

    func prepare(_ economy: inout Economy, for event: LedgerEvent, at position: Int64, maturingThrough: Int64?) throws {
        try queries.prepare(&economy, for: event, at: position, maturingThrough: maturingThrough)
    }

    func lastSettlement(of node: NodeID, before epoch: Int64) throws -> (epoch: Int64, position: Int64)? {
        try queries.lastSettlement(of: node, before: epoch)
    }

    func projectedPosition() throws -> Int64 {
        try optional { try queries.health().position } ?? 0
    }

    func lastClosedEpoch() throws -> Int64 {
        try optional { try queries.health().lastClosedEpoch } ?? 0
    }

    func nodeExists(_ node: NodeID) throws -> Bool {
        try optional { try queries.nodeExists(node) } ?? false
    }

    func account(_ id: AccountID) throws -> JSONValue? {
        guard let b = try queries.balances(account: id) else { return nil }
        return .object([
            "account": .string(id.rawValue), "wallet": .string(b.wallet.description), "ozone": .string(b.ozone.description),
            "vesting": .string(b.vesting.description), "bonded": .string(b.bonded.description),
            "unbonding": .string(b.unbonding.description), "escrow": .string(b.escrow.description),
        ])
    }

    func vesting(_ id: AccountID) throws -> JSONValue? {
        guard try queries.balances(account: id) != nil else { return nil }
        let v = try queries.vestingSchedule(account: id)
        return .object([
            "account": .string(id.rawValue), "entries": .array(v.entries.map(Self.json)),
            "releases": .array(v.releases.map(Self.json)),
        ])
    }

    static func json(_ e: VestingScheduleEntry) -> JSONValue {
        var o: [String: JSONValue] = [:]
        o["entry"] = .integer(e.entry.rawValue)
        o["node"] = e.node.map { .string($0.rawValue) } ?? .null
        o["validator"] = e.validator.map { .string($0.rawValue) } ?? .null
        o["role"] = .string(e.role.rawValue)
        o["source"] = .string(e.source.rawValue)
        o["amount"] = .string(e.amount.description)
        o["epochEarned"] = .integer(e.epochEarned)
        o["matureEpoch"] = .integer(e.matureEpoch)
        o["status"] = .string(e.status.rawValue)
        o["feeTaken"] = .string(e.feeTaken.description)
        o["closedEpoch"] = e.closedEpoch.map { .integer($0) } ?? .null
        return .object(o)
    }

    static func json(_ r: ScheduledRelease) -> JSONValue {
        var o: [String: JSONValue] = [:]
        o["kind"] = .string(r.kind.rawValue)
        o["reference"] = .string(r.reference)
        o["node"] = r.node.map { .string($0.rawValue) } ?? .null
        o["validator"] = r.validator.map { .string($0.rawValue) } ?? .null
        o["amount"] = .string(r.amount.description)
        o["releaseDay"] = .integer(r.releaseDay)
        o["releasedEpoch"] = r.releasedEpoch.map { .integer($0) } ?? .null
        return .object(o)
    }

    func nodeRewards(_ id: NodeID, epochs: ClosedRange<Int64>) throws -> JSONValue? {
        guard try nodeExists(id) else { return nil }
        let rows = try queries.nodeRewards(node: id, epochs: epochs)
        var total: UInt128 = 0
        for r in rows { total += r.amount.rawValue }
        return .object([
            "node": .string(id.rawValue),
            "from": .integer(epochs.lowerBound),
            "to": epochs.upperBound == Int64.max ? .null : .integer(epochs.upperBound),
            "total": .string(String(total)),
            "rewards": .array(
                rows.map { r in
                    .object([
                        "epoch": .integer(r.epoch), "role": .string(r.role.rawValue),
                        "source": .string(r.source.rawValue), "amount": .string(r.amount.description),
                    ])
                }),
        ])
    }

    func topNodes(epochs: ClosedRange<Int64>, limit: Int) throws -> JSONValue {
        let ranked = try queries.topNodes(epochs: epochs, limit: limit)
        return .object([
            "from": .integer(epochs.lowerBound),
            "to": epochs.upperBound == Int64.max ? .null : .integer(epochs.upperBound),
            "limit": .integer(limit),
            "nodes": .array(
                ranked.enumerated().map { i, t in
                    .object([
                        "rank": .integer(i + 1), "node": .string(t.node.rawValue), "total": .string(t.total.description),
                        "lastEpoch": .integer(t.lastEpoch),
                        "byRole": .object(
                            Dictionary(
                                uniqueKeysWithValues: t.byRole.map { role, r in
                                    (
                                        role.rawValue,
                                        JSONValue.object([
                                            "amount": .string(r.amount.description),
                                            "lastEpoch": .integer(r.lastEpoch),
                                        ])
                                    )
                                })),
                    ])
                }),
        ])
    }

    func ozoneSeries(epochs: ClosedRange<Int64>) throws -> JSONValue {
        let rows = try queries.ozoneSupply(epochs: epochs)
        return .object([
            "from": .integer(epochs.lowerBound),
            "to": epochs.upperBound == Int64.max ? .null : .integer(epochs.upperBound),
            "points": .array(
                rows.map { p in
                    .object([
                        "epoch": .integer(p.epoch), "position": .integer(p.position),
                        "s": .string(p.supply.s.description), "p": .string(p.supply.p.description),
                        "l": .string(p.supply.l.description), "mined": .string(p.supply.mined.description),
                        "feeCollector": .string(p.feeCollector.description),
                        "price": .object([
                            "numeratorWei": .string(String(p.priceNumeratorWei)),
                            "denominatorNoz": .string(String(p.priceDenominatorNoz)),
                            "weiPerOZ": .string(Self.pricePerOZ(p.priceNumeratorWei, p.priceDenominatorNoz)),
                        ]),
                        "bought": .string(p.bought.description), "consumed": .string(p.consumed.description),
                        "settled": .string(p.settled.description), "carriedOver": .string(p.carriedOver.description),
                    ])
                }),
        ])
    }

    /// (s + p) / l wei per noz as wei per OZ (10^9 noz), with 9 decimals, truncated — shown for
    /// humans next to the exact fraction, never booked.
    static func pricePerOZ(_ numerator: UInt128, _ denominator: UInt128) -> String {
        guard denominator > 0 else { return "0" }
        let scaled = numerator.multipliedFullWidth(by: 1_000_000_000 * 1_000_000_000)
        guard scaled.high < denominator else { return "overflow" }
        return formatDecimal(denominator.dividingFullWidth(scaled).quotient, decimals: 9)
    }

    func stake(_ id: String) throws -> JSONValue? {
        let all = Int64(1)...Int64.max
        let asValidator = try queries.stakeRewards(validator: ValidatorID(unchecked: id), epochs: all)
        let asAccount = try queries.stakeRewards(account: AccountID(unchecked: id), epochs: all)
        if asValidator.isEmpty, asAccount.isEmpty, try queries.balances(account: AccountID(unchecked: id)) == nil {
            return nil
        }
        func rows(_ list: [StakeReward]) -> JSONValue {
            .array(
                list.map { r in
                    .object([
                        "epoch": .integer(r.epoch), "account": .string(r.account.rawValue),
                        "validator": r.validator.map { .string($0.rawValue) } ?? .null,
                        "node": r.node.map { .string($0.rawValue) } ?? .null, "role": .string(r.role.rawValue),
                        "kind": .string(r.kind.rawValue), "source": r.source.map { .string($0.rawValue) } ?? .null,
                        "amount": .string(r.amount.description),
                    ])
                })
        }
        return .object(["id": .string(id), "asValidator": rows(asValidator), "asRecipient": rows(asAccount)])
    }

    func journal(epochs: ClosedRange<Int64>, _ body: (JournalTransaction) throws -> Void) throws {
        try queries.journal(epochs: epochs, body)
    }
}
