import LedgerEvents

// RULES §5: the epoch settlement (Proof-of-Traffic), in the order of the spec.

extension Economy {
    mutating func applyEpochClosed(_ c: EventContext, epoch: Int64, _ effects: inout [Effect]) throws(RuleViolation) -> SettlementReport {
        guard epoch == lastClosedEpoch + 1 else {
            throw c.violation(.epochOutOfOrder, "closing epoch \(epoch), but the open epoch is \(lastClosedEpoch + 1)")
        }
        // Nothing below can fail: the event is accepted.
        lastClosedEpoch = epoch
        // The parameters of this epoch (its changes are in force from its first event to its close).
        let params = rules.parameters(forEpoch: epoch)

        // 1. Maturity.
        releaseMaturedVesting(upTo: epoch, &effects)
        releaseDeposits(onOrBefore: c.day, &effects)
        releaseUnbondings(onOrBefore: c.day, &effects)

        // 2. Who is settled: C_i descending, ties by node id ascending (byte order); the shortest
        // prefix with 10000 × Σ ≥ settledShareBp × T (8000 in paper-v1: 10 × Σ ≥ 8 × T). Totals
        // are ≤ 2^124 noz: the products are compared in 256 bits.
        var order: [(traffic: UInt128, node: Int)] = unsettledNodes.map { (nodes[$0].unsettled.rawValue, $0) }
        order.sort { a, b in a.traffic != b.traffic ? a.traffic > b.traffic : nodes[a.node].id < nodes[b.node].id }
        let t = order.reduce(0) { $0 + $1.traffic }
        var y: UInt128 = 0
        var settledCount = 0
        if t > 0 {
            for entry in order {
                y += entry.traffic
                settledCount += 1
                let sigma = UInt256.product(10_000, y)
                let share = UInt256.product(params.settledShareBp, t)
                if (sigma.high, sigma.low) >= (share.high, share.low) { break }
            }
        }
        let settled = order[..<settledCount]

        // 3. Traffic reward R = floor((s + p) × Y / (l + Y)), with l before +Y. Capped at p: the
        // volume pool cannot pay what it does not hold (docs/RULES.md §5.3, decision D5).
        let r = y > 0 ? min(share((s + p).rawValue, y, l.rawValue + y), p.rawValue) : 0
        // 4. Mining reward: the tier by `mined` before this epoch, capped.
        let tier = params.mining.tier(minedBefore: mined)
        let m = params.mining.reward(minedBefore: mined).rawValue

        // Settled nodes' C_i go back to the Ozone limit (step 2's reset and step 10's l +Y in one transfer).
        var settledReport: [SettledNode] = []
        settledReport.reserveCapacity(settledCount)
        for entry in settled {
            let id = nodes[entry.node].id
            nodes[entry.node].unsettled = .zero
            settledReport.append(SettledNode(node: id, traffic: Noz(entry.traffic)))
            effects.append(
                .transfer(
                    Transfer(
                        from: .nodeTraffic(id), to: .ozoneLimit, amount: .noz(Noz(entry.traffic)),
                        reason: .trafficSettled)))
        }
        l += Noz(y)
        unsettledNodes = order[settledCount...].map(\.node)

        // 5.–9. Split R and M separately; rewards become vesting entries maturing at e + lockupEpochs
        // (2016), fixed now: a later change of lockupEpochs does not move them.
        let stakeNodes = nodes.indices.filter { i in
            let n = nodes[i]
            return n.kind == .resource ? (n.status == .active || n.status == .suspended) : n.status == .active
        }
        let k = stakeNodes.reduce(UInt128(0)) { $0 + nodes[$1].deposit.rawValue }
        // At most one reward per recipient and source: reserve once instead of growing.
        let recipients =
            settledCount + activeMeta.count + stakeNodes.count
            + validators.reduce(2 * validators.count) { $0 + $1.delegations.count }
        var rewards: [SettlementReward] = []
        rewards.reserveCapacity(2 * recipients)
        effects.reserveCapacity(effects.count + settledCount + 4 * recipients)
        let context = SettlementContext(
            epoch: epoch, matureEpoch: epoch + params.lockupEpochs, tier: tier, settled: Array(settled), y: y, stakeNodes: stakeNodes, k: k)
        let trafficCredited = distribute(r, source: .traffic, context, &effects, &rewards)
        let miningCredited = distribute(m, source: .mining, context, &effects, &rewards)

        // 10. Pools: dust stays where it was.
        precondition(trafficCredited <= r && miningCredited <= m, "settlement credited more than R or M")
        p -= Wei(trafficCredited)
        mined += Wei(miningCredited)

        return SettlementReport(
            rules: rules.name, epoch: epoch, T: Noz(t), Y: Noz(y), settled: settledReport,
            trafficReward: Wei(r), miningReward: Wei(m), rewards: rewards,
            trafficDust: Wei(r - trafficCredited), miningDust: Wei(m - miningCredited))
    }

