import LedgerEvents
import StratosEconomics

/// The rows of one batch, in binary COPY format, the economy checkpoints to store with them included.
struct ProjectionRows {
    var journal = CopyBuffer()
    var vestingEntries = CopyBuffer()
    var vestingChanges = CopyBuffer()
    var releaseSchedule = CopyBuffer()
    var releaseDone = CopyBuffer()
    var ozoneSupply = CopyBuffer()
    var settlements = CopyBuffer()
    var settledNodes = CopyBuffer()
    var gasFeeRewards = CopyBuffer()
    var balanceHistory = CopyBuffer()
    var exceptions = CopyBuffer()
    var balancesStage = CopyBuffer()
    var nodesStage = CopyBuffer()
    /// Economy heads (`epoch_checkpoints`).
    var checkpoints = CopyBuffer()

    /// The insert-only tables and the statement that loads each (in a fixed order).
    var copies: [(statement: String, rows: CopyBuffer)] {
        [
            ("copy.journal", journal), ("copy.vesting_entries", vestingEntries), ("copy.vesting_changes", vestingChanges),
            ("copy.release_schedule", releaseSchedule), ("copy.release_done", releaseDone),
            ("copy.ozone_supply", ozoneSupply), ("copy.settlements", settlements), ("copy.settled_nodes", settledNodes),
            ("copy.gas_fee_rewards", gasFeeRewards), ("copy.balance_history", balanceHistory),
            ("copy.exceptions", exceptions), ("copy.epoch_checkpoints", checkpoints),
        ]
    }

    mutating func removeAll() {
        for k in [
            \ProjectionRows.journal, \.vestingEntries, \.vestingChanges, \.releaseSchedule, \.releaseDone,
            \.ozoneSupply, \.settlements, \.settledNodes, \.gasFeeRewards, \.balanceHistory, \.exceptions,
            \.balancesStage, \.nodesStage, \.checkpoints,
        ] as [WritableKeyPath<ProjectionRows, CopyBuffer>] {
            self[keyPath: k].removeAll()
        }
    }
}

/// The in-memory side of a projection: one `Economy`, the per-account and per-node balances
/// kept from its effects, and the accumulators of the open epoch. `apply` turns one logged event
/// into projection rows. Pure: no I/O, so the same events give the same rows whatever the batch
/// boundaries, which is what makes a kill -9 and restart equal to an uninterrupted run.
final class ProjectionModel {
    private(set) var economy: Economy
    /// The last log position applied or refused.
    private(set) var lastPosition: Int64
    /// Events refused so far (restored from the state row after a replay).
    var refused: Int64
    let checkpointEvery: Int64

    struct NodeRow {
        var kind: NodeKind?
        var owner: AccountID?
        var status: NodeStatus?
        var deposit: UInt128 = 0
        var unsettled: UInt128 = 0
    }

    // Accounts and nodes by dense index (in order of first appearance), so a change hashes its
    // id once; the changed ones are listed in order of first change (deterministic: it follows
    // the events, not batch boundaries or hash seeds), so nothing needs sorting.
    private var accountIndex: [AccountID: Int] = [:]
    private var accountIDs: [AccountID] = []
    private var balances: [AccountBalances] = []
    /// Per account: the last position that changed it since the last `flushCurrent` (0: none).
    private var accountDirty: [Int64] = []
    private var dirtyAccounts: [Int] = []
    /// Per account: changed since the last epoch close (for balance_history).
    private var accountInEpoch: [Bool] = []
    private var epochAccounts: [Int] = []
    private var nodeIndex: [NodeID: Int] = [:]
    private var nodeIDs: [NodeID] = []
    private var nodes: [NodeRow] = []
    private var nodeDirty: [Int64] = []
    private var dirtyNodes: [Int] = []
    private var epochBought: UInt128 = 0
    private var epochConsumed: UInt128 = 0
    private var maturities = VestingMaturities()
    /// Gives a partial economy (a checkpoint head the worker did not complete) the locked vesting
    /// entries an event needs, before it is applied (`ProjectionWorker.load`); nil when the
    /// economy is complete.
    var supplyVesting: ((inout Economy, LedgerEvent) throws -> Void)?

