import LedgerEvents
import StratosEconomics

/// The rows of one batch, in COPY text format, plus the economy checkpoints to store with them.
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
    var checkpoints: [(epoch: Int64, position: Int64, state: [UInt8])] = []

    /// The insert-only tables and the statement that loads each (in a fixed order).
    var copies: [(statement: String, rows: CopyBuffer)] {
        [("copy.journal", journal), ("copy.vesting_entries", vestingEntries), ("copy.vesting_changes", vestingChanges),
         ("copy.release_schedule", releaseSchedule), ("copy.release_done", releaseDone),
         ("copy.ozone_supply", ozoneSupply), ("copy.settlements", settlements), ("copy.settled_nodes", settledNodes),
         ("copy.gas_fee_rewards", gasFeeRewards), ("copy.balance_history", balanceHistory),
         ("copy.exceptions", exceptions)]
    }

    mutating func removeAll() {
        for k in [\ProjectionRows.journal, \.vestingEntries, \.vestingChanges, \.releaseSchedule, \.releaseDone,
                  \.ozoneSupply, \.settlements, \.settledNodes, \.gasFeeRewards, \.balanceHistory, \.exceptions,
                  \.balancesStage, \.nodesStage] as [WritableKeyPath<ProjectionRows, CopyBuffer>] {
            self[keyPath: k].removeAll()
        }
        checkpoints.removeAll()
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

    struct NodeRow { var kind: NodeKind?; var owner: AccountID?; var status: NodeStatus?; var deposit: UInt128 = 0; var unsettled: UInt128 = 0 }

    private var balances: [AccountID: AccountBalances] = [:]
    private var nodes: [NodeID: NodeRow] = [:]
    /// Changed since the last `flushCurrent` (account → last position that changed it).
    private var dirtyAccounts: [AccountID: Int64] = [:]
    private var dirtyNodes: [NodeID: Int64] = [:]
    /// Changed since the last epoch close, for balance_history.
    private var epochAccounts: Set<AccountID> = []
    private var epochBought: UInt128 = 0
    private var epochConsumed: UInt128 = 0

    /// Starts from `economy` (fresh, or decoded from the checkpoint taken right after an epoch
    /// close at `position`): balances and nodes are taken from its snapshot.
    init(economy: Economy, position: Int64, refused: Int64, checkpointEvery: Int64) {
        precondition(checkpointEvery > 0)
        self.economy = economy
        self.lastPosition = position
        self.refused = refused
        self.checkpointEvery = checkpointEvery
        let snapshot = economy.snapshot()
        balances = snapshot.accounts
        for (id, n) in snapshot.nodes {
            nodes[id] = NodeRow(kind: n.kind, owner: n.owner, status: n.status, deposit: n.deposit.rawValue,
                                unsettled: n.unsettled.rawValue)
        }
    }

    /// Forgets what changed so far (after a replay whose rows are already in the database).
    func markClean() {
        dirtyAccounts.removeAll(keepingCapacity: true)
        dirtyNodes.removeAll(keepingCapacity: true)
    }

    /// Applies the event at `position` (which must be `lastPosition + 1`) and, when `rows` is
    /// given, appends its projection rows. A refused or invalid event becomes an exception row.
    func apply(_ logged: LoggedEvent, rows: inout ProjectionRows, record: Bool) {
        precondition(logged.position == lastPosition + 1, "event log position \(logged.position) out of order")
        lastPosition = logged.position
        let position = logged.position
        let event: LedgerEvent
        switch logged.event {
        case .failure(let error):
            refused += 1
            if record { exception(&rows, logged, rule: "invalid-event", message: error.description) }
            return
        case .success(let e): event = e
        }
        let applied: AppliedEvent
        do {
            applied = try economy.apply(event)
        } catch {
            refused += 1
            if record { exception(&rows, logged, rule: error.rule, message: error.message) }
            return
        }
        let epoch = applied.epoch

        var journal = record ? JournalEntry() : nil
        var gasSeq = 0
        for effect in applied.effects {
            switch effect {
            case .transfer(let t):
                move(t, position: position)
                journal?.add(t)
            case .nodeStatusChanged(let node, let kind, let owner, _, let to, _):
                nodes[node, default: NodeRow()].kind = kind
                nodes[node, default: NodeRow()].owner = owner
                nodes[node, default: NodeRow()].status = to
                dirtyNodes[node] = position
            case .vestingCreated(let e):
                guard record else { break }
                edit(&rows.vestingEntries) { r in
                    r.int(Int64(e.id.rawValue)); r.text(e.account.rawValue); r.text(e.node?.rawValue)
                    r.text(e.validator?.rawValue); r.text(e.role.rawValue); r.text(e.source.rawValue)
                    r.amount(e.amount.rawValue); r.int(e.epochEarned); r.int(e.matureEpoch); r.int(position); r.endRow()
                }
            case .vestingReleased(let id, _, let amount):
                if record { vestingChange(&rows, id, position, epoch, "released", amount) }
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
                    r.int(position); r.int(Int64(gasSeq)); r.int(epoch); r.text(account.rawValue); r.text(validator.rawValue)
                    r.text(role.rawValue); r.amount(amount.rawValue); r.endRow()
                }
            case .metaNodeVoteRecorded, .nodeTaskWeight, .migrationFeeCharged, .validatorCreated, .trafficRecorded:
                break // in the journal through their transfers; nothing else to project
            }
        }
        if var journal {
            journal.checkBalanced(position: position)
            journal.write(to: &rows.journal, position: position, event: event, epoch: epoch)
        }
        if let report = applied.settlement {
            closeEpoch(report, applied: applied, position: position, rows: &rows, record: record)
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
            nodes[n, default: NodeRow()].unsettled = add(nodes[n]?.unsettled ?? 0, "\(account)")
            dirtyNodes[n] = position
            return
        case .escrow(_, let n):
            nodes[n, default: NodeRow()].deposit = add(nodes[n]?.deposit ?? 0, "\(account)")
            dirtyNodes[n] = position
        default: break
        }
        guard let owner = account.owner else { return }
        var b = balances[owner] ?? AccountBalances()
        switch account {
        case .wallet: b.wallet = Wei(add(b.wallet.rawValue, "\(account)"))
        case .ozone: b.ozone = Noz(add(b.ozone.rawValue, "\(account)"))
        case .escrow: b.escrow = Wei(add(b.escrow.rawValue, "\(account)"))
        case .vesting: b.vesting = Wei(add(b.vesting.rawValue, "\(account)"))
        case .selfBonded, .bonded: b.bonded = Wei(add(b.bonded.rawValue, "\(account)"))
        case .unbonding: b.unbonding = Wei(add(b.unbonding.rawValue, "\(account)"))
        default: preconditionFailure("\(account) has an owner but no balance field")
        }
        balances[owner] = b
        dirtyAccounts[owner] = position
        epochAccounts.insert(owner)
    }

    // MARK: Epoch close

    private func closeEpoch(_ report: SettlementReport, applied: AppliedEvent, position: Int64,
                            rows: inout ProjectionRows, record: Bool) {
        let epoch = report.epoch
        if record {
            edit(&rows.settlements) { s in
                s.int(epoch); s.int(position); s.text(report.rules); s.amount(report.T.rawValue); s.amount(report.Y.rawValue)
                s.amount(report.trafficReward.rawValue); s.amount(report.miningReward.rawValue)
                s.amount(report.trafficDust.rawValue); s.amount(report.miningDust.rawValue); s.endRow()
            }
            edit(&rows.settledNodes) { n in
                for (rank, node) in report.settled.enumerated() {
                    n.int(epoch); n.int(Int64(rank + 1)); n.text(node.node.rawValue); n.amount(node.traffic.rawValue); n.endRow()
                }
            }
            let supply = applied.supply
            edit(&rows.ozoneSupply) { o in
                o.int(epoch); o.int(position); o.amount(supply.s.rawValue); o.amount(supply.p.rawValue)
                o.amount(supply.l.rawValue); o.amount(supply.mined.rawValue); o.amount(applied.feeCollector.rawValue)
                o.amount(supply.s.rawValue + supply.p.rawValue); o.amount(supply.l.rawValue)
                o.amount(epochBought); o.amount(epochConsumed); o.amount(report.Y.rawValue)
                o.amount(report.T.rawValue - report.Y.rawValue); o.endRow()
            }
            edit(&rows.balanceHistory) { h in
                for account in epochAccounts.sorted() {
                    let b = balances[account] ?? AccountBalances()
                    h.text(account.rawValue); h.int(epoch)
                    h.amount(b.wallet.rawValue); h.amount(b.ozone.rawValue); h.amount(b.escrow.rawValue)
                    h.amount(b.bonded.rawValue); h.amount(b.unbonding.rawValue); h.amount(b.vesting.rawValue); h.endRow()
                }
            }
            if epoch % checkpointEvery == 0 {
                rows.checkpoints.append((epoch, position, economy.encodeCheckpointHead()))
            }
        }
        epochAccounts.removeAll(keepingCapacity: true)
        epochBought = 0
        epochConsumed = 0
    }

    // MARK: Current tables

    /// Appends the changed accounts and nodes to the staging buffers, then forgets them.
    func flushCurrent(into rows: inout ProjectionRows) {
        for (account, position) in dirtyAccounts.sorted(by: { $0.key < $1.key }) {
            let b = balances[account] ?? AccountBalances()
            edit(&rows.balancesStage) { r in
                r.text(account.rawValue); r.amount(b.wallet.rawValue); r.amount(b.ozone.rawValue); r.amount(b.escrow.rawValue)
                r.amount(b.bonded.rawValue); r.amount(b.unbonding.rawValue); r.amount(b.vesting.rawValue); r.int(position); r.endRow()
            }
        }
        for (node, position) in dirtyNodes.sorted(by: { $0.key < $1.key }) {
            let n = nodes[node]!
            guard let kind = n.kind, let owner = n.owner, let status = n.status else {
                preconditionFailure("node \(node) moved money before the engine reported its status")
            }
            edit(&rows.nodesStage) { r in
                r.text(node.rawValue); r.text(kind.rawValue); r.text(owner.rawValue); r.text(status.rawValue)
                r.amount(n.deposit); r.amount(n.unsettled); r.int(position); r.endRow()
            }
        }
        markClean()
    }

    // MARK: Row helpers

    private func exception(_ rows: inout ProjectionRows, _ logged: LoggedEvent, rule: String, message: String) {
        edit(&rows.exceptions) { r in
            r.int(logged.position); r.text(logged.eventID); r.text(logged.type); r.text(rule); r.text(message); r.endRow()
        }
    }

    private func vestingChange(_ rows: inout ProjectionRows, _ id: VestingEntryID, _ position: Int64, _ epoch: Int64,
                               _ change: String, _ amount: Wei) {
        edit(&rows.vestingChanges) { r in
            r.int(Int64(id.rawValue)); r.int(position); r.int(epoch); r.text(change); r.amount(amount.rawValue); r.endRow()
        }
    }

    private func releaseScheduled(_ rows: inout ProjectionRows, _ kind: String, _ ref: String, _ account: AccountID,
                                  _ node: NodeID?, _ validator: ValidatorID?, _ amount: Wei, _ day: Int64, _ position: Int64) {
        edit(&rows.releaseSchedule) { r in
            r.text(kind); r.text(ref); r.text(account.rawValue); r.text(node?.rawValue); r.text(validator?.rawValue)
            r.amount(amount.rawValue); r.int(day); r.int(position); r.endRow()
        }
    }

    private func releaseDone(_ rows: inout ProjectionRows, _ kind: String, _ ref: String, _ amount: Wei,
                             _ position: Int64, _ epoch: Int64) {
        edit(&rows.releaseDone) { r in
            r.text(kind); r.text(ref); r.amount(amount.rawValue); r.int(position); r.int(epoch); r.endRow()
        }
    }
}

