import LedgerEvents
import PostgresClient

/// The economic rules as the writer needs them: a state that accepts or refuses the next event.
/// `Economy` is the real one; tests and benchmarks may plug in others.
public protocol LedgerRules {
    /// Applies `event` to the state, or throws and leaves the state unchanged.
    mutating func check(_ event: LedgerEvent) throws(RuleViolation)

    /// Names the states that can continue from each other's checkpoints (rule set and state
    /// format), or nil when this state keeps none (then a writer always replays from Genesis).
    var checkpointKey: String? { get }
    /// The whole state as bytes that `restored(from:)` turns back into an equal state.
    func checkpoint() -> [UInt8]
    /// The state `checkpoint` bytes describe, checked (throws on anything malformed).
    func restored(from checkpoint: [UInt8]) throws -> Self
    /// How many events the state has applied, when it records it (a restored checkpoint must
    /// then say the position it was written at); nil: the state keeps no count.
    var appliedEvents: Int64? { get }
}

extension LedgerRules {
    public var checkpointKey: String? { nil }
    public func checkpoint() -> [UInt8] { [] }
    public func restored(from checkpoint: [UInt8]) throws -> Self { self }
    public var appliedEvents: Int64? { nil }
}

/// What became of a writer checkpoint that was due.
public enum WriterCheckpointOutcome: Sendable, CustomStringConvertible {
    /// Written: the state at `position`, `bytes` long before compression, in `seconds`.
    case written(position: Int64, bytes: Int, seconds: Double)
    /// Not written (the append it follows is committed all the same); the next is due
    /// `checkpointEvery` events later.
    case failed(position: Int64, reason: String)

    public var description: String {
        switch self {
        case .written(let position, let bytes, let seconds):
            return "writer checkpoint at log position \(position) written: \(bytes / 1_000_000) MB in \(Int(seconds * 1000)) ms"
        case .failed(_, let reason):
            return reason
        }
    }
}

/// Appends events only when the rules accept them.
///
/// Keeps a rules state (`Economy`) equal to the log up to `position`: at start it restores the
/// latest usable checkpoint (`writer_checkpoints`, Schema/0004) and replays the log after it, or
/// the whole log when there is none; it writes a new checkpoint every `checkpointEvery` events
/// it replays or appends. Each append runs under the log's head lock; if other
/// writers appended meanwhile, their events are replayed first (still under the lock, so no
/// retry loop is needed and no conflict is possible), then the batch is checked on a copy of the
/// state, appended, and the copy adopted once the store has written it. A batch with one
/// refused event appends nothing and leaves the state as it was.
public final class LedgerWriter<Rules: LedgerRules> {
    /// Replaced by `reconnect(to:)`.
    public private(set) var store: EventStore
    public private(set) var rules: Rules
    /// The log position `rules` reflects.
    public private(set) var position: Int64 = 0
    /// The chained hash of the event at `position` (what a checkpoint of this state records).
    private var positionHash: [UInt8] = []
    /// The position of the checkpoint the writer started from (0: it replayed from Genesis).
    public private(set) var restoredFrom: Int64 = 0
    /// A checkpoint is written once the state is this many events past the last one (0: never).
    public let checkpointEvery: Int64
    private var lastCheckpoint: Int64 = 0

    /// A checkpoint every million events. A checkpoint holds every locked reward: on the bench
    /// history it is a hundred MB or more and takes about a second to write and to restore, where
    /// replaying that history takes an order of magnitude longer (docs/BENCHMARKS.md). Written in
    /// the append path, so the append that makes one due waits for it; a million events is many
    /// seconds of appending at the service's full speed and far longer at a real network's pace.
    public static var defaultCheckpointEvery: Int64 { 1_000_000 }

    /// Told what became of every checkpoint that was due (to log it: a failed one is otherwise
    /// silent, since it never fails the append it follows).
    private let onCheckpoint: (@Sendable (WriterCheckpointOutcome) -> Void)?

    /// Creates the writer: restores the latest usable checkpoint of `rules`' kind, if any, and
    /// replays the log after it.
    public init(
        store: EventStore, rules: Rules, checkpointEvery: Int64 = defaultCheckpointEvery,
        onCheckpoint: (@Sendable (WriterCheckpointOutcome) -> Void)? = nil
    ) throws(AppendError) {
        precondition(checkpointEvery >= 0)
        self.store = store
        self.rules = rules
        self.onCheckpoint = onCheckpoint
        self.checkpointEvery = rules.checkpointKey == nil ? 0 : checkpointEvery
        restoreCheckpoint()
        try catchUp()
        checkpointIfDue()
    }

