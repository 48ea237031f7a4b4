import EventStore
import LedgerEvents
import PostgresClient
import PostgresTestSupport
import StratosEconomics
import StratosProjections
import XCTest

final class ProjectionTests: ProjectionTestCase {
    /// The projection agrees with the engine: balances, settlements (stored JSON = recomputed
    /// JSON), snapshots at epochs; every journal transaction balances and its per-account totals
    /// equal the balances table.
    func testProjectionMatchesEngineAndJournalBalances() throws {
        let events = try Self.history()
        try append(events)
        let w = try project()
        let engine = Self.replay(events)
        XCTAssertEqual(try w.economy().snapshot().json(), engine.snapshot().json())
        XCTAssertNoThrow(try w.economy().checkInvariants())

        let q = try LedgerQueries(connection: database.connect(), sql: sql)
        let health = try q.health()
        XCTAssertEqual(health.lag, 0)
        XCTAssertEqual(health.lastClosedEpoch, engine.lastClosedEpoch)
        XCTAssertEqual(health.refusedEvents, 0)

        // Balances table = engine snapshot, account by account.
        for (account, balances) in engine.snapshot().accounts {
            XCTAssertEqual(try q.balances(account: account), balances, "balances of \(account)")
        }
        // Balance history at an epoch = the snapshot at that epoch.
        let mid = Self.replay(events, throughEpoch: 1_000).snapshot()
        for (account, balances) in mid.accounts where balances != AccountBalances() {
            XCTAssertEqual(try q.balances(account: account, atEpoch: 1_000), balances, "balances of \(account) at epoch 1000")
        }

        // The journal.
        let c = try database.connect()
        try c.query(sql("search_path.set"), ["projection, public"])
        let checked = try Rebuilder.checkJournal(c, sql: sql) // every transaction balances
        XCTAssertEqual(checked.transactions, Int64(try c.query("SELECT count(*) FROM journal").int64(0, 0)))
        XCTAssertEqual(try c.query(sql("check.journal_vs_balances")).rowCount, 0, "journal totals = balances")
        XCTAssertEqual(try c.query(sql("check.journal_derived_ranges")).rowCount, 0, "derived journal lines = vesting entries")
        // A reward range one entry short, or a release range one entry late, is found (and put back).
        let last = try c.query("SELECT max(epoch) FROM settlements WHERE first_released IS NOT NULL AND first_rewarded IS NOT NULL").int64(0, 0)
        for (column, lines) in [("last_rewarded", "rewards"), ("first_released", "releases")] {
            try c.execute("UPDATE settlements SET \(column) = \(column) - 1 WHERE epoch = \(last)")
            let found = try c.query(sql("check.journal_derived_ranges"))
            XCTAssertEqual(found.rowCount, 1, column)
            XCTAssertEqual(try found.int64(0, 0), last, column)
            XCTAssertEqual(try found.string(0, 1), lines, column)
            try c.execute("UPDATE settlements SET \(column) = \(column) + 1 WHERE epoch = \(last)")
        }
        var transactions = 0
        var totals: [String: (pos: UInt128, neg: UInt128)] = [:]
        try q.journal(positions: 1...Int64(events.count)) { tx in
            transactions += 1
            for p in tx.postings {
                var t = totals[p.commodity.rawValue] ?? (0, 0)
                if p.negative { t.neg += p.amount.baseUnits } else { t.pos += p.amount.baseUnits }
                totals[p.commodity.rawValue] = t
            }
        }
        XCTAssertEqual(transactions, events.count)
        for (commodity, t) in totals { XCTAssertEqual(t.pos, t.neg, "\(commodity) debits = credits") }

        // Settlements: stored = recomputed, byte for byte; verify passes.
        var reports: [Int64: SettlementReport] = [:]
        var e = Economy(rules: .paperV1)
        for event in events { if let s = try e.apply(event).settlement { reports[s.epoch] = s } }
        for epoch: Int64 in [1, 2, 777, 2_016, 2_017, 2_100] {
            let stored = try q.settlement(epoch: epoch)
            XCTAssertEqual(stored.json(), reports[epoch]!.json(), "settlement \(epoch)")
            XCTAssertEqual(stored.report, reports[epoch]!, "every field, vesting entry ids included")
            let v = try q.verify(epoch: epoch)
            XCTAssertTrue(v.matches, "verify \(epoch): \(String(describing: v.firstDifference))")
        }
        XCTAssertThrowsError(try q.settlement(epoch: 2_101)) { error in
            XCTAssertEqual("\(error)", "epoch 2101 is not closed yet (the projection's last closed epoch is 2100)")
        }
        // Matured vesting shows up as released.
        let owner = reports[1]!.rewards[0].account
        let schedule = try q.vestingSchedule(account: owner)
        XCTAssertTrue(schedule.entries.contains { $0.status == .released && $0.epochEarned == 1 })
        XCTAssertTrue(schedule.entries.contains { $0.status == .locked })
        // The console's bounded reads equal the whole schedule: locked sums by maturity, counts,
        // a node's entries page by page (newest first), its releases.
        func maturity(_ entries: [VestingScheduleEntry]) -> [MaturityTotal] {
            var by: [Int64: MaturityTotal] = [:]
            for e in entries where e.status == .locked {
                by[e.matureEpoch, default: MaturityTotal(matureEpoch: e.matureEpoch, entries: 0, amount: .zero)].entries += 1
                by[e.matureEpoch]!.amount += e.amount
            }
            return by.keys.sorted().map { by[$0]! }
        }
        XCTAssertEqual(
            try q.vestingSummary(.account(owner)), VestingSummary(entries: schedule.entries.count, lockedByMaturity: maturity(schedule.entries)))
        XCTAssertFalse(try q.vestingSummary(.account(owner)).lockedByMaturity.isEmpty)
        // Accounts whose entries were cancelled or taken for fees: the summary's rule of
        // "locked" is the view's.
        let changed = try database.connect().query(
            "SELECT DISTINCT e.account FROM projection.vesting_entries e JOIN projection.vesting_changes v USING (entry_id) ORDER BY 1 LIMIT 6")
        XCTAssertGreaterThan(changed.rowCount, 0, "the history cancels or takes fees from some entries")
        for i in 0..<changed.rowCount {
            let account = AccountID(unchecked: try changed.string(i, 0))
            let entries = try q.vestingSchedule(account: account).entries
            XCTAssertEqual(
                try q.vestingSummary(.account(account)), VestingSummary(entries: entries.count, lockedByMaturity: maturity(entries)),
                "account \(account)")
        }
        XCTAssertEqual(try q.releases(account: owner), schedule.releases)
        for node in Set(schedule.entries.compactMap(\.node)).sorted().prefix(3) {
            let fromNode = schedule.entries.filter { $0.node == node }
            XCTAssertEqual(
                try q.vestingSummary(.node(node)), VestingSummary(entries: fromNode.count, lockedByMaturity: maturity(fromNode)), "node \(node)")
            var pages: [VestingScheduleEntry] = []
            while case let page = try q.vestingEntries(node: node, newestFirst: 97, offset: pages.count), !page.isEmpty {
                pages += page
            }
            XCTAssertEqual(pages, Array(fromNode.reversed()), "node \(node), pages of 97")
        }
        XCTAssertEqual(try q.vestingSummary(.node(NodeID(unchecked: "nonesuch"))), VestingSummary(entries: 0, lockedByMaturity: []))
        // Supply series and node rewards are there.
        XCTAssertEqual(try q.ozoneSupply(epochs: 1...10).count, 10)
        let node = reports[2_000]!.settled.first?.node
        if let node { XCTAssertFalse(try q.nodeRewards(node: node, epochs: 1_990...2_000).isEmpty) }
        // The console's chart and pages of a node's rewards equal its lines summed and sliced.
        let rewardNodes = Set(reports.values.flatMap { $0.settled.map(\.node) }).sorted().prefix(3)
        XCTAssertFalse(rewardNodes.isEmpty)
        for node in rewardNodes {
            let lines = try q.nodeRewards(node: node, epochs: 1...Int64.max)
            for maxRanges in [1, 7, 120] {
                let chart = try XCTUnwrap(try q.nodeRewardChart(node: node, through: 2_000, maxRanges: maxRanges), "node \(node)")
                XCTAssertLessThanOrEqual(chart.rangeCount, Int64(maxRanges))
                XCTAssertEqual(chart.firstEpoch, lines.first?.epoch)
                XCTAssertEqual(chart.lastRewardEpoch, lines.last?.epoch)
                XCTAssertEqual(chart.epochs(ofRange: 0).lowerBound, chart.firstEpoch)
                XCTAssertEqual(chart.epochs(ofRange: chart.rangeCount - 1).upperBound, chart.lastEpoch)
                XCTAssertEqual(chart.lines, lines.count)
                XCTAssertEqual(chart.total, lines.reduce(Wei.zero) { $0 + $1.amount })
                for b in chart.buckets {
                    let inRange = lines.filter { chart.epochs(ofRange: b.index).contains($0.epoch) && $0.role == b.role && $0.source == b.source }
                    XCTAssertEqual(b.amount, inRange.reduce(Wei.zero) { $0 + $1.amount }, "node \(node), range \(b.index)")
                    XCTAssertEqual(b.lines, inRange.count)
                }
            }
            var pages: [NodeEpochReward] = []
            while case let page = try q.nodeRewards(node: node, newestFirst: 50, offset: pages.count), !page.isEmpty { pages += page }
            XCTAssertEqual(pages, Array(lines.reversed()), "node \(node), pages of 50")
        }
        XCTAssertNil(try q.nodeRewardChart(node: NodeID(unchecked: "nonesuch"), through: 2_000, maxRanges: 120))
    }