    /// Starts from `economy` (fresh, or decoded from the checkpoint taken right after an epoch
    /// close at `position`): balances and nodes are taken from its snapshot.
    init(economy: Economy, position: Int64, refused: Int64, checkpointEvery: Int64) {
        precondition(checkpointEvery > 0)
        self.economy = economy
        self.lastPosition = position
        self.refused = refused
        self.checkpointEvery = checkpointEvery
        let snapshot = economy.snapshot()
        for (id, b) in snapshot.accounts.sorted(by: { $0.key < $1.key }) { balances[account(id)] = b }
        for (id, n) in snapshot.nodes.sorted(by: { $0.key < $1.key }) {
            nodes[node(id)] = NodeRow(
                kind: n.kind, owner: n.owner, status: n.status, deposit: n.deposit.rawValue,
                unsettled: n.unsettled.rawValue)
        }
    }

    /// The index of `id`, added on first sight.
    @inline(__always) private func account(_ id: AccountID) -> Int {
        if let i = accountIndex[id] { return i }
        let i = accountIDs.count
        accountIndex[id] = i
        accountIDs.append(id)
        balances.append(AccountBalances())
        accountDirty.append(0)
        accountInEpoch.append(false)
        return i
    }

    @inline(__always) private func node(_ id: NodeID) -> Int {
        if let i = nodeIndex[id] { return i }
        let i = nodeIDs.count
        nodeIndex[id] = i
        nodeIDs.append(id)
        nodes.append(NodeRow())
        nodeDirty.append(0)
        return i
    }

    @inline(__always) private func touch(node i: Int, _ position: Int64) {
        if nodeDirty[i] == 0 { dirtyNodes.append(i) }
        nodeDirty[i] = position
    }

    /// Forgets what changed so far (after a replay whose rows are already in the database).
    func markClean() {
        for i in dirtyAccounts { accountDirty[i] = 0 }
        for i in dirtyNodes { nodeDirty[i] = 0 }
        dirtyAccounts.removeAll(keepingCapacity: true)
        dirtyNodes.removeAll(keepingCapacity: true)
    }

