import Foundation
import LedgerEvents
import PostgresClient
import StratosEconomics

/// The outcome of `Rebuilder.run`.
public struct RebuildReport: Sendable {
    public var rules: String
    /// The build's name (`--as`, or made from the rules: `BuildCatalog`).
    public var name: String = ""
    public var events: Int64
    public var refused: Int64
    public var resumedFrom: Int64
    public var seconds: Double
    /// Where the time went: catch-up, keys (indexes.sql), checks, diff, switch.
    public var phases: [(name: String, seconds: Double)] = []
    public var diff: BuildDiff?
    public var switched: Bool
    /// Whether the build replayed from Genesis, took the serving build over through an epoch
    /// (replaying only what changed), or resumed an interrupted build.
    public var start: RebuildStart = .fromGenesis(reason: "not recorded")
}

/// Rebuilds every projection from the whole log into a fresh schema (`<serving>_next`) while the
/// serving one keeps answering, checks the result, and switches the two atomically.
///
/// * Restartable: an interrupted rebuild leaves its `_next` schema with its own checkpoint; a new
///   run with the same rules resumes from it (other rules: it starts over; a finished `--no-switch`
///   build is kept as `_kept_<n>` first). The serving schema is
///   never touched before the switch.
/// * The switch is one transaction: lock both state rows, rename serving → `_previous` and
///   `_next` → serving, mark their statuses. No build is dropped: an older `_previous` is kept
///   as `<serving>_kept_<n>` (status `previous`). A rebuild under the rules already serving keeps
///   the replaced serving build that way instead, so `_previous` (and `switchBack`) still lead
///   to the build that served under other rules. A live worker's next batch fails
///   its guard and reloads from the new schema, whose rules it then follows.
/// * `switchBack` serves the build that served before (the switch history: `BuildCatalog`).
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
    /// Maturity epochs the build's worker reads ahead (`ProjectionWorker.vestingLookahead`).
    public var vestingLookahead = ProjectionWorker.defaultVestingLookahead
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
    /// and switches it in (unless `switchOver` is false). `name`: the build's name (`--as`;
    /// validated and refused when taken, before the catch-up), else its default (`BuildCatalog`).
    public func run(
        rules: RuleSet, diff: Bool, switchOver: Bool = true, waitForLock: Bool = false, name: String? = nil
    ) throws -> RebuildReport {
        let clock = ContinuousClock()
        let started = clock.now
        let worker = try ProjectionWorker(url: url, schema: schemas.next, expectedStatus: .building, sql: sql, batchSize: batchSize)
        worker.vestingLookahead = vestingLookahead
        worker.progress = progress
        try worker.lock(wait: waitForLock)
        defer { try? worker.unlock() }
        let c = worker.connection

        if let existing = try worker.readState(),
            !existing.isBuilt(with: rules) || existing.status != .building
                || existing.layout != ProjectionSQL.layout || !existing.textHashUnchanged
        {
            if existing.indexed && existing.status == .building && existing.layout == ProjectionSQL.layout && existing.textHashUnchanged {
                // A finished build under other rules (`--no-switch`) is kept aside, never dropped.
                try keep(c, schemas.next)
            } else {
                try c.execute(try sql.render("schema.drop", on: c, ["schema": schemas.next]))
            }
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
        let buildName = try catalog.name(c, schema: schemas.next, as: name, rules: rules.name)
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
            try c.query(sql("search_path.set"), binding: c.escapeIdentifier(schema) + ", public")
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
            rules: rules.name, name: buildName, events: events, refused: try worker.readState()?.refused ?? 0,
            resumedFrom: resumedFrom, seconds: 0, diff: nil, switched: false, start: start)
        let servingExists = try c.query(sql("schema.exists"), binding: schemas.serving).rowCount > 0
        if diff && servingExists {
            phaseStarted?("diff")
            report.diff = try BuildDiff.compute(c, sql: sql, catalog: catalog, a: schemas.serving, b: schemas.next)
            phase("diff")
        }
        if switchOver {
            phaseStarted?("switch")
            try c.transaction { c in
                // Events appended since: bring _next to the head inside the switch (its batches
                // become savepoints of this transaction).
                try worker.catchUp()
                try switchIn(c, rules: rules)
            }
            report.switched = true
            phase("switch")
        }
        report.phases = phases
        report.seconds = (clock.now - started).inSeconds
        return report
    }

    /// Reads the journal this build stored back (`check.journal_rows`, one binary COPY: the rows
    /// it shares with a build it took over were checked when that one was built) and checks every
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
