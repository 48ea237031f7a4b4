/// The typed events of docs/EVENTS.md. An `EventEnvelope` (id, type, time, raw data) becomes a
/// `LedgerEvent` once its `data` has been validated field by field (`LedgerEvent.init(validating:)`).

public enum EventType: String, CaseIterable, Sendable {
    case genesis = "Genesis"
    case funded = "Funded"
    case withdrawn = "Withdrawn"
    case transferred = "Transferred"
    case prepaid = "Prepaid"
    case trafficServed = "TrafficServed"
    case epochClosed = "EpochClosed"
    case resourceNodeActivated = "ResourceNodeActivated"
    case metaNodeRegistrationRequested = "MetaNodeRegistrationRequested"
    case metaNodeVoted = "MetaNodeVoted"
    case resourceNodeSuspended = "ResourceNodeSuspended"
    case resourceNodeResumed = "ResourceNodeResumed"
    case nodeDeactivated = "NodeDeactivated"
    case nodeShutDown = "NodeShutDown"
    case validatorCreated = "ValidatorCreated"
    case delegated = "Delegated"
    case undelegated = "Undelegated"
    case gasFeesCollected = "GasFeesCollected"
}

public enum NodeKind: String, Sendable, Hashable, CaseIterable {
    case resource
    case meta
}

public enum TrafficKind: String, Sendable, Hashable, CaseIterable {
    case upload, download, query, replication
}

public struct GenesisNode: Sendable, Hashable {
    public var node: NodeID
    public var kind: NodeKind
    public var owner: AccountID
    public var deposit: Wei
    public init(node: NodeID, kind: NodeKind, owner: AccountID, deposit: Wei) {
        self.node = node
        self.kind = kind
        self.owner = owner
        self.deposit = deposit
    }
}

/// One traffic record (RULES §4). `bytes` and `records` are counts, not money.
public struct TrafficRecord: Sendable, Hashable {
    public var epoch: Int64
    public var node: NodeID
    public var account: AccountID
    public var kind: TrafficKind
    public var bytes: UInt128
    /// Upload only; nil means the default of 3. Always ≥ 3 when present.
    public var replicas: Int64?
    /// Query only; nil means 0.
    public var records: UInt128?
    public init(
        epoch: Int64, node: NodeID, account: AccountID, kind: TrafficKind,
        bytes: UInt128, replicas: Int64? = nil, records: UInt128? = nil
    ) {
        self.epoch = epoch
        self.node = node
        self.account = account
        self.kind = kind
        self.bytes = bytes
        self.replicas = replicas
        self.records = records
    }
}

/// The validated `data` of an event, one case per `EventType`.
public enum EventPayload: Sendable, Hashable {
    case genesis(ozoneLimit: Noz, nodes: [GenesisNode])
    case funded(account: AccountID, amount: Wei)
    case withdrawn(account: AccountID, amount: Wei)
    case transferred(from: AccountID, to: AccountID, amount: Wei)
    case prepaid(account: AccountID, amount: Wei)
    case trafficServed(TrafficRecord)
    case epochClosed(epoch: Int64)
    case resourceNodeActivated(node: NodeID, owner: AccountID, deposit: Wei)
    case metaNodeRegistrationRequested(node: NodeID, owner: AccountID, deposit: Wei)
    case metaNodeVoted(node: NodeID, voter: NodeID, approve: Bool)
    case resourceNodeSuspended(node: NodeID)
    case resourceNodeResumed(node: NodeID)
    case nodeDeactivated(node: NodeID, storedBytes: UInt128)
    case nodeShutDown(node: NodeID)
    case validatorCreated(validator: ValidatorID, operator: AccountID, selfDelegation: Wei, commissionBp: Int64)
    case delegated(delegator: AccountID, validator: ValidatorID, amount: Wei)
    case undelegated(delegator: AccountID, validator: ValidatorID, amount: Wei)
    case gasFeesCollected(amount: Wei)

    public var type: EventType {
        switch self {
        case .genesis: .genesis
        case .funded: .funded
        case .withdrawn: .withdrawn
        case .transferred: .transferred
        case .prepaid: .prepaid
        case .trafficServed: .trafficServed
        case .epochClosed: .epochClosed
        case .resourceNodeActivated: .resourceNodeActivated
        case .metaNodeRegistrationRequested: .metaNodeRegistrationRequested
        case .metaNodeVoted: .metaNodeVoted
        case .resourceNodeSuspended: .resourceNodeSuspended
        case .resourceNodeResumed: .resourceNodeResumed
        case .nodeDeactivated: .nodeDeactivated
        case .nodeShutDown: .nodeShutDown
        case .validatorCreated: .validatorCreated
        case .delegated: .delegated
        case .undelegated: .undelegated
        case .gasFeesCollected: .gasFeesCollected
        }
    }
}

/// A fully validated event: what the economics engine applies and the store appends.
public struct LedgerEvent: Sendable, Hashable {
    public var id: EventID
    public var time: Timestamp
    public var payload: EventPayload
    public var type: EventType { payload.type }
    public init(id: EventID, time: Timestamp, payload: EventPayload) {
        self.id = id
        self.time = time
        self.payload = payload
    }
}
