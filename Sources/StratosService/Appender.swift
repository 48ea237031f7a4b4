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
            "appended": .number(String(appended)),
            "duplicates": .number(String(duplicates)),
            "head": .number(String(head)),
            "events": .array(items.map {
                .object(["id": .string($0.eventID), "position": .number(String($0.position)),
                         "status": .string($0.duplicate ? "duplicate" : "appended")])
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
/// several requests are waiting, the queue takes all of them and appends them as one batch
/// (`commit`): one lock, one COPY, one commit for the group, each request still answered with
/// its own positions only once that commit is done. A request the rules refuse appends nothing
/// and gets its own problem; the others still commit. If the commit itself fails, every request
/// of the group fails and the writer's state is restored (`LedgerWriter`).
public final class Appender: Sendable {
    private struct Pending {
        let items: [EventToAppend]
        let metadata: AppendMetadata
        let continuation: CheckedContinuation<AppendResult, any Error>
    }

    private let database: DatabaseConfiguration
    private let rules: RuleSet
    private let metrics: ServiceMetrics?
    private let onWriterCheckpoint: (@Sendable (WriterCheckpointOutcome) -> Void)?
    private let queue = DispatchQueue(label: "stratos.service.writer")
    private let state = Mutex<(pending: [Pending], scheduled: Bool)>(([], false))
    /// Touched only on `queue`.
    private nonisolated(unsafe) var writer: LedgerWriter<Economy>?

    /// `onWriterCheckpoint` is told what became of each writer checkpoint that was due (the
    /// service logs it).
    public init(database: DatabaseConfiguration, rules: RuleSet, metrics: ServiceMetrics? = nil,
                onWriterCheckpoint: (@Sendable (WriterCheckpointOutcome) -> Void)? = nil) {
        self.database = database; self.rules = rules; self.metrics = metrics; self.onWriterCheckpoint = onWriterCheckpoint
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

    /// Appends `batch` atomically. Throws a `Problem` naming the event and the rule.
    public func append(_ batch: EventBatch, metadata: AppendMetadata) async throws(Problem) -> AppendOutcome {
        let result: AppendResult
        do {
            result = try await withCheckedThrowingContinuation { continuation in
                let schedule = state.withLock { s in
                    s.pending.append(Pending(items: batch.items, metadata: metadata, continuation: continuation))
                    defer { s.scheduled = true }
                    return !s.scheduled
                }
                if schedule { queue.async { self.drain() } }
            }
        } catch let error as AppendError {
            throw Self.problem(error, batch: batch)
        } catch let error as Problem {
            throw error
        } catch {
            throw Problem.unavailable("the event log cannot be reached: \(error)")
        }
        var positions: [String: (Int64, Bool)] = [:]
        for a in result.appended { positions[a.eventID.rawValue] = (a.position, false) }
        for d in result.duplicates { positions[d.eventID.rawValue] = (d.position, true) }
        let items = batch.items.map { item -> AppendOutcome.Item in
            let id = item.event.id.rawValue
            let (position, duplicate) = positions[id] ?? (0, true)
            return AppendOutcome.Item(eventID: id, position: position, duplicate: duplicate)
        }
        return AppendOutcome(items: items, appended: result.appended.count, duplicates: result.duplicates.count,
                             head: result.head.position)
    }

    private func openWriter() throws -> LedgerWriter<Economy> {
        if let writer, writer.store.connection.isOK { return writer }
        writer = nil
        let store = EventStore(connection: try database.connect())
        let w = try LedgerWriter(store: store, rules: Economy(rules: rules), onCheckpoint: onWriterCheckpoint)
        writer = w
        return w
    }

    /// Runs on `queue`: appends every pending batch, one commit for all.
    private func drain() {
        let group = state.withLock { s in
            let g = s.pending
            s.pending = []
            s.scheduled = false
            return g
        }
        guard !group.isEmpty else { return }
        let w: LedgerWriter<Economy>
        do { w = try openWriter() } catch {
            for p in group { p.continuation.resume(throwing: error) }
            return
        }
        let results = Self.commit(group.map { ($0.items, $0.metadata) }, on: w)
        metrics?.recordAppendCommit()
        for (p, r) in zip(group, results) {
            p.continuation.resume(with: r.mapError { $0 as any Error })
        }
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
    static func commit(_ batches: [(items: [EventToAppend], metadata: AppendMetadata)],
                       on w: LedgerWriter<Economy>) -> [Result<AppendResult, AppendError>] {
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
            if let (key, value) = batch.origin(of: id) { ext[key] = .number(String(value)) }
        }
        switch error {
        case .ruleViolation(let v):
            ext["rule"] = .string(v.rule)
            return Problem("rule-violation", status: 422, title: "Event refused by the rules",
                           detail: "\(v); nothing was appended", extensions: ext)
        case .timeWentBackwards:
            ext["rule"] = .string("time-backwards")
            return Problem("rule-violation", status: 422, title: "Event refused by the rules",
                           detail: "\(error); nothing was appended", extensions: ext)
        case .idConflict:
            ext["rule"] = .string("id-conflict")
            return Problem("id-conflict", status: 409, title: "Event id already used with other content",
                           detail: "\(error); nothing was appended", extensions: ext)
        case .positionConflict, .streamVersionConflict:
            ext["rule"] = .string("concurrency-conflict")
            return Problem("conflict", status: 409, title: "Append conflict", detail: "\(error); nothing was appended",
                           extensions: ext)
        case .database(let e):
            return Problem.unavailable("the event log cannot be reached: \(e.message); nothing was appended")
        case .corruptLog:
            return Problem("corrupt-log", status: 500, title: "The event log cannot be replayed",
                           detail: "\(error); appends are stopped until an operator runs `stratos-ledger verify`")
        }
    }
}
