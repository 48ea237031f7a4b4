import LedgerEvents

/// A named set of economic rules. Rule sets are values, computed from the same events: the engine
/// asks its rule set at each point where rule sets may differ, so a new rule set is a new
/// `static let` here (plus, if it needs a new kind of variation, a new field with the current
/// behaviour as default), never a change to an existing one.
///
/// Two rule sets are equal when their names are equal: the name identifies the rules in every
/// report and checkpoint.
public struct RuleSet: Sendable, Hashable, CustomStringConvertible {
    /// Recorded as `"rules"` in every report.
    public let name: String

    /// How the deposit constant `s` evolves (RULES §2 and §10).
    public let depositConstant: DepositConstantRule

    /// Lock-up of rewards in epochs (RULES §5.9: 14 days = 2016 epochs).
    public let vestingEpochs: Int64
    /// Unbonding of undelegations in days (RULES §7).
    public let unbondingDays: Int64
    /// Minimum deposit lock of a node in days, counted from the activation day (RULES §6: 180).
    public let depositLockDays: Int64
    /// Cooling-off after deactivation in days (RULES §6: 14).
    public let coolingOffDays: Int64
    /// The mining schedule (RULES §5.4).
    public let mining: MiningSchedule

    public init(name: String, depositConstant: DepositConstantRule, vestingEpochs: Int64 = 2016,
                unbondingDays: Int64 = 21, depositLockDays: Int64 = 180, coolingOffDays: Int64 = 14,
                mining: MiningSchedule = .paper) {
        self.name = name; self.depositConstant = depositConstant; self.vestingEpochs = vestingEpochs
        self.unbondingDays = unbondingDays; self.depositLockDays = depositLockDays
        self.coolingOffDays = coolingOffDays; self.mining = mining
    }

    /// RULES §1–§9: `s` is the genesis deposit, constant.
    public static let paperV1 = RuleSet(name: "paper-v1", depositConstant: .genesisOnly)
    /// RULES §10: `s` is the effective total deposit, as the live chain keeps it.
    public static let paperV1EffectiveS = RuleSet(name: "paper-v1-effective-s", depositConstant: .effective)

    /// Every rule set this build knows, in a stable order.
    public static let all: [RuleSet] = [.paperV1, .paperV1EffectiveS]

    public static func named(_ name: String) -> RuleSet? { all.first { $0.name == name } }

    public static func == (a: RuleSet, b: RuleSet) -> Bool { a.name == b.name }
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }
    public var description: String { name }
}

/// How `s` evolves.
public enum DepositConstantRule: Sendable, Hashable {
    /// `s` = the genesis deposits, never changes (`paper-v1`).
    case genesisOnly
    /// `s` = genesis deposits + deposits of nodes activated since − initial deposits of nodes
    /// deactivated since; each formula uses the `s` held before the event, an activation adds its
    /// `Z` after computing its Δl, a deactivation subtracts it after computing its Δl.
    case effective
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
