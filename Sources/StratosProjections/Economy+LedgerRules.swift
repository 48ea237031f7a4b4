import EventStore
import LedgerEvents
import StratosEconomics

/// The economy is the writer's rules state: the event store knows only `LedgerRules`, so it
/// stays free of the economics, and this module (which knows both) binds them.
extension Economy: LedgerRules {
    public mutating func check(_ event: LedgerEvent) throws(RuleViolation) {
        _ = try apply(event)
    }

    /// A rule set from a file is keyed by its sha256 too: a file edited under the same name does
    /// not restore the checkpoints of the old one.
    public var checkpointKey: String? {
        (rules.isBuiltIn ? rules.name : "\(rules.name)@\(rules.sha256)") + "/economy-v\(Economy.checkpointFormatVersion)"
    }

    public func checkpoint() -> [UInt8] { encodeCheckpoint() }

    public var appliedEvents: Int64? { position }

    /// Restores only under this state's own rule set (the same parameters, not just the name):
    /// the decoder checks the invariants of what it restores.
    public func restored(from checkpoint: [UInt8]) throws -> Economy {
        let restored = try Economy(checkpoint: checkpoint, ruleSets: [rules])
        guard restored.isComplete else { throw CheckpointError(message: "a checkpoint head, not a full state", offset: 0) }
        return restored
    }
}
