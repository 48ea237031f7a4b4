import Foundation
import LedgerEvents
import PostgresClient
import StratosEconomics

/// What a rebuild under other rules changed, from the serving projection (old) to the rebuilt
/// one (new). Amounts are decimal strings of base units.
public struct RebuildDiff: Sendable {
    public struct AccountChange: Sendable {
        public var account: String
        /// (field, old, new) for every balance field that differs.
        public var fields: [(field: String, old: String, new: String)]
    }
    public struct NodeChange: Sendable {
        public var node: String
        public var fields: [(field: String, old: String, new: String)]
    }
    public struct EpochChange: Sendable {
        public var epoch: Int64
        public var fields: [(field: String, old: String, new: String)]
    }
    public var oldRules: String
    public var newRules: String
    public var accounts: [AccountChange] = []
    public var nodes: [NodeChange] = []
    public var epochs: [EpochChange] = []
    /// (total, old, new) sums over the whole projection.
    public var totals: [(name: String, old: String, new: String)] = []
    /// Events the new rules refused.
    public var exceptions: [ProjectionException] = []

    public var isEmpty: Bool { accounts.isEmpty && nodes.isEmpty && epochs.isEmpty && exceptions.isEmpty }

    /// A human-readable report (the CLI prints it).
    public func text(limit: Int = 50) -> String {
        var out = "rebuild diff: \(oldRules) -> \(newRules)\n"
        func section<T>(_ title: String, _ items: [T], _ line: (T) -> String) {
            out += "\(title): \(items.count) changed\n"
            for item in items.prefix(limit) { out += "  " + line(item) + "\n" }
            if items.count > limit { out += "  … \(items.count - limit) more\n" }
        }
        func fields(_ f: [(field: String, old: String, new: String)]) -> String {
            f.map { "\($0.field) \($0.old) -> \($0.new)" }.joined(separator: ", ")
        }
        section("accounts", accounts) { "\($0.account): \(fields($0.fields))" }
        section("nodes", nodes) { "\($0.node): \(fields($0.fields))" }
        section("epochs", epochs) { "epoch \($0.epoch): \(fields($0.fields))" }
        section("refused events (exceptions)", exceptions) { "position \($0.position) \($0.eventID) (\($0.type)) [\($0.rule)]: \($0.message)" }
        out += "totals (old -> new):\n"
        for t in totals { out += "  \(t.name): \(t.old) -> \(t.new)\(t.old == t.new ? "" : "  (changed)")\n" }
        return out
    }
}

/// One build of the projections (a schema with a state row), as `stratos-ledger builds` lists it.
public struct BuildInfo: Sendable, Hashable, Codable {
    public var name: String
    public var rules: String
    /// Absent in schemas built before it was recorded.
    public var rulesSha256: String?
    /// building, serving or previous.
    public var status: String
    public var position: Int64
    public var serving: Bool
    /// ISO 8601, UTC.
    public var createdAt: String
}

/// The outcome of `Rebuilder.run`.
public struct RebuildReport: Sendable {
    public var rules: String
    public var events: Int64
    public var refused: Int64
    public var resumedFrom: Int64
    public var seconds: Double
    /// Where the time went: catch-up, keys (indexes.sql), checks, diff, switch.
    public var phases: [(name: String, seconds: Double)] = []
    public var diff: RebuildDiff?
    public var switched: Bool
    /// Whether the build replayed from Genesis, took the serving build over through an epoch
    /// (replaying only what changed), or resumed an interrupted build.
    public var start: RebuildStart = .fromGenesis(reason: "not recorded")
}