    /// Applies the event at `position` (which must be `lastPosition + 1`) and, when `rows` is
    /// given, appends its projection rows. A refused or invalid event becomes an exception row.
    /// Throws only when `supplyVesting` does (the model is then behind the event: reload it).
    func apply(_ logged: LoggedEvent, rows: inout ProjectionRows, record: Bool) throws {
        precondition(logged.position == lastPosition + 1, "event log position \(logged.position) out of order")
        let event: LedgerEvent
        switch logged.event {
        case .failure(let error):
            lastPosition = logged.position
            refused += 1
            if record { exception(&rows, logged, rule: "invalid-event", message: error.description) }
            return
        case .success(let e): event = e
        }
        if economy.vestingNeed(for: event) != nil {
            guard let supplyVesting else { preconditionFailure("a partial economy without a vesting source") }
            try supplyVesting(&economy, event)
            // A need left unmet would refuse the event (`vesting-not-loaded`) and record a rule
            // exception that no rule made: never.
            precondition(economy.vestingNeed(for: event) == nil, "the vesting source left \(event.payload)'s need unmet")
        }
        lastPosition = logged.position
        let position = logged.position
        let applied: AppliedEvent
        do {
            applied = try economy.apply(event)
        } catch {
            refused += 1
            if record { exception(&rows, logged, rule: error.rule, message: error.message) }
            return
        }
        let epoch = applied.epoch

        if record { rows.journal.beginJournalRow(position: position, epoch: epoch) }
        var transfers = 0
        var gasSeq = 0
        // An epoch close's rewards and releases are not stored in the journal: the view derives
        // them from vesting_entries (DerivedJournalLines).
        let closesEpoch = applied.settlement != nil
        var derived = DerivedJournalLines()
        for effect in applied.effects {
            switch effect {
            case .transfer(let t):
                move(t, position: position)
                // Both postings of a transfer hold one commodity, so every journal transaction
                // balances per commodity (the engine's Transfer asserts it too; the journal is
                // what auditors add up).
                precondition(
                    t.from.commodity == t.amount.commodity && t.to.commodity == t.amount.commodity
                        && t.amount.baseUnits > 0, "journal transfer at position \(position) does not balance: \(t)")
                if closesEpoch, derived.isDerived(t, position: position) { break }
                if record { rows.journal.journalTransfer(t, first: transfers == 0) }
                transfers += 1
            case .nodeStatusChanged(let id, let kind, let owner, _, let to, _):
                let i = node(id)
                nodes[i].kind = kind
                nodes[i].owner = owner
                nodes[i].status = to
                touch(node: i, position)
            case .vestingCreated(let e):
                maturities.created(e)
                if closesEpoch { derived.vestingCreated(e) }
                guard record else { break }
                edit(&rows.vestingEntries) { r in
                    r.int(Int64(e.id.rawValue))
                    r.text(e.account.rawValue)
                    r.text(e.node?.rawValue)
                    r.text(e.validator?.rawValue)
                    r.text(e.role.rawValue)
                    r.text(e.source.rawValue)
                    r.amount(e.amount.rawValue)
                    r.int(e.epochEarned)
                    r.int(e.matureEpoch)
                    r.int(position)
                    r.endRow()
                }
            case .vestingReleased(let id, _, _):
                // Not stored: vesting_schedule derives releases from mature_epoch (tables.sql).
                // Hold the engine to the rule that derivation relies on.
                if let mature = maturities.matureEpoch(of: id) {
                    precondition(mature == epoch, "vesting entry \(id) released at the close of epoch \(epoch), it matures at \(mature)")
                }
            case .vestingCancelled(let id, _, _, let amount):
                if record { vestingChange(&rows, id, position, epoch, "cancelled", amount) }
            case .vestingFeeTaken(let id, _, _, let amount):
                if record { vestingChange(&rows, id, position, epoch, "fee-taken", amount) }
            case .depositReleaseScheduled(let node, let owner, let amount, let day):
                if record { releaseScheduled(&rows, "deposit", node.rawValue, owner, node, nil, amount, day, position) }
            case .depositReleased(let node, _, let amount, _):
                if record { releaseDone(&rows, "deposit", node.rawValue, amount, position, epoch) }
            case .unbondingScheduled(let id, let delegator, let validator, let amount, let day):
                if record { releaseScheduled(&rows, "unbonding", id.description, delegator, nil, validator, amount, day, position) }
            case .unbondingReleased(let id, _, _, let amount, _):
                if record { releaseDone(&rows, "unbonding", id.description, amount, position, epoch) }
            case .gasFeeReward(let account, let validator, let role, let amount):
                gasSeq += 1
                guard record else { break }
                edit(&rows.gasFeeRewards) { r in
                    r.int(position)
                    r.int32(Int32(gasSeq))
                    r.int(epoch)
                    r.text(account.rawValue)
                    r.text(validator.rawValue)
                    r.text(role.rawValue)
                    r.amount(amount.rawValue)
                    r.endRow()
                }
            case .metaNodeVoteRecorded, .nodeTaskWeight, .migrationFeeCharged, .validatorCreated, .trafficRecorded:
                break // in the journal through their transfers; nothing else to project
            }
        }
        if record { rows.journal.endRow() }
        if let report = applied.settlement {
            derived.finish(position: position)
            maturities.forget(before: report.epoch)
            closeEpoch(report, applied: applied, derived: derived, position: position, rows: &rows, record: record)
        }
    }

    // MARK: Balances from transfers

    private func move(_ t: Transfer, position: Int64) {
        let amount = t.amount.baseUnits
        if t.reason == .ozonePurchased { epochBought += amount }
        if t.reason == .trafficCharged { epochConsumed += amount }
        change(t.from, -1, amount, position)
        change(t.to, 1, amount, position)
    }

    private func change(_ account: LedgerAccount, _ sign: Int, _ amount: UInt128, _ position: Int64) {
        @inline(__always) func add(_ value: UInt128, _ what: @autoclosure () -> String) -> UInt128 {
            if sign > 0 { return value + amount }
            precondition(value >= amount, "projection balance \(what()) would go negative")
            return value - amount
        }
        switch account {
        case .nodeTraffic(let n):
            let i = node(n)
            nodes[i].unsettled = add(nodes[i].unsettled, "\(account)")
            touch(node: i, position)
            return
        case .escrow(_, let n):
            let i = node(n)
            nodes[i].deposit = add(nodes[i].deposit, "\(account)")
            touch(node: i, position)
        default: break
        }
        guard let owner = account.owner else { return }
        let i = self.account(owner)
        switch account {
        case .wallet: balances[i].wallet = Wei(add(balances[i].wallet.rawValue, "\(account)"))
        case .ozone: balances[i].ozone = Noz(add(balances[i].ozone.rawValue, "\(account)"))
        case .escrow: balances[i].escrow = Wei(add(balances[i].escrow.rawValue, "\(account)"))
        case .vesting: balances[i].vesting = Wei(add(balances[i].vesting.rawValue, "\(account)"))
        case .selfBonded, .bonded: balances[i].bonded = Wei(add(balances[i].bonded.rawValue, "\(account)"))
        case .unbonding: balances[i].unbonding = Wei(add(balances[i].unbonding.rawValue, "\(account)"))
        default: preconditionFailure("\(account) has an owner but no balance field")
        }
        if accountDirty[i] == 0 { dirtyAccounts.append(i) }
        accountDirty[i] = position
        if !accountInEpoch[i] {
            accountInEpoch[i] = true
            epochAccounts.append(i)
        }
    }

