import EventStore
import Foundation
import LedgerEvents
import PostgresClient
import StratosEconomics
import Synchronization

/// The names of the projection schemas: the serving one, a rebuild's, and the one a switch replaced.
public struct ProjectionSchemas: Sendable, Hashable {
    public let serving: String
    public init(serving: String = "projection") { self.serving = serving }
    public var next: String { serving + "_next" }
    public var previous: String { serving + "_previous" }
    /// The `n`th build set aside by a switch (kept until dropped explicitly).
    public func kept(_ n: Int) -> String { serving + "_kept_\(n)" }
}

/// Where a projection schema stands, as its state row's `status` records it.
public enum BuildStatus: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// `_next`: a rebuild is writing it; nothing serves from it.
    case building
    /// The schema the service reads and the live worker extends.
    case serving
    /// `_previous` or a `_kept_<n>`: served before, kept for switch-back and diffs.
    case previous

    public var description: String { rawValue }

    /// The status a state row stores; anything else is a corrupt (or foreign) schema.
    static func decode(_ text: String, schema: String? = nil) throws(ProjectionError) -> BuildStatus {
        guard let s = BuildStatus(rawValue: text) else {
            throw .corrupt(
                "the state row\(schema.map { " of \($0)" } ?? "") has status '\(text)', none of "
                    + allCases.map(\.rawValue).joined(separator: ", "))
        }
        return s
    }
}

/// The state row of a projection schema.
public struct ProjectionStatus: Sendable, Hashable {
    public var buildID: String
    public var rules: String
    public var status: BuildStatus
    public var lastPosition: Int64
    public var lastEpoch: Int64
    public var applied: Int64
    public var refused: Int64
    public var checkpointEvery: Int64
    public var indexed: Bool
    /// The `ProjectionSQL.layout` the schema was built with.
    public var layout: Int64
    /// Whether the server's text hash (`hashtextextended`, the vesting keys' function) gives
    /// what it gave when the schema was built.
    public var textHashUnchanged: Bool
    /// The rule set's canonical JSON and SHA-256 (nil in schemas built before they were recorded).
    public var rulesJSON: String?
    public var rulesSha256: String?

    static func decode(_ r: PostgresResult) throws -> ProjectionStatus? {
        guard r.rowCount > 0 else { return nil }
        return ProjectionStatus(
            buildID: try r.string(0, 0), rules: try r.string(0, 1), status: try BuildStatus.decode(r.string(0, 2)),
            lastPosition: try r.int64(0, 3), lastEpoch: try r.int64(0, 4), applied: try r.int64(0, 5),
            refused: try r.int64(0, 6), checkpointEvery: try r.int64(0, 7), indexed: try r.bool(0, 8),
            layout: try r.int64(0, 9), textHashUnchanged: try r.bool(0, 10),
            rulesJSON: r.optionalString(0, 11), rulesSha256: r.optionalString(0, 12))
    }

    /// The rule set the schema was built with: from its stored canonical JSON (checked against
    /// its SHA-256), or, in a schema built before that was recorded, the built-in set of its name.
    public func ruleSet() throws(ProjectionError) -> RuleSet {
        guard let rulesJSON else {
            guard let r = RuleSet.named(rules) else { throw .unknownRules(rules) }
            return r
        }
        let r: RuleSet
        do { r = try RuleSet.stored(canonicalJSON: rulesJSON, sha256: rulesSha256) } catch {
            throw .corrupt("the rule set of the build (\(rules)): \(error)")
        }
        guard r.name == rules else { throw .corrupt("the build names rule set \(rules), its stored rule set is \(r.name)") }
        return r
    }

    /// Whether `rules` is the rule set this schema was built with (by canonical JSON; by name
    /// for a schema built before it was stored).
    public func isBuilt(with rules: RuleSet) -> Bool {
        rulesSha256.map { $0 == rules.sha256 } ?? (self.rules == rules.name && rules.isBuiltIn)
    }

    /// Throws `.outdatedLayout` unless the schema has the layout this build reads and keys this
    /// server can still search.
    public func requireCurrentLayout(schema: String) throws(ProjectionError) {
        guard layout == ProjectionSQL.layout else {
            throw .outdatedLayout(schema: schema, rules: rules, found: layout, expected: ProjectionSQL.layout)
        }
        guard textHashUnchanged else { throw .textHashChanged(schema: schema, rules: rules) }
    }
}