/// Rebuilds every projection from the whole log into a fresh schema (`<serving>_next`) while the
/// serving one keeps answering, checks the result, and switches the two atomically.
///
/// * Restartable: an interrupted rebuild leaves its `_next` schema with its own checkpoint; a new
///   run with the same rules resumes from it (other rules: it starts over). The serving schema is
///   never touched before the switch.
/// * The switch is one transaction: lock both state rows, rename serving → `_previous` and
///   `_next` → serving, mark their statuses. No build is dropped: an older `_previous` is kept
///   as `<serving>_kept_<n>` (status `previous`). A rebuild under the rules already serving keeps
///   the replaced serving build that way instead, so `_previous` (and `switchBack`) still lead
///   to the build that served under other rules. A live worker's next batch fails
///   its guard and reloads from the new schema, whose rules it then follows.
/// * `switchBack` swaps serving and `_previous` the same way.
public struct Rebuilder {
    public let url: String
    public let schemas: ProjectionSchemas
    public var checkpointEvery: Int64
    public var batchSize: Int
    public var progress: ((ProjectionProgress) -> Void)?
    /// Called as each phase after the catch-up starts (`keys and journal check`, `diff`,
    /// `switch`), so that a long silent phase is announced.
    public var phaseStarted: ((String) -> Void)?
    /// Replay the whole log even when the serving build could be taken over through the epoch
    /// before the rules differ (`rebuild --from-genesis`).
    public var fromGenesis = false
    let sql: ProjectionSQL

    public init(
        url: String, schemas: ProjectionSchemas = ProjectionSchemas(), checkpointEvery: Int64 = ProjectionDefaults.checkpointEvery,
        batchSize: Int = ProjectionDefaults.batchSize, sql: ProjectionSQL? = nil
    ) throws {
        self.url = url
        self.schemas = schemas
        self.checkpointEvery = checkpointEvery
        self.batchSize = batchSize
        self.sql = try sql ?? ProjectionSQL.load()
    }

    /// Builds `_next` under `rules`, checks it, optionally diffs it against the serving schema,
    /// and switches it in (unless `switchOver` is false).
    public func run(rules: RuleSet, diff: Bool, switchOver: Bool = true, waitForLock: Bool = false) throws -> RebuildReport {
        let clock = ContinuousClock()
        let started = clock.now
        let worker = try ProjectionWorker(url: url, schema: schemas.next, expectedStatus: "building", sql: sql, batchSize: batchSize)
        worker.progress = progress
        try worker.lock(wait: waitForLock)
        defer { try? worker.unlock() }
        let c = worker.connection

        if let existing = try worker.readState(),
            !existing.isBuilt(with: rules) || existing.status != "building"
                || existing.layout != ProjectionSQL.layout || !existing.textHashUnchanged
        {
            try c.execute(try sql.render("schema.drop", on: c, ["schema": schemas.next]))
        }
        // A new build takes the serving one over through the epoch before the rules differ
        // when it can (RebuildStart.swift); an existing one (same rules) is resumed.
        let start: RebuildStart
        if let existing = try worker.readState() {
            start = .resumed(position: existing.lastPosition)
        } else {
            phaseStarted?("take-over")
            start = try takeOver(rules: rules, into: worker)
        }
        try worker.createIfMissing(rules: rules, checkpointEvery: checkpointEvery)
        var resumedFrom: Int64 = 0
        if case .resumed(let position) = start { resumedFrom = position }
        var phases: [(name: String, seconds: Double)] = []
        if case .takenOver(_, _, _, _, let seconds) = start { phases.append(("take-over", seconds)) }
        var lap = clock.now
        func phase(_ name: String) {
            let now = clock.now
            phases.append((name, (now - lap).inSeconds))
            lap = now
        }
        let events = try worker.catchUp()
        phase("catch-up")
        phaseStarted?("keys and journal check")
        // The journal check reads nothing but the journal: it runs on a connection of its own
        // while the keys are built (unique index builds let it read; keys.finish, which makes
        // them primary keys, waits for it).
        let journalCheck = BackgroundTask(name: "stratos-projection-check") { [url, sql, schema = schemas.next] in
            let c = try PostgresConnection(url: url)
            try c.query(sql("search_path.set"), [try c.escapeIdentifier(schema) + ", public"])
            try Self.checkJournal(c, sql: sql)
        }
        do { try worker.ensureIndexed() } catch {
            _ = try? journalCheck.wait()
            throw error
        }
        phase("keys")
        do { try worker.economy().checkInvariants() } catch let v as InvariantViolation { throw ProjectionError.invariant(v) }
        try journalCheck.wait()
        phase("checks")

        var report = RebuildReport(
            rules: rules.name, events: events, refused: try worker.readState()?.refused ?? 0,
            resumedFrom: resumedFrom, seconds: 0, diff: nil, switched: false, start: start)
        let servingExists = try c.query(sql("schema.exists"), [schemas.serving]).rowCount > 0
        if diff && servingExists {
            phaseStarted?("diff")
            report.diff = try self.diff(c, old: schemas.serving, new: schemas.next)
            phase("diff")
        }
        if switchOver {
            phaseStarted?("switch")
            try c.transaction { c in
                // Events appended since: bring _next to the head inside the switch (its batches
                // become savepoints of this transaction).
                try worker.catchUp()
                if servingExists {
                    _ = try c.query(try sql.render("state.lock_in", on: c, ["schema": schemas.serving]))
                    _ = try c.query(try sql.render("state.lock_in", on: c, ["schema": schemas.next]))
                    let previousExists = try c.query(sql("schema.exists"), [schemas.previous]).rowCount > 0
                    let serving = try ProjectionStatus.decode(c.query(try sql.render("state.select_in", on: c, ["schema": schemas.serving])))
                    if previousExists, let serving, serving.isBuilt(with: rules) {
                        // A rebuild under the rules already serving replaces the serving build;
                        // the one that served before stays `_previous` (what --switch-back
                        // returns to), and the replaced one is kept beside it, not dropped.
                        try keep(c, schemas.serving)
                    } else {
                        // No build is ever dropped implicitly: an older `_previous` is kept.
                        if previousExists { try keep(c, schemas.previous) }
                        try c.execute(try sql.render("schema.rename", on: c, ["from": schemas.serving, "to": schemas.previous]))
                        try c.query(try sql.render("state.set_status_in", on: c, ["schema": schemas.previous]), ["previous"])
                    }
                }
                try c.execute(try sql.render("schema.rename", on: c, ["from": schemas.next, "to": schemas.serving]))
                try c.query(try sql.render("state.set_status_in", on: c, ["schema": schemas.serving]), ["serving"])
            }
            report.switched = true
            phase("switch")
        }
        report.phases = phases
        report.seconds = (clock.now - started).inSeconds
        return report
    }

