import Dispatch
import EventStore
import LedgerEvents
import PostgresClient
import StratosEconomics
import Synchronization

/// What one appended batch got: per event, in request order, its position and whether it was
/// new or an idempotent repeat.
public struct AppendOutcome: Sendable {
    public struct Item: Sendable {
        public var eventID: String
        public var position: Int64
        public var duplicate: Bool
    }
    public var items: [Item]
    public var appended: Int
    public var duplicates: Int
    public var head: Int64

    public var json: JSONValue {
        .object([
            "appended": .integer(appended),
            "duplicates": .integer(duplicates),
            "head": .integer(head),
            "events": .array(
                items.map {
                    .object([
                        "id": .string($0.eventID), "position": .integer($0.position),
                        "status": .string($0.duplicate ? "duplicate" : "appended"),
                    ])
                }),
        ])
    }
}

/// The service's single append path: `LedgerWriter` (rules checked by `Economy`, atomic,
/// idempotent) behind a serial queue, with group commit.
///
/// Why a queue: `LedgerWriter` owns a blocking libpq connection and the in-memory `Economy`
/// that decides every batch, so it must be used by one thread at a time, off the cooperative
/// pool. Why group commit: appends are serialised by the log's head lock anyway, and a small
/// request costs mostly its round trips and its commit (a WAL flush), not its events. When
/// several requests are waiting, the queue takes them (up to `maxGroupEvents` events) and
/// appends them as one batch (`commit`): one lock, one COPY, one commit for the group, each
/// request still answered with its own positions only once that commit is done. A request the
/// rules refuse appends nothing and gets its own problem; the others still commit. If the
/// commit itself fails, every request of the group fails and the writer's state is restored
/// (`LedgerWriter`).
///
/// Faults (docs/OPERATIONS.md):
/// * A connection found dead before COMMIT (PostgreSQL restarted, a failover) costs nothing
///   but a reconnect: the group is appended once more on a fresh connection, which a libpq
///   multi-host URL points at the current primary. The writer keeps its rules state when the
///   new connection's log still holds the event the state ends with (same chained hash).
/// * A connection lost during COMMIT leaves the outcome unknown: the requests get 503 saying
///   so, and their retry is safe — the same ids with the same content are idempotent no-ops if
///   they were committed, appended if they were not.
/// * PostgreSQL unreachable: 503 with `Retry-After`, at once for the backoff interval after a
///   failed connect (no request waits out a connect timeout that the last one just saw fail).
/// * More than `maxQueuedRequests` waiting: 503 with `Retry-After`, at once.
public final class Appender: Sendable {
    private struct Pending {
        let items: [EventToAppend]
        let metadata: AppendMetadata
        let continuation: CheckedContinuation<AppendResult, any Error>
    }

    public struct Limits: Sendable {
        /// Requests waiting for the writer, beyond which appends are refused at once.
        public var maxQueuedRequests: Int
        /// Events one group commit takes at most (a single larger request still goes alone).
        public var maxGroupEvents: Int
        /// Backoff between connection attempts while PostgreSQL is unreachable.
        public var reconnectBackoff: Backoff
        public init(
            maxQueuedRequests: Int = 1024, maxGroupEvents: Int = 10_000,
            reconnectBackoff: Backoff = Backoff(initial: .milliseconds(200), cap: .seconds(2))
        ) {
            self.maxQueuedRequests = maxQueuedRequests
            self.maxGroupEvents = maxGroupEvents
            self.reconnectBackoff = reconnectBackoff
        }
    }

    private struct State {
        var pending: [Pending] = []
        var pendingEvents = 0
        var scheduled = false
        var closed = false
        /// No connection attempt before this instant (the last one failed).
        var unreachableUntil: ContinuousClock.Instant?
        var failedConnects = 0
        var lastConnectError = ""
    }

    private let database: DatabaseConfiguration
    private let rules: RuleSet
    private let metrics: ServiceMetrics?
    private let limits: Limits
    private let log: @Sendable (String) -> Void
    private let onWriterCheckpoint: (@Sendable (WriterCheckpointOutcome) -> Void)?
    private let queue = DispatchQueue(label: "stratos.service.writer")
    private let state = Mutex(State())
    /// Touched only on `queue`.
    private nonisolated(unsafe) var writer: LedgerWriter<Economy>?