    /// Splits one source amount (R or M) by the tier's percentages and credits every share;
    /// returns what was credited.
    private mutating func distribute(
        _ amount: UInt128, source: RewardSource, _ c: SettlementContext,
        _ effects: inout [Effect], _ rewards: inout [SettlementReward]
    ) -> UInt128 {
        guard amount > 0 else { return 0 }
        var credited: UInt128 = 0
        let resourceShare = share(amount, c.tier.resourceBp, 10_000)
        let metaShare = share(amount, c.tier.metaBp, 10_000)
        let stakeShare = share(amount, c.tier.stakeBp, 10_000)

        // 6. Resource share, pro rata of the settled contribution.
        if c.y > 0 {
            for (traffic, i) in c.settled {
                credit(
                    &credited, source: source, epoch: c.epoch, matureEpoch: c.matureEpoch, &effects, &rewards, account: nodes[i].owner, node: i,
                    validator: nil, role: .resource, share(resourceShare, traffic, c.y))
            }
        }
        // 7. Meta share, equally among the active meta nodes.
        if !activeMeta.isEmpty {
            let each = metaShare / UInt128(activeMeta.count)
            for i in activeMeta {
                credit(
                    &credited, source: source, epoch: c.epoch, matureEpoch: c.matureEpoch, &effects, &rewards, account: nodes[i].owner, node: i,
                    validator: nil, role: .meta, each)
            }
        }
        // 8. Stake share: D (delegations) and K (deposits).
        let d = totalDelegation.rawValue
        if d + c.k > 0 {
            let partD = share(stakeShare, d, d + c.k)
            let partK = share(stakeShare, c.k, d + c.k)
            if c.k > 0 {
                for i in c.stakeNodes {
                    credit(
                        &credited, source: source, epoch: c.epoch, matureEpoch: c.matureEpoch, &effects, &rewards, account: nodes[i].owner, node: i,
                        validator: nil, role: .deposit,
                        share(partK, nodes[i].deposit.rawValue, c.k))
                }
            }
            for pay in validatorRule(Wei(partD)) {
                credit(
                    &credited, source: source, epoch: c.epoch, matureEpoch: c.matureEpoch, &effects, &rewards, account: pay.account, node: nil,
                    validator: pay.validator, role: pay.role, pay.amount.rawValue)
            }
        }
        return credited
    }

    /// Credits one non-zero reward as a vesting entry and adds it to `credited`.
    private mutating func credit(
        _ credited: inout UInt128, source: RewardSource, epoch: Int64, matureEpoch: Int64, _ effects: inout [Effect],
        _ rewards: inout [SettlementReward], account: Int, node: Int?, validator: Int?,
        role: RewardRole, _ value: UInt128
    ) {
        guard value > 0 else { return }
        credited += value
        createVesting(
            account: account, node: node, validator: validator, role: role, source: source, amount: value,
            epoch: epoch, matureEpoch: matureEpoch, &effects, &rewards)
    }

    /// Creates one locked reward (RULES §5.9) drawn from `source`'s pool.
    private mutating func createVesting(
        account a: Int, node: Int?, validator: Int?, role: RewardRole, source: RewardSource,
        amount: UInt128, epoch: Int64, matureEpoch: Int64, _ effects: inout [Effect],
        _ rewards: inout [SettlementReward]
    ) {
        let rawID = vestingBaseID + UInt64(vesting.count)
        vesting.append(VestingState(account: a, node: node, source: source, amount: Wei(amount), matureEpoch: matureEpoch))
        accounts[a].vesting += Wei(amount)
        lockedTotals.add(Wei(amount), maturing: matureEpoch, node: node)
        let nodeID: NodeID?
        if let node {
            nodeID = nodes[node].id
            // Forget the entries already done once they are at least half of the list (amortised O(1)).
            let live = vestingBaseID + UInt64(vestingHead)
            // Read the list in place: a local copy of it would be a second reference, and the
            // append below would then copy the whole list (each node's, at every reward).
            let count = nodes[node].vestingEntries.count
            if count >= 16, nodes[node].vestingEntries[count / 2] < live {
                nodes[node].vestingEntries.removeAll { $0 < live }
            }
            nodes[node].vestingEntries.append(rawID)
        } else {
            nodeID = nil
        }
        let id = VestingEntryID(rawID)
        let account = accounts[a].id
        let validatorID = validator.map { validators[$0].id }
        effects.append(
            .vestingCreated(
                VestingEntry(
                    id: id, account: account, node: nodeID, validator: validatorID, role: role,
                    source: source, amount: Wei(amount), epochEarned: epoch,
                    matureEpoch: matureEpoch)))
        effects.append(
            .transfer(
                Transfer(
                    from: source.pool, to: .vesting(owner: account, entry: id), amount: .wei(Wei(amount)),
                    reason: .reward)))
        rewards.append(
            SettlementReward(
                account: account, node: nodeID, validator: validatorID, role: role, source: source,
                amount: Wei(amount), matureEpoch: matureEpoch, entry: id))
    }

