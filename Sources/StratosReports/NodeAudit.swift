import LedgerEvents
import StratosEconomics

/// The derivation of one node's rewards at one epoch close, every formula of RULES §5 filled
/// with the numbers the engine used. The shares are recomputed here from the inputs, and
/// compared with the engine's report (`consistent`) and with the stored projection
/// (`matchesProjection`), so a reader can check every wei with a pencil.
public struct NodeAudit: @unchecked Sendable {
    /// One source's (R or M) split as it concerns this node.
    public struct SourceSplit: Sendable {
        public var source: RewardSource
        public var amount: Wei
        public var resourceShare: Wei
        public var metaShare: Wei
        public var stakeShare: Wei
        /// floor(resourceShare × Y_i / Y), 0 when not settled.
        public var nodeResource: Wei
        /// floor(metaShare / n) when the node is an active meta node.
        public var nodeMeta: Wei
        /// partD = floor(stake × D / (D + K)), partK = floor(stake × K / (D + K)).
        public var partD: Wei
        public var partK: Wei
        /// floor(partK × deposit_i / K) when the node's deposit takes part.
        public var nodeDeposit: Wei
    }

    public let node: NodeID
    public let epoch: Int64
    public let recomputation: EpochRecomputation
    /// Its rank (1-based) in the settlement order, nil if not settled this epoch.
    public let rank: Int?
    /// Y_i: the contribution it settled (0 if not settled).
    public let settledTraffic: Noz
    /// C_i before the close (what it had accumulated).
    public let contributionBefore: Noz
    public let isActiveMeta: Bool
    /// Its deposit as weighed in K (nil if it does not take part in the deposit share).
    public let deposit: Wei?
    public let splits: [SourceSplit]
    /// The engine's rewards for this node (resource, meta, deposit).
    public let rewards: [SettlementReward]

    init(node: NodeID, recomputation r: EpochRecomputation) {
        self.node = node
        self.epoch = r.epoch
        self.recomputation = r
        let settledIndex = r.report.settled.firstIndex { $0.node == node }
        rank = settledIndex.map { $0 + 1 }
        settledTraffic = settledIndex.map { r.report.settled[$0].traffic } ?? .zero
        contributionBefore = r.before.unsettled.first { $0.node == node }?.traffic ?? .zero
        isActiveMeta = r.before.activeMetaNodes.contains(node)
        deposit = r.before.stakeDeposits.first { $0.node == node }?.deposit
        rewards = r.report.rewards.filter { $0.node == node }

        let tier = r.before.tier
        let y = r.report.Y.rawValue
        let n = UInt128(r.before.activeMetaNodes.count)
        let d = r.before.totalDelegation.rawValue
        let k = r.before.totalStakeDeposits.rawValue
        var splits: [SourceSplit] = []
        for (source, amount) in [(RewardSource.traffic, r.report.trafficReward), (.mining, r.report.miningReward)] {
            let a = amount.rawValue
            let resource = mulDiv(a, tier.resourceBp, 10_000)
            let meta = mulDiv(a, tier.metaBp, 10_000)
            let stake = mulDiv(a, tier.stakeBp, 10_000)
            let partD = d + k > 0 ? mulDiv(stake, d, d + k) : 0
            let partK = d + k > 0 ? mulDiv(stake, k, d + k) : 0
            splits.append(
                SourceSplit(
                    source: source, amount: amount, resourceShare: Wei(resource), metaShare: Wei(meta), stakeShare: Wei(stake),
                    nodeResource: Wei(y > 0 && a > 0 ? mulDiv(resource, settledTraffic.rawValue, y) : 0),
                    nodeMeta: Wei(isActiveMeta && n > 0 && a > 0 ? meta / n : 0),
                    partD: Wei(partD), partK: Wei(partK),
                    nodeDeposit: Wei(a > 0 && k > 0 ? mulDiv(partK, deposit?.rawValue ?? 0, k) : 0)))
        }
        self.splits = splits
    }

    /// The amounts derived here, per (role, source), non-zero only (the report leaves zeros out).
    public var derived: [(role: RewardRole, source: RewardSource, amount: Wei)] {
        splits.flatMap { s in
            [(RewardRole.resource, s.source, s.nodeResource), (.meta, s.source, s.nodeMeta), (.deposit, s.source, s.nodeDeposit)]
        }.filter { $0.2.rawValue > 0 }
    }

    /// The derivation agrees with the engine's report, reward by reward.
    public var consistent: Bool {
        let engine = rewards.map { "\($0.role.rawValue)/\($0.source.rawValue)/\($0.amount)" }.sorted()
        let mine = derived.map { "\($0.role.rawValue)/\($0.source.rawValue)/\($0.amount)" }.sorted()
        return engine == mine
    }

    public var total: Wei { rewards.reduce(Wei.zero) { $0 + $1.amount } }
    public var matureEpoch: Int64 { rewards.first?.matureEpoch ?? epoch + recomputation.before.lockupEpochs }