    /// `onWriterCheckpoint` is told what became of each writer checkpoint that was due, `log`
    /// of reconnects and of a log that lost events (the service logs both).
    public init(
        database: DatabaseConfiguration, rules: RuleSet, metrics: ServiceMetrics? = nil, limits: Limits = Limits(),
        log: @escaping @Sendable (String) -> Void = { _ in },
        onWriterCheckpoint: (@Sendable (WriterCheckpointOutcome) -> Void)? = nil
    ) {
        self.database = database
        self.rules = rules
        self.metrics = metrics
        self.limits = limits
        self.log = log
        self.onWriterCheckpoint = onWriterCheckpoint
    }

    /// Opens the writer now (restoring its checkpoint and replaying the log after it into the
    /// rules state) instead of on first use. Returns the log position of the rules state and of
    /// the checkpoint it started from (0: the whole log was replayed).
    @discardableResult
    public func prepare() async throws -> (position: Int64, restoredFrom: Int64) {
        try await withCheckedThrowingContinuation { c in
            queue.async {
                do {
                    let w = try self.openWriter()
                    c.resume(returning: (w.position, w.restoredFrom))
                } catch { c.resume(throwing: error) }
            }
        }
    }

    /// Refuses every append from now on (503), for a graceful shutdown: requests already queued
    /// are still appended and answered.
    public func close() { state.withLock { $0.closed = true } }

    /// Appends `batch` atomically. Throws a `Problem` naming the event and the rule.
    public func append(_ batch: EventBatch, metadata: AppendMetadata) async throws(Problem) -> AppendOutcome {
        let result: AppendResult
        do {
            result = try await withCheckedThrowingContinuation { continuation in
                let admitted = state.withLock { s -> Result<Bool, Problem> in
                    if s.closed { return .failure(Problem.unavailable("the service is shutting down; nothing was appended", retryAfterSeconds: 1)) }
                    if let until = s.unreachableUntil, ContinuousClock.now < until, !s.scheduled {
                        return .failure(
                            Problem.unavailable(
                                "the event log cannot be reached: \(s.lastConnectError); nothing was appended",
                                retryAfterSeconds: Self.seconds(until - ContinuousClock.now)))
                    }
                    guard s.pending.count < limits.maxQueuedRequests else {
                        return .failure(
                            Problem.unavailable(
                                "\(s.pending.count) append requests are queued already (the limit); nothing was appended",
                                retryAfterSeconds: 1))
                    }
                    s.pending.append(Pending(items: batch.items, metadata: metadata, continuation: continuation))
                    s.pendingEvents += batch.items.count
                    defer { s.scheduled = true }
                    return .success(!s.scheduled)
                }
                switch admitted {
                case .success(let schedule): if schedule { queue.async { self.drain() } }
                case .failure(let problem): continuation.resume(throwing: problem)
                }
            }
        } catch let error as AppendError {
            throw Self.problem(error, batch: batch)
        } catch let error as Problem {
            throw error
        } catch {
            throw Problem.unavailable("the event log cannot be reached: \(error)", retryAfterSeconds: 1)
        }
        var positions: [String: (Int64, Bool)] = [:]
        for a in result.appended { positions[a.eventID.rawValue] = (a.position, false) }
        for d in result.duplicates { positions[d.eventID.rawValue] = (d.position, true) }
        let items = batch.items.map { item -> AppendOutcome.Item in
            let id = item.event.id.rawValue
            let (position, duplicate) = positions[id] ?? (0, true)
            return AppendOutcome.Item(eventID: id, position: position, duplicate: duplicate)
        }
        return AppendOutcome(
            items: items, appended: result.appended.count, duplicates: result.duplicates.count,
            head: result.head.position)
    }

    static func seconds(_ d: Duration) -> Int { max(1, Int((d.inSeconds).rounded(.up))) }

    /// The writer, connected. A writer whose connection broke continues on a fresh one (its
    /// rules state kept when the log there still ends where it did); runs on `queue`.
    private func openWriter(fresh: Bool = false) throws -> LedgerWriter<Economy> {
        if let writer, writer.store.connection.isOK, !fresh { return writer }
        do {
            let connection = try database.connect(as: "appender")
            let store = EventStore(connection: connection)
            if let old = writer {
                if try old.reconnect(to: store) {
                    connected()
                    log("appender: reconnected to PostgreSQL; the rules state continues at log position \(old.position)")
                    return old
                }
                log(
                    "appender: the log on the new connection does not hold the event at position \(old.position) "
                        + "with the hash this writer saw committed; starting a new writer from that log "
                        + "(if this followed a failover, the promoted standby lacks acknowledged events: see docs/OPERATIONS.md)")
                writer = nil
            }
            // The first replay reads the whole log after the latest checkpoint: longer than any
            // statement the service otherwise runs, so it runs without the statement timeout.
            let w = try connection.withSessionParameter("statement_timeout", "0") {
                try LedgerWriter(store: store, rules: Economy(rules: rules), onCheckpoint: onWriterCheckpoint)
            }
            writer = w
            connected()
            return w
        } catch {
            let message = (error as? PostgresError)?.message ?? (error as? AppendError)?.description ?? "\(error)"
            let first = state.withLock { s -> Bool in
                s.unreachableUntil = ContinuousClock.now + limits.reconnectBackoff.delay(attempt: s.failedConnects)
                s.failedConnects += 1
                s.lastConnectError = message
                return s.failedConnects == 1
            }
            if first { log("appender: PostgreSQL cannot be reached (\(message)); appends get 503 with Retry-After until it answers") }
            throw error
        }
    }

