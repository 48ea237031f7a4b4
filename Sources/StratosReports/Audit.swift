import EventStore
import LedgerEvents
import PostgresClient
import StratosEconomics
import StratosProjections
import Synchronization

/// Why an audit could not be made.
public enum AuditError: Error, CustomStringConvertible, Sendable {
    case epochNotClosed(epoch: Int64, lastClosed: Int64)
    case unknownNode(NodeID)
    case corruptLog(position: Int64, reason: String)

    public var description: String {
        switch self {
        case .epochNotClosed(let e, let last): "epoch \(e) is not closed yet (the last closed epoch is \(last))"
        case .unknownNode(let n): "node \(n) is unknown"
        case .corruptLog(let p, let r): "event log position \(p): \(r)"
        }
    }
}

/// One event that fed an audited settlement.
public struct AuditedEvent: Sendable, Hashable {
    public var position: Int64
    public var eventID: String
    public var type: String
    /// Epoch open when it was applied.
    public var epoch: Int64
    /// For traffic: the Ozone charged (noz).
    public var charge: Noz?
}

/// An epoch settlement recomputed from history: the economy state just before `EpochClosed N`
/// (from the projections' newest checkpoint at or before N − 1, then replay through `Economy`),
/// the report the engine produces when applying it, and whether the stored projection agrees.
public struct EpochRecomputation: @unchecked Sendable {
    public var epoch: Int64
    /// The `EpochClosed` event.
    public var closeEvent: AuditedEvent
    /// The state the settlement started from.
    public var before: SettlementInputs
    public var report: SettlementReport
    /// The projection's stored report (nil when the projections have not reached the epoch).
    public var stored: StoredSettlement?
    /// Where the replay started: the checkpoint's epoch (0: from Genesis) and position.
    public var replayedFrom: (epoch: Int64, position: Int64)
    public var replayedEvents: Int
    /// Traffic of `trackedNode` accumulated into the contribution settled (or carried) at N.
    var trackedTraffic: [AuditedEvent]

    /// `true` when the stored report equals the recomputed one exactly (nil: nothing stored).
    public var matchesProjection: Bool? { stored.map { $0.firstDifference(from: report) == nil } }
    /// The first field where the stored projection differs from the recomputation.
    public var difference: (field: String, stored: String, recomputed: String)? { stored?.firstDifference(from: report) }
}

/// The audits of RULES §5 for humans and machines: `stratos-ledger audit` and
/// `GET /v1/audit/...` both call this, so they cannot disagree.
public struct Auditor {
    public let store: EventStore
    public let readModel: ReadModel
    public let cache: RecomputationCache?

    public init(connection: PostgresConnection, readModel: ReadModel, cache: RecomputationCache? = nil) {
        self.store = EventStore(connection: connection)
        self.readModel = readModel
        self.cache = cache
    }

    /// Recomputes the settlement of `epoch`. With `node`, the replay starts early enough that
    /// every traffic event of the node's settled (or carried) contribution is seen.
    public func recompute(epoch: Int64, node: NodeID? = nil) throws -> EpochRecomputation {
        precondition(epoch >= 1)
        let key = RecomputationCache.Key(rulesSha256: try readModel.rulesSha256(), epoch: epoch, node: node)
        if var hit = cache?.get(key) {
            // The recomputation depends only on the immutable log; the projection may have been
            // rebuilt since, so the stored side is read again.
            hit.stored = try readModel.settlement(epoch: epoch)
            return hit
        }
        let r = try recomputeFromHistory(epoch: epoch, node: node)
        cache?.put(key, r)
        return r
    }

    private func recomputeFromHistory(epoch: Int64, node: NodeID?) throws -> EpochRecomputation {
        // 1. The starting state: the economy after EpochClosed N − 1 (the projections'
        // checkpoint plus a replay).
        guard var (economy, position) = try readModel.economy(afterEpoch: epoch - 1) else {
            let last = try readModel.lastClosedEpoch()
            throw AuditError.epochNotClosed(epoch: epoch, lastClosed: last)
        }
        var fromEpoch = epoch - 1
        var traffic: [AuditedEvent] = []
        if let node, let carried = economy.node(node)?.unsettled,
            let events = try carriedTraffic(of: node, carried: carried, before: epoch, through: position)
        {
            traffic = events
        } else if let node {
            // The node's contribution may have been carried over from earlier epochs: step back
            // (doubling the distance) until it had nothing unsettled, or to Genesis.
            var step: Int64 = 1
            while fromEpoch > 0, let n = economy.node(node), n.unsettled.rawValue > 0 {
                fromEpoch = max(0, fromEpoch - step)
                step *= 2
                guard let earlier = try readModel.economy(afterEpoch: fromEpoch) else {
                    throw AuditError.corruptLog(position: position, reason: "no state after epoch \(fromEpoch)")
                }
                (economy, position) = earlier
            }
        }
        let from = (epoch: fromEpoch, position: position)

        // 2. Replay up to and including EpochClosed `epoch`.
        var next = from.position + 1
        var replayed = 0
        var pageSize = 256 // an epoch is usually a few dozen events: start small, then grow
        while true {
            let page = try store.read(from: next, limit: pageSize)
            pageSize = min(pageSize * 2, 4096)
            if page.isEmpty {
                throw AuditError.epochNotClosed(epoch: epoch, lastClosed: economy.lastClosedEpoch)
            }
            for stored in page {
                let event: LedgerEvent
                do { event = try stored.ledgerEvent() } catch {
                    throw AuditError.corruptLog(position: stored.position, reason: "stored event is invalid: \(error)")
                }
                let closesTarget: Bool
                if case .epochClosed(let e) = event.payload, e == epoch { closesTarget = true } else { closesTarget = false }
                // A state restored from a checkpoint head is given the vesting entries the event reads.
                try readModel.prepare(&economy, for: event, at: stored.position - 1, maturingThrough: epoch)
                let inputs = closesTarget ? economy.settlementInputs() : nil
                let applied: AppliedEvent
                do { applied = try economy.apply(event) } catch {
                    throw AuditError.corruptLog(position: stored.position, reason: "the rules refuse a logged event: \(error)")
                }
                replayed += 1
                if let node {
                    for case .trafficRecorded(let e, let n, _, _, let charge) in applied.effects where n == node {
                        traffic.append(
                            AuditedEvent(
                                position: stored.position, eventID: stored.eventID, type: stored.type,
                                epoch: e, charge: charge))
                    }
                    if !closesTarget, let s = applied.settlement, s.settled.contains(where: { $0.node == node }) {
                        traffic.removeAll()
                    }
                }
                if closesTarget, let inputs, let report = applied.settlement {
                    let close = AuditedEvent(
                        position: stored.position, eventID: stored.eventID, type: stored.type,
                        epoch: epoch, charge: nil)
                    return EpochRecomputation(
                        epoch: epoch, closeEvent: close, before: inputs, report: report,
                        stored: try readModel.settlement(epoch: epoch), replayedFrom: from,
                        replayedEvents: replayed, trackedTraffic: traffic)
                }
            }
            next = page[page.count - 1].position + 1
        }
    }

