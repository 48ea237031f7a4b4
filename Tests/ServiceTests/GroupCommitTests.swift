import EventStore
import Foundation
import LedgerEvents
import LoopbackHTTP
import PostgresTestSupport
import StratosEconomics
import Synchronization
import XCTest

@testable import StratosService

/// Group commit: concurrent requests appended as one batch must answer exactly what each
/// request would have got alone, in the same order.
final class GroupCommitTests: XCTestCase {
    /// Genesis and everything up to the first epoch close: a valid start for small appends.
    static func prelude() throws -> [LedgerEvent] {
        let (events, _) = try ServiceTests.history(epochs: 2)
        let first = events.firstIndex { if case .epochClosed = $0.payload { true } else { false } }!
        return Array(events[...first])
    }

    static func event(_ id: String, _ type: String, time: Timestamp, account: String, amount: String) throws -> LedgerEvent {
        try LedgerEvent(
            validating: EventEnvelope(
                id: id, type: type, time: time.rfc3339,
                data: .object(["account": .string(account), "amount": .string(amount)])))
    }

    /// A writer over a fresh, migrated database holding `prelude`.
    static func writer(_ prelude: [LedgerEvent]) throws -> (TestDatabase, LedgerWriter<Economy>) {
        let database = try TestDatabase.create(prefix: "group")
        let connection = try database.connect()
        try Migrator.load().migrate(connection)
        let w = try LedgerWriter(store: EventStore(connection: connection), rules: Economy(rules: .paperV1))
        try w.append(prelude)
        return (database, w)
    }

    /// What a result looks like, without the head (one per group in a group commit).
    static func shape(_ r: Result<AppendResult, AppendError>) -> String {
        switch r {
        case .success(let a):
            "appended " + a.appended.map { "\($0.eventID)@\($0.position)" }.joined(separator: ",")
                + " duplicates " + a.duplicates.map { "\($0.eventID)@\($0.position)" }.joined(separator: ",")
        case .failure(let e): "refused \(e.eventID ?? "-"): \(e)"
        }
    }

    /// Groups with refusals, in-group repeats, repeats of logged events and id conflicts, and a
    /// group that commits entirely: `Appender.commit` equals the same batches appended one by
    /// one on a twin database, and the log stays gap-free.
    func testGroupEqualsOneByOne() throws {
        let prelude = try Self.prelude()
        let (groupDB, grouped) = try Self.writer(prelude)
        defer { try? groupDB.drop() }
        let (aloneDB, alone) = try Self.writer(prelude)
        defer { try? aloneDB.drop() }
        let t = prelude.last!.time
        let logged = prelude[1]
        let fund1 = try Self.event("g-fund-1", "Funded", time: t, account: "st1group1", amount: "1000")
        let fund2 = try Self.event("g-fund-2", "Funded", time: t, account: "st1group2", amount: "2000")
        let fund3 = try Self.event("g-fund-3", "Funded", time: t, account: "st1group3", amount: "3000")
        let fund4 = try Self.event("g-fund-4", "Funded", time: t, account: "st1group1", amount: "4")
        let overdraw = try Self.event("g-overdraw", "Withdrawn", time: t, account: "st1group1", amount: "999999")
        let conflict = try Self.event("g-fund-1", "Funded", time: t, account: "st1other", amount: "1")
        let fund7 = try Self.event("g-fund-7", "Funded", time: t, account: "st1group7", amount: "50")
        let spend7 = try Self.event("g-spend-7", "Withdrawn", time: t, account: "st1group7", amount: "50")
        let fund6 = try Self.event("g-fund-6", "Funded", time: t, account: "st1group6", amount: "8")
        let meta = AppendMetadata(appendedBy: "test")

        let groups: [[[LedgerEvent]]] = [
            // Refusals in the middle: the rules, an id used with other content.
            [[fund1], [fund1, overdraw], [fund2, fund1, fund2], [logged, fund3], [conflict], [fund4]],
            // Everything commits (the fast path): a balance funded by an earlier request of the
            // group is spent by a later one; repeats of the group's and of the log's events.
            [
                [try Self.event("g-fund-5", "Funded", time: t, account: "st1group5", amount: "7")], [fund7],
                [spend7, fund7, fund1], [logged, logged], [fund6, fund6], [fund6],
            ],
            // Only duplicates.
            [[fund1], [logged], [fund2, fund3]],
        ]
        for (g, group) in groups.enumerated() {
            let batches = group.map { (items: $0.map { EventToAppend($0) }, metadata: meta) }
            let results = Appender.commit(batches, on: grouped)
            let expected = batches.map { b in Result { () throws(AppendError) in try alone.append(b.items, metadata: b.metadata) } }
            XCTAssertEqual(results.map(Self.shape), expected.map(Self.shape), "group \(g)")
            XCTAssertEqual(grouped.position, alone.position, "group \(g)")
        }
        // A group of refusals only: each names its own event; nothing moves.
        let refused = Appender.commit([([EventToAppend(overdraw)], meta), ([EventToAppend(conflict)], meta)], on: grouped)
        XCTAssertEqual(refused.map { r -> String? in if case .failure(let e) = r { e.eventID } else { nil } }, ["g-overdraw", "g-fund-1"])

        // Both logs are the same, hash for hash, gap-free.
        XCTAssertEqual(try grouped.store.head(), try alone.store.head())
        let verify = try grouped.store.verify()
        XCTAssertTrue(verify.isIntact, "\(verify)")
    }

