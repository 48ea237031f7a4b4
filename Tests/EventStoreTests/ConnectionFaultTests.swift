import Foundation
import PostgresClient
import PostgresTestSupport
import Synchronization
import XCTest

/// The client's limits and ways back, on a real PostgreSQL: session settings, cancel requests,
/// a COMMIT whose outcome is unknown, backoff.
final class ConnectionFaultTests: XCTestCase {
    var database: TestDatabase!

    override func setUpWithError() throws { database = try TestDatabase.create(prefix: "pgfault") }
    override func tearDownWithError() throws { try database?.drop() }

    /// Every session says who it is and carries its timeouts.
    func testSessionSettingsAreApplied() throws {
        let settings = SessionSettings(
            statementTimeout: .seconds(7), lockTimeout: .milliseconds(1500),
            idleInTransactionTimeout: .seconds(60), clientConnectionCheckInterval: .seconds(2)
        )
        .named("tester")
        let c = try PostgresConnection(url: database.url, settings: settings)
        let r = try c.query(
            """
            SELECT current_setting('application_name'), current_setting('statement_timeout'), current_setting('lock_timeout'),
                   current_setting('idle_in_transaction_session_timeout'), current_setting('client_connection_check_interval')
            """)
        XCTAssertEqual(try r.string(0, 0), "stratos-ledger/tester")
        XCTAssertEqual(try r.string(0, 1), "7s")
        XCTAssertEqual(try r.string(0, 2), "1500ms")
        XCTAssertEqual(try r.string(0, 3), "1min")
        XCTAssertEqual(try r.string(0, 4), "2s")
        // The statement timeout holds: a longer statement is cancelled (57014, transient).
        let short = try PostgresConnection(url: database.url, settings: SessionSettings(statementTimeout: .milliseconds(200)))
        XCTAssertThrowsError(try short.query("SELECT pg_sleep(5)")) { error in
            XCTAssertTrue((error as? PostgresError)?.isQueryCanceled ?? false, "\(error)")
            XCTAssertTrue((error as? PostgresError)?.isTransient ?? false)
        }
        XCTAssertTrue(short.isOK, "a cancelled statement leaves the connection usable")
    }

    /// `cancel()` from another thread stops the statement running on the connection.
    func testCancelStopsTheRunningStatement() throws {
        let c = try database.connect()
        let started = Date()
        nonisolated(unsafe) let target = c // cancel() is the one call safe from another thread
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { _ = target.cancel() }
        XCTAssertThrowsError(try c.query("SELECT pg_sleep(10)")) { error in
            XCTAssertTrue((error as? PostgresError)?.isQueryCanceled ?? false, "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        XCTAssertEqual(try c.query("SELECT 1").int64(0, 0), 1)
    }

    /// Cancelling a task that awaits a statement sends the cancel request to the server.
    func testTaskCancellationReachesTheServer() async throws {
        let c = try await AsyncPostgresConnection.connect(url: database.url)
        let started = ContinuousClock.now
        let task = Task { try await c.query("SELECT pg_sleep(10)") }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        do {
            _ = try await task.value
            XCTFail("the statement was not cancelled")
        } catch {
            XCTAssertTrue((error as? PostgresError)?.isQueryCanceled ?? false, "\(error)")
        }
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(5))
        let one = try await c.query("SELECT 1")
        XCTAssertEqual(try one.int64(0, 0), 1)
    }

    /// A backend ended while COMMIT runs: `commitOutcomeUnknown`, never a plain connection error.
    func testAConnectionLostDuringCommitIsAnUnknownOutcome() throws {
        let c = try database.connect()
        try c.execute(
            """
            CREATE TABLE t (x int);
            CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(5); RETURN NULL; END $$;
            CREATE CONSTRAINT TRIGGER slow AFTER INSERT ON t DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow();
            """)
        let pid = c.backendPID
        let killer = try database.connect()
        let url = database.url
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) {
            _ = try? PostgresConnection(url: url).query("SELECT pg_terminate_backend($1)", [String(pid)])
        }
        XCTAssertThrowsError(try c.transaction { c in try c.execute("INSERT INTO t VALUES (1)") }) { error in
            guard case .commitOutcomeUnknown? = error as? PostgresError else { return XCTFail("\(error)") }
            XCTAssertTrue((error as? PostgresError)?.isConnectionLoss ?? false)
        }
        XCTAssertFalse(c.isOK)
        // A connection lost before COMMIT is a plain connection loss: nothing was committed.
        let d = try database.connect()
        let dpid = d.backendPID
        try killer.query("SELECT pg_terminate_backend($1)", [String(dpid)])
        XCTAssertThrowsError(try d.transaction { c in try c.execute("INSERT INTO t VALUES (2)") }) { error in
            guard let e = error as? PostgresError else { return XCTFail("\(error)") }
            if case .commitOutcomeUnknown = e { XCTFail("lost before COMMIT: \(e)") }
            XCTAssertTrue(e.isConnectionLoss, "\(e)")
        }
    }

    /// Backoff grows, is capped, and is jittered within [½, 1] of its step.
    func testBackoffIsCappedAndJittered() {
        let b = Backoff(initial: .milliseconds(100), cap: .seconds(2))
        for attempt in 0..<40 {
            let step = min(100 * (1 << min(attempt, 20)), 2000)
            for _ in 0..<20 {
                let d = b.delay(attempt: attempt).wholeMilliseconds
                XCTAssertGreaterThanOrEqual(d, Int64(step / 2), "attempt \(attempt)")
                XCTAssertLessThanOrEqual(d, Int64(step), "attempt \(attempt)")
            }
        }
    }

    /// A libpq multi-host URL reaches the host that answers; an unreachable one fails within
    /// the connect timeout with a clear message.
    func testMultiHostURLsAndConnectTimeout() throws {
        // The first host refuses (nothing listens on port 1), the second is the test server.
        guard database.url.hasPrefix("postgresql://"), let at = database.url.firstIndex(of: "@") else {
            throw XCTSkip("DATABASE_URL is not a postgresql:// URL with a user: \(database.url)")
        }
        let multi = String(database.url[...at]) + "127.0.0.1:1," + database.url[database.url.index(after: at)...]
        let c = try PostgresConnection(url: multi)
        XCTAssertEqual(try c.query("SELECT 1").int64(0, 0), 1)
        let started = Date()
        XCTAssertThrowsError(
            try PostgresConnection(
                url: "postgresql://postgres@127.0.0.1:1/x",
                settings: SessionSettings(connectTimeout: .seconds(2)))
        ) { error in
            XCTAssertTrue((error as? PostgresError)?.isConnectionLoss ?? false)
            XCTAssertFalse("\(error)".contains("\n"), "one line: \(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
    }
}