    /// Adopts the newest checkpoint of this kind that the log still holds (its position, with
    /// the recorded hash) and that decodes into a checked state, trying the two newest. Anything
    /// wrong with them (another log, undecodable bytes, broken invariants) only means replaying
    /// more: a checkpoint is derived data.
    /// A database without the table (not migrated since) is one without checkpoints.
    private func restoreCheckpoint() {
        guard checkpointEvery > 0, let key = rules.checkpointKey,
            let rows = try? store.connection.query(StoreSQL.latestWriterCheckpoints, binding: key)
                .decodeAll(as: Int64.self, [UInt8].self, statement: "writer_checkpoints.latest")
        else { return }
        for (position, hash) in rows {
            let state: [UInt8]
            do {
                state = try store.connection.query(
                    StoreSQL.writerCheckpointState, [key.postgresParameter, position.postgresParameter],
                    binaryResults: true
                ).bytea(0, 0)
            } catch { continue }
            guard let restored = try? rules.restored(from: state), restoredPositionMatches(restored, position) else { continue }
            rules = restored
            self.position = position
            positionHash = hash
            restoredFrom = position
            lastCheckpoint = position
            return
        }
    }

    /// A state that counts its events must have applied exactly those up to `position`; one
    /// that keeps no count is taken at its word.
    private func restoredPositionMatches(_ state: Rules, _ position: Int64) -> Bool {
        state.appliedEvents.map { $0 == position } ?? true
    }

    /// Writes a checkpoint of the current state when it is `checkpointEvery` events past the
    /// last one, and drops the older ones but one. Inside the caller's transaction when there is
    /// one (an import's: a rollback takes the checkpoint with it), as a savepoint.
    ///
    /// Never fails the append it follows, which is committed already: a checkpoint that cannot
    /// be written (a database not migrated since, a role without the grant) is skipped until
    /// `checkpointEvery` more events, and the reason kept in `checkpointFailure`.
    private func checkpointIfDue(on target: EventStore? = nil) {
        let store = target ?? self.store
        guard checkpointEvery > 0, let key = rules.checkpointKey, position - lastCheckpoint >= checkpointEvery else { return }
        let started = ContinuousClock.now
        let outcome: WriterCheckpointOutcome
        do {
            let state = rules.checkpoint()
            try store.connection.transaction { c in
                try c.query(StoreSQL.insertWriterCheckpoint, binding: key, position, positionHash, state)
                try c.query(StoreSQL.pruneWriterCheckpoints, binding: key, position)
            }
            checkpointFailure = nil
            let elapsed = ContinuousClock.now - started
            outcome = .written(position: position, bytes: state.count, seconds: elapsed.inSeconds)
        } catch {
            checkpointFailure = "writer checkpoint at position \(position) not written: \(error)"
            outcome = .failed(position: position, reason: checkpointFailure!)
        }
        lastCheckpoint = position
        onCheckpoint?(outcome)
    }

    /// Whether the next append that finds nothing in flight writes a checkpoint (so a caller
    /// that queues appends behind each other lets one finish alone now and then).
    public var checkpointDue: Bool {
        checkpointEvery > 0 && rules.checkpointKey != nil && position - lastCheckpoint >= checkpointEvery
    }

    /// Why the last checkpoint due was not written (nil: it was, or none was due yet).
    public private(set) var checkpointFailure: String?

    /// Applies every committed event after `position` to the state.
    public func catchUp(through last: Int64 = Int64.max) throws(AppendError) {
        do {
            try store.replay(from: position + 1, through: last) { stored in
                let event: LedgerEvent
                do { event = try stored.ledgerEvent() } catch {
                    throw AppendError.corruptLog(position: stored.position, reason: "stored event is invalid: \(error)")
                }
                do { try rules.check(event) } catch {
                    throw AppendError.corruptLog(position: stored.position, reason: "the rules refuse a logged event: \(error)")
                }
                position = stored.position
                positionHash = stored.hash
            }
        } catch let e as AppendError { throw e } catch let e as PostgresError { throw .database(e) } catch {
            throw .corruptLog(position: position + 1, reason: "\(error)")
        }
    }

    /// Continues on `store`, a fresh connection (after a lost one, or to the new primary after a
    /// failover), keeping the rules state when that log still holds the event the state ends
    /// with, under the same chained hash (so the whole prefix is the same). Returns false, and
    /// changes nothing, when it does not: that log is another one, or it lost events this
    /// writer saw committed (a standby promoted before it had them); the caller must then start
    /// a new writer, which restores from what that log holds.
    public func reconnect(to store: EventStore) throws(AppendError) -> Bool {
        if position > 0 {
            let r: PostgresResult
            do { r = try store.connection.query(StoreSQL.hashAt, binding: position) } catch { throw .database(error) }
            guard r.rowCount == 1, let hash = try? r.bytea(0, 0), hash == positionHash else { return false }
        }
        self.store = store
        return true
    }

