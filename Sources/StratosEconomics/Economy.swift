import LedgerEvents

/// The whole economic state of one rule set, and the deterministic rules that change it.
///
/// A value type: a copy is a snapshot, and two economies given the same events in the same order
/// are equal to the last wei whatever process, machine or checkpoint they went through. The engine
/// never iterates a dictionary (whose order is per process): all state lives in arrays in creation
/// order, with dictionaries only as id → index lookups.
///
/// Refusals: every handler checks everything first and only then mutates, so a refused event
/// (`RuleViolation`) leaves the economy exactly as it was.
public struct Economy: Sendable {
    /// Upper bound on all STOS in the books (external inflows − outflows + the 39,000,000 STOS of
    /// the mining pool): 2^112 wei, about 5.2 × 10^15 STOS (10^8 times the mining cap). Events that
    /// would exceed it are refused (`supply-out-of-range`). It keeps every balance and sum of
    /// balances far inside `UInt128` and every product of the rules inside 256 bits.
    public static let maxTotalWei: UInt128 = 1 << 112
    /// Upper bound on all Ozone in the books (`l` + users' Ozone + unsettled traffic): 2^124 noz.
    /// Keeps `10 × Σ` of the top-80% rule inside `UInt128`.
    public static let maxTotalNoz: UInt128 = 1 << 124
    /// 86,400 s in microseconds.
    static let dayMicros: Int64 = 86_400_000_000

    public let rules: RuleSet
    /// Events applied so far (idempotent repeats are never given to the engine).
    public internal(set) var position: Int64 = 0
    /// The last epoch closed; the open epoch is this + 1.
    public internal(set) var lastClosedEpoch: Int64 = 0

    // MARK: State (internal so the extension files and the checkpoint codec can reach it)

    var genesisTime: Timestamp?
    var lastTime = Timestamp(microsecondsSinceEpoch: .min)
    var s: Wei = .zero
    var p: Wei = .zero
    var l: Noz = .zero
    var mined: Wei = .zero
    var feeCollector: Wei = .zero
    /// Genesis deposits + `Funded` + `GasFeesCollected`.
    var externalIn: Wei = .zero
    /// `Withdrawn`.
    var externalOut: Wei = .zero
    /// `ozoneLimit` + Σ Δl of activations − Σ Δl of deactivations.
    var ozoneIssued: Noz = .zero
    /// D: self-delegations plus delegations over all validators.
    var totalDelegation: Wei = .zero

    var accounts = ChunkedArray<AccountState>()
    var accountIndex: [AccountID: Int] = [:]
    var nodes = ChunkedArray<NodeState>()
    var nodeIndex: [NodeID: Int] = [:]
    var validators = ChunkedArray<ValidatorState>()
    var validatorIndex: [ValidatorID: Int] = [:]
    /// (validator, delegator) → index in `validators[validator].delegations`.
    var delegationIndex: [DelegationKey: Int] = [:]
    /// Active meta nodes, ascending node index.
    var activeMeta: [Int] = []
    /// Nodes with `unsettled > 0`, no duplicates.
    var unsettledNodes: [Int] = []
    /// Vesting entries from `vestingHead` on are locked or spent; earlier ones are done. `vesting[k]`
    /// has id `vestingBaseID + k`. Ordered by id, hence by `matureEpoch`.
    var vesting = ChunkedArray<VestingState>()
    var vestingBaseID: UInt64 = 1
    var vestingHead = 0
    /// Locked entries older than `vestingBaseID` that a checkpoint head left out (nil: none, the
    /// economy is complete). See Economy+VestingHole.swift.
    var vestingHole: VestingHole?
    /// For a partial economy that writes heads (a projection worker supplying entries on
    /// demand): the first id of each maturity epoch after the last close among the entries the
    /// head left out, done ones included, ascending (`setVestingMaturityStarts`). A complete
    /// economy's head names the first entry not yet matured; with these a partial one names the
    /// same, so both write the same bytes. nil when not given.
    var holeMaturityStarts: ArraySlice<VestingMaturityStart>?
    /// Σ wei of every locked entry (in memory, supplied or not) per maturity epoch and per node:
    /// what a checkpoint head records. Kept up to date as entries are created, released, charged
    /// and cancelled, so that writing a head every epoch costs O(buckets), not O(entries).
    var lockedTotals = LockedVestingTotals()
    /// Unbondings, ordered by id and by release day; from `unbondingHead` on not yet released.
    var unbondings = ChunkedArray<UnbondingState>()
    var unbondingBaseID: UInt64 = 1
    var unbondingHead = 0
    /// Deactivated nodes whose remaining deposit waits for its release day, in deactivation order.
    var pendingReleases: [Int] = []

    public init(rules: RuleSet) { self.rules = rules }

    // MARK: Read access