    /// The settled-set rule as the audit prints it (`10 × Y ≥ 8 × T` for 8000 bp).
    var settledRule: String {
        let bp = recomputation.before.settledShareBp
        return bp == 8000 ? "10 × Y ≥ 8 × T" : "10000 × Y ≥ \(bp) × T"
    }

    var settledPercent: String {
        let bp = recomputation.before.settledShareBp
        return bp % 100 == 0 ? "\(bp / 100)" : "\(bp / 100).\(bp % 100 < 10 ? "0" : "")\(bp % 100)"
    }

    // MARK: Output

    /// The machine form (`--format json`, `GET /v1/audit/nodes/{id}`).
    public func json() -> JSONValue {
        let r = recomputation
        let s = r.before.supply
        func num(_ v: Int64) -> JSONValue { .integer(v) }
        func amt(_ v: UInt128) -> JSONValue { .string(String(v)) }
        return .object([
            "node": .string(node.rawValue),
            "epoch": num(epoch),
            "rules": .string(r.report.rules),
            "owner": rewards.first.map { .string($0.account.rawValue) } ?? .null,
            "settled": .bool(rank != nil),
            "rank": rank.map { num(Int64($0)) } ?? .null,
            "settledCount": num(Int64(r.report.settled.count)),
            "contributionBefore": amt(contributionBefore.rawValue),
            "settledTraffic": amt(settledTraffic.rawValue),
            "T": amt(r.report.T.rawValue),
            "Y": amt(r.report.Y.rawValue),
            "before": .object(["s": amt(s.s.rawValue), "p": amt(s.p.rawValue), "l": amt(s.l.rawValue), "mined": amt(s.mined.rawValue)]),
            "trafficReward": amt(r.report.trafficReward.rawValue),
            "miningReward": amt(r.report.miningReward.rawValue),
            "tier": .object([
                "rewardPerEpoch": amt(r.before.tier.rewardPerEpoch.rawValue),
                "resourceBp": amt(r.before.tier.resourceBp), "metaBp": amt(r.before.tier.metaBp),
                "stakeBp": amt(r.before.tier.stakeBp),
            ]),
            "activeMetaNodes": num(Int64(r.before.activeMetaNodes.count)),
            "D": amt(r.before.totalDelegation.rawValue),
            "K": amt(r.before.totalStakeDeposits.rawValue),
            "deposit": deposit.map { amt($0.rawValue) } ?? .null,
            "splits": .array(
                splits.map { sp in
                    .object([
                        "source": .string(sp.source.rawValue), "amount": amt(sp.amount.rawValue),
                        "resourceShare": amt(sp.resourceShare.rawValue), "metaShare": amt(sp.metaShare.rawValue),
                        "stakeShare": amt(sp.stakeShare.rawValue), "partD": amt(sp.partD.rawValue), "partK": amt(sp.partK.rawValue),
                        "nodeResource": amt(sp.nodeResource.rawValue), "nodeMeta": amt(sp.nodeMeta.rawValue),
                        "nodeDeposit": amt(sp.nodeDeposit.rawValue),
                    ])
                }),
            "rewards": .array(
                rewards.map { w in
                    .object([
                        "account": .string(w.account.rawValue), "role": .string(w.role.rawValue),
                        "source": .string(w.source.rawValue), "amount": amt(w.amount.rawValue),
                        "matureEpoch": num(w.matureEpoch), "entry": num(Int64(w.entry.rawValue)),
                    ])
                }),
            "total": amt(total.rawValue),
            "matureEpoch": num(matureEpoch),
            "events": .array(
                (r.trackedTraffic + [r.closeEvent]).map { e in
                    var o: [String: JSONValue] = [
                        "position": num(e.position), "id": .string(e.eventID), "type": .string(e.type),
                        "epoch": num(e.epoch),
                    ]
                    if let c = e.charge { o["charge"] = amt(c.rawValue) }
                    return .object(o)
                }),
            "replayedFrom": .object(["epoch": num(r.replayedFrom.epoch), "position": num(r.replayedFrom.position)]),
            "consistent": .bool(consistent),
            "matchesProjection": r.matchesProjection.map { .bool($0) } ?? .null,
        ])
    }

