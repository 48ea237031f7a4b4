import LedgerEvents

/// The economic parameters in force for one epoch (RULES §5–§7, §10): what a rule-set file
/// sets (docs/RULE-SETS.md). Money is exact: tier bounds and rewards are `Wei`.
public struct RuleParameters: Sendable, Hashable {
    /// The settled set is the shortest prefix of nodes, in settlement order, with
    /// `10000 × Σ ≥ settledShareBp × T` (RULES §5.2: 8000, the top 80 %).
    public var settledShareBp: UInt128
    /// The mining schedule (RULES §5.4); the last tier's bound is the cap.
    public var mining: MiningSchedule
    /// Lock-up of rewards in epochs (RULES §5.9: 2016). An entry keeps the maturity computed
    /// when it was created.
    public var lockupEpochs: Int64
    /// Minimum deposit lock of a node in days from its activation day (RULES §6: 180).
    public var depositLockDays: Int64
    /// Cooling-off after deactivation in days (RULES §6: 14).
    public var coolingOffDays: Int64
    /// Unbonding of undelegations in days (RULES §7: 21).
    public var unbondingDays: Int64
    /// Which deposit `s` is, the deposit the Ozone limit grows with (RULES §2, §6 and §10).
    public var limitGrowthDeposit: DepositConstantRule

    public init(
        settledShareBp: UInt128 = 8000, mining: MiningSchedule = .paper, lockupEpochs: Int64 = 2016,
        depositLockDays: Int64 = 180, coolingOffDays: Int64 = 14, unbondingDays: Int64 = 21,
        limitGrowthDeposit: DepositConstantRule
    ) {
        self.settledShareBp = settledShareBp
        self.mining = mining
        self.lockupEpochs = lockupEpochs
        self.depositLockDays = depositLockDays
        self.coolingOffDays = coolingOffDays
        self.unbondingDays = unbondingDays
        self.limitGrowthDeposit = limitGrowthDeposit
    }
}

/// A change of parameters effective from an epoch: the keys it sets, the others unchanged.
public struct RuleChange: Sendable, Hashable {
    /// The first epoch the change is in force for: events of that epoch (before its
    /// `EpochClosed`) and its `EpochClosed` use it.
    public let fromEpoch: Int64
    public let set: RuleParameterChanges
    public init(fromEpoch: Int64, set: RuleParameterChanges) {
        self.fromEpoch = fromEpoch
        self.set = set
    }
}

/// Some of the parameters (nil: unchanged).
public struct RuleParameterChanges: Sendable, Hashable {
    public var settledShareBp: UInt128?
    public var mining: MiningSchedule?
    public var lockupEpochs: Int64?
    public var depositLockDays: Int64?
    public var coolingOffDays: Int64?
    public var unbondingDays: Int64?
    public var limitGrowthDeposit: DepositConstantRule?
    public init() {}

    public var isEmpty: Bool { self == RuleParameterChanges() }

    public func applied(to p: RuleParameters) -> RuleParameters {
        var p = p
        if let v = settledShareBp { p.settledShareBp = v }
        if let v = mining { p.mining = v }
        if let v = lockupEpochs { p.lockupEpochs = v }
        if let v = depositLockDays { p.depositLockDays = v }
        if let v = coolingOffDays { p.coolingOffDays = v }
        if let v = unbondingDays { p.unbondingDays = v }
        if let v = limitGrowthDeposit { p.limitGrowthDeposit = v }
        return p
    }

    /// What changes from `a` to `b` (only the keys that differ).
    public static func difference(from a: RuleParameters, to b: RuleParameters) -> RuleParameterChanges {
        var c = RuleParameterChanges()
        if a.settledShareBp != b.settledShareBp { c.settledShareBp = b.settledShareBp }
        if a.mining != b.mining { c.mining = b.mining }
        if a.lockupEpochs != b.lockupEpochs { c.lockupEpochs = b.lockupEpochs }
        if a.depositLockDays != b.depositLockDays { c.depositLockDays = b.depositLockDays }
        if a.coolingOffDays != b.coolingOffDays { c.coolingOffDays = b.coolingOffDays }
        if a.unbondingDays != b.unbondingDays { c.unbondingDays = b.unbondingDays }
        if a.limitGrowthDeposit != b.limitGrowthDeposit { c.limitGrowthDeposit = b.limitGrowthDeposit }
        return c
    }
}

