import Dispatch
import EventStore
import LedgerEvents
import PostgresClient
import StratosEconomics
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

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

    /// The answer's canonical JSON (`{"appended":…,"duplicates":…,"events":[{"id":…,
    /// "position":…,"status":…}],"head":…}`), written directly: it is the answer of every
    /// append, so it is built without a `JSONValue`'s dictionaries and key sort
    /// (`AppendOutcomeTests` checks it against the `JSONValue` form).
    public var canonicalUTF8: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + 64 * items.count)
        func integer(_ n: some BinaryInteger) { out.append(contentsOf: String(n).utf8) }
        out.append(contentsOf: #"{"appended":"#.utf8)
        integer(appended)
        out.append(contentsOf: #","duplicates":"#.utf8)
        integer(duplicates)
        out.append(contentsOf: #","events":["#.utf8)
        for (k, item) in items.enumerated() {
            if k > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"id":"#.utf8)
            out.append(contentsOf: JSONValue.string(item.eventID).canonicalUTF8)
            out.append(contentsOf: #","position":"#.utf8)
            integer(item.position)
            out.append(contentsOf: item.duplicate ? #","status":"duplicate"}"#.utf8 : #","status":"appended"}"#.utf8)
        }
        out.append(contentsOf: #"],"head":"#.utf8)
        integer(head)
        out.append(UInt8(ascii: "}"))
        return out
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
///
/// The next commit queued behind the one in flight: a group is sent as one
/// `event_log_append` without waiting for its answer; while it is in flight (its statement and
/// WAL flush), the next group that queues is checked against the state that group leaves and
/// sent at once on the same connection (libpq's pipeline mode), where the server runs it the
/// moment the first has committed. At most one group is in flight beyond the current one, and
/// a group is decided alone as before (`commit`) whenever this path cannot decide it or the one
/// before it did not commit (docs/EVENT-STORE.md, "The next commit queued behind the one in
/// flight").
public final class Appender: Sendable {
    private struct Pending {
        let items: [EventToAppend]
        let metadata: AppendMetadata
        /// Called once, on the writer's queue, with the request's answer.
        let complete: @Sendable (Result<AppendResult, any Error>) -> Void
    }

    public struct Limits: Sendable {
        /// Requests waiting for the writer, beyond which appends are refused at once.
        public var maxQueuedRequests: Int
        /// Events one group commit takes at most (a single larger request still goes alone).
        public var maxGroupEvents: Int
        /// Backoff between connection attempts while PostgreSQL is unreachable.
        public var reconnectBackoff: Backoff
        /// Groups sent behind the one in flight before it is answered: 1, or 0 to commit one
        /// group at a time (as before issue 18; the benchmark measures both).
        public var commitsInFlightBehind: Int
        public init(
            maxQueuedRequests: Int = 1024, maxGroupEvents: Int = 10_000,
            reconnectBackoff: Backoff = Backoff(initial: .milliseconds(200), cap: .seconds(2)),
            commitsInFlightBehind: Int = 1
        ) {
            precondition((0...1).contains(commitsInFlightBehind), "at most one commit in flight behind the current one")
            self.maxQueuedRequests = maxQueuedRequests
            self.maxGroupEvents = maxGroupEvents
            self.reconnectBackoff = reconnectBackoff
            self.commitsInFlightBehind = commitsInFlightBehind
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
        /// The drain waits for a commit in flight and asks a newly queued request to wake it
        /// (a byte on `wakeWrite`).
        var wakeRequested = false
        /// Requests taken by the drain while a commit was in flight and not yet answered or
        /// being committed themselves (sent behind it, or held): still waiting for the writer,
        /// so they count against `maxQueuedRequests` as the pending ones do.
        var takenBehind = 0
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
    /// A pipe whose read end the drain polls beside a commit's socket while it waits, and to
    /// whose write end a request queued meanwhile writes a byte (both ends non-blocking).
    private let wakeRead: Int32
    private let wakeWrite: Int32

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
        var fds: [Int32] = [-1, -1]
        precondition(pipe(&fds) == 0, "the appender's wake-up pipe cannot be created")
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        (wakeRead, wakeWrite) = (fds[0], fds[1])
    }

    deinit {
        closeDescriptor(wakeRead)
        closeDescriptor(wakeWrite)
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
        let result = await withCheckedContinuation { c in submit(batch, metadata: metadata) { c.resume(returning: $0) } }
        return try result.get()
    }

    /// Queues `batch` for the writer and returns at once; `completion` is called exactly once
    /// with its outcome or the `Problem` that refused it: on the writer's queue once the batch
    /// is decided, or on the calling thread when it is refused before being queued.
    ///
    /// Why a callback as well as `append`: the event loop answers `POST /v1/events` itself
    /// (`AppendChannelHandler`), and a callback that hops straight back to the connection's
    /// event loop saves the two task hand-offs an `async` caller costs (docs/EVENT-STORE.md).
    public func submit(
        _ batch: EventBatch, metadata: AppendMetadata, completion: @escaping @Sendable (Result<AppendOutcome, Problem>) -> Void
    ) {
        let admitted = state.withLock { s -> Result<(schedule: Bool, wake: Bool), Problem> in
            if s.closed { return .failure(Problem.unavailable("the service is shutting down; nothing was appended", retryAfterSeconds: 1)) }
            if let until = s.unreachableUntil, ContinuousClock.now < until, !s.scheduled {
                return .failure(
                    Problem.unavailable(
                        "the event log cannot be reached: \(s.lastConnectError); nothing was appended",
                        retryAfterSeconds: Self.seconds(until - ContinuousClock.now)))
            }
            guard s.pending.count + s.takenBehind < limits.maxQueuedRequests else {
                return .failure(
                    Problem.unavailable(
                        "\(s.pending.count + s.takenBehind) append requests are queued already (the limit); nothing was appended",
                        retryAfterSeconds: 1))
            }
            s.pending.append(
                Pending(items: batch.items, metadata: metadata) { result in
                    completion(result.map { Self.outcome($0, of: batch) }.mapError { Self.problem($0, batch: batch) })
                })
            s.pendingEvents += batch.items.count
            defer {
                s.scheduled = true
                s.wakeRequested = false
            }
            return .success((!s.scheduled, s.wakeRequested))
        }
        switch admitted {
        case .success(let todo):
            if todo.schedule { queue.async { self.drain() } }
            if todo.wake {
                var byte: UInt8 = 1
                _ = write(wakeWrite, &byte, 1)
            }
        case .failure(let problem): completion(.failure(problem))
        }
    }

    /// Each event of `batch` with its position and whether it was new.
    private static func outcome(_ result: AppendResult, of batch: EventBatch) -> AppendOutcome {
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

    /// The problem+json for what `submit` was answered with: a refusal of the store, or a
    /// failure to reach the log.
    private static func problem(_ error: any Error, batch: EventBatch) -> Problem {
        switch error {
        case let e as AppendError: problem(e, batch: batch)
        case let p as Problem: p
        default: Problem.unavailable("the event log cannot be reached: \(error)", retryAfterSeconds: 1)
        }
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

    /// A group whose commit was sent and is not yet answered.
    private struct InFlightGroup {
        let group: [Pending]
        let append: LedgerWriter<Economy>.InFlight
    }

    /// Runs on `queue` until no request is pending and no commit is in flight: takes the
    /// pending requests as groups (up to `maxGroupEvents` events each) and commits each group
    /// once. A group is sent without waiting for its answer when it can be (`start`); while
    /// it is in flight, a group that queues meanwhile is sent behind it (`sendBehind`), one at
    /// most.
    private func drain() {
        var current: InFlightGroup?
        /// Taken while a commit was in flight and not sent behind it: decided once none is.
        var held: [Pending]?
        while true {
            guard let c = current else {
                if let group = held {
                    held = nil
                    releaseBehind(group)
                    current = start(group)
                    continue
                }
                guard let group = takeGroup(ending: true) else { return }
                current = start(group)
                continue
            }
            // While `c` (a commit of one request) runs, the requests queued meanwhile are sent
            // behind it at once, as one group, which the server runs the moment `c` has
            // committed. Only behind a commit of one request: when requests already share
            // commits (many clients), those that queue meanwhile make the next group larger,
            // and a group sent behind would split it (8 clients on a quiet machine: 3.54 -> 2.69
            // requests per commit, -5 %), where one request at a time is what a commit behind
            // speeds up (2 clients: +40-50 % over one commit at a time).
            let mayQueueBehind = c.group.count == 1
            var next: InFlightGroup?
            let connection = c.append.store.connection
            while held == nil, next == nil {
                let progress = connection.answerProgress()
                if progress == .complete { break }
                if mayQueueBehind, let group = takeGroup(ending: false) {
                    next = sendBehind(group, after: c)
                    if next == nil { held = group }
                } else {
                    waitForAnswerOrRequest(on: connection, orRequest: mayQueueBehind)
                }
            }
            current = finish(c, next: next)
            if let next { releaseBehind(next.group) }
        }
    }

    /// `group`, taken behind a commit in flight, is now being committed or answered.
    private func releaseBehind(_ group: [Pending]) {
        state.withLock { $0.takenBehind -= group.count }
    }

    /// Takes the next group of pending requests (up to `maxGroupEvents` events). When none is
    /// pending: with `ending` the drain ends (the next request queued schedules a new one);
    /// without, the drain is about to wait for a commit in flight and asks the next request
    /// queued to wake it.
    private func takeGroup(ending: Bool) -> [Pending]? {
        state.withLock { s -> [Pending]? in
            guard !s.pending.isEmpty else {
                if ending { s.scheduled = false } else { s.wakeRequested = true }
                return nil
            }
            var taken = 0
            var events = 0
            while taken < s.pending.count, taken == 0 || events + s.pending[taken].items.count <= limits.maxGroupEvents {
                events += s.pending[taken].items.count
                taken += 1
            }
            let g = Array(s.pending.prefix(taken))
            s.pending.removeFirst(taken)
            s.pendingEvents -= events
            if !ending { s.takenBehind += taken }
            return g
        }
    }

    /// Waits until more of the answer on `connection` arrives or, with `orRequest`, a request
    /// is queued (the wake-up pipe), at most a second per call; the caller loops. The whole wait
    /// is bounded as any statement's: by the session's statement timeout, its TCP keepalives
    /// and `tcp_user_timeout`, after which the socket reports the error.
    private func waitForAnswerOrRequest(on connection: PostgresConnection, orRequest: Bool) {
        var fds = [
            pollfd(fd: connection.socket, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
        ]
        _ = poll(&fds, nfds_t(orRequest ? 2 : 1), 1000)
        guard orRequest else { return }
        state.withLock { $0.wakeRequested = false }
        var bytes: (UInt64, UInt64) = (0, 0)
        while read(wakeRead, &bytes, MemoryLayout.size(ofValue: bytes)) > 0 {}
    }

    /// The events and metadata of a group that can be appended as one batch (its requests share
    /// their metadata, as `commit`'s fast path needs); nil otherwise.
    private static func combined(_ group: [Pending]) -> (items: [EventToAppend], metadata: AppendMetadata)? {
        guard let metadata = group.first?.metadata, group.allSatisfy({ $0.metadata == metadata }) else { return nil }
        let items = group.count == 1 ? group[0].items : group.flatMap(\.items)
        return items.isEmpty ? nil : (items, metadata)
    }

    /// Sends `group` on the writer's own connection without waiting when it can (a connected
    /// writer whose head is known, a batch the one-statement path decides); otherwise commits
    /// it at once as before (`commitNow`) and returns nil.
    private func start(_ group: [Pending]) -> InFlightGroup? {
        if limits.commitsInFlightBehind > 0, let w = writer, w.store.connection.isOK, let batch = Self.combined(group),
            let sent = try? w.send(batch.items, metadata: batch.metadata, on: w.store)
        {
            return InFlightGroup(group: group, append: sent)
        }
        commitNow(group)
        return nil
    }

    /// Sends `group` behind `current` (in flight, on the writer's connection), checked against
    /// the state `current` leaves; nil, having sent nothing, when it cannot be (then it is
    /// decided once `current` is answered), or when a writer checkpoint is due (written once
    /// nothing is in flight).
    private func sendBehind(_ group: [Pending], after current: InFlightGroup) -> InFlightGroup? {
        guard let w = writer, current.append.store === w.store, !w.checkpointDue, let batch = Self.combined(group) else { return nil }
        guard let sent = try? w.send(batch.items, metadata: batch.metadata, on: w.store, after: current.append) else { return nil }
        metrics?.recordAppendCommitSentBehind()
        return InFlightGroup(group: group, append: sent)
    }

    /// Reads the answer of `c` and answers its requests; then returns `next` (sent behind it)
    /// as the commit in flight. When `c` did not commit, `next` was computed against a head
    /// that was never committed: its answer is read too, and whichever of the two did not
    /// commit is decided again as before (`commitNow`), in order.
    private func finish(_ c: InFlightGroup, next: InFlightGroup?) -> InFlightGroup? {
        let outcome = receive(c)
        if case .success(let result?) = outcome {
            answer(c.group, with: result)
            return next
        }
        let nextOutcome = next.map { receive($0) }
        switch outcome {
        case .success:
            metrics?.recordAppendGroupDecidedAgain()
            commitNow(c.group)
        case .failure(let error): fail(c.group, error)
        }
        if let next, let nextOutcome {
            switch nextOutcome {
            case .success(let result?): answer(next.group, with: result)
            // Lost while it ran: it may have committed (then after `c`, which did too).
            case .failure(let error) where Self.outcomeUnknown(error): fail(next.group, error)
            // Wrote nothing (a head that moved; an error such as a lock timeout while it
            // waited behind `c`): decided again as if it had never been sent.
            case .success(nil), .failure:
                metrics?.recordAppendGroupDecidedAgain()
                commitNow(next.group)
            }
        }
        return nil
    }

    private static func outcomeUnknown(_ error: AppendError) -> Bool {
        if case .database(.commitOutcomeUnknown) = error { return true }
        return false
    }

    private func receive(_ c: InFlightGroup) -> Result<AppendResult?, AppendError> {
        guard let w = writer else { return .success(nil) }
        return Result { () throws(AppendError) in try w.receive(c.append) }
    }

    /// Answers each request of a committed group with its own part of `result`.
    private func answer(_ group: [Pending], with result: AppendResult) {
        if !result.appended.isEmpty { metrics?.recordAppendCommit() }
        if group.count == 1 {
            group[0].complete(.success(result))
            return
        }
        for (p, r) in zip(group, Self.split(result, into: group.map(\.items))) { p.complete(.success(r)) }
    }

    private func fail(_ group: [Pending], _ error: AppendError) {
        for p in group { p.complete(.failure(error)) }
    }

    /// Appends `group` now, one commit for all, as one batch when its requests share their
    /// metadata (`commit`); nothing may be in flight. A connection found dead before COMMIT is
    /// replaced and the group appended once more.
    private func commitNow(_ group: [Pending]) {
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
            for p in group { p.complete(.failure(failure)) }
            return
        }
        // A commit is counted when the group's transaction committed new events: not for a
        // group whose requests were all refused (rolled back) or all duplicates (nothing written).
        if results.contains(where: { if case .success(let r) = $0 { !r.appended.isEmpty } else { false } }) {
            metrics?.recordAppendCommit()
        }
        for (p, r) in zip(group, results) {
            p.complete(r.mapError { $0 as any Error })
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

private func closeDescriptor(_ fd: Int32) { _ = close(fd) }
