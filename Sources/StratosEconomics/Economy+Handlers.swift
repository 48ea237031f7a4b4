import LedgerEvents

// The handlers of every event but EpochClosed (Economy+Settlement.swift). Each one checks
// everything first and mutates only after the last check.

extension Economy {
    // MARK: Helpers

    /// All STOS in the books: external inflows − outflows + the mining pool's 39,000,000 STOS.
    var booksTotalWei: Wei { externalIn + rules.miningCap - externalOut }

    func walletBalance(_ id: AccountID) -> Wei {
        accountIndex[id].map { accounts[$0].wallet } ?? .zero
    }

    /// The account's index, registering it (all zeros) if new. Only call after the last check.
    mutating func account(_ id: AccountID) -> Int {
        if let i = accountIndex[id] { return i }
        accounts.append(AccountState(id: id))
        accountIndex[id] = accounts.count - 1
        return accounts.count - 1
    }

    func requirePositive(_ c: EventContext, _ amount: UInt128, _ what: String) throws(RuleViolation) {
        guard amount > 0 else { throw c.violation(.zeroAmount, "\(what) must be > 0") }
    }

    func requirePositive(_ c: EventContext, _ amount: Wei, _ what: String) throws(RuleViolation) {
        try requirePositive(c, amount.rawValue, what)
    }

    func requirePositive(_ c: EventContext, _ amount: Noz, _ what: String) throws(RuleViolation) {
        try requirePositive(c, amount.rawValue, what)
    }

    func requireWallet(_ c: EventContext, _ id: AccountID, _ amount: Wei) throws(RuleViolation) {
        let has = walletBalance(id)
        guard has >= amount else {
            throw c.violation(.walletShort, "wallet of \(id) holds \(has) wei, needs \(amount) wei")
        }
    }

    /// Refuses an inflow that would take the books over `maxTotalWei`.
    func requireInflowFits(_ c: EventContext, _ amount: Wei) throws(RuleViolation) {
        let total = genesisTime == nil ? rules.miningCap.rawValue : booksTotalWei.rawValue
        guard amount.rawValue <= Self.maxTotalWei, total <= Self.maxTotalWei - amount.rawValue else {
            throw c.violation(
                .supplyOutOfRange,
                "\(amount) wei more would take the STOS in the books over 2^112 wei")
        }
    }

    func nodeIdx(_ c: EventContext, _ id: NodeID) throws(RuleViolation) -> Int {
        guard let i = nodeIndex[id] else { throw c.violation(.unknownNode, "node \(id) is unknown") }
        return i
    }

    func validatorIdx(_ c: EventContext, _ id: ValidatorID) throws(RuleViolation) -> Int {
        guard let i = validatorIndex[id] else {
            throw c.violation(.unknownValidator, "validator \(id) is unknown")
        }
        return i
    }

    func requireNewNode(_ c: EventContext, _ id: NodeID) throws(RuleViolation) {
        if let i = nodeIndex[id] {
            throw c.violation(.nodeExists, "node \(id) already exists (status \(nodes[i].status.rawValue))")
        }
    }

    /// Δl = floor(l × Z / s) for an activation, refused if `l` would leave the Ozone bound.
    func activationDelta(_ c: EventContext, node: NodeID, deposit z: Wei) throws(RuleViolation) -> Noz {
        guard let delta = mulDivFloor(l.rawValue, z.rawValue, s.rawValue), ozoneIssued.rawValue <= Self.maxTotalNoz,
            delta <= Self.maxTotalNoz - ozoneIssued.rawValue
        else {
            throw c.violation(
                .ozoneOutOfRange,
                "activating node \(node) with deposit \(z) wei would grow the Ozone limit \(l) noz beyond 2^124 noz")
        }
        return Noz(delta)
    }