    // MARK: Maturity

    /// Vesting entries with `matureEpoch ≤ epoch` move to their owners' wallets.
    /// A partial economy's supplied entries come first: their ids are all below the in-memory ones.
    private mutating func releaseMaturedVesting(upTo epoch: Int64, _ effects: inout [Effect]) {
        for (id, entry) in takeMaturedHoleEntries(upTo: epoch) {
            release(id, entry, &effects)
        }
        passMaturityStarts(upTo: epoch)
        while vestingHead < vesting.count, vesting[vestingHead].matureEpoch <= epoch {
            let k = vestingHead
            vestingHead += 1
            let entry = vesting[k]
            if entry.status == .locked { vesting[k].status = .released }
            release(vestingBaseID + UInt64(k), entry, &effects)
        }
        // Drop the done prefix once it is most of the array (amortised O(1) per entry).
        if vestingHead >= 1024, vestingHead * 2 >= vesting.count {
            vesting.removeFirst(vestingHead)
            vestingBaseID += UInt64(vestingHead)
            vestingHead = 0
        }
    }

    /// Moves a matured entry (as it was before maturity) to its owner's wallet.
    private mutating func release(_ rawID: UInt64, _ entry: VestingState, _ effects: inout [Effect]) {
        guard entry.status == .locked, !entry.amount.isZero else { return }
        let a = entry.account
        accounts[a].vesting -= entry.amount
        lockedTotals.remove(entry.amount, maturing: entry.matureEpoch, node: entry.node)
        accounts[a].wallet += entry.amount
        let id = VestingEntryID(rawID)
        let owner = accounts[a].id
        effects.append(.vestingReleased(id, account: owner, amount: entry.amount))
        effects.append(
            .transfer(
                Transfer(
                    from: .vesting(owner: owner, entry: id), to: .wallet(owner),
                    amount: .wei(entry.amount), reason: .vestingReleased)))
    }

    /// Deactivated nodes' remaining deposits whose release day ≤ `day` move to their owners' wallets.
    private mutating func releaseDeposits(onOrBefore day: Int64, _ effects: inout [Effect]) {
        guard pendingReleases.contains(where: { nodes[$0].releaseDay <= day }) else { return }
        var keep: [Int] = []
        for i in pendingReleases {
            guard nodes[i].releaseDay <= day else {
                keep.append(i)
                continue
            }
            let amount = nodes[i].deposit
            let o = nodes[i].owner
            nodes[i].deposit = .zero
            accounts[o].escrow -= amount
            accounts[o].wallet += amount
            let owner = accounts[o].id
            let id = nodes[i].id
            effects.append(.depositReleased(node: id, owner: owner, amount: amount, releaseDay: nodes[i].releaseDay))
            effects.append(
                .transfer(
                    Transfer(
                        from: .escrow(owner: owner, node: id), to: .wallet(owner),
                        amount: .wei(amount), reason: .depositReleased)))
        }
        pendingReleases = keep
    }

    /// Unbondings whose release day ≤ `day` move to the delegators' wallets.
    private mutating func releaseUnbondings(onOrBefore day: Int64, _ effects: inout [Effect]) {
        while unbondingHead < unbondings.count, unbondings[unbondingHead].releaseDay <= day {
            let u = unbondings[unbondingHead]
            let id = UnbondingID(unbondingBaseID + UInt64(unbondingHead))
            unbondingHead += 1
            accounts[u.account].unbonding -= u.amount
            accounts[u.account].wallet += u.amount
            let delegator = accounts[u.account].id
            effects.append(
                .unbondingReleased(
                    id, delegator: delegator, validator: validators[u.validator].id,
                    amount: u.amount, releaseDay: u.releaseDay))
            effects.append(
                .transfer(
                    Transfer(
                        from: .unbonding(delegator: delegator, entry: id), to: .wallet(delegator),
                        amount: .wei(u.amount), reason: .unbondingReleased)))
        }
        if unbondingHead >= 1024, unbondingHead * 2 >= unbondings.count {
            unbondings.removeFirst(unbondingHead)
            unbondingBaseID += UInt64(unbondingHead)
            unbondingHead = 0
        }
    }
}

/// What `distribute` needs of the settlement, fixed for both sources.
private struct SettlementContext {
    let epoch: Int64
    /// epoch + lockupEpochs of the epoch.
    let matureEpoch: Int64
    let tier: MiningSchedule.Tier
    /// Settled nodes in settlement order with their Y_i.
    let settled: [(traffic: UInt128, node: Int)]
    let y: UInt128
    /// Active and suspended resource nodes and active meta nodes, ascending index.
    let stakeNodes: [Int]
    /// Σ of their deposits.
    let k: UInt128
}