/// Progress of a catch-up, for the stderr progress line and the benchmark.
public struct ProjectionProgress: Sendable {
    public var schema: String
    public var position: Int64
    public var head: Int64
    public var eventsThisRun: Int64
    public var seconds: Double
    public var eventsPerSecond: Double { seconds > 0 ? Double(eventsThisRun) / seconds : 0 }
}

/// Builds one projection schema from the event log and keeps it up to date.
///
/// * Reads the log in position order, in batches; applies each event to one `Economy`; writes
///   every row of the batch with COPY and advances the checkpoint (`projection_state`) **in the
///   same transaction**, guarded by (build id, expected position, expected status). A kill -9 at
///   any instant loses at most the open transaction; on restart the worker loads the latest
///   economy checkpoint at or before its position and replays (without writing) up to it, so the
///   tables end up exactly as an uninterrupted run leaves them.
/// * Holds a session advisory lock per schema name: two workers never write one schema.
/// * `follow` LISTENs on the store's channel and catches up on every notification (and at least
///   every `pollInterval`, in case a notification was missed).
public final class ProjectionWorker {
    /// Writes the rows and the checkpoint, holds the schema's advisory lock and LISTENs.
    /// Replaced by `reconnect()`.
    public private(set) var connection: PostgresConnection
    /// Reads the log during a catch-up while `connection` writes (opened on first use).
    private var logConnection: PostgresConnection?
    /// Gives a partial economy its locked vesting entries (opened on first use, `vestingSession`).
    private var vestingConnection: PostgresConnection?
    /// Reads them ahead on that session, for the model loaded last (nil: a complete economy).
    private var vestingFeed: VestingFeed?
    private let url: String
    /// Every session of the worker (`stratos-ledger/worker`, `…/worker-log`, `…/worker-keys`).
    public let settings: SessionSettings
    /// The connections a cancel request goes to (`cancelRunningStatements`, any thread).
    private let cancelTargets = Mutex<[UncheckedConnection]>([])
    public let schema: String
    let sql: ProjectionSQL
    let reader: LogReader
    /// `serving` for the live worker, `building` for a rebuild.
    let expectedStatus: BuildStatus
    public var batchSize: Int
    public var progress: ((ProjectionProgress) -> Void)?
    public var progressInterval: Duration = .seconds(2)

    private(set) var state: ProjectionStatus?
    private var model: ProjectionModel?
    private var locked = false

    /// The store's notification channel (every committed append notifies it).
    public static let notificationChannel = EventStore.notificationChannel

    public init(
        url: String, schema: String, expectedStatus: BuildStatus = .serving, sql: ProjectionSQL? = nil,
        batchSize: Int = 20_000, settings: SessionSettings = ProjectionWorker.defaultSettings
    ) throws {
        self.settings = settings
        self.connection = try PostgresConnection(url: url, settings: settings.named("worker"))
        self.url = url
        self.schema = schema
        self.sql = try sql ?? ProjectionSQL.load()
        self.reader = LogReader(sql: self.sql)
        self.expectedStatus = expectedStatus
        self.batchSize = batchSize
        try connection.query(self.sql("search_path.set"), binding: connection.escapeIdentifier(schema) + ", public")
        cancelTargets.withLock { $0 = [UncheckedConnection(connection)] }
    }

    /// The sessions of a worker: no statement may run longer than 15 minutes (the keys of a
    /// multi-million-event build take a few minutes at most), a lock wait 30 s, a transaction
    /// idle 5 minutes; a backend whose worker died ends within 2 s (its lock with it).
    public static let defaultSettings = SessionSettings(
        statementTimeout: .seconds(900), lockTimeout: .seconds(30), idleInTransactionTimeout: .seconds(300),
        clientConnectionCheckInterval: .seconds(2))