    /// Makes a node active: `l` +Δl (its initial task weight), activation day, meta list, and `s`
    /// per the rule set. `delta` comes from `activationDelta` checked before any mutation.
    mutating func activate(_ c: EventContext, node i: Int, delta: Noz, from old: NodeStatus?, _ effects: inout [Effect]) {
        let n = nodes[i]
        nodes[i].status = .active
        nodes[i].activationDay = c.day
        effects.append(
            .nodeStatusChanged(
                node: n.id, kind: n.kind, owner: accounts[n.owner].id,
                from: old, to: .active, day: c.day))
        if !delta.isZero {
            l += delta
            ozoneIssued += delta
            effects.append(
                .transfer(
                    Transfer(
                        from: .ozoneIssuance, to: .ozoneLimit, amount: .noz(delta),
                        reason: .ozoneLimitGrown)))
        }
        effects.append(.nodeTaskWeight(node: n.id, weight: delta))
        if n.kind == .meta {
            let at = activeMeta.firstIndex { $0 > i } ?? activeMeta.count
            activeMeta.insert(i, at: at)
        }
        if rules.depositConstant == .effective { s += n.initialDeposit }
    }

    /// Moves `amount` from `owner`'s wallet into a new node's escrow and registers the node.
    mutating func registerNode(
        _ id: NodeID, kind: NodeKind, owner: AccountID, deposit: Wei,
        status: NodeStatus, _ effects: inout [Effect]
    ) -> Int {
        let o = account(owner)
        accounts[o].wallet -= deposit
        accounts[o].escrow += deposit
        nodes.append(NodeState(id: id, kind: kind, owner: o, status: status, initialDeposit: deposit, deposit: deposit))
        nodeIndex[id] = nodes.count - 1
        effects.append(
            .transfer(
                Transfer(
                    from: .wallet(owner), to: .escrow(owner: owner, node: id),
                    amount: .wei(deposit), reason: .depositEscrowed)))
        return nodes.count - 1
    }

    // MARK: Genesis and plain STOS movements

    mutating func applyGenesis(
        _ c: EventContext, ozoneLimit: Noz, nodes genesisNodes: [GenesisNode],
        _ effects: inout [Effect]
    ) throws(RuleViolation) {
        try requirePositive(c, ozoneLimit, "ozoneLimit")
        guard ozoneLimit.rawValue <= Self.maxTotalNoz else {
            throw c.violation(.ozoneOutOfRange, "ozoneLimit \(ozoneLimit) noz exceeds 2^124 noz")
        }
        guard !genesisNodes.isEmpty else { throw c.violation(.genesisNoNodes, "Genesis needs at least one node") }
        var total: UInt128 = 0
        var seen = Set<NodeID>()
        for n in genesisNodes {
            try requirePositive(c, n.deposit, "deposit of genesis node \(n.node)")
            guard seen.insert(n.node).inserted else {
                throw c.violation(.nodeExists, "genesis node \(n.node) is listed twice")
            }
            let (sum, overflow) = total.addingReportingOverflow(n.deposit.rawValue)
            guard !overflow else { throw c.violation(.supplyOutOfRange, "genesis deposits exceed 2^112 wei") }
            total = sum
        }
        try requireInflowFits(c, Wei(total))

        genesisTime = c.time
        let cap = rules.miningCap
        effects.append(.transfer(Transfer(from: .outside, to: .miningPool, amount: .wei(cap), reason: .miningPoolOpened)))
        l = ozoneLimit
        ozoneIssued = ozoneLimit
        effects.append(
            .transfer(
                Transfer(
                    from: .ozoneIssuance, to: .ozoneLimit, amount: .noz(ozoneLimit),
                    reason: .ozoneLimitOpened)))
        s = Wei(total)
        externalIn = Wei(total)
        for g in genesisNodes {
            let o = account(g.owner)
            accounts[o].escrow += g.deposit
            var n = NodeState(
                id: g.node, kind: g.kind, owner: o, status: .active,
                initialDeposit: g.deposit, deposit: g.deposit)
            n.activationDay = 1
            nodes.append(n)
            let i = nodes.count - 1
            nodeIndex[g.node] = i
            if g.kind == .meta { activeMeta.append(i) }
            effects.append(.nodeStatusChanged(node: g.node, kind: g.kind, owner: g.owner, from: nil, to: .active, day: 1))
            effects.append(
                .transfer(
                    Transfer(
                        from: .outside, to: .escrow(owner: g.owner, node: g.node),
                        amount: .wei(g.deposit), reason: .genesisDeposit)))
        }
    }