    // MARK: Epoch close

    private func closeEpoch(
        _ report: SettlementReport, applied: AppliedEvent, derived: DerivedJournalLines, position: Int64,
        rows: inout ProjectionRows, record: Bool
    ) {
        let epoch = report.epoch
        if record {
            edit(&rows.settlements) { s in
                s.int(epoch)
                s.int(position)
                s.text(report.rules)
                s.amount(report.T.rawValue)
                s.amount(report.Y.rawValue)
                s.amount(report.trafficReward.rawValue)
                s.amount(report.miningReward.rawValue)
                s.amount(report.trafficDust.rawValue)
                s.amount(report.miningDust.rawValue)
                for range in [derived.released, derived.rewarded] {
                    if let range {
                        s.int(Int64(range.first))
                        s.int(Int64(range.last))
                    } else {
                        s.null()
                        s.null()
                    }
                }
                s.endRow()
            }
            edit(&rows.settledNodes) { n in
                for (rank, node) in report.settled.enumerated() {
                    n.int(epoch)
                    n.int32(Int32(rank + 1))
                    n.text(node.node.rawValue)
                    n.amount(node.traffic.rawValue)
                    n.endRow()
                }
            }
            let supply = applied.supply
            edit(&rows.ozoneSupply) { o in
                o.int(epoch)
                o.int(position)
                o.amount(supply.s.rawValue)
                o.amount(supply.p.rawValue)
                o.amount(supply.l.rawValue)
                o.amount(supply.mined.rawValue)
                o.amount(applied.feeCollector.rawValue)
                o.decimalText(supply.s.rawValue + supply.p.rawValue)
                o.decimalText(supply.l.rawValue)
                o.amount(epochBought)
                o.amount(epochConsumed)
                o.amount(report.Y.rawValue)
                o.amount(report.T.rawValue - report.Y.rawValue)
                o.endRow()
            }
            edit(&rows.balanceHistory) { h in
                for i in epochAccounts {
                    let b = balances[i]
                    h.text(accountIDs[i].rawValue)
                    h.int(epoch)
                    h.amount(b.wallet.rawValue)
                    h.amount(b.ozone.rawValue)
                    h.amount(b.escrow.rawValue)
                    h.amount(b.bonded.rawValue)
                    h.amount(b.unbonding.rawValue)
                    h.amount(b.vesting.rawValue)
                    h.endRow()
                }
            }
            if epoch % checkpointEvery == 0 {
                edit(&rows.checkpoints) { c in
                    c.int(epoch)
                    c.int(position)
                    c.bytea(economy.encodeCheckpointHead())
                    c.endRow()
                }
            }
        }
        for i in epochAccounts { accountInEpoch[i] = false }
        epochAccounts.removeAll(keepingCapacity: true)
        epochBought = 0
        epochConsumed = 0
    }

    // MARK: Current tables

    /// Appends the changed accounts and nodes to the staging buffers, then forgets them.
    func flushCurrent(into rows: inout ProjectionRows) {
        for i in dirtyAccounts {
            let b = balances[i]
            edit(&rows.balancesStage) { r in
                r.text(accountIDs[i].rawValue)
                r.amount(b.wallet.rawValue)
                r.amount(b.ozone.rawValue)
                r.amount(b.escrow.rawValue)
                r.amount(b.bonded.rawValue)
                r.amount(b.unbonding.rawValue)
                r.amount(b.vesting.rawValue)
                r.int(accountDirty[i])
                r.endRow()
            }
        }
        for i in dirtyNodes {
            let n = nodes[i]
            guard let kind = n.kind, let owner = n.owner, let status = n.status else {
                preconditionFailure("node \(nodeIDs[i]) moved money before the engine reported its status")
            }
            edit(&rows.nodesStage) { r in
                r.text(nodeIDs[i].rawValue)
                r.text(kind.rawValue)
                r.text(owner.rawValue)
                r.text(status.rawValue)
                r.amount(n.deposit)
                r.amount(n.unsettled)
                r.int(nodeDirty[i])
                r.endRow()
            }
        }
        markClean()
    }