    /// Replaces every connection with a fresh one (after a connection was lost, or to find the
    /// new primary of a multi-host URL after a failover). The schema's lock went with the old
    /// session: take it again with `lock`. The in-memory model is kept when the committed
    /// checkpoint is still exactly where it is (the common case: the connection died while the
    /// worker waited); otherwise it is dropped and the next catch-up reloads it. Returns whether
    /// the model was kept.
    @discardableResult
    public func reconnect() throws -> Bool {
        let fresh = try PostgresConnection(url: url, settings: settings.named("worker"))
        try fresh.query(sql("search_path.set"), binding: fresh.escapeIdentifier(schema) + ", public")
        vestingFeed?.finish()
        vestingFeed = nil
        connection = fresh
        logConnection = nil
        vestingConnection = nil
        locked = false
        cancelTargets.withLock { $0 = [UncheckedConnection(fresh)] }
        guard let m = model, let old = state, let st = try readState(),
            st.buildID == old.buildID, st.lastPosition == m.lastPosition, st.status == old.status
        else {
            model = nil
            state = nil
            return false
        }
        state = st
        return true
    }

    /// Whether the in-memory model is loaded (false after a reload is due).
    public var isLoaded: Bool { model != nil }

    /// Asks the server to cancel the statements the worker's sessions run now. Safe from any
    /// thread: the worker's own thread then fails with 57014 and rolls its transaction back.
    public func cancelRunningStatements() {
        for c in cancelTargets.withLock({ $0 }) { c.connection.cancel() }
    }

    // MARK: Lock

    /// Takes the schema's advisory lock (held until the connection closes). While another
    /// session holds it, tries again every `pollInterval` for up to `timeout` (nil: as long as
    /// it takes; zero: once), then throws `.locked` naming the holder. `shouldStop` ends the
    /// wait early (with `.locked` as well).
    ///
    /// Why wait at all: a worker killed with -9 leaves its backend running until the backend
    /// notices (client_connection_check_interval, 2 s here); a supervisor that restarts the
    /// worker at once must not be refused by its predecessor's ghost.
    public func lock(
        timeout: Duration? = .zero, pollInterval: Duration = .milliseconds(250),
        shouldStop: () -> Bool = { false }, onWait: ((Int32?) -> Void)? = nil
    ) throws {
        if locked { return }
        let deadline = timeout.map { ContinuousClock.now + $0 }
        var reported = false
        while try !connection.query(sql("lock.try"), binding: schema).bool(0, 0) {
            let holder = try? connection.query(sql("lock.holder"), binding: schema)
            let pid = holder.flatMap { $0.rowCount > 0 ? try? $0.int64(0, 0) : nil }.map { Int32($0) }
            if let deadline, ContinuousClock.now >= deadline || shouldStop() {
                throw ProjectionError.locked(schema: schema, holderPID: pid)
            }
            if !reported {
                onWait?(pid)
                reported = true
            }
            Thread.sleep(forTimeInterval: pollInterval.inSeconds)
            if shouldStop() { throw ProjectionError.locked(schema: schema, holderPID: pid) }
        }
        locked = true
    }

    /// `lock(timeout:)` at once (`wait: false`) or for as long as it takes (`wait: true`).
    public func lock(wait: Bool) throws { try lock(timeout: wait ? nil : .zero) }

    public func unlock() throws {
        guard locked else { return }
        try connection.query(sql("lock.release"), binding: schema)
        locked = false
    }

    // MARK: Schema

    /// Creates the schema, its tables and its state row if the schema does not exist.
    /// Returns true when it was created. `fill` runs in the same (REPEATABLE READ) transaction
    /// after them: a rebuild taking over another build's rows (`Rebuilder.start`) copies them
    /// there, so that the schema exists with all of them or not at all.
    @discardableResult
    public func createIfMissing(
        rules: RuleSet, checkpointEvery: Int64, fill: ((PostgresConnection) throws -> Void)? = nil
    ) throws -> Bool {
        if try connection.query(sql("schema.exists"), binding: schema).rowCount > 0 { return false }
        try connection.transaction(isolation: fill == nil ? nil : .repeatableRead) { c in
            try c.execute(try sql.render("schema.create", on: c, ["schema": schema]))
            try c.execute(sql.tables)
            try c.query(
                sql("state.insert"),
                [
                    UUID().uuidString.lowercased(), rules.name, expectedStatus.rawValue, String(checkpointEvery),
                    String(ProjectionSQL.layout), rules.canonicalJSON, rules.sha256,
                ])
            try fill?(c)
        }
        return true
    }