    mutating func applyFunded(_ c: EventContext, account id: AccountID, amount: Wei, _ effects: inout [Effect]) throws(RuleViolation) {
        try requirePositive(c, amount, "amount")
        try requireInflowFits(c, amount)
        let a = account(id)
        accounts[a].wallet += amount
        externalIn += amount
        effects.append(.transfer(Transfer(from: .outside, to: .wallet(id), amount: .wei(amount), reason: .funded)))
    }

    mutating func applyWithdrawn(_ c: EventContext, account id: AccountID, amount: Wei, _ effects: inout [Effect]) throws(RuleViolation) {
        try requirePositive(c, amount, "amount")
        try requireWallet(c, id, amount)
        let a = account(id)
        accounts[a].wallet -= amount
        externalOut += amount
        effects.append(.transfer(Transfer(from: .wallet(id), to: .outside, amount: .wei(amount), reason: .withdrawn)))
    }

    mutating func applyTransferred(
        _ c: EventContext, from: AccountID, to: AccountID, amount: Wei,
        _ effects: inout [Effect]
    ) throws(RuleViolation) {
        try requirePositive(c, amount, "amount")
        try requireWallet(c, from, amount)
        let f = account(from)
        let t = account(to)
        accounts[f].wallet -= amount
        accounts[t].wallet += amount
        effects.append(.transfer(Transfer(from: .wallet(from), to: .wallet(to), amount: .wei(amount), reason: .transferred)))
    }

    // MARK: Ozone

    /// RULES §3: Δl = floor(l × X / (s + p + X)).
    mutating func applyPrepaid(_ c: EventContext, account id: AccountID, amount x: Wei, _ effects: inout [Effect]) throws(RuleViolation) {
        try requirePositive(c, x, "amount")
        try requireWallet(c, id, x)
        // s, p, x ≤ 2^112 each, so the sum fits.
        let delta = Noz(mulDivFloor(l.rawValue, x.rawValue, (s + p + x).rawValue) ?? 0)
        guard !delta.isZero else {
            throw c.violation(
                .prepayTooSmall,
                "prepaying \(x) wei buys 0 noz at the price (s + p) / l = \(s + p) / \(l) wei per noz")
        }
        let a = account(id)
        accounts[a].wallet -= x
        accounts[a].ozone += delta
        p += x
        l -= delta
        effects.reserveCapacity(2)
        effects.append(.transfer(Transfer(from: .wallet(id), to: .volumePool, amount: .wei(x), reason: .prepaid)))
        effects.append(.transfer(Transfer(from: .ozoneLimit, to: .ozone(id), amount: .noz(delta), reason: .ozonePurchased)))
    }

    /// The Ozone charge (noz) of a traffic record (RULES §4): a function of the record alone;
    /// nil if it does not fit 128 bits.
    public static func charge(of r: TrafficRecord) -> UInt128? {
        switch r.kind {
        case .upload:
            let (v, o) = r.bytes.multipliedReportingOverflow(by: UInt128(r.replicas ?? 3))
            return o ? nil : v
        case .download:
            return r.bytes
        case .query:
            let (touches, o1) = (r.records ?? 0).multipliedReportingOverflow(by: 1000)
            let (v, o2) = r.bytes.addingReportingOverflow(touches)
            return o1 || o2 ? nil : v
        case .replication:
            return 0
        }
    }

