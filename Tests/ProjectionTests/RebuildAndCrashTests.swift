import EventStore
import Foundation
import LedgerEvents
import PostgresClient
import PostgresTestSupport
import StratosEconomics
import StratosProjections
import StratosSimulator
import XCTest

final class RebuildAndCrashTests: ProjectionTestCase {
    /// The worker's connection is killed (pg_terminate_backend: to the database, the same as a
    /// kill -9 of the worker) at random instants during a long catch-up; after each kill a new
    /// worker restarts from the committed checkpoint. The tables end up exactly as an
    /// uninterrupted build leaves them.
    func testKilledAtRandomPointsThenRestartedEqualsUninterrupted() throws {
        try append(try Self.history(epochs: 600, seed: 11))
        // Kill instants are drawn within a quarter of the time a whole build takes here, so that
        // they land inside the catch-up however fast the machine (or the worker) is.
        let clock = ContinuousClock()
        let started = clock.now
        try project("reference", batchSize: 10_000)
        let elapsed = clock.now - started
        let buildSeconds = max(0.05, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)

        var generator = SplitMix64(seed: 2024)
        let url = database.url
        var kills = 0
        for _ in 0..<40 {
            let w = try worker(batchSize: 150)
            try w.lock(wait: true)
            try w.createIfMissing(rules: .paperV1, checkpointEvery: 100)
            if try w.lag() == 0 { break }
            let pid = w.connection.backendPID
            let delay = Double.random(in: 0.005...max(0.02, buildSeconds / 4), using: &generator)
            let killer = Thread {
                Thread.sleep(forTimeInterval: delay)
                _ = try? PostgresConnection(url: url).query("SELECT pg_terminate_backend($1)", [String(pid)])
            }
            killer.start()
            do {
                try w.catchUp()
            } catch {
                kills += 1
            }
            while !killer.isFinished { Thread.sleep(forTimeInterval: 0.01) }
        }
        // Whatever the kills left undone, an uninterrupted worker finishes from the committed state.
        XCTAssertGreaterThan(kills, 2, "the test should interrupt the worker several times")
        let final = try project(batchSize: 150)
        XCTAssertEqual(try final.lag(), 0)
        XCTAssertEqual(try fingerprint("projection"), try fingerprint("reference"))
    }

    /// A worker restarted at every batch (each restart restores the latest checkpoint head and
    /// completes it from the vesting tables) writes exactly the tables, checkpoint heads included,
    /// of an uninterrupted one. (Heads used to name their first live vesting id by the path to the
    /// state: a restored economy's done placeholders moved it at other closes.)
    func testAWorkerRestartedAtEveryBatchWritesTheSameCheckpoints() throws {
        try append(try Self.history(epochs: 700))
        try project("reference")
        var position: Int64 = 0
        let head = try store.head().position
        while position < head {
            let w = try worker(batchSize: 300)
            try w.lock(wait: false)
            try w.createIfMissing(rules: .paperV1, checkpointEvery: 100)
            position = min(head, position + 300)
            try w.catchUp(to: position)
            if position == head { try w.ensureIndexed() }
            try w.unlock()
        }
        XCTAssertEqual(try fingerprint("projection"), try fingerprint("reference"))
    }