    /// Renames `schema` to the first free `<serving>_kept_<n>` (status `previous`: the state
    /// row's check allows no other word for a built schema out of service): a build set aside
    /// by a switch stays in the database until it is dropped explicitly.
    @discardableResult
    func keep(_ c: PostgresConnection, _ schema: String) throws -> String {
        var n = 1
        while try c.query(sql("schema.exists"), [schemas.kept(n)]).rowCount > 0 { n += 1 }
        try c.execute(try sql.render("schema.rename", on: c, ["from": schema, "to": schemas.kept(n)]))
        try c.query(try sql.render("state.set_status_in", on: c, ["schema": schemas.kept(n)]), ["previous"])
        return schemas.kept(n)
    }

    /// The builds of this serving schema side by side (see `builds.schemas`), by schema name.
    public func builds() throws -> [BuildInfo] {
        let c = try PostgresConnection(url: url)
        let names = try c.query(sql("builds.schemas"), [schemas.serving])
        var out: [BuildInfo] = []
        for i in 0..<names.rowCount {
            let name = try names.string(i, 0)
            let r = try c.query(try sql.render("builds.state_in", on: c, ["schema": name]))
            guard r.rowCount > 0 else { continue }
            out.append(
                BuildInfo(
                    name: name, rules: try r.string(0, 0), rulesSha256: r.optionalString(0, 1), status: try r.string(0, 2),
                    position: try r.int64(0, 3), serving: name == schemas.serving, createdAt: try r.string(0, 4)))
        }
        return out
    }

