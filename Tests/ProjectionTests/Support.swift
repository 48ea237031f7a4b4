import EventStore
import LedgerEvents
import PostgresClient
import PostgresTestSupport
import StratosEconomics
import StratosProjections
import StratosSimulator
import XCTest

/// A migrated fresh database per test, and helpers to fill its log from the simulator.
class ProjectionTestCase: XCTestCase {
    var database: TestDatabase!
    var store: EventStore!
    var sql: ProjectionSQL!

    override func setUpWithError() throws {
        database = try TestDatabase.create(prefix: String(describing: type(of: self)))
        store = try EventStore(connection: database.connect())
        try Migrator.load().migrate(store.connection)
        sql = try ProjectionSQL.load()
    }

    override func tearDownWithError() throws {
        store = nil
        try database?.drop()
    }

    /// A small but complete history: long enough (2,100 epochs) for vesting entries to mature.
    static func history(epochs: Int = 2_100, seed: UInt64 = 7) throws -> [LedgerEvent] {
        var events: [LedgerEvent] = []
        _ = try Simulator(.tiny(epochs: epochs, seed: seed)).run { events.append($0) }
        return events
    }

    func append(_ events: some Collection<LedgerEvent>) throws {
        var chunk: [LedgerEvent] = []
        for e in events {
            chunk.append(e)
            if chunk.count == 5_000 {
                try store.append(chunk)
                chunk.removeAll()
            }
        }
        if !chunk.isEmpty { try store.append(chunk) }
    }

    func worker(_ schema: String = "projection", status: BuildStatus = .serving, batchSize: Int = 2_000) throws -> ProjectionWorker {
        try ProjectionWorker(url: database.url, schema: schema, expectedStatus: status, sql: sql, batchSize: batchSize)
    }

    /// Creates the schema if needed and catches up to the head.
    @discardableResult
    func project(
        _ schema: String = "projection", rules: RuleSet = .paperV1, batchSize: Int = 2_000,
        checkpointEvery: Int64 = 100
    ) throws -> ProjectionWorker {
        let w = try worker(schema, batchSize: batchSize)
        try w.lock(wait: false)
        try w.createIfMissing(rules: rules, checkpointEvery: checkpointEvery)
        try w.catchUp()
        try w.ensureIndexed()
        return w
    }

    func fingerprint(_ schema: String) throws -> [String: String] {
        try sql.fingerprint(try database.connect(), schema: schema)
    }

    /// The economy after replaying `events` in memory, stopping right after `EpochClosed epoch` if given.
    static func replay(_ events: [LedgerEvent], rules: RuleSet = .paperV1, throughEpoch epoch: Int64? = nil) -> Economy {
        var e = Economy(rules: rules)
        for event in events {
            _ = try? e.apply(event)
            if let epoch, e.lastClosedEpoch == epoch { break }
        }
        return e
    }
}