    mutating func applyTraffic(_ c: EventContext, record r: TrafficRecord, _ effects: inout [Effect]) throws(RuleViolation) {
        guard r.epoch == c.epoch else {
            throw c.violation(.epochNotOpen, "traffic names epoch \(r.epoch), the open epoch is \(c.epoch)")
        }
        try requirePositive(c, r.bytes, "bytes")
        if r.kind == .upload, let replicas = r.replicas, replicas < 3 {
            throw c.violation(.replicasTooFew, "upload with \(replicas) replicas; at least 3")
        }
        let n = try nodeIdx(c, r.node)
        guard nodes[n].kind == .resource else {
            throw c.violation(.wrongKind, "traffic is served by resource nodes; \(r.node) is a meta node")
        }
        guard nodes[n].status == .active else {
            throw c.violation(.nodeNotActive, "resource node \(r.node) is \(nodes[n].status.rawValue), not active")
        }
        guard let charge = Self.charge(of: r).map(Noz.init) else {
            throw c.violation(.amountOutOfRange, "the charge of this traffic does not fit 128 bits")
        }
        let a = accountIndex[r.account]
        let has = a.map { accounts[$0].ozone } ?? .zero
        guard has >= charge else {
            throw c.violation(.ozoneShort, "Ozone of \(r.account) holds \(has) noz, the traffic costs \(charge) noz")
        }
        effects.reserveCapacity(2)
        effects.append(.trafficRecorded(epoch: r.epoch, node: r.node, account: r.account, kind: r.kind, charge: charge))
        guard !charge.isZero else {
            _ = account(r.account)
            return
        }
        // has ≥ charge > 0, so the account exists.
        accounts[a!].ozone -= charge
        if nodes[n].unsettled.isZero { unsettledNodes.append(n) }
        nodes[n].unsettled += charge
        effects.append(
            .transfer(
                Transfer(
                    from: .ozone(r.account), to: .nodeTraffic(r.node), amount: .noz(charge),
                    reason: .trafficCharged)))
    }

    // MARK: Nodes

    mutating func applyResourceNodeActivated(
        _ c: EventContext, node id: NodeID, owner: AccountID, deposit z: Wei,
        _ effects: inout [Effect]
    ) throws(RuleViolation) {
        try requireNewNode(c, id)
        try requirePositive(c, z, "deposit")
        try requireWallet(c, owner, z)
        let delta = try activationDelta(c, node: id, deposit: z)
        let i = registerNode(id, kind: .resource, owner: owner, deposit: z, status: .active, &effects)
        activate(c, node: i, delta: delta, from: nil, &effects)
    }

    mutating func applyMetaNodeRegistrationRequested(
        _ c: EventContext, node id: NodeID, owner: AccountID, deposit z: Wei,
        _ effects: inout [Effect]
    ) throws(RuleViolation) {
        try requireNewNode(c, id)
        try requirePositive(c, z, "deposit")
        try requireWallet(c, owner, z)
        if activeMeta.isEmpty {
            // No voter: approved at once (RULES §9).
            let delta = try activationDelta(c, node: id, deposit: z)
            let i = registerNode(id, kind: .meta, owner: owner, deposit: z, status: .pending, &effects)
            activate(c, node: i, delta: delta, from: nil, &effects)
        } else {
            let i = registerNode(id, kind: .meta, owner: owner, deposit: z, status: .pending, &effects)
            nodes[i].voters = activeMeta
            effects.append(.nodeStatusChanged(node: id, kind: .meta, owner: owner, from: nil, to: .pending, day: c.day))
        }
    }

