import Foundation
import LedgerEvents
import PostgresClient
import StratosEconomics
import StratosProjections
import XCTest

/// Issue 15, item 4: a rebuild under rules equal to the serving build's through epoch N − 1
/// takes that build over through the close of an epoch before N and replays only the rest; it
/// must give exactly the build a replay from Genesis gives.
final class IncrementalRebuildTests: ProjectionTestCase {
    /// Short lock-up, cooling-off and unbonding, so that on a 5-day history entries mature,
    /// deposits are released after deactivations and shutdowns, and unbondings are released, on
    /// both sides of the change.
    static let baseText = """
        {"name": "short", "extends": "paper-v1",
         "parameters": {"lockupEpochs": 24, "coolingOffDays": 1, "unbondingDays": 1, "depositLockDays": 1}}
        """
    /// From epoch 360 (of 720): every kind of parameter a fix changes.
    static let fixText = """
        {"name": "short-fix", "extends": "short",
         "changes": [{"fromEpoch": 360, "set": {"lockupEpochs": 48, "settledShareBp": 6000, "coolingOffDays": 2,
           "unbondingDays": 2, "depositLockDays": 2,
           "tiers": [{"minedBelowWei": "16819200000000000000000000", "rewardWei": "90000000000000000000",
                      "resourceBp": 7000, "metaBp": 1000, "stakeBp": 2000},
                     {"minedBelowWei": "25228800000000000000000000", "rewardWei": "40000000000000000000",
                      "resourceBp": 6200, "metaBp": 1800, "stakeBp": 2000},
                     {"minedBelowWei": "29433600000000000000000000", "rewardWei": "20000000000000000000",
                      "resourceBp": 6400, "metaBp": 1600, "stakeBp": 2000},
                     {"minedBelowWei": "31536000000000000000000000", "rewardWei": "10000000000000000000",
                      "resourceBp": 6600, "metaBp": 1400, "stakeBp": 2000},
                     {"minedBelowWei": "32587200000000000000000000", "rewardWei": "5000000000000000000",
                      "resourceBp": 6800, "metaBp": 1200, "stakeBp": 2000},
                     {"minedBelowWei": "39000000000000000000000000", "rewardWei": "2500000000000000000",
                      "resourceBp": 7000, "metaBp": 1000, "stakeBp": 2000}]}}]}
        """

    var rulesDirectory: URL!