    /// Many clients appending one event per request at once: every event lands once, at
    /// distinct gap-free positions, each client told its own position; one refused request
    /// among them gets its own problem and changes nothing for the others.
    func testConcurrentSingleEventAppends() throws {
        let h = try ServiceHarness()
        defer { h.stop() }
        let prelude = try Self.prelude()
        XCTAssertEqual(try h.post(prelude).status, 201)
        let start = try h.head()
        let time = prelude.last!.time
        let clients = 8
        let perClient = 25
        let answers = Mutex<[(id: String, status: Int, body: JSONValue?)]>([])
        let port = h.port
        let auth = h.auth
        let done = DispatchGroup()
        for c in 0..<clients {
            done.enter()
            // Threads of their own: concurrentPerform would run only as many clients as cores.
            Thread.detachNewThread {
                defer { done.leave() }
                let client = LoopbackHTTPClient(port: port)
                for i in 0..<perClient {
                    // Client 3's tenth request is refused by the rules (nothing to withdraw).
                    let refused = c == 3 && i == 10
                    let id = refused ? "c-refused" : "c\(c)-\(i)"
                    let event = try! Self.event(
                        id, refused ? "Withdrawn" : "Funded", time: time,
                        account: "st1client\(c)", amount: refused ? "999999999" : "\(i + 1)")
                    let body = [UInt8(ascii: "[")] + event.canonicalUTF8 + [UInt8(ascii: "]")]
                    let r = try? client.request("POST", "/v1/events", headers: auth + [("Content-Type", "application/json")], body: body)
                    answers.withLock { $0.append((id, r?.status ?? -1, r.flatMap { try? JSONValue.parse($0.body) })) }
                }
            }
        }
        done.wait()

        let all = answers.withLock { $0 }
        XCTAssertEqual(all.count, clients * perClient)
        var positions: [Int64] = []
        for a in all {
            if a.id == "c-refused" {
                XCTAssertEqual(a.status, 422)
                XCTAssertEqual(a.body?["eventId"]?.string, "c-refused")
                XCTAssertNotNil(a.body?["rule"]?.string)
                continue
            }
            XCTAssertEqual(a.status, 201, "\(a.id): \(String(describing: a.body))")
            let item = a.body?["events"]?.array?.first
            XCTAssertEqual(item?["id"]?.string, a.id)
            XCTAssertEqual(item?["status"]?.string, "appended")
            if let p = item?["position"]?.int { positions.append(p) }
        }
        let appended = Int64(clients * perClient - 1)
        XCTAssertEqual(positions.sorted(), Array((start + 1)...(start + appended)), "distinct, gap-free positions")
        XCTAssertEqual(try h.head(), start + appended)
        // The log holds each event at the position its client was told.
        let store = EventStore(connection: try h.database.connect())
        var stored: [String: Int64] = [:]
        try store.replay(from: start + 1, through: start + appended) { stored[$0.eventID] = $0.position }
        for a in all where a.id != "c-refused" {
            XCTAssertEqual(stored[a.id], a.body?["events"]?.array?.first?["position"]?.int, a.id)
        }
        XCTAssertNil(stored["c-refused"])
        XCTAssertTrue(try store.verify().isIntact)
    }
}