    /// Makes the build `name` serving, atomically: the serving one becomes `_previous` and an
    /// older `_previous` is kept as `_kept_<n>` (`_previous` itself: the same as `switchBack`).
    /// Refuses `_next` (not yet checked: `rebuild` switches it in).
    public func switchTo(build name: String) throws {
        guard name != schemas.serving else { throw ProjectionError.configuration("\(name) is already serving") }
        guard name != schemas.next else {
            throw ProjectionError.configuration("\(name) is an unfinished rebuild: run rebuild to check and switch it in")
        }
        guard try builds().contains(where: { $0.name == name }) else {
            throw ProjectionError.configuration("there is no build \(name) (see `stratos-ledger builds`)")
        }
        if name == schemas.previous { return try switchBack() }
        let c = try PostgresConnection(url: url)
        try c.transaction { c in
            _ = try c.query(try sql.render("state.lock_in", on: c, ["schema": schemas.serving]))
            _ = try c.query(try sql.render("state.lock_in", on: c, ["schema": name]))
            if try c.query(sql("schema.exists"), [schemas.previous]).rowCount > 0 { try keep(c, schemas.previous) }
            try c.execute(try sql.render("schema.rename", on: c, ["from": schemas.serving, "to": schemas.previous]))
            try c.query(try sql.render("state.set_status_in", on: c, ["schema": schemas.previous]), ["previous"])
            try c.execute(try sql.render("schema.rename", on: c, ["from": name, "to": schemas.serving]))
            try c.query(try sql.render("state.set_status_in", on: c, ["schema": schemas.serving]), ["serving"])
        }
    }

    /// Drops the build `name` (one `builds()` lists); refuses the serving one.
    public func drop(build name: String) throws {
        guard name != schemas.serving else {
            throw ProjectionError.configuration("\(name) is the serving build: switch to another one before dropping it")
        }
        guard try builds().contains(where: { $0.name == name }) else {
            throw ProjectionError.configuration("there is no build \(name) (see `stratos-ledger builds`)")
        }
        let c = try PostgresConnection(url: url)
        try c.execute(try sql.render("schema.drop", on: c, ["schema": name]))
    }

    /// Makes `_previous` serving again and the current serving one `_previous`, atomically.
    public func switchBack() throws {
        let c = try PostgresConnection(url: url)
        let temporary = schemas.serving + "_switching"
        guard try c.query(sql("schema.exists"), [schemas.previous]).rowCount > 0 else {
            throw ProjectionError.configuration("there is no \(schemas.previous) schema to switch back to")
        }
        try c.transaction { c in
            _ = try c.query(try sql.render("state.lock_in", on: c, ["schema": schemas.serving]))
            _ = try c.query(try sql.render("state.lock_in", on: c, ["schema": schemas.previous]))
            try c.execute(try sql.render("schema.rename", on: c, ["from": schemas.serving, "to": temporary]))
            try c.execute(try sql.render("schema.rename", on: c, ["from": schemas.previous, "to": schemas.serving]))
            try c.execute(try sql.render("schema.rename", on: c, ["from": temporary, "to": schemas.previous]))
            try c.query(try sql.render("state.set_status_in", on: c, ["schema": schemas.serving]), ["serving"])
            try c.query(try sql.render("state.set_status_in", on: c, ["schema": schemas.previous]), ["previous"])
        }
    }

    /// Reads the stored journal back (`check.journal_rows`, one binary COPY) and checks every
    /// transfer line of it (`JournalText.forEachLine`): a line moves one commodity, so its
    /// transaction balances per commodity. Returns the transactions and transfers checked.
    ///
    /// Why read back rather than trust the writer (which asserts the same of every `Transfer`
    /// before encoding it): this checks the bytes PostgreSQL stored, with the decoder the export
    /// uses, so what an accounting tool receives is what was checked. Why in Swift rather than
    /// SQL: splitting the bench history's millions of lines in SQL took about three times the
    /// server's CPU of this, while the keys were being built on the same two cores.
    @discardableResult
    public static func checkJournal(_ c: PostgresConnection, sql: ProjectionSQL) throws -> (transactions: Int64, transfers: Int64) {
        var reader = BinaryCopyReader(fieldCount: 2)
        var transfers: Int64 = 0
        let transactions = try c.copyOut(sql("check.journal_rows")) { chunk in
            try reader.rows(in: chunk) { fields in
                guard let p = fields[0], p.count == 8, let text = fields[1] else {
                    throw ProjectionError.corrupt("journal row with a NULL or malformed field")
                }
                let position = Int64(bigEndian: p.loadUnaligned(as: Int64.self))
                do throws(ProjectionError) {
                    try JournalText.forEachLine(text, position: position) { _ in transfers += 1 }
                } catch .corrupt(let what) {
                    throw ProjectionError.journal(what)
                }
            }
        }
        guard reader.finished else { throw ProjectionError.corrupt("binary COPY stream of the journal has no trailer") }
        return (transactions, transfers)
    }