    /// Rebuilding under paper-v1-effective-s changes amounts (non-empty diff), switches in
    /// atomically, keeps the old schema as _previous; switching back restores the original
    /// tables exactly. An interrupted rebuild resumes.
    func testRebuildUnderOtherRulesDiffAndSwitchBack() throws {
        let events = try Self.history(epochs: 400, seed: 5)
        try append(events)
        try project(checkpointEvery: 50).unlock()
        let original = try fingerprint("projection")

        var rebuilder = try Rebuilder(url: database.url, checkpointEvery: 50, batchSize: 500, sql: sql)
        // An interrupted rebuild: build part of _next, then run again (it resumes).
        let partial = try worker("projection_next", status: .building, batchSize: 500)
        try partial.createIfMissing(rules: .paperV1EffectiveS, checkpointEvery: 50)
        try partial.catchUp(to: Int64(events.count / 2))
        XCTAssertEqual(try fingerprint("projection"), original, "the serving schema is untouched")
        rebuilder.batchSize = 700
        var announced: [String] = []
        rebuilder.phaseStarted = { announced.append($0) }
        let report = try rebuilder.run(rules: .paperV1EffectiveS, diff: true)
        XCTAssertEqual(announced, ["keys and journal check", "diff", "switch"])
        XCTAssertEqual(report.phases.map(\.name), ["catch-up", "keys", "checks", "diff", "switch"])
        XCTAssertEqual(report.resumedFrom, Int64(events.count / 2))
        XCTAssertTrue(report.switched)
        let diff = try XCTUnwrap(report.diff)
        XCTAssertEqual(diff.a.rules, "paper-v1")
        XCTAssertEqual(diff.b.rules, "paper-v1-effective-s")
        XCTAssertEqual(report.name, "paper-v1-effective-s", "a build without --as is named after its rules")
        XCTAssertFalse(diff.epochs.isEmpty, "effective s changes settlements")
        XCTAssertFalse(diff.accounts.isEmpty, "and balances")
        XCTAssertTrue(diff.text().contains("(paper-v1) -> B = paper-v1-effective-s (paper-v1-effective-s)"), diff.text())

        // The rebuilt one serves, agrees with an in-memory replay under the new rules, and
        // equals a from-scratch build under them.
        let q = try LedgerQueries(connection: database.connect(), sql: sql)
        XCTAssertEqual(try q.health().rules, "paper-v1-effective-s")
        try assertServiceRoleCanRead("projection")
        XCTAssertEqual(try q.snapshot(at: .latest).json(), Self.replay(events, rules: .paperV1EffectiveS).snapshot().json())
        try project("scratch", rules: .paperV1EffectiveS, batchSize: 5_000, checkpointEvery: 50)
        XCTAssertEqual(try fingerprint("projection"), try fingerprint("scratch"))
        XCTAssertTrue(try q.verify(epoch: 399).matches)
        let c = try database.connect()
        try c.query(sql("search_path.set"), ["projection, public"])
        XCTAssertEqual(try c.query(sql("check.journal_derived_ranges")).rowCount, 0, "derived journal lines under the other rules")

        // A live worker started before the switch-back follows whatever serves.
        try rebuilder.switchBack()
        XCTAssertEqual(try fingerprint("projection"), original)
        XCTAssertEqual(try q.health().rules, "paper-v1")
        try assertServiceRoleCanRead("projection")
        XCTAssertEqual(
            try LedgerQueries(connection: database.connect(), schema: "projection_previous", sql: sql).health().rules,
            "paper-v1-effective-s")
    }