    /// snapshot --epoch N and --position P equal the in-memory replay to the same point.
    func testSnapshotsEqualReplay() throws {
        let events = try Self.history(epochs: 300)
        try append(events)
        try project(checkpointEvery: 7)
        let q = try LedgerQueries(connection: database.connect(), sql: sql)
        for epoch: Int64 in [1, 150, 300] {
            XCTAssertEqual(try q.snapshot(at: .epoch(epoch)).json(), Self.replay(events, throughEpoch: epoch).snapshot().json())
        }
        let middle = events.count / 2
        XCTAssertEqual(try q.snapshot(at: .position(Int64(middle))).json(), Self.replay(Array(events.prefix(middle))).snapshot().json())
        XCTAssertEqual(try q.snapshot(at: .latest).json(), Self.replay(events).snapshot().json())
        XCTAssertThrowsError(try q.snapshot(at: .epoch(301)))
    }

    /// Checkpoints are heads without the locked vesting entries: recomputing an epoch whose close
    /// releases entries fetches them from the vesting tables, checked against the head's totals.
    /// Every late epoch recomputes exactly; tampered vesting rows are caught, not used.
    func testEpochsRecomputeFromCheckpointHeadsAndTamperedVestingIsCaught() throws {
        let events = try Self.history(epochs: 2_040, seed: 9)
        try append(events)
        try project(checkpointEvery: 6)
        let q = try LedgerQueries(connection: database.connect(), sql: sql)
        for epoch: Int64 in 2_014...2_030 {
            let v = try q.verify(epoch: epoch)
            XCTAssertTrue(v.matches, "verify \(epoch): \(String(describing: v.firstDifference))")
        }
        XCTAssertEqual(try q.snapshot(at: .epoch(2_027)).json(), Self.replay(events, throughEpoch: 2_027).snapshot().json())
        let c = try database.connect()
        let changed = try c.query("UPDATE projection.vesting_entries SET amount = amount + 1 WHERE mature_epoch = 2028")
        XCTAssertGreaterThan(changed.affectedRows, 0)
        XCTAssertThrowsError(try q.verify(epoch: 2_028)) { error in
            XCTAssertTrue("\(error)".contains("vesting tables disagree"), "\(error)")
        }
        XCTAssertTrue(try q.verify(epoch: 2_027).matches, "epochs that do not read the tampered rows still verify")
    }

