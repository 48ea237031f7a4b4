import Dispatch
import EventStore
import Foundation
import LedgerEvents
import LoopbackHTTP
import PostgresClient
import PostgresTestSupport
import StratosProjections
import StratosService
import Synchronization
import XCTest

/// Faults the service must ride out, each on a real PostgreSQL: sessions ended under it (as a
/// restart ends them), a backend killed during COMMIT, a writer stuck behind the head lock, a
/// flood of requests, a body too large to announce its size. Whole-cluster faults (restart,
/// kill -9, promotion) are in `FaultDrillTests`.
final class FaultTests: XCTestCase {
    /// Genesis of a small simulated network, and `Funded` events that are valid in any order
    /// after it (same time as Genesis).
    static func genesis() throws -> LedgerEvent { try ServiceTests.history(epochs: 1).0[0] }

    static func funded(_ id: String, after genesis: LedgerEvent, amountWei: String = "1000") -> [UInt8] {
        Array(#"[{"id":"\#(id)","type":"Funded","time":"\#(genesis.time.rfc3339)","data":{"account":"st1fault","amount":"\#(amountWei)"}}]"#.utf8)
    }

    func post(_ h: ServiceHarness, _ body: [UInt8], client: LoopbackHTTPClient? = nil) throws -> LoopbackHTTPClient.Response {
        try (client ?? h.client).request("POST", "/v1/events", headers: h.auth + [("Content-Type", "application/json")], body: body)
    }

    /// The first append after the writer's session ended (a PostgreSQL restart ends them all)
    /// succeeds: the dead connection is found before COMMIT and the append runs once more on a
    /// fresh one. Reads ride it out the same way.
    func testAppendAfterALostConnectionIsRetriedOnAFreshOne() throws {
        let h = try ServiceHarness()
        defer { h.stop() }
        let genesis = try Self.genesis()
        XCTAssertEqual(try h.post([genesis]).status, 201)
        try h.project()
        XCTAssertEqual(try h.get("/v1/snapshot").status, 200)
        for round in 1...3 {
            XCTAssertGreaterThan(try h.terminateSessions(named: "appender"), 0, "the writer holds a session")
            XCTAssertGreaterThan(try h.terminateSessions(named: "reader"), 0, "the pool holds a session")
            let r = try post(h, Self.funded("lost-\(round)", after: genesis))
            XCTAssertEqual(r.status, 201, "round \(round): \(r.text)")
            XCTAssertEqual(try h.get("/v1/snapshot").status, 200, "round \(round): a read on a dead pooled connection is retried")
        }
        XCTAssertEqual(try h.head(), 4)
    }

    /// A backend killed while COMMIT runs: the outcome is unknown, the client is told so (503,
    /// `commit-outcome-unknown`, Retry-After), and the retry of the same request is safe — it
    /// appends the event exactly once, or answers it as a duplicate at its position.
    func testAnAppendWhoseCommitOutcomeIsUnknownIsSafeToRetry() throws {
        let h = try ServiceHarness()
        defer { h.stop() }
        let genesis = try Self.genesis()
        XCTAssertEqual(try h.post([genesis]).status, 201)
        // A deferred constraint trigger runs inside COMMIT: it holds the commit open for the
        // event "slow-commit" long enough to end the backend there.
        let owner = try h.database.connect()
        try owner.execute(
            """
            CREATE FUNCTION test_slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN IF NEW.event_id = 'slow-commit' THEN PERFORM pg_sleep(3); END IF; RETURN NULL; END $$;
            CREATE CONSTRAINT TRIGGER test_slow_commit AFTER INSERT ON event_log
              DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_slow_commit();
            """)
        let database = h.database
        let killer = Thread {
            let c = try? database.connect()
            for _ in 0..<200 {
                let r = try? c?.query(
                    """
                    SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                    WHERE datname = current_database() AND application_name = 'stratos-ledger/appender'
                      AND state = 'active' AND wait_event = 'PgSleep'
                    """)
                if let n = try? r?.int64(0, 0), n > 0 { return }
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
        killer.start()
        let first = try post(h, Self.funded("slow-commit", after: genesis))
        XCTAssertEqual(first.status, 503, first.text)
        XCTAssertEqual(try first.object["type"]?.string, Problem.typeBase + "commit-outcome-unknown", first.text)
        XCTAssertEqual(first.headers["retry-after"], "1")
        try owner.execute("DROP TRIGGER test_slow_commit ON event_log")
        let retry = try post(h, Self.funded("slow-commit", after: genesis))
        XCTAssertTrue(retry.status == 201 || retry.status == 200, retry.text)
        let again = try post(h, Self.funded("slow-commit", after: genesis))
        XCTAssertEqual(again.status, 200, "a second retry is a duplicate: \(again.text)")
        let count = try owner.query("SELECT count(*) FROM event_log WHERE event_id = 'slow-commit'").int64(0, 0)
        XCTAssertEqual(count, 1, "exactly once in the log")
        XCTAssertEqual(try h.head(), 2)
        XCTAssertEqual(try post(h, Self.funded("after", after: genesis)).status, 201, "the writer goes on")
    }

    /// The writer waits for the head lock at most `lock_timeout`, and beyond
    /// `maxQueuedRequests` waiting requests, appends are refused at once — both 503 with
    /// Retry-After, and nothing is appended.
    func testHeadLockTimeoutAndQueueLimit() throws {
        let h = try ServiceHarness { c in
            c.database.session.lockTimeout = .milliseconds(1500)
            c.appendLimits.maxQueuedRequests = 1
        }
        defer { h.stop() }
        let genesis = try Self.genesis()
        XCTAssertEqual(try h.post([genesis]).status, 201)
        // Another writer (an import, say) holds the head lock.
        let holder = try h.database.connect()
        try holder.execute("BEGIN")
        try holder.execute("SELECT position FROM event_log_head FOR UPDATE")
        let results = Mutex<[Int: (status: Int, retryAfter: String?, type: String?)]>([:])
        let port = h.port
        let auth = h.auth
        let started = Date()
        let group = DispatchGroup()
        for i in 0..<3 {
            // Staggered so that the first is being written, the second queued, the third refused.
            group.enter()
            Thread {
                Thread.sleep(forTimeInterval: Double(i) * 0.3)
                let client = LoopbackHTTPClient(port: port)
                let r = try? client.request(
                    "POST", "/v1/events", headers: auth + [("Content-Type", "application/json")],
                    body: Self.funded("queued-\(i)", after: genesis))
                results.withLock { $0[i] = (r?.status ?? 0, r?.headers["retry-after"], (try? r?.object["detail"]?.string) ?? nil) }
                group.leave()
            }.start()
        }
        group.wait()
        try holder.execute("ROLLBACK")
        let r = results.withLock { $0 }
        XCTAssertEqual(r[0]?.status, 503, "the head lock was not granted within lock_timeout: \(r)")
        XCTAssertTrue(r[0]?.type?.contains("head lock") ?? false, "\(r)")
        XCTAssertEqual(r[2]?.status, 503, "the queue was full: \(r)")
        XCTAssertEqual(r[2]?.retryAfter, "1")
        XCTAssertTrue(r[2]?.type?.contains("queued") ?? false, "\(r)")
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "nobody waited without bound")
        XCTAssertEqual(try h.head(), 1 + Int64(r.values.filter { $0.status == 201 }.count))
        XCTAssertEqual(try post(h, Self.funded("after", after: genesis)).status, 201)
    }

    /// A chunked body (no Content-Length) over `maxBodyBytes` gets 413 problem+json, as a sized one.
    func testAChunkedBodyOverTheLimitIsRefusedWith413() throws {
        let h = try ServiceHarness(maxBodyBytes: 1 << 20)
        defer { h.stop() }
        let chunk = Array(repeating: UInt8(ascii: " "), count: 64 * 1024)
        var request = Array(
            "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(ServiceHarness.writeToken)\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                .utf8)
        for _ in 0..<56 { // 3.5 MiB
            request += Array((String(chunk.count, radix: 16) + "\r\n").utf8) + chunk + Array("\r\n".utf8)
        }
        request += Array("0\r\n\r\n".utf8)
        let r = try LoopbackHTTPClient(port: h.port).exchange(raw: request)
        XCTAssertEqual(r.status, 413, r.text)
        XCTAssertEqual(r.headers["content-type"], "application/problem+json")
        XCTAssertEqual(try r.object["type"]?.string, Problem.typeBase + "body-too-large")
        XCTAssertEqual(try h.head(), 0)
    }

    /// `/health/live`, `/health/ready` and `/health` tell the truth about the projections, and
    /// every read says the position it reflects; `?minPosition=` waits, bounded.
    func testHealthReadinessAndReadPositions() throws {
        let h = try ServiceHarness { c in
            c.maxLag = 2
            c.minPositionWait = .milliseconds(300)
        }
        defer { h.stop() }
        let genesis = try Self.genesis()
        XCTAssertEqual(try h.get("/health/live").status, 200)
        XCTAssertEqual(try h.post([genesis]).status, 201)
        for i in 1...3 { XCTAssertEqual(try post(h, Self.funded("lag-\(i)", after: genesis)).status, 201) }
        // 4 events, none projected: lag 4 > max-lag 2.
        try h.eventually(5, "the probe sees the lag") { try h.get("/health").object["lag"]?.int == 4 }
        let notReady = try h.get("/health/ready")
        XCTAssertEqual(notReady.status, 503, notReady.text)
        XCTAssertTrue(try notReady.object["reason"]?.string?.contains("lag 4 events") ?? false, notReady.text)
        let health = try h.get("/health")
        XCTAssertEqual(health.status, 200)
        XCTAssertEqual(try health.object["status"]?.string, "degraded", health.text)
        try h.project()
        try h.eventually(5, "ready once projected") { try h.get("/health/ready").status == 200 }
        XCTAssertEqual(try h.get("/health").object["status"]?.string, "ok")
        let snapshot = try h.get("/v1/snapshot")
        XCTAssertEqual(snapshot.headers["x-stratos-position"], "4")
        XCTAssertEqual(try h.get("/v1/snapshot?minPosition=4").status, 200)
        let started = Date()
        let ahead = try h.get("/v1/snapshot?minPosition=5")
        XCTAssertEqual(ahead.status, 503, ahead.text)
        XCTAssertEqual(ahead.headers["retry-after"], "1")
        XCTAssertLessThan(Date().timeIntervalSince(started), 3, "the wait is bounded")
        XCTAssertEqual(try h.get("/v1/snapshot?minPosition=x").status, 400)
        let metrics = try h.get("/metrics").text
        XCTAssertTrue(metrics.contains("stratos_projection_lag_events 0"), metrics)
        XCTAssertTrue(metrics.contains("stratos_projection_lag_seconds"), metrics)
        XCTAssertTrue(metrics.contains("stratos_database_up 1"), metrics)
    }

    /// The in-process worker (`serve --project`) survives its sessions being ended: it
    /// reconnects, resumes from its checkpoint and projects what was appended meanwhile, and
    /// `/health` and `/metrics` count the reconnects.
    func testTheInProcessWorkerReconnectsAndResumes() throws {
        let h = try ServiceHarness(worker: true)
        defer { h.stop() }
        let genesis = try Self.genesis()
        XCTAssertEqual(try h.post([genesis]).status, 201)
        try h.eventually(10, "the worker projects Genesis") { try h.get("/health").object["projected"]?.int == 1 }
        for round in 1...3 {
            XCTAssertGreaterThan(try h.terminateSessions(named: "worker"), 0)
            XCTAssertEqual(try post(h, Self.funded("worker-\(round)", after: genesis)).status, 201)
            try h.eventually(10, "round \(round): projected again") {
                try h.get("/health").object["projected"]?.int == Int64(1 + round)
            }
        }
        let health = try h.get("/health").object
        XCTAssertEqual(health["worker"]?["state"]?.string, "running")
        XCTAssertGreaterThanOrEqual(health["worker"]?["reconnects"]?.int ?? 0, 3, "\(health)")
        XCTAssertTrue(try h.get("/metrics").text.contains("stratos_worker_reconnects_total"))
        XCTAssertEqual(try h.get("/v1/snapshot").headers["x-stratos-position"], "4")
    }
}