    /// `s`, `p`, `l`, `mined` now.
    public var supply: Supply { Supply(s: s, p: p, l: l, mined: mined) }
    /// The open epoch (traffic must name it).
    public var openEpoch: Int64 { lastClosedEpoch + 1 }
    /// The time of Genesis, nil before it.
    public var genesis: Timestamp? { genesisTime }
    /// The marginal Ozone price `(s + p) / l` wei per noz, as an exact fraction (nil before Genesis).
    public var ozonePrice: (numeratorWei: UInt128, denominatorNoz: UInt128)? {
        genesisTime == nil ? nil : ((s + p).rawValue, l.rawValue)
    }
    /// Undistributed gas fees.
    public var feeCollectorBalance: Wei { feeCollector }

    /// day(t) = floor((t − genesisTime) / 86400 s) + 1; nil before Genesis or for t before it.
    public func day(of t: Timestamp) -> Int64? {
        guard let g = genesisTime, t >= g else { return nil }
        return (t.microsecondsSinceEpoch - g.microsecondsSinceEpoch) / Self.dayMicros + 1
    }

    /// The snapshot balances of one account, nil if never seen.
    public func balances(of account: AccountID) -> AccountBalances? {
        accountIndex[account].map { accounts[$0].balances }
    }

    /// One node as in the snapshot, nil if never seen.
    public func node(_ id: NodeID) -> NodeSnapshot? {
        nodeIndex[id].map(nodeSnapshot)
    }

    func nodeSnapshot(_ i: Int) -> NodeSnapshot {
        let n = nodes[i]
        return NodeSnapshot(
            kind: n.kind, owner: accounts[n.owner].id, status: n.status,
            deposit: n.deposit, unsettled: n.unsettled)
    }

    /// The economy snapshot of docs/EVENTS.md: every account and node ever seen.
    public func snapshot() -> EconomySnapshot {
        var accountMap: [AccountID: AccountBalances] = [:]
        accountMap.reserveCapacity(accounts.count)
        for a in accounts { accountMap[a.id] = a.balances }
        var nodeMap: [NodeID: NodeSnapshot] = [:]
        nodeMap.reserveCapacity(nodes.count)
        for i in nodes.indices { nodeMap[nodes[i].id] = nodeSnapshot(i) }
        return EconomySnapshot(
            rules: rules.name, position: position, lastClosedEpoch: lastClosedEpoch,
            supply: supply, feeCollector: feeCollector,
            accounts: accountMap, nodes: nodeMap)
    }

    // MARK: Applying events

    /// Applies one event atomically: either refuses it (state unchanged) or applies it and returns
    /// what it did.
    public mutating func apply(_ event: LedgerEvent) throws(RuleViolation) -> AppliedEvent {
        let context: EventContext
        if case .genesis = event.payload {
            guard genesisTime == nil else {
                throw RuleViolation(
                    eventID: event.id, eventType: event.type, code: .genesisRepeated,
                    message: "Genesis was already applied; it comes exactly once, first")
            }
            context = EventContext(id: event.id, type: event.type, time: event.time, day: 1, epoch: 1)
        } else {
            guard let day = day(of: event.time) else {
                if genesisTime == nil {
                    throw RuleViolation(
                        eventID: event.id, eventType: event.type, code: .noGenesis,
                        message: "the first event must be Genesis")
                }
                throw RuleViolation(
                    eventID: event.id, eventType: event.type, code: .timeBackwards,
                    message: "time \(event.time.microsecondsSinceEpoch) µs is before Genesis")
            }
            context = EventContext(id: event.id, type: event.type, time: event.time, day: day, epoch: openEpoch)
        }
        if vestingHole != nil, let need = vestingNeed(for: event) {
            throw context.violation(
                .vestingNotLoaded,
                "this economy was restored from a checkpoint head without its locked vesting entries; supply \(need) first")
        }
        guard event.time >= lastTime else {
            throw context.violation(
                .timeBackwards,
                "time \(event.time.microsecondsSinceEpoch) µs is earlier than the previous event's \(lastTime.microsecondsSinceEpoch) µs")
        }

        var effects: [Effect] = []
        var settlement: SettlementReport?
        switch event.payload {
        case .genesis(let ozoneLimit, let genesisNodes):
            try applyGenesis(context, ozoneLimit: ozoneLimit, nodes: genesisNodes, &effects)
        case .funded(let account, let amount):
            try applyFunded(context, account: account, amount: amount, &effects)
        case .withdrawn(let account, let amount):
            try applyWithdrawn(context, account: account, amount: amount, &effects)
        case .transferred(let from, let to, let amount):
            try applyTransferred(context, from: from, to: to, amount: amount, &effects)
        case .prepaid(let account, let amount):
            try applyPrepaid(context, account: account, amount: amount, &effects)
        case .trafficServed(let record):
            try applyTraffic(context, record: record, &effects)
        case .epochClosed(let epoch):
            settlement = try applyEpochClosed(context, epoch: epoch, &effects)
        case .resourceNodeActivated(let node, let owner, let deposit):
            try applyResourceNodeActivated(context, node: node, owner: owner, deposit: deposit, &effects)
        case .metaNodeRegistrationRequested(let node, let owner, let deposit):
            try applyMetaNodeRegistrationRequested(context, node: node, owner: owner, deposit: deposit, &effects)
        case .metaNodeVoted(let node, let voter, let approve):
            try applyMetaNodeVoted(context, node: node, voter: voter, approve: approve, &effects)
        case .resourceNodeSuspended(let node):
            try applySuspension(context, node: node, suspend: true, &effects)
        case .resourceNodeResumed(let node):
            try applySuspension(context, node: node, suspend: false, &effects)
        case .nodeDeactivated(let node, let storedBytes):
            try applyNodeDeactivated(context, node: node, storedBytes: storedBytes, &effects)
        case .nodeShutDown(let node):
            try applyNodeShutDown(context, node: node, &effects)
        case .validatorCreated(let validator, let op, let selfDelegation, let commissionBp):
            try applyValidatorCreated(
                context, validator: validator, operator: op, selfDelegation: selfDelegation, commissionBp: commissionBp, &effects)
        case .delegated(let delegator, let validator, let amount):
            try applyDelegated(context, delegator: delegator, validator: validator, amount: amount, &effects)
        case .undelegated(let delegator, let validator, let amount):
            try applyUndelegated(context, delegator: delegator, validator: validator, amount: amount, &effects)
        case .gasFeesCollected(let amount):
            try applyGasFees(context, amount: amount, &effects)
        }
        position += 1
        lastTime = event.time
        return AppliedEvent(
            position: position, eventID: event.id, type: event.type, time: event.time,
            day: context.day, epoch: context.epoch, effects: effects, settlement: settlement,
            supply: supply, feeCollector: feeCollector)
    }
}