    /// `createIfMissing`, and for a schema that exists, `.rulesMismatch` unless it was built
    /// with `rules` (what `--rules` given for an existing build checks).
    @discardableResult
    public func createIfMissing(requiring rules: RuleSet, checkpointEvery: Int64) throws -> Bool {
        if try createIfMissing(rules: rules, checkpointEvery: checkpointEvery) { return true }
        if let st = try readState(), !st.isBuilt(with: rules) {
            throw ProjectionError.rulesMismatch(
                schema: schema, built: st.rules, builtSha256: st.rulesSha256, given: rules.name,
                givenSha256: rules.sha256)
        }
        return false
    }

    public func readState() throws -> ProjectionStatus? {
        guard try connection.query(sql("schema.exists"), binding: schema).rowCount > 0 else { return nil }
        return try ProjectionStatus.decode(connection.query(sql("state.select")))
    }

    // MARK: Loading

    /// Loads the state row and rebuilds the in-memory model at its position: the latest economy
    /// checkpoint at or before it, then a replay without writing.
    func load() throws {
        guard let st = try readState() else { throw ProjectionError.notBuilt(schema: schema) }
        try st.requireCurrentLayout(schema: schema)
        guard st.status == expectedStatus else {
            throw ProjectionError.configuration("projection schema \(schema) is '\(st.status)', expected '\(expectedStatus)'")
        }
        let rules = try st.ruleSet()
        let loader = EconomyLoader(sql: sql, reader: reader)
        var start = try loader.checkpoint(connection, atOrBeforePosition: st.lastPosition, rules: rules)
        // The previous model's reads ahead end before its session is used again.
        vestingFeed?.finish()
        vestingFeed = nil
        let m: ProjectionModel
        if try suppliesOnDemand(st, headPosition: start.position) {
            // The head stays partial: each event that reads locked entries it lacks (an epoch
            // close, a node leaving) is given them first, as of the head's position. That is
            // exact for the entries not given yet (the economy changes an entry only once it has
            // it, so nothing after the head touched them), and it reads only committed rows
            // even while this worker's own batches are in flight.
            try loader.giveMaturityStarts(&start, connection)
            m = ProjectionModel(
                economy: start.economy, position: start.position, refused: 0, checkpointEvery: st.checkpointEvery)
            let feed = VestingFeed(
                loader: loader, session: try vestingSession(), asOf: start.position, lookahead: vestingLookahead,
                economy: start.economy)
            vestingFeed = feed
            m.supplyVesting = { economy, event in try feed.meet(&economy, for: event) }
        } else {
            // Every locked entry in memory at once, in one pass over the tables.
            try loader.complete(&start, connection)
            m = ProjectionModel(
                economy: start.economy, position: start.position, refused: 0, checkpointEvery: st.checkpointEvery)
        }
        var scratch = ProjectionRows()
        try reader.read(connection, from: start.position + 1, through: st.lastPosition) { logged in
            try m.apply(logged, rows: &scratch, record: false)
            return true
        }
        precondition(m.lastPosition == st.lastPosition, "replay stopped at \(m.lastPosition), expected \(st.lastPosition)")
        m.markClean()
        m.refused = st.refused
        state = st
        model = m
    }

    /// Maturity epochs of locked entries read ahead at a time (`VestingFeed`): one query serves
    /// many closes (~100,000 entries late in the bench history: ~10 MiB).
    public static let defaultVestingLookahead: Int64 = 64
    public var vestingLookahead = ProjectionWorker.defaultVestingLookahead

    /// Whether `load` keeps the head partial and supplies locked entries on demand instead of
    /// reading them all first (~3 M rows, ~7 s late in the bench history): when the queries it
    /// will make read keyed rows only — the build's keys are built, or the head is the one a
    /// take-over started from, whose entries are all the base build's (keyed) rows, the
    /// build's own unkeyed ones being excluded by their CHECK constraints.
    private func suppliesOnDemand(_ st: ProjectionStatus, headPosition: Int64) throws -> Bool {
        if st.indexed { return true }
        guard try connection.query(sql("overlay.exists"), binding: schema).rowCount > 0 else { return false }
        let r = try connection.query(try sql.render("overlay.select", on: connection, ["schema": schema]))
        guard r.rowCount > 0 else { return false }
        return try r.int64(0, 1) == headPosition
    }