    /// The user's sequence (issue 15): `rebuild --rules paper-v1-effective-s` twice, then
    /// `--switch-back`. The second rebuild used to drop `_previous`, the original paper-v1 build,
    /// and the switch-back returned to the first effective-s build. Now no build is dropped: the
    /// original is still there and the switch-back returns to it.
    func testRebuildTwiceUnderTheSameRulesThenSwitchBackReturnsToTheOriginal() throws {
        let events = try Self.history(epochs: 60, seed: 11)
        try append(events)
        try project(checkpointEvery: 10).unlock()
        let original = try fingerprint("projection")

        let rebuilder = try Rebuilder(url: database.url, checkpointEvery: 10, batchSize: 500, sql: sql)
        XCTAssertTrue(try rebuilder.run(rules: .paperV1EffectiveS, diff: false).switched)
        let first = try fingerprint("projection")
        XCTAssertTrue(try rebuilder.run(rules: .paperV1EffectiveS, diff: false).switched)
        XCTAssertEqual(try fingerprint("projection"), first, "the same rules build the same rows")

        func rules(_ schema: String) throws -> String? { try worker(schema).readState()?.rules }
        func status(_ schema: String) throws -> BuildStatus? { try worker(schema).readState()?.status }
        XCTAssertEqual(try rules("projection_previous"), "paper-v1", "the original build is still there")
        XCTAssertEqual(try fingerprint("projection_previous"), original)
        XCTAssertEqual(try rules("projection_kept_1"), "paper-v1-effective-s", "the replaced build is kept, not dropped")
        XCTAssertEqual(try status("projection_kept_1"), .previous)

        try rebuilder.switchBack()
        let q = try LedgerQueries(connection: database.connect(), sql: sql)
        XCTAssertEqual(try q.health().rules, "paper-v1")
        XCTAssertEqual(try fingerprint("projection"), original)
        XCTAssertEqual(try rules("projection_previous"), "paper-v1-effective-s")

        // A rebuild under other rules again keeps the older _previous rather than dropping it.
        XCTAssertTrue(try rebuilder.run(rules: .paperV1EffectiveS, diff: false).switched)
        XCTAssertEqual(try rules("projection_previous"), "paper-v1")
        XCTAssertEqual(try rules("projection_kept_2"), "paper-v1-effective-s")
        XCTAssertEqual(try status("projection_kept_2"), .previous)

        // `builds` lists them side by side; the CLI prints the same as JSON.
        let builds = try rebuilder.builds()
        XCTAssertEqual(builds.map(\.schema), ["projection", "projection_kept_1", "projection_kept_2", "projection_previous"])
        XCTAssertEqual(
            builds.map(\.name), ["paper-v1-effective-s-3", "paper-v1-effective-s", "paper-v1-effective-s-2", "paper-v1"],
            "each build keeps the name it got, whatever schema it moved to")
        XCTAssertEqual(builds.filter(\.serving).map(\.schema), ["projection"])
        XCTAssertEqual(builds.map(\.rules), ["paper-v1-effective-s", "paper-v1-effective-s", "paper-v1-effective-s", "paper-v1"])
        XCTAssertEqual(builds.first?.rulesSha256, RuleSet.paperV1EffectiveS.sha256)
        XCTAssertTrue(builds.allSatisfy { $0.position == Int64(events.count) && $0.createdAt.hasSuffix("Z") })
        let cli = try runLedger(["builds", "--format", "json"], databaseURL: database.url)
        XCTAssertEqual(cli.status, 0, cli.stderr)
        let listed = try JSONSerialization.jsonObject(with: Data(cli.stdout.utf8)) as? [[String: Any]]
        XCTAssertEqual(listed?.map { $0["name"] as? String }, builds.map(\.name))
        XCTAssertEqual(listed?.compactMap { $0["serving"] as? Bool }, [true, false, false, false])
        for key in ["name", "rules", "rulesSha256", "position", "serving", "createdAt"] {
            XCTAssertNotNil(listed?.first?[key], key)
        }

        // `builds drop` refuses the serving build and drops another one only when asked.
        let refused = try runLedger(["builds", "drop", "projection"], databaseURL: database.url)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("serving build"), refused.stderr)
        let dropped = try runLedger(["builds", "drop", "projection_kept_1"], databaseURL: database.url)
        XCTAssertEqual(dropped.status, 0, dropped.stderr)
        XCTAssertEqual(try rebuilder.builds().map(\.schema), ["projection", "projection_kept_2", "projection_previous"])
        XCTAssertNotEqual(try runLedger(["builds", "drop", "nonesuch"], databaseURL: database.url).status, 0)

