import LedgerEvents

// MARK: - The effect contract
//
// `Economy.apply` returns, for every applied event, the list of its `Effect`s in the order they
// happened. Effects are the *only* thing projections and the double-entry journal need:
//
// * Every change of a monetary quantity is a `.transfer` between two `LedgerAccount`s of the same
//   commodity (STOS wei or Ozone noz). A transfer is balanced by construction (one amount, debited
//   from `from`, credited to `to`), so a journal that books each transfer as one debit line and one
//   credit line is balanced per event and per commodity.
// * Summing the transfers of all events from the first one reproduces every balance of the state:
//   wallet, Ozone, escrow, bonded, unbonding, vesting entries, `p` (volume pool), `l` (Ozone limit),
//   `39,000,000 STOS − mined` (mining pool), unsettled node traffic `C_i` and the fee collector.
//   The two open-ended accounts, `.outside` (STOS) and `.ozoneIssuance` (Ozone), carry the negative
//   of everything that ever entered the books, so each commodity sums to zero over all accounts.
// * Descriptive effects (`vestingCreated`, `nodeStatusChanged`, `depositReleaseScheduled`, …) carry
//   what a transfer cannot: who a vesting entry belongs to and why, release days, node life cycle.
//   They never move money on their own.
//
// Effects name accounts, nodes and validators by their ids (never by engine-internal indices), so
// they are stable across processes, replays and checkpoints.

/// One commodity amount: STOS in wei or Ozone in noz.
public enum Amount: Hashable, Sendable, CustomStringConvertible {
    case wei(Wei)
    case noz(Noz)

    /// `baseUnits` of `commodity`: wei of STOS, noz of Ozone.
    @inlinable public init(_ commodity: Commodity, baseUnits: UInt128) {
        switch commodity {
        case .stos: self = .wei(Wei(baseUnits))
        case .ozone: self = .noz(Noz(baseUnits))
        }
    }

    public var commodity: Commodity {
        switch self {
        case .wei: .stos
        case .noz: .ozone
        }
    }
    /// The integer amount in base units (wei or noz).
    public var baseUnits: UInt128 {
        switch self {
        case .wei(let w): w.rawValue
        case .noz(let n): n.rawValue
        }
    }
    public var description: String {
        switch self {
        case .wei(let w): "\(w) wei"
        case .noz(let n): "\(n) noz"
        }
    }
}

/// The two commodities of the double-entry journal.
public enum Commodity: String, Hashable, Sendable, CaseIterable {
    case stos = "STOS" // amounts in wei
    case ozone = "OZ" // amounts in noz
}

/// Identifies one vesting entry (a locked reward). Assigned in creation order, starting at 1, so
/// a smaller id is always an older entry ("oldest first" of the migration fee).
public struct VestingEntryID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "v\(rawValue)" }
}

/// Identifies one unbonding (an undelegated amount waiting 21 days). Assigned in creation order from 1.
public struct UnbondingID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "u\(rawValue)" }
}

/// The chart of accounts of the double-entry journal. Each account holds exactly one commodity
/// (`commodity`); the ones that hold something for an owner name that owner, so per-account
/// balances follow from transfers alone.
public enum LedgerAccount: Hashable, Sendable, CustomStringConvertible {
    /// An account's spendable STOS.
    case wallet(AccountID)
    /// An account's Ozone (noz).
    case ozone(AccountID)
    /// A node's unsettled traffic contribution `C_i` (noz), consumed from users, not yet settled.
    case nodeTraffic(NodeID)
    /// The remaining total Ozone limit `l` (noz).
    case ozoneLimit
    /// The unissued prepay volume pool `p` (wei).
    case volumePool
    /// The mining pool: 39,000,000 STOS − `mined` (wei).
    case miningPool
    /// The deposit escrowed for `node`, owned by `owner` (wei).
    case escrow(owner: AccountID, node: NodeID)
    /// One locked reward (wei), owned by `owner`.
    case vesting(owner: AccountID, entry: VestingEntryID)
    /// The validator operator's self-delegation (wei).
    case selfBonded(operator: AccountID, validator: ValidatorID)
    /// A delegator's delegation to a validator (wei).
    case bonded(delegator: AccountID, validator: ValidatorID)
    /// One undelegated amount waiting for its release day (wei).
    case unbonding(delegator: AccountID, entry: UnbondingID)
    /// Gas fees not yet distributed (wei).
    case feeCollector
    /// The world outside the books (STOS): genesis deposits, `Funded`, gas fees come in from it,
    /// `Withdrawn` goes out to it; it also funds the mining pool once at Genesis.
    case outside
    /// The counterpart of Ozone creation (noz): the genesis `ozoneLimit` and the Δl of node
    /// activations come from it, the Δl of deactivations go back to it.
    case ozoneIssuance

