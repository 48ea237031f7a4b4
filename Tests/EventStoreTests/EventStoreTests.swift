import EventStore
import Foundation
import LedgerEvents
import PostgresClient
import PostgresTestSupport
import StratosSimulator
import XCTest

final class EventStoreTests: StoreTestCase {
    func testAppendReadAndReplayRoundTrip() throws {
        let events = (1...5).map { funded("e\($0)", second: Int64($0)) }
        let r = try store.append(
            events.map { EventToAppend($0, clientMetadata: ["source": "test"]) },
            metadata: AppendMetadata(appendedBy: "tests", correlationID: "corr-1"))
        XCTAssertEqual(r.appended.map(\.position), [1, 2, 3, 4, 5])
        XCTAssertEqual(r.head.position, 5)
        let read = try store.read(from: 2, limit: 2)
        XCTAssertEqual(read.map(\.position), [2, 3])
        XCTAssertEqual(try read[0].ledgerEvent(), events[1])
        XCTAssertEqual(read[0].stream, "account/st1alice")
        XCTAssertEqual(read[1].streamVersion, 3)
        XCTAssertEqual(read[0].clientMetadata, ["source": "test"])
        guard case .object(let meta) = read[0].metadata else { return XCTFail() }
        XCTAssertEqual(meta["appendedBy"], .string("tests"))
        XCTAssertEqual(meta["correlationId"], .string("corr-1"))
        // Amounts are stored as exact decimal strings.
        let amountType = try store.connection.query("SELECT jsonb_typeof(data->'amount') FROM event_log WHERE position = 1")
        XCTAssertEqual(try amountType.string(0, 0), "string")

        var replayed: [LedgerEvent] = []
        try store.replay(from: 1) { replayed.append(try $0.ledgerEvent()) }
        XCTAssertEqual(replayed, events)
        var partial: [Int64] = []
        try store.replay(from: 2, through: 4) { partial.append($0.position) }
        XCTAssertEqual(partial, [2, 3, 4])
        XCTAssertTrue(try store.verify().isIntact)
    }

    /// `headers` (the console's events list): the window's events, filtered by type and stream
    /// in PostgreSQL, equal to filtering the full events.
    func testHeadersInAWindowFilteredByTypeAndStream() throws {
        var events: [LedgerEvent] = []
        for i in 1...30 {
            events.append(
                i % 3 == 0
                    ? LedgerEvent(
                        id: EventID("t\(i)")!, time: Timestamp(microsecondsSinceEpoch: t0 + Int64(i) * 1_000_000),
                        payload: .transferred(from: AccountID("st1alice")!, to: AccountID("st1bob")!, amount: Wei(1)))
                    : funded("f\(i)", i % 2 == 0 ? "st1alice" : "st1carol", second: Int64(i)))
        }
        try store.append(events)
        let all = try store.read(from: 1, limit: 100)
        func expected(after: Int64, through: Int64, type: String?, stream: String?, limit: Int) -> [EventHeader] {
            Array(
                all.filter {
                    $0.position > after && $0.position <= through && (type == nil || $0.type == type) && (stream == nil || $0.stream == stream)
                }
                .prefix(limit)
                .map {
                    EventHeader(
                        position: $0.position, stream: $0.stream, streamVersion: $0.streamVersion, eventID: $0.eventID, type: $0.type,
                        time: $0.time)
                })
        }
        for (after, through, type, stream, limit) in [
            (Int64(0), Int64(30), String?.none, String?.none, 100), (4, 20, "Transferred", nil, 100), (0, 30, "Funded", nil, 5),
            (0, 30, nil, "account/st1carol", 100), (10, 30, "Funded", "account/st1alice", 3), (30, 40, nil, nil, 10), (7, 7, nil, nil, 10),
        ] {
            XCTAssertEqual(
                try store.headers(after: after, through: through, type: type, stream: stream, limit: limit),
                expected(after: after, through: through, type: type, stream: stream, limit: limit),
                "after \(after) through \(through) type \(type ?? "-") stream \(stream ?? "-") limit \(limit)")
        }
    }