    /// The session that supplies locked vesting entries (opened on first use): the log is
    /// streamed on another one while the events are applied, and batches commit on a third.
    private func vestingSession() throws -> PostgresConnection {
        if let c = vestingConnection { return c }
        let c = try PostgresConnection(url: url, settings: settings.named("worker-vesting"))
        try c.query(sql("search_path.set"), binding: c.escapeIdentifier(schema) + ", public")
        vestingConnection = c
        cancelTargets.withLock { $0.append(UncheckedConnection(c)) }
        return c
    }

    /// The economy at the worker's position (loads it if needed).
    public func economy() throws -> Economy {
        if model == nil { try load() }
        return model!.economy
    }

    // MARK: Catch-up

    /// Applies every committed event up to the head (or `target`), batch by batch. Returns the
    /// number of events processed. A batch rejected by the guard (schema switched or advanced by
    /// another process) reloads and continues from the new state.
    ///
    /// Batches are pipelined (`BatchWriter`): batch k commits on `connection` while batch k+1
    /// is read from the log on a second connection and applied. Inside a transaction of the
    /// caller's (the rebuild's switch) the batches still commit on `connection`, as savepoints.
    @discardableResult
    public func catchUp(to target: Int64? = nil) throws -> Int64 {
        if model == nil { try load() }
        let head = try target ?? reader.head(connection)
        let started = ContinuousClock.now
        var processed: Int64 = 0
        while model!.lastPosition < head {
            do {
                try pipeline(to: head, started: started, processed: &processed)
            } catch {
                // The model may be ahead of the database: forget it, reload from what is committed.
                model = nil
                state = nil
                if case ProjectionError.buildChanged = error {
                    try load()
                    continue
                }
                throw error
            }
        }
        return processed
    }

    /// Reads, applies and encodes batches up to `head` on this thread and the log connection,
    /// and commits them in order on the writer thread (`connection`). `processed` counts the
    /// events of the batches committed, also when a later one fails.
    private func pipeline(to head: Int64, started: ContinuousClock.Instant, processed: inout Int64) throws {
        let m = model!
        let start = m.lastPosition
        let log = try logConnection ?? PostgresConnection(url: url, settings: settings.named("worker-log"))
        if logConnection !== log {
            logConnection = log
            cancelTargets.withLock { $0.append(UncheckedConnection(log)) }
        }
        var lastReport = ContinuousClock.now
        let unchecked = UncheckedWorker(worker: self)
        let writer = BatchWriter { batch in try unchecked.worker.write(batch) }
        writer.start()
        func report(_ position: Int64) {
            progress?(
                ProjectionProgress(
                    schema: schema, position: position, head: head, eventsThisRun: processed + position - start,
                    seconds: (ContinuousClock.now - started).inSeconds))
        }
        do {
            while m.lastPosition < head {
                var rows = try writer.takeBuffer()
                let before = m.lastPosition
                try reader.read(log, from: before + 1, through: min(head, before + Int64(batchSize))) { logged in
                    try m.apply(logged, rows: &rows, record: true)
                    return true
                }
                m.flushCurrent(into: &rows)
                try writer.submit(
                    ProjectionBatch(
                        rows: rows, fromPosition: before, throughPosition: m.lastPosition,
                        lastEpoch: m.economy.lastClosedEpoch, applied: m.economy.position,
                        refused: m.refused))
                if progress != nil, ContinuousClock.now - lastReport >= progressInterval, let committed = writer.committed {
                    lastReport = ContinuousClock.now
                    report(committed)
                }
            }
            try writer.finish()
        } catch {
            try? writer.finish()
            processed += (writer.committed ?? start) - start
            throw error
        }
        report(m.lastPosition)
        processed += m.lastPosition - start
    }