    public var commodity: Commodity {
        switch self {
        case .ozone, .nodeTraffic, .ozoneLimit, .ozoneIssuance: .ozone
        case .wallet, .volumePool, .miningPool, .escrow, .vesting, .selfBonded, .bonded, .unbonding,
            .feeCollector, .outside:
            .stos
        }
    }

    /// The account whose snapshot balances this ledger account contributes to, if any.
    public var owner: AccountID? {
        switch self {
        case .wallet(let a), .ozone(let a): a
        case .escrow(let a, _), .vesting(let a, _), .selfBonded(let a, _), .bonded(let a, _),
            .unbonding(let a, _):
            a
        case .nodeTraffic, .ozoneLimit, .volumePool, .miningPool, .feeCollector, .outside, .ozoneIssuance: nil
        }
    }

    public var description: String {
        switch self {
        case .wallet(let a): "wallet:\(a)"
        case .ozone(let a): "ozone:\(a)"
        case .nodeTraffic(let n): "node-traffic:\(n)"
        case .ozoneLimit: "ozone-limit"
        case .volumePool: "volume-pool"
        case .miningPool: "mining-pool"
        case .escrow(let a, let n): "escrow:\(a):\(n)"
        case .vesting(let a, let e): "vesting:\(a):\(e)"
        case .selfBonded(let a, let v): "self-bonded:\(a):\(v)"
        case .bonded(let a, let v): "bonded:\(a):\(v)"
        case .unbonding(let a, let u): "unbonding:\(a):\(u)"
        case .feeCollector: "fee-collector"
        case .outside: "outside"
        case .ozoneIssuance: "ozone-issuance"
        }
    }
}

/// Why a transfer happened (stable codes, usable as journal memo).
public enum TransferReason: String, Hashable, Sendable, CaseIterable {
    /// Genesis: outside → mining pool, 39,000,000 STOS.
    case miningPoolOpened = "mining-pool-opened"
    /// Genesis: ozone issuance → Ozone limit, `ozoneLimit`.
    case ozoneLimitOpened = "ozone-limit-opened"
    /// Genesis: outside → escrow, a genesis node's deposit.
    case genesisDeposit = "genesis-deposit"
    /// `Funded`: outside → wallet.
    case funded
    /// `Withdrawn`: wallet → outside.
    case withdrawn
    /// `Transferred`: wallet → wallet.
    case transferred
    /// `Prepaid`: wallet → volume pool (X wei).
    case prepaid
    /// `Prepaid`: Ozone limit → user's Ozone (Δl noz).
    case ozonePurchased = "ozone-purchased"
    /// `TrafficServed`: user's Ozone → node traffic.
    case trafficCharged = "traffic-charged"
    /// `EpochClosed`: settled node traffic → Ozone limit (`l` +Y).
    case trafficSettled = "traffic-settled"
    /// `EpochClosed`: volume pool or mining pool → vesting entry.
    case reward
    /// Maturity: vesting entry → wallet.
    case vestingReleased = "vesting-released"
    /// Shutdown in the cooling-off: vesting entry → its source pool.
    case vestingCancelled = "vesting-cancelled"
    /// Deactivation: vesting entry or escrow → volume pool.
    case migrationFee = "migration-fee"
    /// Activation / registration: wallet → escrow.
    case depositEscrowed = "deposit-escrowed"
    /// Rejected meta registration: escrow → wallet.
    case depositRefunded = "deposit-refunded"
    /// Release day reached after deactivation: escrow → wallet.
    case depositReleased = "deposit-released"
    /// Activation: ozone issuance → Ozone limit (Δl).
    case ozoneLimitGrown = "ozone-limit-grown"
    /// Deactivation: Ozone limit → ozone issuance (Δl).
    case ozoneLimitShrunk = "ozone-limit-shrunk"
    /// `ValidatorCreated`: wallet → self-bonded.
    case selfDelegated = "self-delegated"
    /// `Delegated`: wallet → bonded.
    case delegated
    /// `Undelegated`: bonded → unbonding.
    case undelegated
    /// Release day reached: unbonding → wallet.
    case unbondingReleased = "unbonding-released"
    /// `GasFeesCollected`: outside → fee collector.
    case gasFeesCollected = "gas-fees-collected"
    /// Gas fee distribution: fee collector → wallet (no lock-up).
    case gasFeeReward = "gas-fee-reward"
}