    // MARK: Row helpers

    private func exception(_ rows: inout ProjectionRows, _ logged: LoggedEvent, rule: String, message: String) {
        edit(&rows.exceptions) { r in
            r.int(logged.position)
            r.text(logged.eventID)
            r.text(logged.type)
            r.text(rule)
            r.text(message)
            r.endRow()
        }
    }

    private func vestingChange(
        _ rows: inout ProjectionRows, _ id: VestingEntryID, _ position: Int64, _ epoch: Int64,
        _ change: String, _ amount: Wei
    ) {
        edit(&rows.vestingChanges) { r in
            r.int(Int64(id.rawValue))
            r.int(position)
            r.int(epoch)
            r.text(change)
            r.amount(amount.rawValue)
            r.endRow()
        }
    }

    private func releaseScheduled(
        _ rows: inout ProjectionRows, _ kind: String, _ ref: String, _ account: AccountID,
        _ node: NodeID?, _ validator: ValidatorID?, _ amount: Wei, _ day: Int64, _ position: Int64
    ) {
        edit(&rows.releaseSchedule) { r in
            r.text(kind)
            r.text(ref)
            r.text(account.rawValue)
            r.text(node?.rawValue)
            r.text(validator?.rawValue)
            r.amount(amount.rawValue)
            r.int(day)
            r.int(position)
            r.endRow()
        }
    }

    private func releaseDone(
        _ rows: inout ProjectionRows, _ kind: String, _ ref: String, _ amount: Wei,
        _ position: Int64, _ epoch: Int64
    ) {
        edit(&rows.releaseDone) { r in
            r.text(kind)
            r.text(ref)
            r.amount(amount.rawValue)
            r.int(position)
            r.int(epoch)
            r.endRow()
        }
    }
}

/// Mutates a buffer in place (no copy-on-write of the batch's bytes).
@inline(__always) func edit(_ buffer: inout CopyBuffer, _ body: (inout CopyBuffer) -> Void) { body(&buffer) }

/// The mature epoch of the vesting entries created since this model started, as one range of
/// entry ids per epoch close (ids are assigned in creation order and every entry of one close
/// matures at the same epoch): a few thousand pairs however long the history. The worker checks
/// with it that the engine releases an entry exactly at the close of its mature epoch, the rule
/// `vesting_schedule` derives releases from.
struct VestingMaturities {
    private var ranges: [(firstID: UInt64, matureEpoch: Int64)] = []
    private var start = 0
    /// The first id recorded, and the latest mature epoch of the ranges already dropped.
    private var firstKnown: UInt64?
    private var droppedMature: Int64 = 0

    mutating func created(_ e: VestingEntry) {
        if let last = ranges.last, last.matureEpoch == e.matureEpoch { return }
        precondition(
            ranges.last.map { $0.firstID < e.id.rawValue && $0.matureEpoch < e.matureEpoch } ?? true,
            "vesting entry \(e.id) created out of order")
        if firstKnown == nil { firstKnown = e.id.rawValue }
        ranges.append((e.id.rawValue, e.matureEpoch))
    }

    /// nil when the entry was created before this model started (loaded from a checkpoint).
    func matureEpoch(of id: VestingEntryID) -> Int64? {
        guard let firstKnown, id.rawValue >= firstKnown else { return nil }
        var lo = start
        var hi = ranges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ranges[mid].firstID <= id.rawValue { lo = mid + 1 } else { hi = mid }
        }
        return lo > start ? ranges[lo - 1].matureEpoch : droppedMature
    }

    /// Drops the ranges that matured before `epoch` (all released or cancelled by now).
    mutating func forget(before epoch: Int64) {
        while start < ranges.count, ranges[start].matureEpoch < epoch {
            droppedMature = ranges[start].matureEpoch
            start += 1
        }
        if start >= 1024, start * 2 >= ranges.count {
            ranges.removeFirst(start)
            start = 0
        }
    }
}
