import EventStore
import LedgerEvents
import PostgresClient
import StratosEconomics
import StratosProjections
import StratosSimulator
import Synchronization
import XCTest

/// A writer starts from the latest usable checkpoint of its rules state and replays only the log
/// after it; the state it reaches is the one a replay from Genesis reaches, byte for byte.
final class WriterCheckpointTests: StoreTestCase {
    static func history() throws -> [LedgerEvent] {
        var events: [LedgerEvent] = []
        _ = try Simulator(.tiny(epochs: 700, seed: 11)).run { events.append($0) }
        return events
    }

    /// What writers were told of their checkpoints, in order: "written P" or "failed P: reason".
    final class Outcomes: Sendable {
        let lines = Mutex<[String]>([])
        func withLock<T>(_ body: (inout [String]) -> T) -> T { lines.withLock { body(&$0) } }
    }
    let outcomes = Outcomes()

    func writer(every: Int64) throws -> LedgerWriter<Economy> {
        try LedgerWriter(store: newStore(), rules: Economy(rules: .paperV1), checkpointEvery: every) { [outcomes] outcome in
            outcomes.withLock {
                switch outcome {
                case .written(let position, let bytes, _):
                    XCTAssertGreaterThan(bytes, 0)
                    $0.append("written \(position)")
                case .failed(let position, let reason): $0.append("failed \(position): \(reason)")
                }
            }
        }
    }

    func append(_ events: ArraySlice<LedgerEvent>, with w: LedgerWriter<Economy>) throws {
        var rest = events
        while !rest.isEmpty {
            try w.append(Array(rest.prefix(100)))
            rest = rest.dropFirst(100)
        }
    }

    func checkpoints(on c: PostgresConnection? = nil) throws -> [Int64] {
        let r = try (c ?? store.connection).query("SELECT position FROM writer_checkpoints ORDER BY position")
        return try (0..<r.rowCount).map { try r.int64($0, 0) }
    }

    func testRestoredWriterEqualsAReplayAndAppendsTheRest() throws {
        let events = try Self.history()
        XCTAssertGreaterThan(events.count, 2_000)
        let split = events.count * 3 / 4
        let first = try writer(every: 400)
        XCTAssertEqual(first.restoredFrom, 0, "an empty log has no checkpoint")
        try append(events[..<split], with: first)
        let kept = try checkpoints()
        XCTAssertEqual(kept.count, 2, "the newest checkpoint and the one before it are kept: \(kept)")
        XCTAssertGreaterThan(kept[1], Int64(split) - 500)
        XCTAssertEqual(outcomes.withLock { Array($0.suffix(2)) }, kept.map { "written \($0)" })

        let restored = try writer(every: 400)
        XCTAssertEqual(restored.restoredFrom, kept[1])
        XCTAssertEqual(restored.position, Int64(split))
        XCTAssertEqual(restored.rules.encodeCheckpoint(), first.rules.encodeCheckpoint())
        // It decides the rest of the history as the first writer would have.
        try append(events[split...], with: restored)
        let replayed = try writer(every: 0)
        XCTAssertEqual(replayed.restoredFrom, 0)
        XCTAssertEqual(replayed.position, Int64(events.count))
        XCTAssertEqual(replayed.rules.encodeCheckpoint(), restored.rules.encodeCheckpoint())
        XCTAssertEqual(try checkpoints().count, 2)
    }

    func testUnusableCheckpointsAreIgnored() throws {
        let events = try Self.history()
        try append(events[...], with: try writer(every: 0))
        let reference = try writer(every: 0).rules.encodeCheckpoint()
        let c = store.connection
        let key = try XCTUnwrap(Economy(rules: .paperV1).checkpointKey)
        let hashAt100 = try c.query("SELECT hash FROM event_log WHERE position = 100").bytea(0, 0)
        let stateAt100: [UInt8] = try {
            var e = Economy(rules: .paperV1)
            for event in events.prefix(100) { try e.check(event) }
            return e.encodeCheckpoint()
        }()
        func insert(_ rules: String, _ position: Int64, _ hash: [UInt8], _ state: [UInt8]) throws {
            try c.query(
                "INSERT INTO writer_checkpoints (rules, position, hash, state) VALUES ($1, $2, $3::bytea, $4::bytea)",
                [rules, String(position), encodeByteaHex(hash), encodeByteaHex(state)])
        }
        // The good one, at 100, then three newer ones a writer must not use.
        try insert(key, 100, hashAt100, stateAt100)
        try insert(key, 200, Array(repeating: 7, count: 32), stateAt100) // another log's prefix
        try insert("paper-v1-effective-s/economy-v1", 300, try c.query("SELECT hash FROM event_log WHERE position = 300").bytea(0, 0), stateAt100)
        var cut = stateAt100
        cut.removeLast(5)
        try insert(key, 100 + 1, try c.query("SELECT hash FROM event_log WHERE position = 101").bytea(0, 0), cut) // undecodable

        let w = try writer(every: 0)
        XCTAssertEqual(w.restoredFrom, 0, "checkpointEvery 0 never restores")
        let restored = try writer(every: 1_000_000)
        XCTAssertEqual(
            restored.restoredFrom, 100,
            "the newest usable one: 300 is another rule set's, 200 another log's, "
                + "101 does not decode")
        XCTAssertEqual(restored.rules.encodeCheckpoint(), reference)

        try c.query("DELETE FROM writer_checkpoints WHERE position = 100")
        let replayed = try writer(every: 1_000_000)
        XCTAssertEqual(replayed.restoredFrom, 0, "none usable: replayed from Genesis")
        XCTAssertEqual(replayed.rules.encodeCheckpoint(), reference)
    }

    func testRolledBackTransactionTakesItsCheckpointWithIt() throws {
        let events = try Self.history()
        let w = try writer(every: 400)
        struct Abort: Error {}
        XCTAssertThrowsError(
            try w.transaction { w in
                try self.append(events.prefix(1_000), with: w)
                XCTAssertFalse(try self.checkpoints(on: w.store.connection).isEmpty, "written inside the transaction")
                throw Abort()
            })
        XCTAssertEqual(try checkpoints(), [])
        XCTAssertEqual(w.position, 0)
        try append(events.prefix(1_000), with: w)
        XCTAssertEqual(try checkpoints().count, 2)
    }

    /// A checkpoint that cannot be written never fails the append it follows.
    func testUnwritableCheckpointDoesNotFailTheAppend() throws {
        let events = try Self.history()
        try store.connection.execute("DROP TABLE writer_checkpoints")
        let w = try writer(every: 400)
        XCTAssertNil(w.checkpointFailure)
        try append(events.prefix(500), with: w)
        XCTAssertEqual(w.position, 500)
        XCTAssertTrue(try XCTUnwrap(w.checkpointFailure).contains("writer_checkpoints"), "\(w.checkpointFailure ?? "")")
        XCTAssertEqual(outcomes.withLock { $0 }, ["failed 400: \(w.checkpointFailure!)"], "the failure is reported once")
        let next = try writer(every: 400)
        XCTAssertEqual(next.restoredFrom, 0)
        XCTAssertEqual(next.position, 500)
    }
}