    /// The human form: the derivation, line by line.
    public func text() -> String {
        let r = recomputation
        let s = r.before.supply
        let y = r.report.Y
        var out = "Audit of node \(node) at the close of epoch \(epoch) (rules \(r.report.rules))\n"
        out +=
            "  recomputed from \(r.replayedFrom.epoch == 0 ? "Genesis" : "the checkpoint of epoch \(r.replayedFrom.epoch) (position \(r.replayedFrom.position))"), \(r.replayedEvents) events replayed\n\n"
        out += "Traffic (RULES §5.2)\n"
        out += "  contribution C_i before the close: \(contributionBefore) noz\n"
        out += "  T = Σ C_i = \(r.report.T) noz; settled set: the top \(r.report.settled.count) node(s), Y = \(y) noz (\(settledRule))\n"
        if let rank {
            out += "  rank \(rank) of \(r.report.settled.count): settled Y_i = \(settledTraffic) noz, fraction Y_i/Y = \(settledTraffic)/\(y)\n"
        } else if contributionBefore.rawValue > 0 {
            out += "  not in the top-\(settledPercent)% cut: its \(contributionBefore) noz carry over to the next epoch\n"
        } else {
            out += "  no traffic to settle\n"
        }
        out += "\nState before settlement\n"
        out += "  s = \(s.s) wei, p = \(s.p) wei, l = \(s.l) noz, mined = \(s.mined) wei\n"
        out += "\nRewards of the epoch\n"
        let rawR = y.rawValue > 0 ? mulDiv(s.s.rawValue + s.p.rawValue, y.rawValue, s.l.rawValue + y.rawValue) : 0
        out += "  R = floor((s + p) × Y / (l + Y)) = floor((\(s.s) + \(s.p)) × \(y) / (\(s.l) + \(y))) = \(rawR) wei"
        out += rawR > r.report.trafficReward.rawValue ? ", capped at p: R = \(r.report.trafficReward) wei\n" : "\n"
        let tier = r.before.tier
        out +=
            "  M = min(tier reward, cap − mined) = min(\(tier.rewardPerEpoch), \(r.before.miningCap) − \(s.mined)) = \(r.report.miningReward) wei\n"
        out += "  tier split: resource \(tier.resourceBp) bp, meta \(tier.metaBp) bp, stake \(tier.stakeBp) bp\n"
        let n = r.before.activeMetaNodes.count
        let d = r.before.totalDelegation
        let k = r.before.totalStakeDeposits
        for sp in splits {
            let name = sp.source == .traffic ? "R" : "M"
            out += "\n\(name) = \(sp.amount) wei (\(sp.source.rawValue))\n"
            out += "  resource share = floor(\(name) × \(tier.resourceBp) / 10000) = \(sp.resourceShare)\n"
            if rank != nil {
                out += "    node: floor(\(sp.resourceShare) × \(settledTraffic) / \(y)) = \(sp.nodeResource) wei\n"
            }
            out += "  meta share = floor(\(name) × \(tier.metaBp) / 10000) = \(sp.metaShare)"
            if isActiveMeta { out += "; node (one of n = \(n) active meta nodes): floor(\(sp.metaShare) / \(n)) = \(sp.nodeMeta) wei" }
            out += "\n  stake share = floor(\(name) × \(tier.stakeBp) / 10000) = \(sp.stakeShare); D = \(d), K = \(k)\n"
            out +=
                "    partD = floor(\(sp.stakeShare) × \(d) / (\(d) + \(k))) = \(sp.partD), partK = floor(\(sp.stakeShare) × \(k) / (\(d) + \(k))) = \(sp.partK)\n"
            if let deposit {
                out += "    node deposit share: floor(\(sp.partK) × \(deposit) / \(k)) = \(sp.nodeDeposit) wei\n"
            }
        }
        out += "\nCredited to \(rewards.first?.account.rawValue ?? "the owner") as vesting entries maturing at epoch \(matureEpoch):\n"
        if rewards.isEmpty { out += "  nothing\n" }
        for w in rewards {
            out += "  \(w.role.rawValue)/\(w.source.rawValue): \(w.amount) wei (entry v\(w.entry.rawValue))\n"
        }
        out += "  total \(total) wei = \(formatDecimal(total.rawValue, decimals: 18)) STOS\n"
        out += "\nEvents that fed it\n"
        for e in r.trackedTraffic {
            out += "  position \(e.position)  \(e.eventID)  TrafficServed (epoch \(e.epoch)) +\(e.charge?.description ?? "0") noz\n"
        }
        out += "  position \(r.closeEvent.position)  \(r.closeEvent.eventID)  EpochClosed \(epoch)\n"
        out += "\nChecks\n"
        out += "  derivation = engine report: \(consistent ? "yes" : "NO — the formulas above disagree with the engine")\n"
        switch r.matchesProjection {
        case true?: out += "  recomputation = stored projection: yes\n"
        case false?: out += "  recomputation = stored projection: NO — the projection of epoch \(epoch) differs from the replay\n"
        case nil: out += "  recomputation = stored projection: not projected yet\n"
        }
        return out
    }
}

/// `value / 10^decimals` with exactly `decimals` digits after the point, by integer division.
public func formatDecimal(_ value: UInt128, decimals: Int, negative: Bool = false) -> String {
    var scale: UInt128 = 1
    for _ in 0..<decimals { scale *= 10 }
    let whole = value / scale
    let fraction = String(value % scale)
    let padded = String(repeating: "0", count: decimals - fraction.count) + fraction
    return (negative && value > 0 ? "-" : "") + String(whole) + (decimals > 0 ? "." + padded : "")
}
