import LedgerEvents

/// The inputs of the next epoch settlement, read from the state just before an `EpochClosed`.
///
/// Why: an audit explains a settlement to a human by filling the formulas of RULES §5 with
/// numbers (`R = floor((s + p) × Y / (l + Y))`, the tier, the meta split among n nodes, the
/// deposit share `floor(partK × deposit_i / K)`, ...). The settlement report gives the results;
/// these are the operands the engine used, which are otherwise internal. Read-only: nothing
/// here changes the economy. Maturity (step 1 of the close) only releases what is already
/// deactivated or unbonding, so it changes none of these values.
public struct SettlementInputs: Sendable {
    /// `s`, `p`, `l`, `mined` before the close.
    public var supply: Supply
    /// The mining tier chosen by `mined` before the close, with its split in basis points.
    public var tier: MiningSchedule.Tier
    /// M = min(tier reward, cap − mined).
    public var miningReward: Wei
    /// The mining cap (39,000,000 STOS under the paper's schedule).
    public var miningCap: Wei
    /// The settled set: the shortest prefix with `10000 × Σ ≥ settledShareBp × T` (8000 in paper-v1).
    public var settledShareBp: UInt128
    /// Rewards of the close mature at epoch + this.
    public var lockupEpochs: Int64
    /// Active meta nodes in the engine's order: each gets `floor(metaShare / n)`.
    public var activeMetaNodes: [NodeID]
    /// D: validators' self-delegations plus delegations.
    public var totalDelegation: Wei
    /// Nodes that share `partK` (active and suspended resource nodes, active meta nodes) with
    /// the deposit each is weighted by; K is their sum.
    public var stakeDeposits: [(node: NodeID, deposit: Wei)]
    public var totalStakeDeposits: Wei {
        Wei(stakeDeposits.reduce(UInt128(0)) { $0 + $1.deposit.rawValue })
    }
    /// Unsettled contributions `C_i > 0` before the close.
    public var unsettled: [(node: NodeID, traffic: Noz)]
}

extension Economy {
    /// What the next `EpochClosed` will settle with (see `SettlementInputs`).
    public func settlementInputs() -> SettlementInputs {
        let stakeNodes = nodes.indices.filter { i in
            let n = nodes[i]
            return n.kind == .resource ? (n.status == .active || n.status == .suspended) : n.status == .active
        }
        let params = rules.parameters(forEpoch: openEpoch)
        return SettlementInputs(
            supply: supply,
            tier: params.mining.tier(minedBefore: mined),
            miningReward: params.mining.reward(minedBefore: mined),
            miningCap: params.mining.cap,
            settledShareBp: params.settledShareBp,
            lockupEpochs: params.lockupEpochs,
            activeMetaNodes: activeMeta.map { nodes[$0].id },
            totalDelegation: totalDelegation,
            stakeDeposits: stakeNodes.map { (nodes[$0].id, nodes[$0].deposit) },
            unsettled: unsettledNodes.map { (nodes[$0].id, nodes[$0].unsettled) })
    }
}