    private func connected() {
        state.withLock { s in
            s.unreachableUntil = nil
            s.failedConnects = 0
        }
    }

    /// Runs on `queue`: appends the pending batches (up to `maxGroupEvents` events), one commit
    /// for all; schedules itself again while more are pending.
    private func drain() {
        let group = state.withLock { s -> [Pending] in
            var taken = 0
            var events = 0
            while taken < s.pending.count, taken == 0 || events + s.pending[taken].items.count <= limits.maxGroupEvents {
                events += s.pending[taken].items.count
                taken += 1
            }
            let g = Array(s.pending.prefix(taken))
            s.pending.removeFirst(taken)
            s.pendingEvents -= events
            s.scheduled = !s.pending.isEmpty
            return g
        }
        defer { if state.withLock({ $0.scheduled }) { queue.async { self.drain() } } }
        guard !group.isEmpty else { return }
        let batches = group.map { ($0.items, $0.metadata) }
        var results: [Result<AppendResult, AppendError>]
        do {
            results = Self.commit(batches, on: try openWriter())
            // A connection found dead before COMMIT: nothing was written; once more on a fresh one.
            if Self.lostBeforeCommit(results) {
                results = Self.commit(batches, on: try openWriter(fresh: true))
            }
        } catch {
            let failure: any Error = (error as? PostgresError).map { AppendError.database($0) } ?? error
            for p in group { p.continuation.resume(throwing: failure) }
            return
        }
        // A commit is counted when the group's transaction committed new events: not for a
        // group whose requests were all refused (rolled back) or all duplicates (nothing written).
        if results.contains(where: { if case .success(let r) = $0 { !r.appended.isEmpty } else { false } }) {
            metrics?.recordAppendCommit()
        }
        for (p, r) in zip(group, results) {
            p.continuation.resume(with: r.mapError { $0 as any Error })
        }
    }

    /// Whether the group failed on a connection lost before COMMIT (then nothing is written and
    /// the whole group may be appended again).
    static func lostBeforeCommit(_ results: [Result<AppendResult, AppendError>]) -> Bool {
        guard case .failure(.database(let e))? = results.first else { return false }
        if case .commitOutcomeUnknown = e { return false }
        return e.isConnectionLoss
    }

    /// Appends independent batches, each atomic on its own, in order, with one commit for all;
    /// one result per batch, as if each had been appended alone in that order.
    ///
    /// Fast path: the batches (when they share their metadata) are concatenated into ONE
    /// `LedgerWriter.append` — one head lock, one COPY, one head update, one commit, and the same
    /// rules check as any batch — and the result is split back per batch. That is exact when it
    /// succeeds: events are checked and positioned in the same order either way, and an id that
    /// two batches both carry (same content) is appended by the first and a duplicate for the
    /// second, as it would be one after the other. When the combined append is refused, some
    /// batch would be refused alone: the group is appended again one savepoint per batch in one
    /// transaction, which refuses exactly those batches (they append nothing) and commits the
    /// others. A lost connection fails every batch of the group.
    static func commit(
        _ batches: [(items: [EventToAppend], metadata: AppendMetadata)],
        on w: LedgerWriter<Economy>
    ) -> [Result<AppendResult, AppendError>] {
        if batches.count == 1 {
            return [Result { () throws(AppendError) in try w.append(batches[0].items, metadata: batches[0].metadata) }]
        }
        if let metadata = batches.first?.metadata, batches.allSatisfy({ $0.metadata == metadata }) {
            do throws(AppendError) {
                let combined = try w.append(batches.flatMap(\.items), metadata: metadata)
                return split(combined, into: batches.map(\.items)).map { .success($0) }
            } catch {
                switch error {
                case .database, .corruptLog: return batches.map { _ in .failure(error) }
                case .ruleViolation, .idConflict, .timeWentBackwards, .positionConflict, .streamVersionConflict: break
                }
            }
        }
        var results: [Result<AppendResult, AppendError>] = []
        results.reserveCapacity(batches.count)
        do {
            try w.transaction { w in
                for b in batches {
                    do throws(AppendError) { results.append(.success(try w.append(b.items, metadata: b.metadata))) } catch {
                        // A lost connection fails the whole group; a refusal only its batch.
                        if case .database = error { throw error }
                        results.append(.failure(error))
                    }
                }
            }
        } catch {
            let failure = (error as? AppendError) ?? (error as? PostgresError).map { .database($0) } ?? .database(.protocol("\(error)"))
            return batches.map { _ in .failure(failure) }
        }
        return results
    }