    mutating func applyMetaNodeVoted(
        _ c: EventContext, node id: NodeID, voter voterID: NodeID, approve: Bool,
        _ effects: inout [Effect]
    ) throws(RuleViolation) {
        let i = try nodeIdx(c, id)
        guard nodes[i].kind == .meta else {
            throw c.violation(.wrongKind, "node \(id) is a resource node; votes are for meta node registrations")
        }
        guard nodes[i].status == .pending else {
            throw c.violation(.notPending, "meta node \(id) is \(nodes[i].status.rawValue), not pending")
        }
        let v = try nodeIdx(c, voterID)
        guard nodes[i].voters.contains(v) else {
            throw c.violation(.notAVoter, "node \(voterID) is not a voter of the registration of \(id)")
        }
        guard !nodes[i].approvals.contains(v) else {
            throw c.violation(.alreadyVoted, "node \(voterID) already voted on the registration of \(id)")
        }
        let owner = accounts[nodes[i].owner].id
        if approve {
            let last = nodes[i].approvals.count + 1 == nodes[i].voters.count
            let delta = last ? try activationDelta(c, node: id, deposit: nodes[i].initialDeposit) : .zero
            nodes[i].approvals.append(v)
            effects.append(.metaNodeVoteRecorded(node: id, voter: voterID, approve: true))
            if last {
                nodes[i].voters = []
                nodes[i].approvals = []
                activate(c, node: i, delta: delta, from: .pending, &effects)
            }
        } else {
            effects.append(.metaNodeVoteRecorded(node: id, voter: voterID, approve: false))
            let z = nodes[i].deposit
            nodes[i].status = .rejected
            nodes[i].deposit = .zero
            nodes[i].voters = []
            nodes[i].approvals = []
            accounts[nodes[i].owner].escrow -= z
            accounts[nodes[i].owner].wallet += z
            effects.append(.nodeStatusChanged(node: id, kind: .meta, owner: owner, from: .pending, to: .rejected, day: c.day))
            effects.append(
                .transfer(
                    Transfer(
                        from: .escrow(owner: owner, node: id), to: .wallet(owner),
                        amount: .wei(z), reason: .depositRefunded)))
        }
    }

    mutating func applySuspension(_ c: EventContext, node id: NodeID, suspend: Bool, _ effects: inout [Effect]) throws(RuleViolation) {
        let i = try nodeIdx(c, id)
        guard nodes[i].kind == .resource else {
            throw c.violation(.wrongKind, "node \(id) is a meta node; only resource nodes are suspended and resumed")
        }
        let from: NodeStatus = suspend ? .active : .suspended
        let to: NodeStatus = suspend ? .suspended : .active
        guard nodes[i].status == from else {
            throw c.violation(
                suspend ? .nodeNotActive : .nodeNotSuspended,
                "resource node \(id) is \(nodes[i].status.rawValue), not \(from.rawValue)")
        }
        nodes[i].status = to
        effects.append(
            .nodeStatusChanged(
                node: id, kind: .resource, owner: accounts[nodes[i].owner].id,
                from: from, to: to, day: c.day))
    }