/// Mutates a buffer in place (no copy-on-write of the batch's bytes).
@inline(__always) func edit(_ buffer: inout CopyBuffer, _ body: (inout CopyBuffer) -> Void) { body(&buffer) }

/// One journal transaction under construction: a debit and a credit posting per transfer.
struct JournalEntry {
    var accounts = CopyArray()
    var owners = CopyArray()
    var commodities = CopyArray()
    var amounts = CopyArray()
    var reasons = CopyArray()
    /// Signed sums per commodity, which must come back to zero.
    private var stos: (debit: UInt128, credit: UInt128) = (0, 0)
    private var ozone: (debit: UInt128, credit: UInt128) = (0, 0)

    mutating func add(_ t: Transfer) {
        let amount = t.amount.baseUnits
        posting(t.from, amount, negative: true, t)
        posting(t.to, amount, negative: false, t)
        switch t.amount.commodity {
        case .stos: stos.debit += amount; stos.credit += amount
        case .ozone: ozone.debit += amount; ozone.credit += amount
        }
    }

    private mutating func posting(_ account: LedgerAccount, _ amount: UInt128, negative: Bool, _ t: Transfer) {
        accounts.text(account.description)
        owners.text(account.owner?.rawValue)
        switch account.commodity {
        case .stos: commodities.bare("STOS")
        case .ozone: commodities.bare("OZ")
        }
        amounts.signed(amount, negative: negative)
        reasons.text(t.reason.rawValue)
    }

    /// Debits equal credits per commodity (by construction of `Transfer`; asserted because the
    /// journal is what auditors add up).
    func checkBalanced(position: Int64) {
        precondition(stos.debit == stos.credit && ozone.debit == ozone.credit,
                     "journal transaction at position \(position) does not balance")
    }

    mutating func write(to rows: inout CopyBuffer, position: Int64, event: LedgerEvent, epoch: Int64) {
        rows.int(position); rows.text(event.id.rawValue); rows.text(event.type.rawValue)
        rows.text(event.time.rfc3339); rows.int(epoch)
        rows.raw(accounts.finish()); rows.raw(owners.finish()); rows.raw(commodities.finish())
        rows.raw(amounts.finish()); rows.raw(reasons.finish())
        rows.endRow()
    }
}