    /// Splits the result of a combined append into what each batch would have got alone, in
    /// order: an event in the log before the group, or appended by an earlier batch of the group,
    /// is a duplicate (every occurrence, as the store reports it); a new one is appended by the
    /// first batch that carries it (once, however often that batch repeats it).
    static func split(_ combined: AppendResult, into batches: [[EventToAppend]]) -> [AppendResult] {
        var appendedAt: [String: Int64] = [:]
        for a in combined.appended { appendedAt[a.eventID.rawValue] = a.position }
        var loggedAt: [String: Int64] = [:]
        for d in combined.duplicates { loggedAt[d.eventID.rawValue] = d.position }
        var claimed = Set<String>()
        return batches.map { items in
            var result = combined
            result.appended = []
            result.duplicates = []
            var claimedHere = Set<String>()
            for item in items {
                let id = item.event.id.rawValue
                if claimedHere.contains(id) { continue }
                if let position = appendedAt[id], !claimed.contains(id) {
                    claimed.insert(id)
                    claimedHere.insert(id)
                    result.appended.append((item.event.id, position))
                } else if let position = loggedAt[id] ?? appendedAt[id] {
                    result.duplicates.append((item.event.id, position))
                } else {
                    preconditionFailure("event \(id) of a committed group is neither appended nor a duplicate")
                }
            }
            return result
        }
    }

    /// The problem+json for a refused append.
    static func problem(_ error: AppendError, batch: EventBatch) -> Problem {
        var ext: [String: JSONValue] = [:]
        if let id = error.eventID {
            ext["eventId"] = .string(id)
            if let (key, value) = batch.origin(of: id) { ext[key] = .integer(value) }
        }
        switch error {
        case .ruleViolation(let v):
            ext["rule"] = .string(v.rule)
            return Problem(
                "rule-violation", status: 422, title: "Event refused by the rules",
                detail: "\(v); nothing was appended", extensions: ext)
        case .timeWentBackwards:
            ext["rule"] = .string("time-backwards")
            return Problem(
                "rule-violation", status: 422, title: "Event refused by the rules",
                detail: "\(error); nothing was appended", extensions: ext)
        case .idConflict:
            ext["rule"] = .string("id-conflict")
            return Problem(
                "id-conflict", status: 409, title: "Event id already used with other content",
                detail: "\(error); nothing was appended", extensions: ext)
        case .positionConflict, .streamVersionConflict:
            ext["rule"] = .string("concurrency-conflict")
            return Problem(
                "conflict", status: 409, title: "Append conflict", detail: "\(error); nothing was appended",
                extensions: ext)
        case .database(.commitOutcomeUnknown(let m)):
            return Problem(
                "commit-outcome-unknown", status: 503, title: "Append outcome unknown",
                detail: "the connection to PostgreSQL was lost during COMMIT (\(m)): the events may or may not "
                    + "be in the log. Retrying the same request is safe: an event already appended is "
                    + "answered as a duplicate at its position",
                extensions: ext, retryAfterSeconds: 1)
        case .database(let e) where e.isLockNotAvailable:
            return Problem.unavailable(
                "the log's head lock was not granted within the lock timeout (another writer, "
                    + "e.g. an import, holds it); nothing was appended", retryAfterSeconds: 1)
        case .database(let e):
            return Problem.unavailable("the event log cannot be reached: \(e.message); nothing was appended", retryAfterSeconds: 1)
        case .corruptLog:
            return Problem(
                "corrupt-log", status: 500, title: "The event log cannot be replayed",
                detail: "\(error); appends are stopped until an operator runs `stratos-ledger verify`")
        }
    }
}