    /// RULES §9 "Deactivation", steps (a)–(e).
    mutating func applyNodeDeactivated(
        _ c: EventContext, node id: NodeID, storedBytes: UInt128,
        _ effects: inout [Effect]
    ) throws(RuleViolation) {
        let i = try nodeIdx(c, id)
        let old = nodes[i].status
        guard old == .active || old == .suspended else {
            throw c.violation(.nodeNotActive, "node \(id) is \(old.rawValue); only active or suspended nodes deactivate")
        }
        // (a) the fee, with the state before this event. nil: beyond 2^128 wei, more than all STOS in
        // the books (≤ 2^112), so everything available is taken and the rest waived (RULES §9 (b)).
        let fee = mulDivCeil(storedBytes, (s + p).rawValue, l.rawValue).map(Wei.init)
        // (d) is checked now so that a refusal changes nothing.
        let z = nodes[i].initialDeposit
        let shrink = Noz(mulDivFloor(l.rawValue, z.rawValue, s.rawValue) ?? .max) // does not fit 128 bits: certainly ≥ l
        guard shrink < l else {
            throw c.violation(
                .ozoneLimitExhausted,
                "deactivating \(id) (deposit \(z) wei, s = \(s) wei) would take the Ozone limit \(l) noz to ≤ 0")
        }
        let o = nodes[i].owner
        let owner = accounts[o].id
        nodes[i].status = .deactivated
        nodes[i].deactivationDay = c.day
        effects.append(.nodeStatusChanged(node: id, kind: nodes[i].kind, owner: owner, from: old, to: .deactivated, day: c.day))
        if nodes[i].kind == .meta { activeMeta.removeAll { $0 == i } }

        // (b) from this node's locked vesting entries, oldest first, then from the deposit; (c) into p.
        var remaining = fee ?? Wei(.max)
        var fromVesting = Wei.zero
        for entryID in liveVestingIDs(ofNode: i) where !remaining.isZero {
            var entry = vestingEntry(entryID)
            guard entry.status == .locked, !entry.amount.isZero else { continue }
            let take = min(remaining, entry.amount)
            entry.amount -= take
            setVestingEntry(entryID, entry)
            accounts[entry.account].vesting -= take
            lockedTotals.remove(take, maturing: entry.matureEpoch, node: entry.node)
            remaining -= take
            fromVesting += take
            let ledgerOwner = accounts[entry.account].id
            effects.append(.vestingFeeTaken(VestingEntryID(entryID), account: ledgerOwner, node: id, amount: take))
            effects.append(
                .transfer(
                    Transfer(
                        from: .vesting(owner: ledgerOwner, entry: VestingEntryID(entryID)),
                        to: .volumePool, amount: .wei(take), reason: .migrationFee)))
        }
        let fromDeposit = min(remaining, nodes[i].deposit)
        if !fromDeposit.isZero {
            nodes[i].deposit -= fromDeposit
            accounts[o].escrow -= fromDeposit
            remaining -= fromDeposit
            effects.append(
                .transfer(
                    Transfer(
                        from: .escrow(owner: owner, node: id), to: .volumePool,
                        amount: .wei(fromDeposit), reason: .migrationFee)))
        }
        p += fromVesting + fromDeposit
        // Paired: every wei of the fee is taken from vesting, taken from the deposit, or waived.
        if let fee { precondition(fromVesting + fromDeposit + remaining == fee, "migration fee of \(id) does not add up") }
        effects.append(
            .migrationFeeCharged(
                node: id, owner: owner, storedBytes: storedBytes, fee: fee,
                fromVesting: fromVesting, fromDeposit: fromDeposit,
                waived: fee == nil ? nil : remaining))

        // (d) the Ozone limit shrinks by floor(l × Z / s), computed before the fee changed p (it does not involve p).
        if !shrink.isZero {
            l -= shrink
            ozoneIssued -= shrink
            effects.append(
                .transfer(
                    Transfer(
                        from: .ozoneLimit, to: .ozoneIssuance, amount: .noz(shrink),
                        reason: .ozoneLimitShrunk)))
        }
        if rules.depositConstant == .effective { s -= z }

        // (e) release day = max(d, a + 179) + 14.
        // Computed now with this epoch's parameters, and kept: a later change does not move it.
        let params = rules.parameters(forEpoch: c.epoch)
        let releaseDay = max(c.day, nodes[i].activationDay + params.depositLockDays - 1) + params.coolingOffDays
        nodes[i].releaseDay = releaseDay
        effects.append(.depositReleaseScheduled(node: id, owner: owner, amount: nodes[i].deposit, releaseDay: releaseDay))
        if !nodes[i].deposit.isZero { pendingReleases.append(i) }
    }

    mutating func applyNodeShutDown(_ c: EventContext, node id: NodeID, _ effects: inout [Effect]) throws(RuleViolation) {
        let i = try nodeIdx(c, id)
        guard nodes[i].status == .deactivated else {
            throw c.violation(.nodeNotDeactivated, "node \(id) is \(nodes[i].status.rawValue); only a deactivated node shuts down")
        }
        nodes[i].status = .shutDown
        effects.append(
            .nodeStatusChanged(
                node: id, kind: nodes[i].kind, owner: accounts[nodes[i].owner].id,
                from: .deactivated, to: .shutDown, day: c.day))
        guard c.day < nodes[i].deactivationDay + rules.parameters(forEpoch: c.epoch).coolingOffDays else { return }
        // In the cooling-off: the still-locked entries that came from this node go back to their pools.
        for entryID in liveVestingIDs(ofNode: i) {
            var entry = vestingEntry(entryID)
            guard entry.status == .locked else { continue }
            let amount = entry.amount
            entry.status = .cancelled
            entry.amount = .zero
            setVestingEntry(entryID, entry)
            guard !amount.isZero else { continue }
            let a = entry.account
            accounts[a].vesting -= amount
            lockedTotals.remove(amount, maturing: entry.matureEpoch, node: entry.node)
            let source = entry.source
            switch source {
            case .traffic: p += amount
            case .mining: mined -= amount
            }
            let ledgerOwner = accounts[a].id
            effects.append(.vestingCancelled(VestingEntryID(entryID), account: ledgerOwner, source: source, amount: amount))
            effects.append(
                .transfer(
                    Transfer(
                        from: .vesting(owner: ledgerOwner, entry: VestingEntryID(entryID)),
                        to: source.pool, amount: .wei(amount), reason: .vestingCancelled)))
        }
        nodes[i].vestingEntries = []
    }