    /// Compares two projection schemas: per account, node and epoch, totals, and the new exceptions.
    public func diff(_ c: PostgresConnection, old: String, new: String) throws -> RebuildDiff {
        let ids = ["old": old, "new": new]
        let oldRules = try ProjectionStatus.decode(c.query(try sql.render("state.select_in", on: c, ["schema": old])))?.rules ?? "?"
        let newRules = try ProjectionStatus.decode(c.query(try sql.render("state.select_in", on: c, ["schema": new])))?.rules ?? "?"
        var d = RebuildDiff(oldRules: oldRules, newRules: newRules)
        func pairs(_ r: PostgresResult, _ i: Int, _ names: [String]) throws -> [(field: String, old: String, new: String)] {
            var out: [(field: String, old: String, new: String)] = []
            for (k, name) in names.enumerated() {
                let a = try r.string(i, 1 + 2 * k)
                let b = try r.string(i, 2 + 2 * k)
                if a != b { out.append((name, a, b)) }
            }
            return out
        }
        let a = try c.query(try sql.render("diff.accounts", on: c, ids))
        for i in 0..<a.rowCount {
            d.accounts.append(
                .init(
                    account: try a.string(i, 0),
                    fields: try pairs(a, i, ["wallet", "ozone", "escrow", "bonded", "unbonding", "vesting"])))
        }
        let n = try c.query(try sql.render("diff.nodes", on: c, ids))
        for i in 0..<n.rowCount {
            d.nodes.append(.init(node: try n.string(i, 0), fields: try pairs(n, i, ["rewards", "deposit", "status"])))
        }
        let e = try c.query(try sql.render("diff.epochs", on: c, ids))
        for i in 0..<e.rowCount {
            d.epochs.append(
                .init(
                    epoch: try e.int64(i, 0),
                    fields: try pairs(e, i, ["Y", "trafficReward", "miningReward", "s", "p", "l"])))
        }
        let t = try c.query(try sql.render("diff.totals", on: c, ids))
        for i in 0..<t.rowCount { d.totals.append((try t.string(i, 0), try t.string(i, 1), try t.string(i, 2))) }
        d.exceptions = try decodeExceptions(c.query(try sql.render("diff.exceptions", on: c, ids)))
        return d
    }
}

/// Defaults shared by the worker, the rebuild and the CLI (see docs/PROJECTIONS.md).
public enum ProjectionDefaults {
    /// Events per write transaction.
    public static let batchSize = 20_000
    /// An economy checkpoint head at every epoch close whose number is a multiple of this (heads
    /// are tens of KiB; a single-epoch recomputation replays at most this many epochs).
    public static let checkpointEvery: Int64 = 1
}

extension ProjectionSQL {
    /// Row count and MD5 of every projection table of `schema` (state row excluded: it holds
    /// build ids and times). Two schemas with equal fingerprints hold the same rows.
    public func fingerprint(_ c: PostgresConnection, schema: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for table in Self.tableNames {
            let r = try c.query(try render("check.fingerprint", on: c, ["schema": schema, "table": table]))
            out[table] = "\(try r.string(0, 0)) rows, md5 \(try r.string(0, 1))"
        }
        return out
    }
}

/// Work on a thread of its own (with a connection of its own), waited for later: a check that
/// reads while keys are built, a section of keys built beside the others. `wait` returns when
/// it is done and rethrows its error.
final class BackgroundTask: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var failure: (any Error)?

    init(name: String, _ body: @escaping @Sendable () throws -> Void) {
        let thread = Thread { [self] in
            do { try body() } catch { failure = error }
            done.signal()
        }
        thread.name = name
        thread.start()
    }

    func wait() throws {
        done.wait()
        if let failure { throw failure }
    }
}
