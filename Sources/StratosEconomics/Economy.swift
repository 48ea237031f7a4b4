import LedgerEvents

/// The whole economic state of one rule set; a value type (a copy is a snapshot).
public struct Economy: Sendable {
    public let rules: RuleSet
    /// Events applied so far (idempotent repeats are never given to the engine).
    public private(set) var position: Int64 = 0
    public private(set) var lastClosedEpoch: Int64 = 0

    public init(rules: RuleSet) { self.rules = rules }

    /// Applies one event atomically: either refuses it (state unchanged) or applies it and returns what it did.
    public mutating func apply(_ event: LedgerEvent) throws(RuleViolation) -> AppliedEvent {
        throw RuleViolation(eventID: event.id, eventType: event.type, rule: "not-implemented", message: "engine skeleton")
    }

    public func snapshot() -> EconomySnapshot {
        EconomySnapshot(rules: rules.name, position: position, lastClosedEpoch: lastClosedEpoch,
                        supply: Supply(s: .zero, p: .zero, l: .zero, mined: .zero), feeCollector: .zero,
                        accounts: [:], nodes: [:])
    }

    public func checkInvariants() throws(InvariantViolation) {}

    public func encodeCheckpoint() -> [UInt8] { Array(rules.name.utf8) }

    public init(checkpoint: [UInt8]) throws {
        guard let r = RuleSet.named(String(decoding: checkpoint, as: UTF8.self)) else {
            throw CheckpointError(message: "unknown rule set", offset: 0)
        }
        self.init(rules: r)
    }
}