    // MARK: Staking and gas fees

    mutating func applyValidatorCreated(
        _ c: EventContext, validator id: ValidatorID, operator op: AccountID, selfDelegation: Wei,
        commissionBp: Int64, _ effects: inout [Effect]
    ) throws(RuleViolation) {
        guard validatorIndex[id] == nil else { throw c.violation(.validatorExists, "validator \(id) already exists") }
        try requirePositive(c, selfDelegation, "selfDelegation")
        guard (0...10_000).contains(commissionBp) else {
            throw c.violation(.commissionOutOfRange, "commissionBp \(commissionBp) is not within 0…10000")
        }
        try requireWallet(c, op, selfDelegation)
        let o = account(op)
        accounts[o].wallet -= selfDelegation
        accounts[o].bonded += selfDelegation
        validators.append(
            ValidatorState(
                id: id, operatorAccount: o, selfDelegation: selfDelegation,
                commissionBp: UInt128(commissionBp), power: selfDelegation))
        validatorIndex[id] = validators.count - 1
        totalDelegation += selfDelegation
        effects.append(.validatorCreated(validator: id, operator: op, commissionBp: commissionBp))
        effects.append(
            .transfer(
                Transfer(
                    from: .wallet(op), to: .selfBonded(operator: op, validator: id),
                    amount: .wei(selfDelegation), reason: .selfDelegated)))
    }

    mutating func applyDelegated(
        _ c: EventContext, delegator: AccountID, validator: ValidatorID, amount: Wei,
        _ effects: inout [Effect]
    ) throws(RuleViolation) {
        let v = try validatorIdx(c, validator)
        try requirePositive(c, amount, "amount")
        try requireWallet(c, delegator, amount)
        let d = account(delegator)
        accounts[d].wallet -= amount
        accounts[d].bonded += amount
        let key = DelegationKey(validator: v, delegator: d)
        if let k = delegationIndex[key] {
            validators[v].delegations[k].amount += amount
        } else {
            validators[v].delegations.append(Delegation(delegator: d, amount: amount))
            delegationIndex[key] = validators[v].delegations.count - 1
        }
        validators[v].power += amount
        totalDelegation += amount
        effects.append(
            .transfer(
                Transfer(
                    from: .wallet(delegator), to: .bonded(delegator: delegator, validator: validator),
                    amount: .wei(amount), reason: .delegated)))
    }

    mutating func applyUndelegated(
        _ c: EventContext, delegator: AccountID, validator: ValidatorID, amount: Wei,
        _ effects: inout [Effect]
    ) throws(RuleViolation) {
        let v = try validatorIdx(c, validator)
        try requirePositive(c, amount, "amount")
        let d = accountIndex[delegator]
        let k = d.flatMap { delegationIndex[DelegationKey(validator: v, delegator: $0)] }
        let has = k.map { validators[v].delegations[$0].amount } ?? .zero
        guard has >= amount else {
            throw c.violation(
                .delegationShort,
                "\(delegator) has delegated \(has) wei to \(validator) (a self-delegation cannot be undelegated), asks \(amount) wei")
        }
        let di = d!
        let ki = k!
        validators[v].delegations[ki].amount -= amount
        validators[v].power -= amount
        totalDelegation -= amount
        accounts[di].bonded -= amount
        accounts[di].unbonding += amount
        let releaseDay = c.day + rules.parameters(forEpoch: c.epoch).unbondingDays
        unbondings.append(UnbondingState(account: di, validator: v, amount: amount, releaseDay: releaseDay))
        let uid = UnbondingID(unbondingBaseID + UInt64(unbondings.count - 1))
        effects.append(.unbondingScheduled(uid, delegator: delegator, validator: validator, amount: amount, releaseDay: releaseDay))
        effects.append(
            .transfer(
                Transfer(
                    from: .bonded(delegator: delegator, validator: validator),
                    to: .unbonding(delegator: delegator, entry: uid), amount: .wei(amount),
                    reason: .undelegated)))
    }