/// The event being applied, for handlers and their error messages.
struct EventContext {
    let id: EventID
    let type: EventType
    let time: Timestamp
    let day: Int64
    let epoch: Int64

    func violation(_ code: RuleViolation.Code, _ message: String) -> RuleViolation {
        RuleViolation(eventID: id, eventType: type, code: code, message: message)
    }
}

// MARK: - Internal state records

struct AccountState: Sendable, Equatable {
    let id: AccountID
    var wallet: Wei = .zero
    var ozone: Noz = .zero
    /// Σ of its locked vesting entries.
    var vesting: Wei = .zero
    /// Self-delegations plus delegations it made.
    var bonded: Wei = .zero
    /// Σ of its unbondings not yet released.
    var unbonding: Wei = .zero
    /// Σ of the deposits escrowed for its nodes.
    var escrow: Wei = .zero

    var balances: AccountBalances {
        var b = AccountBalances()
        b.wallet = wallet
        b.ozone = ozone
        b.vesting = vesting
        b.bonded = bonded
        b.unbonding = unbonding
        b.escrow = escrow
        return b
    }
}

struct NodeState: Sendable, Equatable {
    let id: NodeID
    let kind: NodeKind
    /// Account index of the owner.
    let owner: Int
    var status: NodeStatus
    /// Z, the deposit at activation/registration (before any fee).
    let initialDeposit: Wei
    /// What is escrowed now.
    var deposit: Wei
    /// C_i.
    var unsettled: Noz = .zero
    /// Day of activation (0 while pending or rejected).
    var activationDay: Int64 = 0
    /// Day of deactivation (0 if not deactivated).
    var deactivationDay: Int64 = 0
    /// Release day of the remaining deposit (0 if not deactivated).
    var releaseDay: Int64 = 0
    /// Pending meta registration: the voters (node indices, ascending) and who approved so far.
    var voters: [Int] = []
    var approvals: [Int] = []
    /// Ids of vesting entries that came from this node, ascending; may include done ones.
    var vestingEntries: [UInt64] = []
}

struct ValidatorState: Sendable, Equatable {
    let id: ValidatorID
    /// Account index of the operator.
    let operatorAccount: Int
    let selfDelegation: Wei
    let commissionBp: UInt128
    /// V_j = self + Σ delegations.
    var power: Wei
    /// In order of first delegation; amounts may fall to 0 and stay listed.
    var delegations: [Delegation] = []
}

struct Delegation: Sendable, Equatable {
    let delegator: Int
    var amount: Wei
}

struct DelegationKey: Hashable, Sendable {
    let validator: Int
    let delegator: Int
}

enum VestingStatus: UInt8, Sendable {
    case locked = 0
    case released = 1
    case cancelled = 2
}

/// What the engine keeps of a vesting entry: only what maturity, the migration fee and a shutdown
/// need. Its full description (role, validator, epoch earned) is in the `vestingCreated` effect.
struct VestingState: Sendable, Equatable {
    let account: Int
    /// Node index; nil for validator, commission and delegator rewards.
    let node: Int?
    let source: RewardSource
    /// What is left (a migration fee may take from it).
    var amount: Wei
    let matureEpoch: Int64
    var status: VestingStatus = .locked
}

struct UnbondingState: Sendable, Equatable {
    let account: Int
    let validator: Int
    let amount: Wei
    let releaseDay: Int64
}