    /// One batch's transaction: the guard, the rows, the state row. Runs on the writer thread.
    private func write(_ batch: ProjectionBatch) throws {
        guard let st = state else { throw ProjectionError.notBuilt(schema: schema) }
        let rows = batch.rows
        try connection.transaction { c in
            let guardResult = try c.query(
                sql("state.advance"),
                [
                    st.buildID, String(batch.fromPosition), String(batch.throughPosition), String(batch.lastEpoch),
                    String(batch.applied), String(batch.refused), expectedStatus.rawValue,
                ])
            guard guardResult.affectedRows == 1 else { throw ProjectionError.buildChanged(schema: schema) }
            for (statement, buffer) in rows.copies where !buffer.isEmpty {
                try c.copyIn(sql(statement)) { try buffer.send(to: $0) }
            }
            if !rows.balancesStage.isEmpty || !rows.nodesStage.isEmpty {
                try c.execute(sql("stage.create"))
            }
            if !rows.balancesStage.isEmpty {
                try c.copyIn(sql("copy.balances_stage")) { try rows.balancesStage.send(to: $0) }
                try c.execute(sql("balances.merge"))
            }
            if !rows.nodesStage.isEmpty {
                try c.copyIn(sql("copy.nodes_stage")) { try rows.nodesStage.send(to: $0) }
                try c.execute(sql("nodes.merge"))
            }
        }
        state!.lastPosition = batch.throughPosition
        state!.lastEpoch = batch.lastEpoch
        state!.applied = batch.applied
        state!.refused = batch.refused
    }

    /// Adds the keys of the insert-only tables (indexes.sql) once, after the first catch-up: its
    /// sections at the same time, each on a connection of its own, then `keys.finish` and the
    /// `indexed` mark in one transaction. Interrupted, it is simply run again (every section
    /// builds only what is missing).
    public func ensureIndexed() throws {
        if state == nil { try load() }
        guard let st = state, !st.indexed else { return }
        let sections = sql.keySections
        let others = sections.dropFirst().map { section in
            BackgroundTask(name: "stratos-projection-keys") { [url, sql, schema, settings] in
                let c = try PostgresConnection(url: url, settings: settings.named("worker-keys"))
                try c.query(sql("search_path.set"), binding: c.escapeIdentifier(schema) + ", public")
                try c.transaction { c in _ = try c.execute(section) }
            }
        }
        var failure: (any Error)?
        do { try connection.transaction { c in _ = try c.execute(sections[0]) } } catch { failure = error }
        for task in others {
            do { try task.wait() } catch { failure = failure ?? error }
        }
        if let failure { throw failure }
        try connection.transaction { c in
            try c.execute(sql.keysFinish)
            try c.query(sql("state.indexed"), binding: st.buildID)
            try c.query(sql("state.completed"), binding: st.buildID)
        }
        state!.indexed = true
        try connection.execute(sql("maintenance.vacuum_vesting_entries"))
    }

    // MARK: Follow

    /// Catches up, then waits for the store's notifications and catches up again, until
    /// `shouldStop` returns true (checked at least every `pollInterval`). Without a
    /// notification it catches up every `pollInterval` anyway (one was missed, or the head moved
    /// by an import that notifies once). `onCaughtUp` is told the position after every catch-up.
    /// Throws what the connection throws: a supervisor (`ProjectionSupervisor`) reconnects.
    public func follow(
        pollInterval: Duration = .seconds(1), shouldStop: () -> Bool = { false },
        onCaughtUp: (Int64) -> Void = { _ in }
    ) throws {
        try connection.listen(Self.notificationChannel)
        defer { if connection.isOK { try? connection.unlisten(Self.notificationChannel) } }
        while !shouldStop() {
            try catchUp()
            try ensureIndexed()
            onCaughtUp(model?.lastPosition ?? state?.lastPosition ?? 0)
            if shouldStop() { break }
            // Drain every pending notification, then wait for the next one.
            _ = try connection.waitForNotification(timeout: pollInterval)
            while try connection.waitForNotification(timeout: .zero) != nil {}
        }
    }

    /// The log position of the committed checkpoint (nil before the state is read).
    public var committedPosition: Int64? { state?.lastPosition }

    /// Head position minus this schema's checkpoint.
    public func lag() throws -> Int64 {
        let head = try reader.head(connection)
        let st = try readState()
        return head - (st?.lastPosition ?? 0)
    }
}

/// Lets the writer thread call back into the worker. Safe: while a catch-up runs, the worker's
/// `connection` and `state` are used by that thread only; the catch-up thread waits for it
/// (`BatchWriter.finish`) before touching them again.
private struct UncheckedWorker: @unchecked Sendable {
    let worker: ProjectionWorker
}

/// A connection whose only use from another thread is `cancel()` (PQcancel is thread-safe).
private struct UncheckedConnection: @unchecked Sendable {
    let connection: PostgresConnection
    init(_ connection: PostgresConnection) { self.connection = connection }
}
