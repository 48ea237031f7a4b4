import LedgerEvents

extension Economy {
    /// Checks RULES §8 (STOS and Ozone conservation, `l > 0`, nothing negative — unsigned
    /// storage makes negative impossible, so underflow would have trapped) and the consistency of
    /// every running total with the detailed state it summarises. O(size of the state): meant for
    /// tests after every event and for a production `verify`, not for the hot path.
    public func checkInvariants() throws(InvariantViolation) {
        let sum = CheckedSum()
        guard genesisTime != nil else {
            guard accounts.isEmpty, nodes.isEmpty, validators.isEmpty, position == 0, l.isZero, p.isZero, s.isZero else {
                throw InvariantViolation(invariant: "pre-genesis", message: "state before Genesis is not empty")
            }
            return
        }
        let cap = rules.miningCap

        // Per-account running totals against the detail they summarise, and the running totals a
        // checkpoint head records (below), from one visit of every entry still held: the hole's
        // supplied ones, then the in-memory ones. Visited in place: concatenating the two
        // sequences would copy millions of entries at the bench's scale (docs/BENCHMARKS.md).
        var vestingBy = [Wei](repeating: .zero, count: accounts.count)
        var escrowBy = vestingBy
        var bondedBy = vestingBy
        var unbondingBy = vestingBy
        var byMaturity: [Int64: Wei] = [:]
        var byNode: [Int: Wei] = [:]
        for b in vestingHole?.byMaturity ?? [] { byMaturity[b.epoch, default: .zero] += b.wei }
        for (n, wei) in vestingHole?.byNode ?? [:] { byNode[n, default: .zero] += wei }
        func visit(_ id: UInt64, _ v: VestingState) throws(InvariantViolation) {
            if v.status == .locked {
                vestingBy[v.account] = try sum.add(vestingBy[v.account], v.amount, "vesting")
                guard v.matureEpoch > lastClosedEpoch else {
                    throw InvariantViolation(invariant: "vesting", message: "entry \(id) matured at epoch \(v.matureEpoch) but is still locked")
                }
                if !v.amount.isZero {
                    byMaturity[v.matureEpoch, default: .zero] += v.amount
                    if let n = v.node { byNode[n, default: .zero] += v.amount }
                }
            } else if v.status == .cancelled, !v.amount.isZero {
                throw InvariantViolation(invariant: "vesting", message: "cancelled entry \(id) keeps \(v.amount) wei")
            }
        }
        for e in vestingHole?.supplied ?? [] { try visit(e.id, e.state) }
        for k in vestingHead..<vesting.count { try visit(vestingBaseID + UInt64(k), vesting[k]) }
        var totals = LockedVestingTotals()
        totals.byMaturity = byMaturity.keys.sorted().map { VestingHole.Bucket(epoch: $0, wei: byMaturity[$0]!) }
        totals.byNode = byNode
        guard totals == lockedTotals else {
            throw InvariantViolation(invariant: "vesting-totals", message: "the locked totals per maturity epoch and node are out of date")
        }
        // A partial economy: the entries not supplied are known only by their totals, which the
        // accounts' vesting balances must cover exactly.
        var unsupplied = Wei.zero
        if let hole = vestingHole {
            var byNode = Wei.zero
            for b in hole.byMaturity {
                guard !b.wei.isZero, b.epoch > lastClosedEpoch else {
                    throw InvariantViolation(invariant: "vesting", message: "unsupplied locked total \(b.wei) wei maturing at epoch \(b.epoch)")
                }
                unsupplied = try sum.add(unsupplied, b.wei, "vesting")
            }
            for (n, wei) in hole.byNode {
                guard nodes.indices.contains(n), !wei.isZero else {
                    throw InvariantViolation(invariant: "vesting", message: "unsupplied locked total \(wei) wei of node index \(n)")
                }
                byNode = try sum.add(byNode, wei, "vesting")
            }
            guard byNode <= unsupplied, hole.ids.upperBound <= vestingBaseID else {
                throw InvariantViolation(invariant: "vesting", message: "the vesting hole's totals are inconsistent")
            }
        }
        var k = Wei.zero
        var unsettledSet = Set<Int>()
        var cTotal = Noz.zero
        for (i, n) in nodes.enumerated() {
            escrowBy[n.owner] = try sum.add(escrowBy[n.owner], n.deposit, "escrow")
            cTotal = try sum.add(cTotal, n.unsettled, "unsettled traffic")
            if !n.unsettled.isZero { unsettledSet.insert(i) }
            if n.status == .active || (n.kind == .resource && n.status == .suspended) {
                k = try sum.add(k, n.initialDeposit, "s")
                guard n.deposit == n.initialDeposit else {
                    throw InvariantViolation(
                        invariant: "deposit", message: "node \(n.id) is \(n.status.rawValue) but holds \(n.deposit) of \(n.initialDeposit) wei")
                }
            }
            if n.status == .rejected, !n.deposit.isZero {
                throw InvariantViolation(invariant: "deposit", message: "rejected node \(n.id) still holds \(n.deposit) wei")
            }
        }
        guard Set(unsettledNodes) == unsettledSet, unsettledNodes.count == unsettledSet.count else {
            throw InvariantViolation(invariant: "unsettled-index", message: "the list of nodes with unsettled traffic is out of date")
        }
        let metaActive = nodes.indices.filter { nodes[$0].kind == .meta && nodes[$0].status == .active }
        guard metaActive == activeMeta else {
            throw InvariantViolation(invariant: "meta-index", message: "the list of active meta nodes is out of date")
        }
        let releasing = nodes.indices.filter {
            (nodes[$0].status == .deactivated || nodes[$0].status == .shutDown) && !nodes[$0].deposit.isZero
        }
        guard releasing == pendingReleases.sorted() else {
            throw InvariantViolation(invariant: "release-index", message: "the list of deposits to release is out of date")
        }
        if rules.depositConstant == .effective, k != s {
            throw InvariantViolation(invariant: "s", message: "effective s is \(s) wei but active deposits are \(k) wei")
        }

        var d = Wei.zero
        for v in validators {
            bondedBy[v.operatorAccount] = try sum.add(bondedBy[v.operatorAccount], v.selfDelegation, "bonded")
            var power = v.selfDelegation
            for del in v.delegations {
                bondedBy[del.delegator] = try sum.add(bondedBy[del.delegator], del.amount, "bonded")
                power = try sum.add(power, del.amount, "power")
            }
            guard power == v.power else {
                throw InvariantViolation(invariant: "power", message: "validator \(v.id) has power \(v.power), delegations sum to \(power)")
            }
            d = try sum.add(d, power, "D")
        }
        guard d == totalDelegation else {
            throw InvariantViolation(invariant: "power", message: "D is \(totalDelegation), validators' power sums to \(d)")
        }
        for u in unbondings[unbondingHead...] {
            unbondingBy[u.account] = try sum.add(unbondingBy[u.account], u.amount, "unbonding")
        }

        var stos = Wei.zero
        var ozone = Noz.zero
        var vestingKept = Wei.zero
        var vestingKnown = Wei.zero
        for (i, a) in accounts.enumerated() {
            vestingKept = try sum.add(vestingKept, a.vesting, "vesting")
            vestingKnown = try sum.add(vestingKnown, vestingBy[i], "vesting")
            // Partial: an account's vesting covers its known entries; the rest is the unsupplied total.
            if vestingHole != nil, a.vesting >= vestingBy[i] { vestingBy[i] = a.vesting }
            guard a.vesting == vestingBy[i], a.escrow == escrowBy[i], a.bonded == bondedBy[i], a.unbonding == unbondingBy[i] else {
                throw InvariantViolation(
                    invariant: "account-totals",
                    message:
                        "account \(a.id): vesting \(a.vesting)/\(vestingBy[i]), escrow \(a.escrow)/\(escrowBy[i]), bonded \(a.bonded)/\(bondedBy[i]), unbonding \(a.unbonding)/\(unbondingBy[i]) (kept/actual)"
                )
            }
            for part in [a.wallet, a.escrow, a.bonded, a.unbonding, a.vesting] { stos = try sum.add(stos, part, "STOS") }
            ozone = try sum.add(ozone, a.ozone, "Ozone")
        }

        guard vestingKept == (try sum.add(vestingKnown, unsupplied, "vesting")) else {
            throw InvariantViolation(
                invariant: "account-totals",
                message: "accounts' vesting sums to \(vestingKept) wei, entries to \(vestingKnown) wei + \(unsupplied) wei not supplied")
        }

        // STOS conservation.
        guard mined <= cap else {
            throw InvariantViolation(invariant: "stos-conservation", message: "mined \(mined) wei exceeds the cap \(cap) wei")
        }
        for part in [p, feeCollector, cap - mined] { stos = try sum.add(stos, part, "STOS") }
        let expected = try sum.add(externalIn, cap, "STOS")
        guard expected >= externalOut, stos == expected - externalOut else {
            throw InvariantViolation(
                invariant: "stos-conservation",
                message: "the books hold \(stos) wei; inflows \(externalIn) − outflows \(externalOut) + cap \(cap) wei")
        }
        // Ozone conservation.
        ozone = try sum.add(ozone, l, "Ozone")
        ozone = try sum.add(ozone, cTotal, "Ozone")
        guard ozone == ozoneIssued else {
            throw InvariantViolation(
                invariant: "ozone-conservation",
                message: "l + users' Ozone + Σ C_i = \(ozone) noz, issued \(ozoneIssued) noz")
        }
        guard !l.isZero else { throw InvariantViolation(invariant: "ozone-limit-positive", message: "l is 0") }
        guard !s.isZero else { throw InvariantViolation(invariant: "s-positive", message: "s is 0") }
    }
}

/// Addition that reports overflow as an invariant violation instead of trapping.
private struct CheckedSum {
    func add(_ a: UInt128, _ b: UInt128, _ what: String) throws(InvariantViolation) -> UInt128 {
        let (v, o) = a.addingReportingOverflow(b)
        guard !o else { throw InvariantViolation(invariant: "overflow", message: "sum of \(what) overflows 128 bits") }
        return v
    }
    func add(_ a: Wei, _ b: Wei, _ what: String) throws(InvariantViolation) -> Wei { Wei(try add(a.rawValue, b.rawValue, what)) }
    func add(_ a: Noz, _ b: Noz, _ what: String) throws(InvariantViolation) -> Noz { Noz(try add(a.rawValue, b.rawValue, what)) }
}