    override func setUpWithError() throws {
        try super.setUpWithError()
        rulesDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("stratos-incremental-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: rulesDirectory, withIntermediateDirectories: true)
        try Self.baseText.write(to: rulesDirectory.appendingPathComponent("short.json"), atomically: true, encoding: .utf8)
        try Self.fixText.write(to: rulesDirectory.appendingPathComponent("short-fix.json"), atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws {
        if let rulesDirectory { try? FileManager.default.removeItem(at: rulesDirectory) }
        try super.tearDownWithError()
    }

    func ruleSets() throws -> (base: RuleSet, fix: RuleSet) {
        let sets = try RuleSet.load([("short.json", Self.baseText), ("short-fix.json", Self.fixText)])
        return (sets[0], sets[1])
    }

    func execute(_ text: String) throws {
        _ = try database.connect().execute(text)
    }

    /// The incremental build and the one from Genesis are the same, table by table and through
    /// every read: snapshots, settlements, vesting schedules, the journal and its exports.
    func testTakingOverEqualsAReplayFromGenesis() throws {
        let (base, fix) = try ruleSets()
        XCTAssertEqual(base.firstEpochWithOtherParameters(than: fix), 360)
        let events = try Self.history(epochs: 720, seed: 21)
        try append(events)
        try project(rules: base, batchSize: 700, checkpointEvery: 10).unlock()
        let serving = try fingerprint("projection")

        var rebuilder = try Rebuilder(url: database.url, checkpointEvery: 10, batchSize: 400, sql: sql)
        // Two maturity epochs at a time: the worker reads ahead many times over the replay.
        rebuilder.vestingLookahead = 2
        var announced: [String] = []
        rebuilder.phaseStarted = { announced.append($0) }
        let incremental = try rebuilder.run(rules: fix, diff: false, switchOver: false)
        guard case .takenOver(let from, let epoch, let position, let n, _) = incremental.start else {
            return XCTFail("expected a take-over, got: \(incremental.start)")
        }
        XCTAssertEqual(from, "projection")
        XCTAssertEqual(n, 360)
        XCTAssertEqual(epoch, 350, "the latest head at or before epoch 359")
        XCTAssertLessThan(incremental.events, Int64(events.count) * 6 / 10, "only the log after epoch 350 is replayed")
        XCTAssertEqual(incremental.events, Int64(events.count) - position)
        XCTAssertEqual(incremental.phases.first?.name, "take-over")
        XCTAssertEqual(announced.first, "take-over")
        XCTAssertTrue("\(incremental.start)".contains("through the close of epoch 350"), "\(incremental.start)")
        XCTAssertEqual(try fingerprint("projection"), serving, "the serving build is untouched")
        try execute("ALTER SCHEMA projection_next RENAME TO projection_incremental")

        rebuilder.fromGenesis = true
        let full = try rebuilder.run(rules: fix, diff: false, switchOver: false)
        XCTAssertEqual(full.start, .fromGenesis(reason: "--from-genesis"))
        XCTAssertEqual(full.events, Int64(events.count))

        let a = try fingerprint("projection_incremental")
        let b = try fingerprint("projection_next")
        for table in ProjectionSQL.tableNames { XCTAssertEqual(a[table], b[table], table) }
        XCTAssertNotEqual(a, serving, "the fix changes the build")

        // Every read of the two builds is the same, and the same as an in-memory replay.
        let qa = try LedgerQueries(connection: database.connect(), schema: "projection_incremental", sql: sql)
        let qb = try LedgerQueries(connection: database.connect(), schema: "projection_next", sql: sql)
        XCTAssertEqual(try qa.snapshot(at: .latest).json(), Self.replay(events, rules: fix).snapshot().json())
        for e: Int64 in [1, 200, 349, 350, 351, 359, 360, 361, 500, 719] {
            XCTAssertEqual(try qa.snapshot(at: .epoch(e)).json(), try qb.snapshot(at: .epoch(e)).json(), "snapshot \(e)")
            XCTAssertEqual(try qa.settlement(epoch: e).json(), try qb.settlement(epoch: e).json(), "settlement \(e)")
        }
        XCTAssertTrue(try qa.verify(epoch: 361).matches)
        let accounts = try qb.snapshot(at: .latest).accounts.keys.sorted()
        XCTAssertGreaterThan(accounts.count, 5)
        for account in accounts {
            XCTAssertEqual(try qa.vestingSchedule(account: account), try qb.vestingSchedule(account: account), "\(account)")
        }
        var ja: [JournalTransaction] = []
        var jb: [JournalTransaction] = []
        try qa.journal(epochs: 1...720) { ja.append($0) }
        try qb.journal(epochs: 1...720) { jb.append($0) }
        XCTAssertEqual(ja.count, jb.count)
        XCTAssertEqual(ja, jb)
        XCTAssertEqual(try qa.exceptions(), try qb.exceptions())

        // What the history crosses: maturities, deposit releases after deactivations and
        // shutdowns, unbondings, before and after the change.
        let c = try database.connect()
        for (what, text) in [
            ("matured entries", "SELECT count(*) FROM projection_next.vesting_schedule WHERE status = 'released' AND closed_epoch > 360"),
            ("released deposits", "SELECT count(*) FROM projection_next.release_done WHERE kind = 'deposit'"),
            ("released unbondings", "SELECT count(*) FROM projection_next.release_done WHERE kind = 'unbonding' AND epoch > 360"),
            ("shutdowns", "SELECT count(*) FROM projection_next.nodes WHERE status = 'shut-down'"),
        ] {
            XCTAssertGreaterThan(try c.query(text).int64(0, 0), 0, what)
        }

        // The exports of either build are byte for byte the same.
        let rulesFile = rulesDirectory.appendingPathComponent("short-fix.json").path
        for format in ["ledger", "csv", "beancount"] {
            var out: [String] = []
            for schema in ["projection_incremental", "projection_next"] {
                let r = try runLedger(
                    ["export", "--format", format, "--from", "340", "--to", "380", "--schema", schema, "--rules", rulesFile],
                    databaseURL: database.url)
                XCTAssertEqual(r.status, 0, r.stderr)
                out.append(r.stdout)
            }
            XCTAssertFalse(out[0].isEmpty)
            XCTAssertEqual(out[0], out[1], format)
        }
    }

    /// A change from epoch 1 (or other base parameters) leaves nothing to take over; rules equal
    /// to the serving build's take it over through its latest head and replay only what is after.
    func testFromEpochOneReplaysFromGenesisAndEqualRulesReplayOnlyTheTail() throws {
        let events = try Self.history(epochs: 95, seed: 4)
        try append(events)
        try project(checkpointEvery: 10).unlock()
        let rebuilder = try Rebuilder(url: database.url, checkpointEvery: 10, batchSize: 400, sql: sql)

        let other = try rebuilder.run(rules: .paperV1EffectiveS, diff: false, switchOver: false)
        guard case .fromGenesis(let reason) = other.start else { return XCTFail("\(other.start)") }
        XCTAssertTrue(reason.contains("from epoch 1"), reason)
        XCTAssertEqual(other.events, Int64(events.count))
        try execute("DROP SCHEMA projection_next CASCADE")

        let fromOne = try RuleSet.load([
            (nil, #"{"name": "from-one", "extends": "paper-v1", "changes": [{"fromEpoch": 1, "set": {"settledShareBp": 7000}}]}"#)
        ])[0]
        guard case .fromGenesis(let reason1) = try rebuilder.run(rules: fromOne, diff: false, switchOver: false).start else {
            return XCTFail()
        }
        XCTAssertTrue(reason1.contains("from epoch 1"), reason1)
        try execute("DROP SCHEMA projection_next CASCADE")

        // The same rules: the latest head (epoch 90) is taken over, the tail after it replayed.
        let same = try rebuilder.run(rules: .paperV1, diff: false, switchOver: false)
        guard case .takenOver(_, let epoch, let position, let n, _) = same.start else { return XCTFail("\(same.start)") }
        XCTAssertNil(n)
        XCTAssertEqual(epoch, 90)
        XCTAssertEqual(same.events, Int64(events.count) - position)
        XCTAssertTrue("\(same.start)".contains("parameters equal the serving build's"), "\(same.start)")
        XCTAssertEqual(try fingerprint("projection_next"), try fingerprint("projection"))
        try execute("DROP SCHEMA projection_next CASCADE")

        // Another name for the same parameters: the rows name the new rule set, as a full replay writes them.
        let renamed = try RuleSet.load([(nil, #"{"name": "paper-v1-copy", "extends": "paper-v1"}"#)])[0]
        var r = rebuilder
        guard case .takenOver = try r.run(rules: renamed, diff: false, switchOver: false).start else { return XCTFail() }
        try execute("ALTER SCHEMA projection_next RENAME TO projection_copy")
        r.fromGenesis = true
        XCTAssertEqual(try r.run(rules: renamed, diff: false, switchOver: false).start, .fromGenesis(reason: "--from-genesis"))
        XCTAssertEqual(try fingerprint("projection_copy"), try fingerprint("projection_next"))
        XCTAssertEqual(
            try LedgerQueries(connection: database.connect(), schema: "projection_copy", sql: sql).settlement(epoch: 50).report.rules, "paper-v1-copy"
        )
        try execute("DROP SCHEMA projection_next CASCADE")

        // Heads every 10 epochs cannot start a build that keeps one every 4: a full replay, saying why.
        let every4 = try Rebuilder(url: database.url, checkpointEvery: 4, batchSize: 400, sql: sql)
        guard case .fromGenesis(let reason4) = try every4.run(rules: .paperV1, diff: false, switchOver: false).start else {
            return XCTFail()
        }
        XCTAssertTrue(reason4.contains("every 10 epochs"), reason4)
    }

    /// The take-over is one transaction: killed mid-copy, it leaves no build behind, and the
    /// next run starts over; killed during the replay after it, the next run resumes the build.
    /// Either way the result is the build from Genesis.
    func testInterruptedTakeOverStartsOverAndInterruptedReplayResumes() throws {
        let (base, fix) = try ruleSets()
        let events = try Self.history(epochs: 500, seed: 8)
        try append(events)
        try project(rules: base, checkpointEvery: 10).unlock()
        let url = database.url

        // Hold the serving nodes table: the copy stops at it, after the other tables were copied.
        let blocker = try database.connect()
        try blocker.execute("BEGIN")
        try blocker.execute("LOCK TABLE projection.nodes IN ACCESS EXCLUSIVE MODE")
        let rebuilder = try Rebuilder(url: url, checkpointEvery: 10, batchSize: 300, sql: sql)
        let failed = ThreadResult()
        let thread = Thread { [sql] in
            do {
                let r = try Rebuilder(url: url, checkpointEvery: 10, batchSize: 300, sql: sql)
                _ = try r.run(rules: fix, diff: false, switchOver: false)
            } catch { failed.set("\(error)") }
        }
        thread.start()
        let watcher = try database.connect()
        var killed = false
        for _ in 0..<500 where !killed {
            let waiting = try watcher.query(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO %nodes%'"
            )
            if waiting.rowCount > 0 {
                _ = try watcher.query("SELECT pg_terminate_backend($1)", [try waiting.string(0, 0)])
                killed = true
            } else {
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
        XCTAssertTrue(killed, "the copy never reached the nodes table")
        for _ in 0..<1000 where !thread.isFinished { Thread.sleep(forTimeInterval: 0.01) }
        try blocker.execute("ROLLBACK")
        XCTAssertNotNil(failed.value, "the killed rebuild fails")
        XCTAssertEqual(
            try watcher.query("SELECT 1 FROM pg_namespace WHERE nspname = 'projection_next'").rowCount, 0,
            "a take-over killed mid-copy leaves no build")

        // Killed during the replay after the take-over: the partial build is resumed.
        let partial = try worker("projection_next", status: .building, batchSize: 300)
        try partial.lock(wait: false)
        let plan = try rebuilderStartOnly(rules: fix, worker: partial)
        guard case .takenOver(_, _, let position, _, _) = plan else { return XCTFail("\(plan)") }
        try partial.catchUp(to: position + 200)
        try partial.unlock()
        let resumed = try rebuilder.run(rules: fix, diff: false, switchOver: false)
        XCTAssertEqual(resumed.start, .resumed(position: position + 200))
        XCTAssertEqual(resumed.resumedFrom, position + 200)
        try execute("ALTER SCHEMA projection_next RENAME TO projection_incremental")

        var full = rebuilder
        full.fromGenesis = true
        _ = try full.run(rules: fix, diff: false, switchOver: false)
        XCTAssertEqual(try fingerprint("projection_incremental"), try fingerprint("projection_next"))
    }

    /// A take-over shares the serving build's rows instead of copying them: its own tables hold
    /// only what it replayed, its views follow the base through every switch (schema renames),
    /// and dropping the base first copies into it what it reads, so it never breaks.
    func testATakeOverSharesTheBaseRowsAndDroppingTheBaseCopiesThemFirst() throws {
        let events = try Self.history(epochs: 205, seed: 5)
        try append(events)
        try project(checkpointEvery: 10).unlock()
        let rebuilder = try Rebuilder(url: database.url, checkpointEvery: 10, batchSize: 400, sql: sql)
        let renamed = try RuleSet.load([(nil, #"{"name": "paper-v1-copy", "extends": "paper-v1"}"#)])[0]
        // Built and switched in: the base is now `projection_previous`, renamed under the views.
        let built = try rebuilder.run(rules: renamed, diff: false, switchOver: true)
        guard case .takenOver(_, let epoch, let position, _, _) = built.start else { return XCTFail("\(built.start)") }
        XCTAssertEqual(epoch, 200)
        let c = try database.connect()
        for table in ["vesting_entries_own", "journal_stored_own", "vesting_changes_own", "exceptions_own"] {
            XCTAssertEqual(
                try c.query("SELECT count(*) FROM projection.\(table) WHERE position <= \(position)").int64(0, 0), 0,
                "\(table) holds nothing of the shared prefix")
        }
        XCTAssertGreaterThan(try c.query("SELECT count(*) FROM projection.vesting_entries_own").int64(0, 0), 0)
        XCTAssertEqual(try c.query("SELECT count(*) FROM projection.settlements_own WHERE epoch <= \(epoch)").int64(0, 0), 0)
        XCTAssertEqual(try c.query("SELECT count(*) FROM projection.settlements").int64(0, 0), 205)
        XCTAssertEqual(
            try LedgerQueries(connection: database.connect(), schema: "projection", sql: sql).snapshot(at: .latest).json(),
            Self.replay(events, rules: renamed).snapshot().json())
        let expected = try fingerprint("projection")
        let listed = try rebuilder.builds()
        let copy = try XCTUnwrap(listed.first { $0.name == "paper-v1-copy" })
        let base = try XCTUnwrap(listed.first { $0.schema == "projection_previous" })
        XCTAssertEqual(copy.base, BuildInfo.Base(build: base.name, epoch: epoch, position: position))
        XCTAssertNil(base.base)

        // Dropping the base first gives the copy its own rows (saying so): nothing changes for it.
        let cli = try runLedger(["builds", "drop", base.name], databaseURL: database.url)
        XCTAssertEqual(cli.status, 0, cli.stderr)
        XCTAssertTrue(cli.stderr.contains("paper-v1-copy took \(base.name) over: copying"), cli.stderr)
        XCTAssertEqual(try fingerprint("projection"), expected, "the copy reads the same rows, now its own")
        XCTAssertEqual(try rebuilder.builds().map(\.name), ["paper-v1-copy"])
        XCTAssertNil(try rebuilder.builds()[0].base)
        XCTAssertEqual(try c.query("SELECT count(*) FROM projection.settlements_own").int64(0, 0), 205)
        XCTAssertEqual(try c.query("SELECT to_regclass('projection.take_over') IS NULL").string(0, 0), "t")
        XCTAssertEqual(
            try LedgerQueries(connection: database.connect(), schema: "projection", sql: sql).snapshot(at: .epoch(150)).json(),
            Self.replay(events, rules: renamed, throughEpoch: 150).snapshot().json())
    }

    /// The take-over alone (what `Rebuilder.run` does before its catch-up).
    func rebuilderStartOnly(rules: RuleSet, worker: ProjectionWorker) throws -> RebuildStart {
        try Rebuilder(url: database.url, checkpointEvery: 10, batchSize: 300, sql: sql).takeOver(rules: rules, into: worker)
    }
}

/// A value set by another thread.
final class ThreadResult: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: String?
    func set(_ v: String) { lock.withLock { stored = v } }
    var value: String? { lock.withLock { stored } }
}