/// A named set of economic rules: base parameters and changes effective from epochs. Rule sets
/// are values, computed from the same events: the engine asks `parameters(forEpoch:)` at each
/// point where rule sets may differ.
///
/// Built-in sets are rule-set files shipped with the binary (RuleSet+BuiltIn.swift); others come
/// from files (`RuleSet.parse`, RuleSet+File.swift). Two rule sets are equal iff their canonical
/// JSON is equal (fully resolved, keys sorted, no whitespace): `rulesSha256` is its SHA-256.
public struct RuleSet: Sendable, Hashable, CustomStringConvertible {
    /// Recorded as `"rules"` in every report.
    public let name: String
    /// The parameters before any change (from epoch 1).
    public let base: RuleParameters
    /// Changes in increasing `fromEpoch ≥ 1`, each changing something.
    public let changes: [RuleChange]
    /// `(fromEpoch, parameters in force from it)` for every change, in order.
    let timeline: [(fromEpoch: Int64, parameters: RuleParameters)]
    /// The canonical JSON text (see RuleSet+File.swift) and its SHA-256 in lowercase hex.
    public let canonicalJSON: String
    public let sha256: String

    /// A rule set from validated parts. `changes` must already satisfy `RuleSet.validate` (the
    /// file parser checks them and names the key); here an invalid one is a programming error.
    public init(name: String, base: RuleParameters, changes: [RuleChange] = []) {
        var timeline: [(Int64, RuleParameters)] = []
        var kept: [RuleChange] = []
        var current = base
        for c in changes {
            let next = c.set.applied(to: current)
            let diff = RuleParameterChanges.difference(from: current, to: next)
            guard !diff.isEmpty else { continue }
            kept.append(RuleChange(fromEpoch: c.fromEpoch, set: diff))
            timeline.append((c.fromEpoch, next))
            current = next
        }
        self.name = name
        self.base = base
        self.changes = kept
        self.timeline = timeline
        if let problem = RuleSet.problem(base: base, changes: kept) {
            preconditionFailure("invalid rule set \(name): \(problem.path): \(problem.message)")
        }
        canonicalJSON = RuleSet.canonicalJSON(name: name, base: base, changes: kept)
        sha256 = SHA256.hex(SHA256.hash(canonicalJSON))
    }

    /// A rule set without changes (the form of the sets before rule-set files).
    public init(
        name: String, depositConstant: DepositConstantRule, vestingEpochs: Int64 = 2016,
        unbondingDays: Int64 = 21, depositLockDays: Int64 = 180, coolingOffDays: Int64 = 14,
        mining: MiningSchedule = .paper
    ) {
        self.init(
            name: name,
            base: RuleParameters(
                mining: mining, lockupEpochs: vestingEpochs,
                depositLockDays: depositLockDays, coolingOffDays: coolingOffDays,
                unbondingDays: unbondingDays, limitGrowthDeposit: depositConstant))
    }

    /// The parameters in force for epoch `epoch`: those of the last change with
    /// `fromEpoch ≤ epoch`, the base before any.
    @inline(__always)
    public func parameters(forEpoch epoch: Int64) -> RuleParameters {
        if timeline.isEmpty || epoch < timeline[0].fromEpoch { return base }
        var i = timeline.count - 1
        while timeline[i].fromEpoch > epoch { i -= 1 }
        return timeline[i].parameters
    }

    /// The first epoch whose parameters differ between this rule set and `other` (nil: the
    /// same parameters at every epoch, whatever the names). Both are piecewise constant between
    /// their changes, so only epoch 1 and the epochs a change of either starts at are compared.
    ///
    /// Why: a rebuild under `other` can take over a build made under `self` through the close
    /// of epoch N − 1 and replay only from there (`rebuild` without `--from-genesis`); a rule
    /// fix effective from epoch N then costs the epochs after N, not the whole history.
    public func firstEpochWithOtherParameters(than other: RuleSet) -> Int64? {
        let starts = Set([1] + timeline.map(\.fromEpoch) + other.timeline.map(\.fromEpoch)).sorted()
        return starts.first { parameters(forEpoch: $0) != other.parameters(forEpoch: $0) }
    }

    /// Every parameter set in force at some epoch: the base, then one per change.
    public var allParameters: [RuleParameters] { [base] + timeline.map(\.parameters) }

    // Constant over the whole rule set (changes may not alter them: see `RuleSet.problem`).

    /// How `s` evolves (RULES §2 and §10).
    public var depositConstant: DepositConstantRule { base.limitGrowthDeposit }
    /// The mining cap (the last tier's bound).
    public var miningCap: Wei { base.mining.cap }

    // The base parameters (epoch 1), for callers that predate changes.

    public var mining: MiningSchedule { base.mining }
    public var vestingEpochs: Int64 { base.lockupEpochs }
    public var unbondingDays: Int64 { base.unbondingDays }
    public var depositLockDays: Int64 { base.depositLockDays }
    public var coolingOffDays: Int64 { base.coolingOffDays }