/// One balanced movement of one commodity. `from` and `to` always hold `amount`'s commodity and
/// `amount` is never zero (zero movements are not emitted).
public struct Transfer: Hashable, Sendable, CustomStringConvertible {
    public let from: LedgerAccount
    public let to: LedgerAccount
    public let amount: Amount
    public let reason: TransferReason
    init(from: LedgerAccount, to: LedgerAccount, amount: Amount, reason: TransferReason) {
        precondition(
            from.commodity == amount.commodity && to.commodity == amount.commodity,
            "transfer \(from) → \(to) of \(amount) mixes commodities")
        precondition(amount.baseUnits > 0, "zero transfer \(from) → \(to)")
        self.from = from
        self.to = to
        self.amount = amount
        self.reason = reason
    }
    public var description: String { "\(from) → \(to): \(amount) (\(reason.rawValue))" }
}

/// The life-cycle status of a node (docs/EVENTS.md).
public enum NodeStatus: String, Hashable, Sendable, CaseIterable {
    case pending
    case active
    case suspended
    case deactivated
    case shutDown = "shut-down"
    case rejected
}

/// Who a reward is for (docs/EVENTS.md `role`).
public enum RewardRole: String, Hashable, Sendable, CaseIterable {
    case resource, meta, deposit, validator, commission, delegator
}

/// Which pool a reward came from, and where it goes back if cancelled (docs/EVENTS.md `source`).
public enum RewardSource: String, Hashable, Sendable, CaseIterable {
    /// The volume pool `p` (traffic reward R).
    case traffic
    /// The mining pool (mining reward M).
    case mining

    /// The pool account this source draws from.
    public var pool: LedgerAccount { self == .traffic ? .volumePool : .miningPool }
}

/// A locked reward as created at an epoch close (RULES §5.9).
public struct VestingEntry: Hashable, Sendable {
    public let id: VestingEntryID
    /// The owner: the node's owner (resource, meta, deposit), the validator's operator
    /// (validator, commission) or the delegator.
    public let account: AccountID
    /// Set for resource, meta and deposit rewards.
    public let node: NodeID?
    /// Set for validator, commission and delegator rewards.
    public let validator: ValidatorID?
    public let role: RewardRole
    public let source: RewardSource
    /// The amount at creation (a migration fee may take part of it later: `vestingFeeTaken`).
    public let amount: Wei
    /// The epoch whose close created it.
    public let epochEarned: Int64
    /// It is released to the wallet at the close of this epoch (`epochEarned + 2016`).
    public let matureEpoch: Int64
}

/// Everything an applied event did, in order. See the header comment of this file.
public enum Effect: Hashable, Sendable {
    /// A balanced movement of STOS or Ozone. Summing these reproduces every balance.
    case transfer(Transfer)

    /// A node appeared or changed status. `from` is nil when the node is new. `day` is day(t) of the event.
    case nodeStatusChanged(node: NodeID, kind: NodeKind, owner: AccountID, from: NodeStatus?, to: NodeStatus, day: Int64)
    /// A meta node registration vote was recorded (before any resulting status change).
    case metaNodeVoteRecorded(node: NodeID, voter: NodeID, approve: Bool)
    /// A node became active and its Δl was added to `l`: Δl is its initial task weight.
    case nodeTaskWeight(node: NodeID, weight: Noz)

