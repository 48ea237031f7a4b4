import LedgerEvents
import PostgresClient
import StratosEconomics

/// The economic rules as the writer needs them: a state that accepts or refuses the next event.
/// `Economy` is the real one; tests and benchmarks may plug in others.
public protocol LedgerRules {
    /// Applies `event` to the state, or throws and leaves the state unchanged.
    mutating func check(_ event: LedgerEvent) throws(RuleViolation)
}

extension Economy: LedgerRules {
    public mutating func check(_ event: LedgerEvent) throws(RuleViolation) {
        _ = try apply(event)
    }
}

/// Appends events only when the rules accept them.
///
/// Keeps a rules state (`Economy`) equal to the log up to `position`: at start it replays the
/// log (projections will add checkpoints). Each append runs under the log's head lock; if other
/// writers appended meanwhile, their events are replayed first (still under the lock, so no
/// retry loop is needed and no conflict is possible), then the batch is checked on a copy of the
/// state, appended, and the copy adopted once the store has written it. A batch with one
/// refused event appends nothing and leaves the state as it was.
public final class LedgerWriter<Rules: LedgerRules> {
    public let store: EventStore
    public private(set) var rules: Rules
    /// The log position `rules` reflects.
    public private(set) var position: Int64 = 0

    /// Creates the writer and replays the whole log into `rules`.
    public init(store: EventStore, rules: Rules) throws(AppendError) {
        self.store = store
        self.rules = rules
        try catchUp()
    }

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
            }
        } catch let e as AppendError { throw e } catch let e as PostgresError { throw .database(e) } catch {
            throw .corruptLog(position: position + 1, reason: "\(error)")
        }
    }

    /// Checks and appends a batch atomically (see the type's documentation).
    @discardableResult
    public func append(_ items: [EventToAppend], metadata: AppendMetadata = AppendMetadata(),
                       expectedStreamVersions: [String: Int64]? = nil) throws(AppendError) -> AppendResult {
        var candidate: Rules?
        let result = try store.append(items, metadata: metadata, expectedStreamVersions: expectedStreamVersions) {
            (head: LogHead, newEvents: [LedgerEvent]) throws(AppendError) in
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
        }
        return result
    }

    @discardableResult
    public func append(_ events: [LedgerEvent], metadata: AppendMetadata = AppendMetadata(),
                       expectedStreamVersions: [String: Int64]? = nil) throws(AppendError) -> AppendResult {
        try append(events.map { EventToAppend($0) }, metadata: metadata, expectedStreamVersions: expectedStreamVersions)
    }

    /// Runs several appends in one database transaction (e.g. a whole imported file). If
    /// anything throws, the transaction rolls back and the state returns to what it was.
    public func transaction<T>(_ body: (LedgerWriter) throws -> T) throws -> T {
        let savedRules = rules, savedPosition = position
        do {
            return try store.connection.transaction { _ in try body(self) }
        } catch {
            rules = savedRules
            position = savedPosition
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
