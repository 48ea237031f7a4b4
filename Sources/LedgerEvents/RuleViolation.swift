// The refusal is part of the event contract, not of one engine: the log's writer, the
// projections' exceptions and the service's problems all carry its stable code, and the event
// store must be able to name it without depending on the economics.

/// An event that the rules refuse. The economy is left exactly as it was.
///
/// `rule` is a short stable code (e.g. `wallet-short`, `epoch-not-open`, `time-backwards`,
/// `unknown-node`) that callers may match on; `message` names the account, node or validator and
/// the amounts involved, for humans.
public struct RuleViolation: Error, Sendable, Hashable, CustomStringConvertible {
    /// The stable codes of the rules an event can break, one per refusal reason (the table in
    /// docs/RULES.md, "Refusals"). The raw value is what reports, problems and the projections'
    /// exceptions carry: never rename one, add a new case instead.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        case alreadyVoted = "already-voted"
        case amountOutOfRange = "amount-out-of-range"
        case commissionOutOfRange = "commission-out-of-range"
        case delegationShort = "delegation-short"
        case epochNotOpen = "epoch-not-open"
        case epochOutOfOrder = "epoch-out-of-order"
        case genesisNoNodes = "genesis-no-nodes"
        case genesisRepeated = "genesis-repeated"
        case noGenesis = "no-genesis"
        case nodeExists = "node-exists"
        case nodeNotActive = "node-not-active"
        case nodeNotDeactivated = "node-not-deactivated"
        case nodeNotSuspended = "node-not-suspended"
        case notAVoter = "not-a-voter"
        case notPending = "not-pending"
        case ozoneLimitExhausted = "ozone-limit-exhausted"
        case ozoneOutOfRange = "ozone-out-of-range"
        case ozoneShort = "ozone-short"
        case prepayTooSmall = "prepay-too-small"
        case replicasTooFew = "replicas-too-few"
        case supplyOutOfRange = "supply-out-of-range"
        case timeBackwards = "time-backwards"
        case unknownNode = "unknown-node"
        case unknownValidator = "unknown-validator"
        case validatorExists = "validator-exists"
        case vestingNotLoaded = "vesting-not-loaded"
        case walletShort = "wallet-short"
        case wrongKind = "wrong-kind"
        case zeroAmount = "zero-amount"
    }

    public let eventID: EventID
    public let eventType: EventType
    public let code: Code
    public let message: String

    /// The code's stable text (`wallet-short`), as reports and problems carry it.
    public var rule: String { code.rawValue }

    public init(eventID: EventID, eventType: EventType, code: Code, message: String) {
        self.eventID = eventID
        self.eventType = eventType
        self.code = code
        self.message = message
    }

    public var description: String {
        "event \(eventID) (\(eventType.rawValue)) refused [\(rule)]: \(message)"
    }
}