    /// Checks and appends a batch atomically (see the type's documentation).
    @discardableResult
    public func append(
        _ items: [EventToAppend], metadata: AppendMetadata = AppendMetadata(),
        expectedStreamVersions: [String: Int64]? = nil
    ) throws(AppendError) -> AppendResult {
        var candidate: Rules?
        let result = try store.append(items, metadata: metadata, expectedStreamVersions: expectedStreamVersions) {
            (head: LogHead, newEvents: [LedgerEvent]) throws(AppendError) in
            // A head behind this state is only ever one presumed by the one-statement append
            // (EventStore.committedHead) from before this writer replayed further: the store
            // then takes the locked path, where the head is the log's.
            if head.position < self.position { throw .positionConflict(expected: self.position, actual: head.position) }
            if head.position != self.position { try self.catchUp(through: head.position) }
            precondition(head.position == self.position, "the head lock guarantees the log does not move while held")
            var next = self.rules
            for event in newEvents {
                do throws(RuleViolation) { try next.check(event) } catch { throw .ruleViolation(error) }
            }
            candidate = next
        }
        if let candidate, let last = result.appended.last {
            rules = candidate
            position = last.position
            positionHash = result.head.hash
            precondition(result.head.position == position, "the head is the last appended event")
            checkpointIfDue()
        }
        return result
    }

    @discardableResult
    public func append(
        _ events: [LedgerEvent], metadata: AppendMetadata = AppendMetadata(),
        expectedStreamVersions: [String: Int64]? = nil
    ) throws(AppendError) -> AppendResult {
        try append(events.map { EventToAppend($0) }, metadata: metadata, expectedStreamVersions: expectedStreamVersions)
    }

    // MARK: Appends in flight

    /// A batch sent by `send` and not yet received: the store it was sent on, what it appends if
    /// it commits, and the rules state after it (checked, not adopted).
    public final class InFlight {
        public let store: EventStore
        let sent: EventStore.SentAppend
        let rulesAfter: Rules
        /// The head the batch was computed against (the committed head, or the head the append
        /// in flight before it leaves).
        public let presumedHead: LogHead
        /// What the batch gets if it commits.
        public var presumedResult: AppendResult { sent.presumedResult }

        init(store: EventStore, sent: EventStore.SentAppend, rulesAfter: Rules, presumedHead: LogHead) {
            self.store = store
            self.sent = sent
            self.rulesAfter = rulesAfter
            self.presumedHead = presumedHead
        }
    }

    /// Checks `items` against the state after `previous` (an append still in flight on
    /// `store`) or, without one, against the committed state, and sends them as one
    /// `event_log_append` on `store` without waiting (`EventStore.sendAppend`). Nothing of the
    /// writer's state changes until `receive` finds the batch committed.
    ///
    /// Why: the next batch's positions, hash chain and rules check can be computed while the
    /// one before it is flushing, and its statement queued behind it on the connection, so
    /// that the server runs it the moment that one commits (docs/EVENT-STORE.md).
    ///
    /// Returns nil, having sent nothing, when this path cannot decide the batch — a refusal by
    /// the rules, an id twice in it, a time going backwards, a store whose head is not known —
    /// and then the caller decides it with `append` once nothing is in flight. Throws a plain
    /// connection error (nothing sent) when `store`'s connection is found closed.
    public func send(
        _ items: [EventToAppend], metadata: AppendMetadata = AppendMetadata(), on store: EventStore,
        after previous: InFlight? = nil
    ) throws(AppendError) -> InFlight? {
        let base: (rules: Rules, head: LogHead)
        if let previous {
            base = (previous.rulesAfter, previous.presumedResult.head)
        } else {
            // The committed state, at the head its store last saw committed.
            guard let head = store.presumedHead, head.position == position, head.hash == positionHash else { return nil }
            base = (rules, head)
        }
        var next = base.rules
        let sent = try store.sendAppend(items, metadata: metadata, presumedHead: base.head) {
            (_: LogHead, newEvents: [LedgerEvent]) throws(AppendError) in
            for event in newEvents {
                do throws(RuleViolation) { try next.check(event) } catch { throw .ruleViolation(error) }
            }
        }
        guard let sent else { return nil }
        return InFlight(store: store, sent: sent, rulesAfter: next, presumedHead: base.head)
    }

