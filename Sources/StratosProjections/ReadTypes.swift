import EventStore
import LedgerEvents
import PostgresClient
import StratosEconomics

// The values the read API of the projections returns (`LedgerQueries`): plain, exact, Sendable.
// Amounts are `Wei`, `Noz` or `Amount` (one of the two); JSON is produced by their users (reports,
// the service), not here.

/// Where a snapshot is taken.
public enum SnapshotPoint: Sendable, Hashable {
    /// The projection's current position.
    case latest
    /// Right after `EpochClosed N`.
    case epoch(Int64)
    /// Right after the event at this log position (refused events change nothing).
    case position(Int64)
}

/// Lag and health of one projection schema.
public struct ProjectionHealth: Sendable, Hashable {
    public var schema: String
    public var rules: String
    /// The SHA-256 of the rule set's canonical JSON (nil for a schema built before it was stored).
    public var rulesSha256: String?
    public var status: BuildStatus
    public var buildID: String
    /// The last log position the projection has applied (its checkpoint).
    public var position: Int64
    public var lastClosedEpoch: Int64
    /// The log's head position.
    public var head: Int64
    /// head − position.
    public var lag: Int64 { head - position }
    public var appliedEvents: Int64
    public var refusedEvents: Int64
    /// False while a first build is still loading (its keys are not created yet).
    public var indexed: Bool
}

/// One vesting entry and what became of it.
public struct VestingScheduleEntry: Sendable, Hashable {
    public var entry: VestingEntryID
    public var node: NodeID?
    public var validator: ValidatorID?
    public var role: RewardRole
    public var source: RewardSource
    public var amount: Wei
    public var epochEarned: Int64
    public var matureEpoch: Int64
    public var status: VestingEntryStatus
    /// Taken by migration fees (part or all of `amount`).
    public var feeTaken: Wei
    /// The epoch it was released or cancelled in.
    public var closedEpoch: Int64?
}

/// A deactivated node's deposit or an unbonding, with its release day.
public struct ScheduledRelease: Sendable, Hashable {
    public var kind: ReleaseKind
    /// The node id (deposit) or unbonding id (`u…`).
    public var reference: String
    public var node: NodeID?
    public var validator: ValidatorID?
    public var amount: Wei
    public var releaseDay: Int64
    public var scheduledAt: Int64
    /// Log position and epoch of the release, nil while pending.
    public var releasedAt: Int64?
    public var releasedEpoch: Int64?
}

public struct VestingSchedule: Sendable, Hashable {
    public var account: AccountID
    public var entries: [VestingScheduleEntry]
    public var releases: [ScheduledRelease]
}

/// Whose vesting entries a bounded read takes: an account's (everything it earned) or a node's
/// (what its owner earned from it).
public enum VestingHolder: Sendable, Hashable {
    case account(AccountID)
    case node(NodeID)
}

/// A holder's vesting in brief: how many entries it has, and its locked ones by maturity.
public struct VestingSummary: Sendable, Hashable {
    /// Every entry, locked, released, cancelled or taken for fees.
    public var entries: Int
    /// The locked entries summed by maturity epoch, soonest first.
    public var lockedByMaturity: [MaturityTotal]
    public init(entries: Int, lockedByMaturity: [MaturityTotal]) {
        self.entries = entries
        self.lockedByMaturity = lockedByMaturity
    }
}

/// The locked vesting entries maturing at the close of one epoch, summed.
public struct MaturityTotal: Sendable, Hashable {
    public var matureEpoch: Int64
    public var entries: Int
    public var amount: Wei
    public init(matureEpoch: Int64, entries: Int, amount: Wei) {
        self.matureEpoch = matureEpoch
        self.entries = entries
        self.amount = amount
    }
}

/// A node's rewards of one epoch, by role and source.
public struct NodeEpochReward: Sendable, Hashable {
    public var epoch: Int64
    public var role: RewardRole
    public var source: RewardSource
    public var amount: Wei
}

/// A node's rewards for a chart: summed over consecutive ranges of `widthEpochs` epochs, the
/// first starting at the node's first reward and the last ending at `lastEpoch`, per role and
/// source. Exactly the lines of `nodeRewards` summed, without reading each of them.
public struct NodeRewardChart: Sendable, Hashable {
    public struct Bucket: Sendable, Hashable {
        /// 0 for the range starting at `firstEpoch`.
        public var index: Int64
        public var role: RewardRole
        public var source: RewardSource
        public var amount: Wei
        /// How many (epoch, role, source) lines of `nodeRewards` the bucket sums.
        public var lines: Int
    }
    /// The epoch of the node's first reward.
    public var firstEpoch: Int64
    /// The epoch of its last reward.
    public var lastRewardEpoch: Int64
    /// The axis's last epoch: the last closed epoch (or the last reward's, if later).
    public var lastEpoch: Int64
    public var widthEpochs: Int64
    /// Only the buckets that hold a reward, in no particular order.
    public var buckets: [Bucket]

