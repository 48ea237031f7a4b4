import LedgerEvents

extension LedgerEvent {
    /// The stream an event belongs to: its primary entity. Streams give each entity its own
    /// version counter, so a writer can say "append only if account X is still at version 7".
    ///
    /// | events | stream |
    /// |---|---|
    /// | Funded, Withdrawn, Prepaid | `account/<account>` |
    /// | Transferred | `account/<from>` (the side whose balance is checked) |
    /// | TrafficServed, node lifecycle (activation, registration, vote, suspend, resume, deactivate, shut down) | `node/<node>` |
    /// | ValidatorCreated, Delegated, Undelegated | `validator/<validator>` |
    /// | EpochClosed | `epoch/<epoch>` |
    /// | Genesis, GasFeesCollected | `economy` |
    public var stream: String {
        switch payload {
        case .genesis, .gasFeesCollected: "economy"
        case .funded(let account, _), .withdrawn(let account, _), .prepaid(let account, _): "account/\(account.rawValue)"
        case .transferred(let from, _, _): "account/\(from.rawValue)"
        case .trafficServed(let record): "node/\(record.node.rawValue)"
        case .epochClosed(let epoch): "epoch/\(epoch)"
        case .resourceNodeActivated(let node, _, _), .metaNodeRegistrationRequested(let node, _, _),
            .metaNodeVoted(let node, _, _), .resourceNodeSuspended(let node), .resourceNodeResumed(let node),
            .nodeDeactivated(let node, _), .nodeShutDown(let node):
            "node/\(node.rawValue)"
        case .validatorCreated(let validator, _, _, _), .delegated(_, let validator, _), .undelegated(_, let validator, _):
            "validator/\(validator.rawValue)"
        }
    }
}

/// The tamper-evident chain over the log.
///
/// `hash_n = SHA-256(hash_{n-1} ‖ decimal(n) ‖ "\n" ‖ canonical event JSON)`, `hash_0` = 32 zero
/// bytes. The position is inside the hash so that an event cannot be moved; the previous hash
/// so that nothing can be removed, inserted or changed without breaking every later hash.
public enum HashChain {
    public static let initial = [UInt8](repeating: 0, count: 32)

    public static func next(previous: [UInt8], position: Int64, canonicalEvent: [UInt8]) -> [UInt8] {
        precondition(previous.count == 32 && position > 0)
        // One contiguous message, hashed in one call (the cheapest way through SHA256).
        var message = previous
        message.reserveCapacity(32 + 21 + canonicalEvent.count)
        message.append(contentsOf: String(position).utf8)
        message.append(UInt8(ascii: "\n"))
        message.append(contentsOf: canonicalEvent)
        return SHA256.hash(message)
    }
}