    /// The outcome of `inFlight`, waiting for it if need be. Appended: the writer adopts the
    /// state after it (and writes a checkpoint when one is due and nothing else is in flight on
    /// its store). nil: it wrote nothing and must be decided again
    /// with `append` (an append before it did not commit, another writer appended, an id already
    /// in the log, a stale expectation); the writer's state stays what is committed. Throws as
    /// `append` does; a connection lost while it ran is `commitOutcomeUnknown`, and the state
    /// stays what the writer knows committed (the locked path replays whatever did commit).
    ///
    /// In-flight appends must be received in the order they were sent.
    public func receive(_ inFlight: InFlight) throws(AppendError) -> AppendResult? {
        guard let result = try inFlight.store.receiveAppend(inFlight.sent) else { return nil }
        // Committed: the log holds the batch after exactly the presumed head, so the state after
        // it is the one checked — also when that head is one this writer did not see committed
        // (an append before it whose outcome was unknown, and did commit).
        precondition(result.head.position > inFlight.presumedHead.position, "an appended batch moves the head")
        rules = inFlight.rulesAfter
        position = result.head.position
        positionHash = result.head.hash
        // A checkpoint is a transaction of its own: not while another append is queued on the
        // connection (the next append that finds nothing in flight writes it).
        if inFlight.store.connection.pendingAnswers == 0 { checkpointIfDue(on: inFlight.store) }
        return result
    }

    // MARK: Batches queued inside a transaction (the importer's path)

    /// A batch checked against the rules state after the batch prepared before it (or the
    /// writer's own) and computed against the head that one leaves; nothing written yet.
    public struct PreparedBatch {
        let copy: EventStore.PreparedCopy
        let rulesAfter: Rules
        /// What the batch gets if it is written.
        public var result: AppendResult { copy.result }
    }

    /// A prepared batch sent, its outcome not yet read (`receive(_:)`).
    public struct QueuedBatch {
        let queued: EventStore.QueuedCopy
        let rulesAfter: Rules
    }

    /// Locks the log's head for the rest of the caller's transaction (`transaction`) and
    /// replays what other writers appended before it; returns the head, which the first batch
    /// is prepared against.
    public func lockHead() throws(AppendError) -> LogHead {
        let head = try store.lockHeadInTransaction()
        if head.position < position { throw .positionConflict(expected: position, actual: head.position) }
        if head.position != position { try catchUp(through: head.position) }
        guard head.hash == positionHash || position == 0 else {
            throw .corruptLog(position: head.position, reason: "the head's hash is not the one this writer's state ends with")
        }
        return head
    }

    /// Checks `items` against the rules state after `previous` (or the writer's own, at
    /// `head`, which must then be the head the writer is at) and computes their rows against
    /// the head `previous` leaves (`EventStore.prepareCopy`). Nil, having changed nothing, when
    /// this path cannot decide the batch: the caller then receives what is queued and decides
    /// it with `append`. Nothing of the writer's state changes until `receive` finds it written.
    public func prepare(
        _ items: [EventToAppend], metadata: AppendMetadata, after previous: PreparedBatch?, head: LogHead
    ) throws(AppendError) -> PreparedBatch? {
        var next = previous?.rulesAfter ?? rules
        let copy = try store.prepareCopy(
            items, metadata: metadata, after: previous?.result.head ?? head, versions: previous?.copy.versionsAfter
        ) { (_: LogHead, newEvents: [LedgerEvent]) throws(AppendError) in
            for event in newEvents {
                do throws(RuleViolation) { try next.check(event) } catch { throw .ruleViolation(error) }
            }
        }
        guard let copy else { return nil }
        return PreparedBatch(copy: copy, rulesAfter: next)
    }

    /// Sends a prepared batch without waiting (`EventStore.sendCopy`); batches are sent and
    /// received one at a time, each prepared after the one received or queued before it.
    public func send(_ prepared: PreparedBatch) throws(AppendError) -> QueuedBatch {
        QueuedBatch(queued: try store.sendCopy(prepared.copy), rulesAfter: prepared.rulesAfter)
    }

    /// The outcome of a queued batch: written (the writer adopts the state after it), or nil
    /// when it wrote nothing and must be decided with `append` (an id already in the log or
    /// twice in the batch).
    public func receive(_ queued: QueuedBatch) throws(AppendError) -> AppendResult? {
        guard let result = try store.receiveCopy(queued.queued) else { return nil }
        rules = queued.rulesAfter
        position = result.head.position
        positionHash = result.head.hash
        checkpointIfDue()
        return result
    }

    /// Runs several appends in one database transaction (e.g. a whole imported file). If
    /// anything throws, the transaction rolls back and the state returns to what it was.
    public func transaction<T>(_ body: (LedgerWriter) throws -> T) throws -> T {
        let savedRules = rules
        let savedPosition = position
        let savedHash = positionHash
        let savedCheckpoint = lastCheckpoint
        do {
            return try store.connection.transaction { _ in try body(self) }
        } catch {
            rules = savedRules
            position = savedPosition
            positionHash = savedHash
            lastCheckpoint = savedCheckpoint
            throw error
        }
    }
}

/// Rules that accept every event (the store's own checks still apply: shape, ids, time order,
/// hash chain). For benchmarks of the store alone and for tests of the store's mechanics.
public struct AcceptAllRules: LedgerRules {
    public init() {}
    public mutating func check(_ event: LedgerEvent) throws(RuleViolation) {}
}
