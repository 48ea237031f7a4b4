import EventStore
import LedgerEvents
import PostgresClient
import PostgresTestSupport
import StratosEconomics
import XCTest

/// A migrated fresh database per test.
class StoreTestCase: XCTestCase {
    var database: TestDatabase!
    var store: EventStore!

    override func setUpWithError() throws {
        database = try TestDatabase.create(prefix: String(describing: type(of: self)))
        store = try EventStore(connection: database.connect())
        try Migrator.load().migrate(store.connection)
    }

    override func tearDownWithError() throws {
        store = nil
        try database?.drop()
    }

    func newStore() throws -> EventStore { try EventStore(connection: database.connect()) }
}

let t0: Int64 = 1_767_225_600_000_000 // 2026-01-01T00:00:00Z in µs

func funded(_ id: String, _ account: String = "st1alice", amount: UInt128 = 100, second: Int64 = 0) -> LedgerEvent {
    LedgerEvent(
        id: EventID(id)!, time: Timestamp(microsecondsSinceEpoch: t0 + second * 1_000_000),
        payload: .funded(account: AccountID(account)!, amount: Wei(amount)))
}

func line(
    _ id: String, type: String = "Funded", time: String = "2026-01-01T00:00:00Z",
    data: String = #"{"account":"st1alice","amount":"100"}"#
) -> String {
    #"{"id":"\#(id)","type":"\#(type)","time":"\#(time)","data":\#(data)}"#
}

func writeTempFile(_ lines: [String]) throws -> String {
    let path = NSTemporaryDirectory() + "stratos-import-\(UInt64.random(in: 0...UInt64.max)).jsonl"
    try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// Refuses amounts above a limit and counts what it accepted: enough to test the writer's
/// mechanics without depending on the economics engine.
struct CappedRules: LedgerRules {
    var cap: UInt128 = 1_000
    var accepted = 0
    mutating func check(_ event: LedgerEvent) throws(RuleViolation) {
        if case .funded(_, let amount) = event.payload, amount.rawValue > cap {
            throw RuleViolation(eventID: event.id, eventType: event.type, code: .amountOutOfRange, message: "amount above the test cap \(cap)")
        }
        accepted += 1
    }
}