    /// A vesting entry was created (its `.reward` transfer follows).
    case vestingCreated(VestingEntry)
    /// A vesting entry matured; `amount` (what is left of it) moved to the wallet.
    case vestingReleased(VestingEntryID, account: AccountID, amount: Wei)
    /// A vesting entry was cancelled by a shutdown in the cooling-off; `amount` went back to `source`.
    case vestingCancelled(VestingEntryID, account: AccountID, source: RewardSource, amount: Wei)
    /// Part or all of a vesting entry was taken for a migration fee (into the volume pool).
    case vestingFeeTaken(VestingEntryID, account: AccountID, node: NodeID, amount: Wei)

    /// A deactivation's migration fee: `fee` = `fromVesting + fromDeposit + waived`. `fee` and
    /// `waived` are nil when the fee is 2^128 wei or more (more than all STOS in the books): then
    /// everything available was taken and the rest waived.
    case migrationFeeCharged(
        node: NodeID, owner: AccountID, storedBytes: UInt128, fee: Wei?,
        fromVesting: Wei, fromDeposit: Wei, waived: Wei?)
    /// What is left of a deactivated node's deposit will be released at the first epoch close on or
    /// after `releaseDay`. `amount` may be zero when the fee took the whole deposit.
    case depositReleaseScheduled(node: NodeID, owner: AccountID, amount: Wei, releaseDay: Int64)
    /// A deactivated node's deposit was released (with its `.depositReleased` transfer).
    case depositReleased(node: NodeID, owner: AccountID, amount: Wei, releaseDay: Int64)

    /// A validator was created (with its `.selfDelegated` transfer).
    case validatorCreated(validator: ValidatorID, operator: AccountID, commissionBp: Int64)
    /// An undelegation started its 21-day unbonding (with its `.undelegated` transfer).
    case unbondingScheduled(UnbondingID, delegator: AccountID, validator: ValidatorID, amount: Wei, releaseDay: Int64)
    /// An unbonding was released (with its `.unbondingReleased` transfer).
    case unbondingReleased(UnbondingID, delegator: AccountID, validator: ValidatorID, amount: Wei, releaseDay: Int64)

    /// A gas fee reward paid directly to a wallet (with its `.gasFeeReward` transfer).
    /// `role` is `.validator`, `.commission` or `.delegator`.
    case gasFeeReward(account: AccountID, validator: ValidatorID, role: RewardRole, amount: Wei)

    /// A traffic record was accepted. `charge` may be zero (replication); the Ozone moves in a transfer.
    case trafficRecorded(epoch: Int64, node: NodeID, account: AccountID, kind: TrafficKind, charge: Noz)

    /// The transfer, if this effect is one.
    public var transfer: Transfer? {
        if case .transfer(let t) = self { return t }
        return nil
    }
}

/// `s`, `p`, `l` and `mined` at one moment.
public struct Supply: Hashable, Sendable {
    /// The deposit constant `s` of the constant product (wei); its evolution depends on the rule set.
    public var s: Wei
    /// The unissued prepay volume pool `p` (wei).
    public var p: Wei
    /// The remaining total Ozone limit `l` (noz).
    public var l: Noz
    /// STOS issued so far from the mining pool (wei).
    public var mined: Wei
    public init(s: Wei, p: Wei, l: Noz, mined: Wei) {
        self.s = s
        self.p = p
        self.l = l
        self.mined = mined
    }
}

/// What `Economy.apply` did with one event.
public struct AppliedEvent: Sendable {
    /// The event's position in the applied log (1 for Genesis).
    public let position: Int64
    public let eventID: EventID
    public let type: EventType
    public let time: Timestamp
    /// day(t) of the event (1 on the genesis day).
    public let day: Int64
    /// The epoch open when the event was applied (for `EpochClosed`, the epoch it closed).
    public let epoch: Int64
    /// Everything it did, in order.
    public let effects: [Effect]
    /// Only for `EpochClosed`: the settlement audit of docs/EVENTS.md.
    public let settlement: SettlementReport?
    /// `s`, `p`, `l`, `mined` after the event.
    public let supply: Supply
    /// The undistributed gas fees after the event.
    public let feeCollector: Wei

    /// The transfers among `effects`, in order.
    public var transfers: [Transfer] { effects.compactMap(\.transfer) }
}
