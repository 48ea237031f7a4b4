import Foundation
import PostgresClient
import StratosProjections
import XCTest

/// The supervised live worker (`project`, `serve --project`) through faults.
final class SupervisorTests: ProjectionTestCase {
    func supervisor(_ schema: String, lockWait: Duration? = .seconds(10)) -> ProjectionSupervisor {
        ProjectionSupervisor(
            configuration: .init(
                url: database.url, schema: schema, checkpointEvery: 100, batchSize: 300,
                lockWait: lockWait,
                backoff: Backoff(initial: .milliseconds(20), cap: .milliseconds(200))),
            log: { _ in })
    }

    func terminate(_ pattern: String) throws -> Int64 {
        try database.connect().query(
            """
            SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
            WHERE datname = current_database() AND application_name LIKE $1
            """, [pattern]
        ).int64(0, 0)
    }

    func waitFor(_ seconds: Double, _ what: String, _ condition: () throws -> Bool) rethrows {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return }
            Thread.sleep(forTimeInterval: 0.02)
        }
        XCTFail("not within \(seconds) s: \(what)")
    }

    /// Its sessions ended again and again while it catches up a long history (as restarts end
    /// them): it reconnects each time, resumes from the committed checkpoint, and the schema ends
    /// up equal to an uninterrupted build — nothing skipped, nothing applied twice.
    func testSessionsEndedDuringCatchUpChangeNothing() throws {
        let events = try Self.history(epochs: 700)
        try append(events)
        let head = Int64(events.count)
        let s = supervisor("live")
        s.start()
        defer { s.stop() }
        // Eight times, 150 ms apart (the catch-up takes a few seconds here).
        var ended: Int64 = 0
        for _ in 0..<8 where s.status.position < head {
            Thread.sleep(forTimeInterval: 0.15)
            ended += try terminate("stratos-ledger/worker%")
        }
        try waitFor(60, "caught up") { s.status.position == head && s.status.state == .running }
        XCTAssertGreaterThan(ended, 0, "sessions were ended during the catch-up")
        XCTAssertGreaterThan(s.status.reconnects, 0)
        XCTAssertTrue(s.stop(), "stops within its timeout")
        XCTAssertEqual(s.status.state, .stopped)
        try project("reference")
        XCTAssertEqual(try fingerprint("live"), try fingerprint("reference"))
    }

    /// A worker started while another session still holds the schema's lock (the backend of a
    /// worker killed with -9, still running its statement) waits for it, says who holds it, and
    /// starts once it is released.
    func testItWaitsForTheLockOfAnOrphanedBackend() throws {
        try append(try Self.history(epochs: 50))
        let ghost = try database.connect()
        let holderPID = ghost.backendPID
        XCTAssertTrue(try ghost.query(sql("lock.try"), ["live"]).bool(0, 0))
        let s = supervisor("live")
        s.start()
        defer { s.stop() }
        try waitFor(5, "waiting for the lock") { s.status.state == .waitingForLock && s.status.lockHolderPID == holderPID }
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertEqual(s.status.state, .waitingForLock, "it keeps waiting while the lock is held")
        try ghost.query(sql("lock.release"), ["live"])
        try waitFor(10, "running once released") { s.status.state == .running && s.status.position > 0 }
    }

    /// Told not to wait longer than `lockWait` and not to retry (the `project` command), it ends
    /// with `.locked` naming the holder.
    func testWithoutRetryItEndsWithTheLockError() throws {
        let ghost = try database.connect()
        XCTAssertTrue(try ghost.query(sql("lock.try"), ["live"]).bool(0, 0))
        var configuration = supervisor("live", lockWait: .milliseconds(300)).configuration
        configuration.retryWhenLocked = false
        let s = ProjectionSupervisor(configuration: configuration, log: { _ in })
        let started = Date()
        s.runHere()
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        guard case .locked(_, let pid)? = s.terminalError as? ProjectionError else {
            return XCTFail("\(String(describing: s.terminalError))")
        }
        XCTAssertEqual(pid, ghost.backendPID)
    }
}
