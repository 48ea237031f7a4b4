import EventStore
import Foundation
import LedgerEvents
import LoopbackHTTP
import PostgresClient
import PostgresTestSupport
import Synchronization
import XCTest

@testable import StratosService

/// The next commit queued behind the one in flight (issue 18): requests that queue while
/// another's commit is in flight are checked against the state that commit leaves and sent
/// behind it on the writer's connection once it is written and commits. Here the first
/// request's COMMIT is held open (a deferred constraint trigger sleeps in it), so that the
/// second is certainly sent behind it before it is answered.
final class OverlappedCommitTests: XCTestCase {
    /// A deferred constraint trigger that sleeps a second in the COMMIT of the event `id`,
    /// then lets it commit or, with `fail`, fails it.
    /// The prelude, then one append of 1 to `account` on the one-statement path (the writer's
    /// head is then known): the prelude's time and the head after it.
    func fundedFirst(_ account: String, _ h: ServiceHarness) throws -> (time: Timestamp, head: Int64) {
        let prelude = try GroupCommitTests.prelude()
        XCTAssertEqual(try h.post(prelude).status, 201)
        let time = prelude.last!.time
        XCTAssertEqual(
            try h.post([try GroupCommitTests.event("fund-first", "Funded", time: time, account: account, amount: "1")]).status, 201)
        return (time, try h.head())
    }

    func holdCommit(of id: String, fail: Bool, _ h: ServiceHarness) throws {
        try h.database.connect().execute(
            """
            CREATE FUNCTION test_held_commit() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.event_id = '\(id)' THEN
                PERFORM pg_sleep(1);
                \(fail ? "RAISE EXCEPTION 'test: this commit fails';" : "")
              END IF;
              RETURN NULL;
            END $$;
            CREATE CONSTRAINT TRIGGER test_held_commit AFTER INSERT ON event_log
              DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_held_commit();
            """)
    }

    /// Posts `first`, then `second` once `first` commits (held in its COMMIT), and waits until
    /// the second is sent behind it (the service's counter says so); then runs `meanwhile`
    /// (the first still held); returns both answers.
    func overlapped(
        _ h: ServiceHarness, _ first: LedgerEvent, _ second: LedgerEvent, meanwhile: () throws -> Void = {}
    ) throws -> (LoopbackHTTPClient.Response?, LoopbackHTTPClient.Response?) {
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
        post(0, first)
        try h.eventually(5, "the first append commits (held in its COMMIT)") {
            try observer.query(
                """
                SELECT count(*) FROM pg_stat_activity
                WHERE datname = current_database() AND application_name = 'stratos-ledger/appender'
                  AND wait_event = 'PgSleep'
                """
            ).int64(0, 0) == 1
        }
        post(1, second)
        try h.eventually(5, "the second append is sent behind it") {
            try h.get("/metrics").text.contains("\nstratos_append_commits_sent_behind_total 1\n")
        }
        try meanwhile()
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
        // One append on the one-statement path first: the writer's head is then known.
        XCTAssertEqual(
            try h.post([try GroupCommitTests.event("fund-first", "Funded", time: time, account: "st1behind", amount: "1")]).status, 201)
        try holdCommit(of: "fund-behind", fail: false, h)
        let (a, b) = try overlapped(
            h, try GroupCommitTests.event("fund-behind", "Funded", time: time, account: "st1behind", amount: "100"),
            try GroupCommitTests.event("withdraw-behind", "Withdrawn", time: time, account: "st1behind", amount: "101"))
        XCTAssertEqual(a?.status, 201, a?.text ?? "no answer")
        XCTAssertEqual(b?.status, 201, b?.text ?? "no answer")
        XCTAssertEqual(try a?.object["events"]?.array?.first?["position"]?.int, head + 2)
        XCTAssertEqual(try b?.object["events"]?.array?.first?["position"]?.int, head + 3)
        XCTAssertEqual(try h.head(), head + 3)
        XCTAssertTrue(try EventStore(connection: try h.database.connect()).verify().isIntact)
        XCTAssertEqual(
            try h.post([try GroupCommitTests.event("after-behind", "Funded", time: time, account: "st1behind", amount: "1")]).status,
            201, "the writer goes on")
        XCTAssertEqual(try h.head(), head + 4)
    }

