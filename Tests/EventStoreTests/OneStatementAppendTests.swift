import EventStore
import LedgerEvents
import PostgresClient
import StratosEconomics
import XCTest

/// The append in one round trip (`event_log_append`, Schema/0006): once a store knows the head
/// it committed, an append outside a transaction is one prepared statement that is its own
/// transaction; whatever it cannot decide alone (another writer moved the head, a duplicate id,
/// a stale expectation, a refusal) goes through the locked path with the same outcome as before.
final class OneStatementAppendTests: StoreTestCase {
    /// After the first append (locked path), each further append is one round trip, and the
    /// log is what the locked path writes: positions 1, 2, 3, …, versions per stream, the chain.
    func testAppendsAfterTheFirstAreOneRoundTripEach() throws {
        try store.append([funded("e1", "st1alice")])
        for i in 2...6 {
            let before = store.connection.roundTrips
            let r = try store.append([funded("e\(i)", i % 2 == 0 ? "st1bob" : "st1alice", second: Int64(i))])
            // The first one also prepares the statement on this connection.
            XCTAssertEqual(store.connection.roundTrips - before, i == 2 ? 2 : 1, "append e\(i)")
            XCTAssertEqual(r.appended.map(\.position), [Int64(i)])
            XCTAssertEqual(r.head.position, Int64(i))
        }
        let batch = try store.append([funded("b1", "st1carol", second: 7), funded("b2", "st1carol", second: 7), funded("b3", "st1bob", second: 8)])
        XCTAssertEqual(batch.appended.map(\.position), [7, 8, 9])
        let events = try store.read(from: 1, limit: 100)
        XCTAssertEqual(events.map(\.position), Array(1...9))
        XCTAssertEqual(events.filter { $0.stream == "account/st1alice" }.map(\.streamVersion), [1, 2, 3])
        XCTAssertEqual(events.filter { $0.stream == "account/st1bob" }.map(\.streamVersion), [1, 2, 3, 4])
        XCTAssertEqual(events.filter { $0.stream == "account/st1carol" }.map(\.streamVersion), [1, 2])
        XCTAssertEqual(events.last?.hash, batch.head.hash)
        XCTAssertTrue(try store.verify().isIntact)
    }

    /// Another writer appends between two appends of this store: the presumed head is stale,
    /// the function writes nothing, and the locked path appends after the other writer's events.
    func testAHeadMovedByAnotherWriterIsFoundAndTheAppendStillLands() throws {
        try store.append([funded("a1")])
        try store.append([funded("a2", second: 1)])
        let other = try newStore()
        try other.append([funded("o1", "st1bob", second: 2), funded("o2", second: 2)])
        let r = try store.append([funded("a3", second: 3)])
        XCTAssertEqual(r.appended.map(\.position), [5])
        let events = try store.read(from: 1, limit: 10)
        XCTAssertEqual(events.map(\.eventID), ["a1", "a2", "o1", "o2", "a3"])
        XCTAssertEqual(events.filter { $0.stream == "account/st1alice" }.map(\.streamVersion), [1, 2, 3, 4])
        XCTAssertTrue(try store.verify().isIntact)
        // And the next one is a single round trip again.
        let before = store.connection.roundTrips
        try store.append([funded("a4", second: 4)])
        XCTAssertEqual(store.connection.roundTrips - before, 1)
    }

    /// A retry of events already appended is answered as duplicates (the unique index stops the
    /// one statement; the locked path decides), and other content under a used id is refused.
    func testRetriesAndConflictsAreDecidedAsBefore() throws {
        try store.append([funded("r1")])
        try store.append([funded("r2", second: 1)])
        let retry = try store.append([funded("r2", second: 1)])
        XCTAssertEqual(retry.appended.count, 0)
        XCTAssertEqual(retry.duplicates.map(\.position), [2])
        XCTAssertThrowsError(try store.append([funded("r2", amount: 5, second: 1)])) { error in
            guard case AppendError.idConflict(let id, let position) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(id, "r2")
            XCTAssertEqual(position, 2)
        }
        let mixed = try store.append([funded("r2", second: 1), funded("r3", second: 2)])
        XCTAssertEqual(mixed.appended.map(\.position), [3])
        XCTAssertEqual(mixed.duplicates.map(\.position), [2])
        XCTAssertEqual(try store.head().position, 3)
        XCTAssertTrue(try store.verify().isIntact)
    }

    /// Expectations are checked by the one statement against the locked head; a stale one is
    /// refused with the actual version, as on the locked path, and appends nothing.
    func testExpectedStreamVersionsAndPositionsHold() throws {
        try store.append([funded("x1")])
        try store.append([funded("x2", second: 1)], expectedStreamVersions: ["account/st1alice": 1])
        XCTAssertThrowsError(try store.append([funded("x3", second: 2)], expectedStreamVersions: ["account/st1alice": 1])) { error in
            guard case AppendError.streamVersionConflict(let stream, let expected, let actual) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(stream, "account/st1alice")
            XCTAssertEqual(expected, 1)
            XCTAssertEqual(actual, 2)
        }
        XCTAssertThrowsError(try store.append([funded("x3", second: 2)], expectedPosition: 1)) { error in
            guard case AppendError.positionConflict(1, 2) = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try store.append([funded("x3", second: 0)])) { error in
            guard case AppendError.timeWentBackwards = error else { return XCTFail("\(error)") }
        }
        let r = try store.append(
            [funded("x3", second: 2)], expectedPosition: 2, expectedStreamVersions: ["account/st1alice": 2, "account/st1new": 0])
        XCTAssertEqual(r.appended.map(\.position), [3])
        XCTAssertEqual(try store.head().position, 3)
    }

    /// The rules see the batch once on the way in; a refusal appends nothing, and a writer whose
    /// store saw another writer's events replays them before deciding.
    func testTheWriterChecksTheRulesOnTheOneStatementPath() throws {
        let writer = try LedgerWriter(store: store, rules: CappedRules(cap: 1_000))
        try writer.append([funded("w1", amount: 10)])
        try writer.append([funded("w2", amount: 10, second: 1)])
        XCTAssertThrowsError(try writer.append([funded("w3", amount: 5_000, second: 2)])) { error in
            guard case AppendError.ruleViolation = error else { return XCTFail("\(error)") }
        }
        try newStore().append([funded("o1", amount: 10, second: 2)])
        try writer.append([funded("w3", amount: 10, second: 3)])
        XCTAssertEqual(writer.position, 4)
        XCTAssertEqual(writer.rules.accepted, 4)
        XCTAssertEqual(try store.read(from: 1, limit: 10).map(\.eventID), ["w1", "w2", "o1", "w3"])
        XCTAssertTrue(try store.verify().isIntact)
    }

    /// A connection closed while idle (the backend terminated) is found before the statement is
    /// sent: a plain connection loss, nothing written, not an unknown outcome.
    func testAConnectionClosedWhileIdleIsFoundBeforeSending() throws {
        try store.append([funded("c1")])
        try store.append([funded("c2", second: 1)])
        let admin = try database.connect()
        _ = try admin.query("SELECT pg_terminate_backend($1)", [String(store.connection.backendPID)])
        Thread.sleep(forTimeInterval: 0.2)
        XCTAssertThrowsError(try store.append([funded("c3", second: 2)])) { error in
            guard case AppendError.database(let e) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(e.isConnectionLoss, "\(e)")
            if case .commitOutcomeUnknown = e { XCTFail("found before sending: \(e)") }
        }
        XCTAssertEqual(try newStore().head().position, 2)
    }
}