    /// The smallest and largest lock-up of any epoch (bounds of `epochEarned` for a maturity).
    public var lockupRange: ClosedRange<Int64> {
        let all = allParameters.map(\.lockupEpochs)
        return all.min()!...all.max()!
    }

    /// Whether this is one of the sets shipped with the binary.
    public var isBuiltIn: Bool { RuleSet.all.contains(self) }

    /// RULES §1–§9: `s` is the genesis deposit, constant.
    public static let paperV1 = RuleSet.builtIn(RuleSet.paperV1JSON)
    /// RULES §10: `s` is the effective total deposit, as the live chain keeps it.
    public static let paperV1EffectiveS = RuleSet.builtIn(RuleSet.paperV1EffectiveSJSON)

    /// Every rule set this build knows, in a stable order.
    public static let all: [RuleSet] = [.paperV1, .paperV1EffectiveS]

    public static func named(_ name: String) -> RuleSet? { all.first { $0.name == name } }

    public static func == (a: RuleSet, b: RuleSet) -> Bool { a.canonicalJSON == b.canonicalJSON }
    public func hash(into hasher: inout Hasher) { hasher.combine(canonicalJSON) }
    public var description: String { name }
}

/// How `s` evolves: the deposit the Ozone limit grows with (`limitGrowthDeposit` in a file).
public enum DepositConstantRule: String, Sendable, Hashable, CaseIterable {
    /// `"genesis"`: `s` = the genesis deposits, never changes (`paper-v1`).
    case genesisOnly = "genesis"
    /// `"effective"`: `s` = genesis deposits + deposits of nodes activated since − initial
    /// deposits of nodes deactivated since; each formula uses the `s` held before the event, an
    /// activation adds its `Z` after computing its Δl, a deactivation subtracts it after
    /// computing its Δl (`paper-v1-effective-s`).
    case effective = "effective"
}

/// The mining reward schedule: tiers chosen by `mined` before the epoch, capped in total.
public struct MiningSchedule: Sendable, Hashable {
    public struct Tier: Sendable, Hashable {
        /// The tier applies while `mined` (before the epoch) is below this (wei).
        public let minedBelow: Wei
        /// Reward per epoch (wei).
        public let rewardPerEpoch: Wei
        /// Split in basis points; the three add up to 10,000.
        public let resourceBp: UInt128
        public let metaBp: UInt128
        public let stakeBp: UInt128

        public init(minedBelow: Wei, rewardPerEpoch: Wei, resourceBp: UInt128, metaBp: UInt128, stakeBp: UInt128) {
            self.minedBelow = minedBelow
            self.rewardPerEpoch = rewardPerEpoch
            self.resourceBp = resourceBp
            self.metaBp = metaBp
            self.stakeBp = stakeBp
        }
    }
    /// Tiers in increasing `minedBelow`; the last one's `minedBelow` is the cap.
    public let tiers: [Tier]
    public var cap: Wei { tiers.last!.minedBelow }

    public init(tiers: [Tier]) {
        precondition(!tiers.isEmpty)
        for t in tiers { precondition(t.resourceBp + t.metaBp + t.stakeBp == 10_000, "tier split must be 10,000 bp") }
        self.tiers = tiers
    }

    /// The tier for an epoch closing with `mined` already issued (the last tier once the cap is reached).
    public func tier(minedBefore mined: Wei) -> Tier {
        for t in tiers where mined < t.minedBelow { return t }
        return tiers[tiers.count - 1]
    }

    /// M = min(tier reward, cap − mined).
    public func reward(minedBefore mined: Wei) -> Wei {
        guard mined < cap else { return .zero }
        return Wei(min(tier(minedBefore: mined).rewardPerEpoch.rawValue, cap.rawValue - mined.rawValue))
    }

    /// RULES §5.4, the paper's table.
    public static let paper: MiningSchedule = {
        let stos = Wei.perSTOS
        func tier(_ below: UInt128, _ reward: UInt128, _ r: UInt128, _ m: UInt128) -> Tier {
            Tier(minedBelow: Wei(below * stos), rewardPerEpoch: Wei(reward), resourceBp: r, metaBp: m, stakeBp: 2000)
        }
        return MiningSchedule(tiers: [
            tier(16_819_200, 80 * stos, 6000, 2000),
            tier(25_228_800, 40 * stos, 6200, 1800),
            tier(29_433_600, 20 * stos, 6400, 1600),
            tier(31_536_000, 10 * stos, 6600, 1400),
            tier(32_587_200, 5 * stos, 6800, 1200),
            tier(39_000_000, 5 * stos / 2, 7000, 1000),
        ])
    }()
}