    /// When the first does not commit (here its COMMIT fails), the request sent behind it
    /// finds the head moved and is decided again as if it had never been sent — against the
    /// committed state, on which the rules refuse it — and the writer's state is what is
    /// committed.
    func testARequestSentBehindACommitThatFailsIsDecidedAgain() throws {
        let h = try ServiceHarness()
        defer { h.stop() }
        let (time, head) = try fundedFirst("st1failed", h)
        try holdCommit(of: "fund-failed", fail: true, h)
        let (a, b) = try overlapped(
            h, try GroupCommitTests.event("fund-failed", "Funded", time: time, account: "st1failed", amount: "100"),
            try GroupCommitTests.event("withdraw-failed", "Withdrawn", time: time, account: "st1failed", amount: "101"))
        XCTAssertEqual(a?.status, 503, a?.text ?? "no answer")
        XCTAssertEqual(b?.status, 422, "refused against what is committed: \(b?.text ?? "no answer")")
        XCTAssertTrue(try h.get("/metrics").text.contains("\nstratos_append_groups_decided_again_total 1\n"), "the one behind")
        XCTAssertEqual(try h.head(), head, "nothing appended")
        // The writer's state is the committed one: the account holds 1, not 101.
        let again = try h.post([try GroupCommitTests.event("withdraw-again", "Withdrawn", time: time, account: "st1failed", amount: "101")])
        XCTAssertEqual(again.status, 422, again.text)
        XCTAssertEqual(
            try h.post([try GroupCommitTests.event("withdraw-one", "Withdrawn", time: time, account: "st1failed", amount: "1")]).status, 201)
        XCTAssertEqual(try h.head(), head + 1)
        XCTAssertTrue(try EventStore(connection: try h.database.connect()).verify().isIntact)
    }

    /// The writer's connection lost while the first is in its COMMIT and the second queued
    /// behind it: both outcomes are unknown (503 `commit-outcome-unknown`), and retrying both is
    /// safe — each lands exactly once, and the writer goes on from what is committed.
    func testBothOutcomesUnknownWhenTheConnectionIsLostAndTheRetriesAreSafe() throws {
        let h = try ServiceHarness()
        defer { h.stop() }
        let (time, head) = try fundedFirst("st1lost", h)
        try holdCommit(of: "fund-lost", fail: false, h)
        let fund = try GroupCommitTests.event("fund-lost", "Funded", time: time, account: "st1lost", amount: "100")
        let withdraw = try GroupCommitTests.event("withdraw-lost", "Withdrawn", time: time, account: "st1lost", amount: "101")
        let (a, b) = try overlapped(h, fund, withdraw) {
            XCTAssertGreaterThan(try h.terminateSessions(named: "appender"), 0)
        }
        for r in [a, b] {
            XCTAssertEqual(r?.status, 503, r?.text ?? "no answer")
            XCTAssertEqual(try r?.object["type"]?.string, Problem.typeBase + "commit-outcome-unknown", r?.text ?? "")
        }
        try h.database.connect().execute("DROP TRIGGER test_held_commit ON event_log")
        for event in [fund, withdraw] {
            let retry = try h.post([event])
            XCTAssertTrue(retry.status == 201 || retry.status == 200, retry.text)
        }
        let owner = try h.database.connect()
        let count = try owner.query("SELECT count(*) FROM event_log WHERE event_id IN ('fund-lost', 'withdraw-lost')").int64(0, 0)
        XCTAssertEqual(count, 2, "each exactly once")
        XCTAssertEqual(try h.head(), head + 2)
        XCTAssertTrue(try EventStore(connection: owner).verify().isIntact)
        XCTAssertEqual(
            try h.post([try GroupCommitTests.event("after-lost", "Funded", time: time, account: "st1lost", amount: "1")]).status, 201,
            "the writer goes on")
    }
}