    /// The traffic events that built the contribution `node` carried into `epoch` (`carried`
    /// noz, unsettled after the previous close at `position`): its traffic since the close of the
    /// last settlement that included it, read from its stream — without replaying the epochs in
    /// between. nil when their charges do not add up to `carried` exactly (e.g. an event the
    /// rules refused): the caller then replays, which is always right.
    private func carriedTraffic(
        of node: NodeID, carried: Noz, before epoch: Int64,
        through position: Int64
    ) throws -> [AuditedEvent]? {
        let after = try readModel.lastSettlement(of: node, before: epoch)?.position ?? 0
        var events: [AuditedEvent] = []
        var total: UInt128 = 0 // noz, overflow-checked: a sum that does not fit means replay
        for stored in try store.read(stream: "node/\(node.rawValue)", after: after, through: position)
        where stored.type == EventType.trafficServed.rawValue {
            guard case .trafficServed(let record) = try stored.ledgerEvent().payload,
                let charge = Economy.charge(of: record)
            else { return nil }
            let (sum, overflow) = total.addingReportingOverflow(charge)
            guard !overflow else { return nil }
            total = sum
            events.append(
                AuditedEvent(
                    position: stored.position, eventID: stored.eventID, type: stored.type,
                    epoch: record.epoch, charge: Noz(charge)))
        }
        return total == carried.rawValue ? events : nil
    }

    /// The derivation of every wei `node`'s owner earned from the node at the close of `epoch`.
    public func auditNode(_ node: NodeID, epoch: Int64) throws -> NodeAudit {
        let r = try recompute(epoch: epoch, node: node)
        guard
            r.before.unsettled.contains(where: { $0.node == node })
                || r.before.stakeDeposits.contains(where: { $0.node == node })
                || r.before.activeMetaNodes.contains(node)
                || r.report.rewards.contains(where: { $0.node == node })
        else {
            // Not a participant of this settlement: known at all?
            if try !readModel.nodeExists(node) { throw AuditError.unknownNode(node) }
            return NodeAudit(node: node, recomputation: r)
        }
        return NodeAudit(node: node, recomputation: r)
    }
}

/// floor(a × b / d), exact (the product may exceed 128 bits; the quotient must not).
@inline(__always)
func mulDiv(_ a: UInt128, _ b: UInt128, _ d: UInt128) -> UInt128 {
    precondition(d > 0)
    let p = a.multipliedFullWidth(by: b)
    precondition(p.high < d, "floor(\(a) × \(b) / \(d)) does not fit 128 bits")
    return d.dividingFullWidth(p).quotient
}

/// Recomputations of closed epochs, kept for repeated audits (a few hundred, least recently used
/// evicted).
///
/// Why it is safe: a recomputation depends only on the log up to `EpochClosed N`, which is
/// append-only and hash-chained, and on the rule set of the projection it started from; the
/// stored side (`stored`) is always read again. Why it helps: a cold audit loads a checkpoint head,
/// fetches the vesting entries the replayed closes release and replays a few epochs of events.
public final class RecomputationCache: Sendable {
    /// The rule set is part of the key: after a switch to a build under other rules, the same
    /// epoch recomputes to another result.
    public struct Key: Hashable, Sendable {
        public var rulesSha256: String
        public var epoch: Int64
        public var node: NodeID?
    }
    private let capacity: Int
    private let entries = Mutex<(map: [Key: (value: EpochRecomputation, tick: UInt64)], tick: UInt64)>(([:], 0))

    public init(capacity: Int = 256) { self.capacity = max(1, capacity) }

    func get(_ key: Key) -> EpochRecomputation? {
        entries.withLock { e in
            guard let hit = e.map[key] else { return nil }
            e.tick += 1
            e.map[key] = (hit.value, e.tick)
            return hit.value
        }
    }

    func put(_ key: Key, _ value: EpochRecomputation) {
        entries.withLock { e in
            e.tick += 1
            e.map[key] = (value, e.tick)
            if e.map.count > capacity, let oldest = e.map.min(by: { $0.value.tick < $1.value.tick })?.key {
                e.map.removeValue(forKey: oldest)
            }
        }
    }
}
