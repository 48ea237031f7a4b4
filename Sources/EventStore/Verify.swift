import LedgerEvents
import PostgresClient

/// The outcome of walking the hash chain.
public struct VerifyReport: Sendable, CustomStringConvertible {
    public enum Problem: Sendable, Hashable, CustomStringConvertible {
        /// The stored hash is not the hash recomputed from the stored columns and the previous hash.
        case hashMismatch(position: Int64, stored: String, recomputed: String)
        /// Positions must be 1, 2, 3, … without a hole.
        case positionGap(expected: Int64, found: Int64)
        /// The head row does not point at the last event and its hash.
        case headMismatch(headPosition: Int64, headHash: String, lastPosition: Int64, lastHash: String)
        /// A row could not be read back.
        case unreadable(position: Int64?, reason: String)

        /// The first position that is wrong.
        public var position: Int64? {
            switch self {
            case .hashMismatch(let p, _, _): p
            case .positionGap(let expected, _): expected
            case .headMismatch(let h, _, let l, _): min(h, l) + 1
            case .unreadable(let p, _): p
            }
        }

        public var description: String {
            switch self {
            case .hashMismatch(let p, let stored, let recomputed):
                "position \(p): hash mismatch (stored \(stored), recomputed \(recomputed)): the event or an earlier one was changed"
            case .positionGap(let expected, let found):
                "position \(expected): missing (the next event is at \(found)): events were removed"
            case .headMismatch(let hp, let hh, let lp, let lh):
                "head mismatch: event_log_head is at position \(hp) (hash \(hh)) but the last event is \(lp) (hash \(lh))"
            case .unreadable(let p, let reason):
                "position \(p.map(String.init) ?? "?"): unreadable: \(reason)"
            }
        }
    }

    public var eventsChecked: Int64
    public var lastPosition: Int64
    public var lastHash: [UInt8]
    public var problem: Problem?
    public var isIntact: Bool { problem == nil }

    public var description: String {
        if let problem { return "BROKEN after \(eventsChecked) good events: \(problem)" }
        return "OK: \(eventsChecked) events, head \(lastPosition), hash \(SHA256.hex(lastHash))"
    }
}

extension EventStore {
    /// Walks the whole chain from position 1, recomputing each event's canonical form from its
    /// stored columns and each hash from the previous one, then checks the head row. Streams
    /// the log (bounded memory) and stops at the first problem, which it names.
    public func verify(progress: ((Int64) -> Void)? = nil) throws(PostgresError) -> VerifyReport {
        struct Stop: Error {}
        var report = VerifyReport(eventsChecked: 0, lastPosition: 0, lastHash: HashChain.initial, problem: nil)
        do {
            // One snapshot for the rows and the head, so concurrent appends cannot look like damage.
            let head = try connection.transaction(isolation: .repeatableRead) { _ throws -> LogHead in
                try replay { event in
                    let expected = report.lastPosition + 1
                    if event.position != expected {
                        report.problem = .positionGap(expected: expected, found: event.position)
                        throw Stop()
                    }
                    let recomputed = HashChain.next(
                        previous: report.lastHash, position: event.position,
                        canonicalEvent: event.canonicalUTF8)
                    if recomputed != event.hash {
                        report.problem = .hashMismatch(
                            position: event.position, stored: SHA256.hex(event.hash),
                            recomputed: SHA256.hex(recomputed))
                        throw Stop()
                    }
                    report.eventsChecked += 1
                    report.lastPosition = event.position
                    report.lastHash = recomputed
                    if report.eventsChecked % 100_000 == 0 { progress?(report.eventsChecked) }
                }
                return try self.head()
            }
            if head.position != report.lastPosition || head.hash != report.lastHash {
                report.problem = .headMismatch(
                    headPosition: head.position, headHash: SHA256.hex(head.hash),
                    lastPosition: report.lastPosition, lastHash: SHA256.hex(report.lastHash))
            }
        } catch is Stop {
        } catch let error as StoredEventDecodingError {
            report.problem = .unreadable(position: error.position, reason: error.reason)
        } catch let error as PostgresError {
            throw error
        } catch {
            throw .protocol("\(error)")
        }
        return report
    }
}

/// The outcome of walking one segment of the hash chain (`EventStore.verify(after:through:)`).
public struct SegmentVerifyReport: Sendable, CustomStringConvertible {
    /// The walk starts from the stored hash of the event at `after` (0: the chain's start) and
    /// checks every event with `after < position <= through`.
    public var after: Int64
    public var through: Int64
    public var eventsChecked: Int64
    public var problem: VerifyReport.Problem?
    public var isIntact: Bool { problem == nil }

    public var description: String {
        let range = after + 1 <= through ? "positions \(after + 1)–\(through)" : "no position"
        if let problem { return "hash chain of \(range): BROKEN after \(eventsChecked) good events: \(problem)" }
        return "hash chain of \(range) (from the stored hash at \(after)): verifies, \(eventsChecked) events"
    }
}

extension EventStore {
    /// Walks the chain from the stored hash of the event at `after` (the initial hash for 0)
    /// through `through`: each event's hash must be the one recomputed from its stored columns
    /// and the previous hash, and positions must follow each other. What a reader of that
    /// segment (a recomputation from a checkpoint) relies on; events before `after` are not
    /// checked (the whole chain: `verify()`).
    public func verify(after: Int64, through: Int64) throws(PostgresError) -> SegmentVerifyReport {
        struct Stop: Error {}
        var report = SegmentVerifyReport(after: after, through: through, eventsChecked: 0, problem: nil)
        guard after < through else { return report }
        var last = after
        var hash: [UInt8]? = after == 0 ? HashChain.initial : nil
        do {
            try connection.transaction(isolation: .repeatableRead) { _ throws in
                try replay(from: max(after, 1), through: through) { event in
                    if hash == nil { // the event at `after`: where the walk starts
                        guard event.position == after else {
                            report.problem = .positionGap(expected: after, found: event.position)
                            throw Stop()
                        }
                        hash = event.hash
                        return
                    }
                    let expected = last + 1
                    if event.position != expected {
                        report.problem = .positionGap(expected: expected, found: event.position)
                        throw Stop()
                    }
                    let recomputed = HashChain.next(previous: hash!, position: event.position, canonicalEvent: event.canonicalUTF8)
                    if recomputed != event.hash {
                        report.problem = .hashMismatch(
                            position: event.position, stored: SHA256.hex(event.hash),
                            recomputed: SHA256.hex(recomputed))
                        throw Stop()
                    }
                    report.eventsChecked += 1
                    last = event.position
                    hash = recomputed
                }
            }
            if report.problem == nil, last != through {
                report.problem = .unreadable(
                    position: hash == nil ? after : last + 1,
                    reason: "missing: the log ends before position \(through)")
            }
        } catch is Stop {
        } catch let error as StoredEventDecodingError {
            report.problem = .unreadable(position: error.position, reason: error.reason)
        } catch let error as PostgresError {
            throw error
        } catch {
            throw .protocol("\(error)")
        }
        return report
    }
}
