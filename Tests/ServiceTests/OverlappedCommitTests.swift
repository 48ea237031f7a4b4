import EventStore
import Foundation
import LedgerEvents
import LoopbackHTTP
import PostgresClient
import PostgresTestSupport
import Synchronization
import XCTest

@testable import StratosService

/// Commits in flight on two connections (issue 18): a request that queues while another's
/// commit is in flight is checked against the state that commit leaves and sent at once on the
/// writer's second connection. Both are held on the head lock here (another session holds it),
/// so that the second is certainly sent behind the first before either is answered.
final class OverlappedCommitTests: XCTestCase {
    /// Posts `first`, then `second` once `first` waits on the head lock, then releases the lock
    /// once both wait on it (the second behind the first, on the writer's other connection);
    /// returns both answers.
    func overlapped(
        _ h: ServiceHarness, _ first: LedgerEvent, _ second: LedgerEvent
    ) throws -> (LoopbackHTTPClient.Response?, LoopbackHTTPClient.Response?) {
        let holder = try h.database.connect()
        try holder.execute("BEGIN")
        try holder.execute("SELECT position FROM event_log_head FOR UPDATE")
        let answers = Mutex<[Int: LoopbackHTTPClient.Response]>([:])
        let done = DispatchGroup()
        func post(_ k: Int, _ event: LedgerEvent) {
            let (port, auth) = (h.port, h.auth)
            done.enter()
            Thread.detachNewThread {
                defer { done.leave() }
                let body = [UInt8(ascii: "[")] + event.canonicalUTF8 + [UInt8(ascii: "]")]
                let r = try? LoopbackHTTPClient(port: port).request(
                    "POST", "/v1/events", headers: auth + [("Content-Type", "application/json")], body: body)
                answers.withLock { $0[k] = r }
            }
        }
        let observer = try h.database.connect()
        func waitingOnLock() throws -> Int64 {
            try observer.query(
                """
                SELECT count(*) FROM pg_stat_activity
                WHERE datname = current_database() AND application_name = 'stratos-ledger/appender'
                  AND wait_event_type = 'Lock'
                """
            ).int64(0, 0)
        }
        post(0, first)
        try h.eventually(5, "the first append waits on the head lock") { try waitingOnLock() == 1 }
        post(1, second)
        try h.eventually(5, "the second append waits behind it, on the writer's other connection") { try waitingOnLock() == 2 }
        try holder.execute("ROLLBACK")
        XCTAssertEqual(done.wait(timeout: .now() + 20), .success)
        return answers.withLock { ($0[0], $0[1]) }
    }

    /// The second request is checked against the state the first leaves: a withdrawal of what
    /// the first funds commits right behind it, at the next position.
    func testARequestSentBehindACommitInFlightCommitsAfterIt() throws {
        let h = try ServiceHarness()
        defer { h.stop() }
        let prelude = try GroupCommitTests.prelude()
        XCTAssertEqual(try h.post(prelude).status, 201)
        let head = try h.head()
        let time = prelude.last!.time
        let (a, b) = try overlapped(
            h, try GroupCommitTests.event("fund-behind", "Funded", time: time, account: "st1behind", amount: "100"),
            try GroupCommitTests.event("withdraw-behind", "Withdrawn", time: time, account: "st1behind", amount: "100"))
        XCTAssertEqual(a?.status, 201, a?.text ?? "no answer")
        XCTAssertEqual(b?.status, 201, b?.text ?? "no answer")
        XCTAssertEqual(try a?.object["events"]?.array?.first?["position"]?.int, head + 1)
        XCTAssertEqual(try b?.object["events"]?.array?.first?["position"]?.int, head + 2)
        XCTAssertEqual(try h.head(), head + 2)
        let store = EventStore(connection: try h.database.connect())
        XCTAssertTrue(try store.verify().isIntact)
        XCTAssertEqual(
            try h.post([try GroupCommitTests.event("after-behind", "Funded", time: time, account: "st1behind", amount: "1")]).status,
            201, "the writer goes on")
        XCTAssertEqual(try h.head(), head + 3)
    }

    /// When the first does not commit (here: its id is already logged with other content), the
    /// request sent behind it finds the head moved and is decided again as if it had never been
    /// sent — against the committed state, which the rules now refuse it on — and the writer's
    /// state is what is committed.
    func testARequestSentBehindACommitThatFailsIsDecidedAgain() throws {
        let h = try ServiceHarness()
        defer { h.stop() }
        let prelude = try GroupCommitTests.prelude()
        XCTAssertEqual(try h.post(prelude).status, 201)
        let head = try h.head()
        let time = prelude.last!.time
        let usedID = prelude[1].id.rawValue
        let (a, b) = try overlapped(
            h, try GroupCommitTests.event(usedID, "Funded", time: time, account: "st1failed", amount: "100"),
            try GroupCommitTests.event("withdraw-failed", "Withdrawn", time: time, account: "st1failed", amount: "100"))
        XCTAssertEqual(a?.status, 409, a?.text ?? "no answer")
        XCTAssertEqual(try a?.object["type"]?.string, Problem.typeBase + "id-conflict")
        XCTAssertEqual(b?.status, 422, "refused against what is committed: \(b?.text ?? "no answer")")
        XCTAssertEqual(try h.head(), head, "nothing appended")
        // The writer's state is the committed one: the account was never funded.
        let again = try h.post([try GroupCommitTests.event("withdraw-again", "Withdrawn", time: time, account: "st1failed", amount: "100")])
        XCTAssertEqual(again.status, 422, again.text)
        XCTAssertEqual(
            try h.post([try GroupCommitTests.event("fund-after", "Funded", time: time, account: "st1failed", amount: "100")]).status, 201)
        XCTAssertEqual(try h.head(), head + 1)
        XCTAssertTrue(try EventStore(connection: try h.database.connect()).verify().isIntact)
    }
}