    func testAwkwardIdentifiersRoundTrip() throws {
        // Printable ASCII may hold quotes, backslashes and text that looks like JSON keys.
        let ids = [#"q","time":"1999-01-01T00:00:00Z"#, #"back\slash\"#, #"{"data":}"#, "tab\\t"]
        let events = ids.enumerated().map { i, id in
            LedgerEvent(
                id: EventID(id)!, time: Timestamp(microsecondsSinceEpoch: t0 + Int64(i) * 1_500_001),
                payload: .transferred(from: AccountID(#"st1"\"#)!, to: AccountID("st1}")!, amount: Wei(UInt128.max)))
        }
        try store.append(events)
        var back: [LedgerEvent] = []
        try store.replay { back.append(try $0.ledgerEvent()) }
        XCTAssertEqual(back, events)
        XCTAssertEqual(try store.read(from: 1, limit: 10).map(\.eventID), ids)
        XCTAssertTrue(try store.verify().isIntact)
        XCTAssertEqual(try store.append(events).duplicates.count, ids.count)
    }

    func testIdempotentReappend() throws {
        let a = funded("a")
        let b = funded("b", second: 1)
        let c = funded("c", second: 2)
        try store.append([a, b])
        let again = try store.append([a, b])
        XCTAssertTrue(again.appended.isEmpty)
        XCTAssertEqual(again.duplicates.map(\.position), [1, 2])
        XCTAssertEqual(try store.head().position, 2)
        // A retried batch is a no-op even though its expectation no longer holds.
        XCTAssertEqual(try store.append([a], expectedPosition: 0).duplicates.count, 1)
        let mixed = try store.append([b, c, c])
        XCTAssertEqual(mixed.appended.map(\.position), [3])
        XCTAssertEqual(mixed.duplicates.map(\.eventID.rawValue), ["b"])
        XCTAssertEqual(try store.head().position, 3)
        // One old and one new event, no id repeated inside the batch: the optimistic COPY meets
        // the unique index and the batch is redone exactly.
        let d = funded("d", second: 3)
        let oldAndNew = try store.append([a, d])
        XCTAssertEqual(oldAndNew.appended.map(\.position), [4])
        XCTAssertEqual(oldAndNew.duplicates.map(\.position), [1])
        // A retry of an old batch whose times are behind the head is still a no-op.
        XCTAssertEqual(try store.append([a, b]).duplicates.count, 2)
        XCTAssertEqual(try store.read(from: 4, limit: 1).first?.streamVersion, 4)
        XCTAssertTrue(try store.verify().isIntact)
    }

    func testConflictingIDIsRefusedAndAppendsNothing() throws {
        try store.append([funded("a", amount: 100)])
        XCTAssertThrowsError(try store.append([funded("new", second: 1), funded("a", amount: 101, second: 1)])) { error in
            guard case .idConflict(let id, let position)? = error as? AppendError else { return XCTFail("\(error)") }
            XCTAssertEqual(id, "a")
            XCTAssertEqual(position, 1)
            XCTAssertTrue("\(error)".contains("\"a\""))
        }
        XCTAssertThrowsError(try store.append([funded("x", amount: 1), funded("x", amount: 2)])) { error in
            guard case .idConflict("x", nil)? = error as? AppendError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try store.head().position, 1)
        XCTAssertEqual(try store.connection.query("SELECT count(*) FROM event_log").int64(0, 0), 1)
    }

    func testOptimisticConcurrency() throws {
        try store.append([funded("a")])
        XCTAssertThrowsError(try store.append([funded("b")], expectedPosition: 0)) { error in
            guard case .positionConflict(0, 1)? = error as? AppendError else { return XCTFail("\(error)") }
        }
        try store.append([funded("b")], expectedPosition: 1)
        XCTAssertThrowsError(try store.append([funded("c")], expectedStreamVersions: ["account/st1alice": 1])) { error in
            guard case .streamVersionConflict("account/st1alice", 1, 2)? = error as? AppendError else { return XCTFail("\(error)") }
        }
        try store.append([funded("c", "st1bob")], expectedStreamVersions: ["account/st1bob": 0, "account/st1alice": 2])
        XCTAssertEqual(try store.head().position, 3)
    }

    func testTimeGoingBackwardsIsRefused() throws {
        try store.append([funded("a", second: 10)])
        XCTAssertThrowsError(try store.append([funded("b", second: 11), funded("c", second: 9)])) { error in
            guard case .timeWentBackwards("c", _, _, "b"?, 1)? = error as? AppendError else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("the event before it in the batch, \"b\", is at 2026-01-01T00:00:11Z"), "\(error)")
        }
        XCTAssertThrowsError(try store.append([funded("d", second: 5)])) { error in
            guard case .timeWentBackwards("d", _, _, nil, 1)? = error as? AppendError else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("the log's last event (position 1) is at 2026-01-01T00:00:10Z"), "\(error)")
        }
        XCTAssertEqual(try store.head().position, 1)
        try store.append([funded("e", second: 10)]) // equal times are fine
    }

    func testUpdateDeleteTruncateAreRefused() throws {
        try store.append([funded("a"), funded("b")])
        let c = store.connection
        for sql in [
            "UPDATE event_log SET type = 'Withdrawn' WHERE position = 1",
            "DELETE FROM event_log WHERE position = 2",
            "TRUNCATE event_log",
            "DELETE FROM event_log_head",
            "UPDATE event_log_head SET position = 0",
        ] {
            XCTAssertThrowsError(try c.execute(sql), sql) { error in
                XCTAssertTrue("\(error)".contains("append-only") || "\(error)".contains("only move forward"), "\(error)")
            }
        }
        // The head row's checks (in its trigger since Schema/0007): a second row, a hash that is
        // not 32 bytes, a negative position.
        for sql in [
            "INSERT INTO event_log_head (singleton, position, hash) VALUES (false, 0, '\\x00')",
            "UPDATE event_log_head SET hash = '\\x00'",
            "UPDATE event_log_head SET singleton = false",
            "UPDATE event_log_head SET position = -1",
        ] {
            XCTAssertThrowsError(try c.execute(sql), sql) { error in
                XCTAssertEqual((error as? PostgresError)?.sqlState, "23514", "\(sql): \(error)")
            }
        }
        // The service's role may read and append but not change.
        try c.execute("SET ROLE stratos_app")
        XCTAssertEqual(try c.query("SELECT count(*) FROM event_log").int64(0, 0), 2)
        XCTAssertThrowsError(try c.execute("UPDATE event_log SET type = 'x'")) { error in
            XCTAssertEqual((error as? PostgresError)?.sqlState, "42501", "\(error)")
        }
        XCTAssertThrowsError(try c.execute("TRUNCATE event_log")) { error in
            XCTAssertEqual((error as? PostgresError)?.sqlState, "42501", "\(error)")
        }
        try store.append([funded("c")])
        try c.execute("RESET ROLE")
        XCTAssertEqual(try store.head().position, 3)
        XCTAssertTrue(try store.verify().isIntact)
    }

    func testTamperingIsFoundByVerify() throws {
        try store.append((1...10).map { funded("e\($0)", amount: UInt128($0), second: Int64($0)) })
        XCTAssertTrue(try store.verify().isIntact)
        let c = store.connection
        try c.execute("ALTER TABLE event_log DISABLE TRIGGER ALL")
        try c.execute(#"UPDATE event_log SET data = '{"account":"st1alice","amount":"999"}' WHERE position = 6"#)
        let report = try store.verify()
        guard case .hashMismatch(6, _, _)? = report.problem else { return XCTFail("\(report)") }
        XCTAssertEqual(report.problem?.position, 6)
        XCTAssertEqual(report.eventsChecked, 5)
        XCTAssertTrue(report.description.contains("position 6"), report.description)
    }

    func testRemovedEventIsFoundByVerify() throws {
        try store.append((1...10).map { funded("e\($0)", second: Int64($0)) })
        try store.connection.execute("ALTER TABLE event_log DISABLE TRIGGER ALL")
        try store.connection.execute("DELETE FROM event_log WHERE position = 7")
        let report = try store.verify()
        guard case .positionGap(7, 8)? = report.problem else { return XCTFail("\(report)") }
    }

    func testTruncatedTailIsFoundByVerify() throws {
        try store.append((1...10).map { funded("e\($0)", second: Int64($0)) })
        try store.connection.execute("ALTER TABLE event_log DISABLE TRIGGER ALL")
        try store.connection.execute("DELETE FROM event_log WHERE position > 8")
        let report = try store.verify()
        guard case .headMismatch(10, _, 8, _)? = report.problem else { return XCTFail("\(report)") }
        XCTAssertEqual(report.problem?.position, 9)
    }

    func testAppendNotifiesListeners() throws {
        let listener = try database.connect()
        try listener.listen(EventStore.notificationChannel)
        try store.append([funded("a"), funded("b")])
        let n = try XCTUnwrap(listener.waitForNotification(timeout: .seconds(5)))
        XCTAssertEqual(n.payload, "2")
    }

    /// The gap problem: with a sequence, transaction A takes position 5, B takes 6 and commits
    /// first; a reader that saw 6 then never sees 5. Here several threads append concurrently
    /// while a reader tails `position > last`; it must see 1, 2, 3, … with no gap, no
    /// duplicate, no reordering, and every appender's events in the order it appended them.
    func testConcurrentAppendersAndTailingReaderNeverSkip() throws {
        let appenders = 4
        let batchesPerAppender = 60
        var totalExpected = 0
        var generator = SplitMix64(seed: 42)
        var plans: [[[LedgerEvent]]] = []
        for a in 0..<appenders {
            var batches: [[LedgerEvent]] = []
            for b in 0..<batchesPerAppender {
                let size = Int(generator.next() % 5) + 1
                batches.append((0..<size).map { i in funded("w\(a)-b\(b)-\(i)", "st1acct\(a)") })
                totalExpected += size
            }
            plans.append(batches)
        }
        let url = database.url
        let plansCopy = plans
        let total = totalExpected
        let failures = Locked<[String]>([])
        let done = Locked(0)

        let readerResult = Locked<[StoredEvent]>([])
        let reader = Thread {
            do {
                let readerStore = try EventStore(url: url)
                var last: Int64 = 0
                var seen: [StoredEvent] = []
                while seen.count < total {
                    let batch = try readerStore.read(from: last + 1, limit: 37)
                    for e in batch {
                        if e.position != last + 1 { failures.mutate { $0.append("reader saw \(e.position) after \(last)") } }
                        last = e.position
                        seen.append(e)
                    }
                    if batch.isEmpty && done.value == appenders && seen.count < total {
                        // Everything is committed: one more read must finish the log.
                        if try readerStore.read(from: last + 1, limit: 1).isEmpty {
                            failures.mutate { $0.append("reader stuck at \(last) of \(total)") }
                            break
                        }
                    }
                }
                readerResult.mutate { $0 = seen }
            } catch { failures.mutate { $0.append("reader: \(error)") } }
        }
        reader.start()
        DispatchQueue.concurrentPerform(iterations: appenders) { a in
            do {
                let s = try EventStore(url: url)
                for batch in plansCopy[a] { try s.append(batch) }
            } catch { failures.mutate { $0.append("appender \(a): \(error)") } }
            done.mutate { $0 += 1 }
        }
        let deadline = Date().addingTimeInterval(60)
        while readerResult.value.isEmpty && failures.value.isEmpty && Date() < deadline { usleep(10_000) }
        XCTAssertEqual(failures.value, [])
        let seen = readerResult.value
        XCTAssertEqual(seen.map(\.position), (1...Int64(totalExpected)).map { $0 })
        XCTAssertEqual(Set(seen.map(\.eventID)).count, totalExpected, "no duplicates")
        for a in 0..<appenders {
            let mine = seen.filter { $0.eventID.hasPrefix("w\(a)-") }.map(\.eventID)
            XCTAssertEqual(mine, plans[a].flatMap { $0 }.map(\.id.rawValue), "appender \(a)'s order")
            XCTAssertEqual(
                seen.filter { $0.stream == "account/st1acct\(a)" }.map(\.streamVersion),
                (1...Int64(mine.count)).map { $0 })
        }
        XCTAssertTrue(try store.verify().isIntact)
    }
}

/// A tiny lock-protected box for test threads.
final class Locked<T>: @unchecked Sendable {
    private var v: T
    private let lock = NSLock()
    init(_ v: T) { self.v = v }
    var value: T {
        lock.lock()
        defer { lock.unlock() }
        return v
    }
    func mutate(_ f: (inout T) -> Void) {
        lock.lock()
        f(&v)
        lock.unlock()
    }
}

/// The simulator's seeded generator, for every test of this target (one implementation, tested against published outputs in SimulatorTests).
typealias SplitMix64 = StratosSimulator.SplitMix64