        // `builds switch` serves another build; the serving one becomes _previous, the older
        // _previous is kept.
        let switched = try runLedger(["builds", "switch", "projection_kept_2"], databaseURL: database.url)
        XCTAssertEqual(switched.status, 0, switched.stderr)
        XCTAssertEqual(try rebuilder.builds().map(\.schema), ["projection", "projection_kept_1", "projection_previous"])
        XCTAssertEqual(try rules("projection_kept_1"), "paper-v1")
        XCTAssertEqual(try q.health().rules, "paper-v1-effective-s")
        try rebuilder.switchTo(build: "projection_kept_1")
        XCTAssertEqual(try q.health().rules, "paper-v1")
        XCTAssertEqual(try fingerprint("projection"), original)
    }

    /// A schema built by a release with another table layout, or whose keys were built with a
    /// text hash the server no longer computes, is refused, with the way out, by the worker and
    /// the queries; a rebuild starts such a `_next` over instead of resuming
    /// it, and its switch puts the current layout in service.
    func testOutdatedLayoutIsRefusedAndRebuiltOver() throws {
        let events = try Self.history(epochs: 60, seed: 4)
        try append(events)
        try project(checkpointEvery: 20).unlock()
        let current = try fingerprint("projection")
        let c = try database.connect()
        // As if the server's text hash function had changed since the build (the vesting keys' function).
        try c.execute("UPDATE projection.projection_state SET text_hash = text_hash + 1")
        XCTAssertThrowsError(try LedgerQueries(connection: database.connect(), sql: sql).health()) {
            XCTAssertEqual(
                "\($0)",
                "projection schema projection has keys on PostgreSQL's text hash, which this server computes "
                    + "differently (a major-version upgrade?): rebuild it with `stratos-ledger rebuild --rules paper-v1`")
        }
        try c.execute("UPDATE projection.projection_state SET text_hash = text_hash - 1")
        XCTAssertNoThrow(try LedgerQueries(connection: database.connect(), sql: sql).health())
        // As built before layouts were recorded (layout 1).
        try c.execute("ALTER TABLE projection.projection_state DROP COLUMN layout")
        let refusal =
            "projection schema projection has table layout 1, this stratos-ledger reads layout \(ProjectionSQL.layout): "
            + "rebuild it with `stratos-ledger rebuild --rules paper-v1` (the serving schema keeps its place until the switch)"
        XCTAssertThrowsError(try LedgerQueries(connection: database.connect(), sql: sql).health()) { XCTAssertEqual("\($0)", refusal) }
        XCTAssertThrowsError(try project()) { XCTAssertEqual("\($0)", refusal) }

        // An interrupted rebuild left by that release.
        let stale = try worker("projection_next", status: .building)
        try stale.createIfMissing(rules: .paperV1, checkpointEvery: 20)
        try stale.catchUp(to: Int64(events.count / 2))
        try stale.unlock()
        try c.execute("UPDATE projection_next.projection_state SET layout = 1")
        let report = try Rebuilder(url: database.url, checkpointEvery: 20, sql: sql).run(rules: .paperV1, diff: false)
        XCTAssertEqual(report.resumedFrom, 0, "started over")
        XCTAssertEqual(try LedgerQueries(connection: database.connect(), sql: sql).health().rules, "paper-v1")
        XCTAssertEqual(try fingerprint("projection"), current)
    }

    /// A live worker whose schema is switched under it reloads and follows the new one.
    func testLiveWorkerFollowsASwitch() throws {
        let events = try Self.history(epochs: 200, seed: 3)
        try append(events.prefix(400))
        let live = try project(checkpointEvery: 50)
        _ = try Rebuilder(url: database.url, checkpointEvery: 50, sql: sql).run(rules: .paperV1EffectiveS, diff: false)
        try append(events.dropFirst(400))
        try live.catchUp()
        let q = try LedgerQueries(connection: database.connect(), sql: sql)
        XCTAssertEqual(try q.health().lag, 0)
        XCTAssertEqual(try q.snapshot(at: .latest).json(), Self.replay(events, rules: .paperV1EffectiveS).snapshot().json())
        XCTAssertEqual(try fingerprint("projection_previous")["journal_stored"]?.hasPrefix("400 rows"), true)
    }

    /// The service reads as `stratos_app`; whatever schema serves must be readable by it.
    private func assertServiceRoleCanRead(_ schema: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let conn = try database.connect()
        let result = try conn.query(
            "SELECT has_schema_privilege('stratos_app', $1, 'USAGE') AND has_table_privilege('stratos_app', $1 || '.balances', 'SELECT') AS ok",
            [schema])
        XCTAssertTrue(try result.bool(0, 0), "stratos_app cannot read \(schema)", file: file, line: line)
    }
}