    /// The number of ranges on the axis.
    public var rangeCount: Int64 { (lastEpoch - firstEpoch) / widthEpochs + 1 }
    /// The epochs of range `index`.
    public func epochs(ofRange index: Int64) -> ClosedRange<Int64> {
        let from = firstEpoch + index * widthEpochs
        return from...min(lastEpoch, from + widthEpochs - 1)
    }
    /// The number of lines of `nodeRewards` (over every epoch).
    public var lines: Int { buckets.reduce(0) { $0 + $1.lines } }
    public var total: Wei { buckets.reduce(Wei.zero) { $0 + $1.amount } }
}

/// The Ozone supply right after one epoch close.
public struct OzoneSupplyPoint: Sendable, Hashable {
    public var epoch: Int64
    public var position: Int64
    public var supply: Supply
    public var feeCollector: Wei
    /// The marginal price (s + p) / l in wei per noz, as an exact fraction.
    public var priceNumeratorWei: Wei
    public var priceDenominatorNoz: Noz
    /// Ozone bought by prepays, consumed by traffic, settled (Y) and carried over (T − Y) in the epoch.
    public var bought: Noz
    public var consumed: Noz
    public var settled: Noz
    public var carriedOver: Noz
}

/// What became of a vesting entry (docs/EVENTS.md's vesting schedule `status`).
public enum VestingEntryStatus: String, Sendable, Hashable, CaseIterable {
    case locked
    case released
    case cancelled
    /// Migration fees took all of it.
    case takenForFee = "taken-for-fee"
}

/// What a scheduled release gives back.
public enum ReleaseKind: String, Sendable, Hashable, CaseIterable {
    /// A deactivated node's remaining deposit.
    case deposit
    case unbonding
}

/// Where a stake reward comes from.
public enum StakeRewardKind: String, Sendable, Hashable, CaseIterable {
    /// The stake share of a settlement, locked.
    case stake
    /// A gas fee distribution, paid at once.
    case gasFee = "gas-fee"
}

/// One line of the stake-reward ledger.
public struct StakeReward: Sendable, Hashable {
    public var epoch: Int64
    public var account: AccountID
    public var validator: ValidatorID?
    public var node: NodeID?
    public var role: RewardRole
    public var kind: StakeRewardKind
    /// traffic or mining for the stake share; nil for gas fees.
    public var source: RewardSource?
    public var amount: Wei
}

/// One posting of a journal transaction: `amount` is credited (`negative == false`) or debited.
public struct JournalPosting: Sendable, Hashable {
    /// The account path, e.g. `wallet:st1alice`, `vesting:st1bob:v17`, `volume-pool`.
    public var account: String
    public var owner: AccountID?
    /// Wei on a STOS account, noz on an Ozone one: the case is the commodity.
    public var amount: Amount
    public var negative: Bool
    public var reason: String

    public init(account: String, owner: AccountID?, amount: Amount, negative: Bool, reason: String) {
        self.account = account
        self.owner = owner
        self.amount = amount
        self.negative = negative
        self.reason = reason
    }

    public var commodity: Commodity { amount.commodity }
}

/// One balanced journal transaction (one applied event).
public struct JournalTransaction: Sendable, Hashable {
    public var position: Int64
    public var eventID: EventID
    public var type: String
    public var time: Timestamp
    public var epoch: Int64
    public var postings: [JournalPosting]
}

/// An event the projection's rule set refused.
public struct ProjectionException: Sendable, Hashable {
    public var position: Int64
    public var eventID: String
    public var type: String
    public var rule: String
    public var message: String
}

/// The result of `verify(epoch:)`.
public struct EpochVerification: Sendable {
    public var epoch: Int64
    /// nil when the recomputation equals the stored settlement bit for bit.
    public var firstDifference: (field: String, stored: String, recomputed: String)?
    /// Refused events inside the epoch (they are not part of the settlement).
    public var exceptions: [ProjectionException]
    public var recomputeSeconds: Double
    /// The hash chain of the log segment the recomputation reads (`verifyChain(epoch:)`). When
    /// it is broken nothing is recomputed (`firstDifference` nil, no exceptions).
    public var chain: SegmentVerifyReport?
    public var matches: Bool { firstDifference == nil && chain?.isIntact != false }
}

/// A node's rewards over a range of epochs, in total and by role (`LedgerQueries.topNodes`).
public struct NodeRewardTotal: Sendable, Hashable {
    public struct RoleTotal: Sendable, Hashable {
        public var amount: Wei
        /// The last epoch of the range in which the node earned a reward in this role.
        public var lastEpoch: Int64
    }
    public var node: NodeID
    public var total: Wei
    public var byRole: [RewardRole: RoleTotal]
    /// The last epoch of the range in which the node earned anything.
    public var lastEpoch: Int64 { byRole.values.map(\.lastEpoch).max() ?? 0 }
}