    /// verify --epoch passes, and names the field of a tampered settlement row.
    func testVerifyDetectsTamperedSettlement() throws {
        try append(try Self.history(epochs: 200))
        try project()
        let q = try LedgerQueries(connection: database.connect(), sql: sql)
        XCTAssertTrue(try q.verify(epoch: 150).matches)
        let c = try database.connect()
        try c.execute("UPDATE projection.settlements SET mining_reward = mining_reward + 1 WHERE epoch = 150")
        let v = try q.verify(epoch: 150)
        XCTAssertEqual(v.firstDifference?.field, "miningReward")
        XCTAssertTrue(try q.verify(epoch: 149).matches)
    }

    /// Following the log in many small steps gives exactly the tables of one catch-up.
    func testLiveProjectionEqualsFromScratchBuild() throws {
        let events = try Self.history(epochs: 400)
        let live = try worker(batchSize: 97)
        try live.lock(wait: false)
        try live.createIfMissing(rules: .paperV1, checkpointEvery: 100)
        var offset = 0
        var rng = SystemRandomNumberGenerator()
        while offset < events.count {
            let n = Int.random(in: 1...700, using: &rng)
            try append(events[offset..<min(events.count, offset + n)])
            offset += n
            try live.catchUp()
        }
        try live.ensureIndexed()
        try project("scratch", batchSize: 50_000)
        XCTAssertEqual(try fingerprint("projection"), try fingerprint("scratch"))
    }

    /// A second worker on the same schema is refused with a clear message while the first holds it.
    func testTwoWorkersDoNotShareASchema() throws {
        try append(try Self.history(epochs: 20))
        let first = try project()
        let second = try worker()
        XCTAssertThrowsError(try second.lock(wait: false)) { error in
            XCTAssertTrue("\(error)".contains("another projection worker holds the lock of schema projection"), "\(error)")
        }
        try first.unlock()
        XCTAssertNoThrow(try second.lock(wait: false))
    }
}