    /// RULES §7: gas fees are distributed at once by the validator rule; dust (and everything
    /// when there is no validator) stays in the fee collector for the next distribution.
    mutating func applyGasFees(_ c: EventContext, amount: Wei, _ effects: inout [Effect]) throws(RuleViolation) {
        try requirePositive(c, amount, "amount")
        try requireInflowFits(c, amount)
        externalIn += amount
        feeCollector += amount
        effects.append(.transfer(Transfer(from: .outside, to: .feeCollector, amount: .wei(amount), reason: .gasFeesCollected)))
        let collected = feeCollector
        let payouts = validatorRule(feeCollector)
        var paid = Wei.zero
        defer {
            // Paired: what left the fee collector is what the wallets received; dust stays.
            precondition(feeCollector + paid == collected, "gas fee payouts do not add up")
        }
        for pay in payouts {
            paid += pay.amount
            feeCollector -= pay.amount
            accounts[pay.account].wallet += pay.amount
            let a = accounts[pay.account].id
            let v = validators[pay.validator].id
            effects.append(.gasFeeReward(account: a, validator: v, role: pay.role, amount: pay.amount))
            effects.append(
                .transfer(
                    Transfer(
                        from: .feeCollector, to: .wallet(a), amount: .wei(pay.amount),
                        reason: .gasFeeReward)))
        }
    }

    /// RULES §5.8, the validator rule, for `partD`: every non-zero payout in validator creation
    /// order (validator, commission, then delegators in order of first delegation). Their sum is
    /// ≤ `partD`; the rest is dust.
    func validatorRule(_ partD: Wei) -> [Payout] {
        let d = totalDelegation.rawValue
        guard !partD.isZero, d > 0 else { return [] }
        var out: [Payout] = []
        out.reserveCapacity(validators.count * 2)
        for (j, v) in validators.enumerated() {
            let power = v.power.rawValue
            let pool = share(partD.rawValue, power, d)
            guard pool > 0 else { continue }
            let vTimesBp = power * 10_000
            let own = share(pool, v.selfDelegation.rawValue, power)
            if own > 0 { out.append(Payout(account: v.operatorAccount, validator: j, role: .validator, amount: Wei(own))) }
            // pool ≤ 2^112 and bp ≤ 10^4 < 2^14, so pool × bp fits 128 bits; × stake fits 256.
            let commission = share(pool * v.commissionBp, power - v.selfDelegation.rawValue, vTimesBp)
            if commission > 0 {
                out.append(Payout(account: v.operatorAccount, validator: j, role: .commission, amount: Wei(commission)))
            }
            let poolTimesKeep = pool * (10_000 - v.commissionBp)
            for del in v.delegations where !del.amount.isZero {
                let amount = share(poolTimesKeep, del.amount.rawValue, vTimesBp)
                if amount > 0 { out.append(Payout(account: del.delegator, validator: j, role: .delegator, amount: Wei(amount))) }
            }
        }
        // Floors only round down: the payouts never exceed what is shared.
        assert(out.reduce(UInt128(0)) { $0 + $1.amount.rawValue } <= partD.rawValue, "the validator rule paid more than it shares")
        return out
    }
}

/// One payout of the validator rule (account and validator as indices).
struct Payout {
    let account: Int
    let validator: Int
    let role: RewardRole
    let amount: Wei
}
