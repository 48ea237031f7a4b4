import LedgerEvents

// A partial economy: one restored from a checkpoint *head*, which leaves out the locked vesting
// entries.
//
// Why: the spec's rewards are one vesting entry per recipient per epoch, each locked for 2,016
// epochs, so late in a busy history the live state is millions of entries (~100 MiB). A full
// checkpoint per epoch is then too big to write and too slow to read back, yet recomputing one
// epoch touches only a few of those entries: the ones maturing at its close, and those of a node
// that deactivates or shuts down in it. The projections already keep every entry in their tables,
// so a checkpoint can stop at a small head and the entries come back on demand:
//
//   1. `vestingNeed(for:)` says what an event needs that is not in memory;
//   2. the caller fetches those entries (as of the economy's position) and calls
//      `supplyVesting(_:for:)`, which checks them against the totals the head recorded
//      (per maturity epoch and per node) before taking them: a source that misses or invents an
//      entry is caught there, not after a wrong settlement;
//   3. `apply` refuses (`vesting-not-loaded`, state unchanged) an event whose need is not met.
//
// Supplying `.all` makes the economy complete again (what a projection worker does on restart).
// This file is pure: no PostgreSQL, no I/O; the projections implement the fetching.

/// Locked vesting entries a partial economy must be given before it can apply an event.
public enum VestingNeed: Sendable, Hashable, CustomStringConvertible {
    /// Every locked entry left out of the checkpoint that matures at or before this epoch (the
    /// epoch's close releases them to their owners' wallets).
    case maturing(through: Int64)
    /// Every locked entry left out of the checkpoint that came from this node (a deactivation
    /// takes the migration fee from them, a shutdown in the cooling-off cancels them).
    case node(NodeID)
    /// Every locked entry left out of the checkpoint: the economy becomes complete again.
    case all

    public var description: String {
        switch self {
        case .maturing(let epoch): "the locked vesting entries maturing at or before epoch \(epoch)"
        case .node(let node): "the locked vesting entries of node \(node)"
        case .all: "every locked vesting entry"
        }
    }
}

/// A locked vesting entry as of the economy's position, as a projection stores it.
public struct LockedVestingEntry: Sendable, Hashable {
    public var id: VestingEntryID
    public var account: AccountID
    /// Set for resource, meta and deposit rewards.
    public var node: NodeID?
    public var source: RewardSource
    /// What is left of it (its amount at creation minus any migration fee taken since); > 0.
    public var amount: Wei
    public var matureEpoch: Int64

    public init(id: VestingEntryID, account: AccountID, node: NodeID?, source: RewardSource, amount: Wei, matureEpoch: Int64) {
        self.id = id
        self.account = account
        self.node = node
        self.source = source
        self.amount = amount
        self.matureEpoch = matureEpoch
    }
}

/// Where one maturity epoch's entries start: entries are created in maturity order, all those
/// of one epoch close with the same maturity, so the first id of each maturity epoch marks
/// where the not-yet-matured entries begin after any close.
public struct VestingMaturityStart: Sendable, Hashable {
    public var matureEpoch: Int64
    public var firstID: VestingEntryID
    public init(matureEpoch: Int64, firstID: VestingEntryID) {
        self.matureEpoch = matureEpoch
        self.firstID = firstID
    }
}

/// Entries given to `supplyVesting` that do not fit what the checkpoint head recorded. The
/// economy is left as it was.
public struct VestingSupplyError: Error, Sendable, Hashable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "vesting entries refused: \(message)" }
}

/// Σ wei of locked vesting entries per maturity epoch (ascending, no zero bucket) and per node
/// index (no zero value).
struct LockedVestingTotals: Sendable, Equatable {
    var byMaturity: [VestingHole.Bucket] = []
    var byNode: [Int: Wei] = [:]

    /// Entries are created in maturity order: a new one goes into the last bucket or a new one.
    mutating func add(_ wei: Wei, maturing epoch: Int64, node: Int?) {
        guard !wei.isZero else { return }
        if let last = byMaturity.last, last.epoch == epoch {
            byMaturity[byMaturity.count - 1].wei += wei
        } else {
            precondition(byMaturity.last.map { $0.epoch < epoch } ?? true, "vesting entries created out of maturity order")
            byMaturity.append(VestingHole.Bucket(epoch: epoch, wei: wei))
        }
        if let node { byNode[node, default: .zero] += wei }
    }

    mutating func remove(_ wei: Wei, maturing epoch: Int64, node: Int?) {
        guard !wei.isZero else { return }
        let b = VestingHole.bucket(of: epoch, in: byMaturity)!
        byMaturity[b].wei -= wei
        if byMaturity[b].wei.isZero { byMaturity.remove(at: b) }
        if let node {
            let left = byNode[node]! - wei
            byNode[node] = left.isZero ? nil : left
        }
    }
}

/// The locked entries a checkpoint head left out, and what has been supplied of them since.
struct VestingHole: Sendable {
    /// Σ wei of locked entries not supplied yet that mature at `epoch`.
    struct Bucket: Sendable, Equatable {
        let epoch: Int64
        var wei: Wei
    }

    /// The entry ids the head left out: [lowerBound, upperBound). Every later id is in `vesting`.
    let ids: Range<UInt64>
    /// Unsupplied locked wei per maturity epoch, ascending epochs, no zero bucket.
    var byMaturity: [Bucket]
    /// Unsupplied locked wei per node index (entries that came from a node), no zero value.
    var byNode: [Int: Wei]
    /// Supplied entries still locked or just done, ascending id (hence ascending maturity).
    var supplied: [(id: UInt64, state: VestingState)] = []

    /// Nothing left to supply and nothing supplied left: the hole can be forgotten.
    var isDone: Bool { byMaturity.isEmpty && byNode.isEmpty && supplied.isEmpty }

    var unsuppliedWei: Wei { byMaturity.reduce(.zero) { $0 + $1.wei } }

    /// The index of the bucket of `epoch` in `buckets` (binary search).
    static func bucket(of epoch: Int64, in buckets: [Bucket]) -> Int? {
        var low = 0
        var high = buckets.count
        while low < high {
            let mid = (low + high) / 2
            if buckets[mid].epoch < epoch { low = mid + 1 } else { high = mid }
        }
        return low < buckets.count && buckets[low].epoch == epoch ? low : nil
    }

    func suppliedIndex(of id: UInt64) -> Int? {
        var low = 0
        var high = supplied.count
        while low < high {
            let mid = (low + high) / 2
            if supplied[mid].id < id { low = mid + 1 } else { high = mid }
        }
        return low < supplied.count && supplied[low].id == id ? low : nil
    }
}

extension Economy {
    /// True when every locked vesting entry is in memory (a fresh economy, a full checkpoint, or a
    /// head after `supplyVesting(_:for: .all)`).
    public var isComplete: Bool { vestingHole == nil }

    /// The ids of the locked entries a checkpoint head left out (nil when complete). Sources use
    /// it to bound their queries.
    public var vestingHoleIDs: Range<VestingEntryID>? {
        vestingHole.map { VestingEntryID($0.ids.lowerBound)..<VestingEntryID($0.ids.upperBound) }
    }

    /// Gives a partial economy where each maturity epoch's left-out entries start (every
    /// maturity after the last close, done entries included; see `holeMaturityStarts`), so
    /// that its checkpoint heads are byte for byte those of a complete economy in the same
    /// state. Checked: ascending, inside the hole's ids, the first at its lower bound; every
    /// entry supplied later must fall in its maturity's range.
    public mutating func setVestingMaturityStarts(_ starts: [VestingMaturityStart]) throws(VestingSupplyError) {
        guard let hole = vestingHole else {
            guard starts.isEmpty else { throw VestingSupplyError("the economy is complete: it takes no maturity starts") }
            return
        }
        for (i, s) in starts.enumerated() {
            guard hole.ids.contains(s.firstID.rawValue), s.matureEpoch > lastClosedEpoch else {
                throw VestingSupplyError(
                    "maturity start \(s.firstID) (epoch \(s.matureEpoch)) is outside the hole "
                        + "v\(hole.ids.lowerBound)..<v\(hole.ids.upperBound) after epoch \(lastClosedEpoch)")
            }
            if i > 0, !(starts[i - 1].matureEpoch < s.matureEpoch && starts[i - 1].firstID < s.firstID) {
                throw VestingSupplyError("maturity starts are not ascending at epoch \(s.matureEpoch)")
            }
        }
        guard starts.first.map({ $0.firstID.rawValue == hole.ids.lowerBound }) ?? true else {
            throw VestingSupplyError("the first maturity start \(starts[0].firstID) is not the hole's first id v\(hole.ids.lowerBound)")
        }
        for b in hole.byMaturity where !starts.contains(where: { $0.matureEpoch == b.epoch }) {
            throw VestingSupplyError("no maturity start for the \(b.wei) wei locked maturing at epoch \(b.epoch)")
        }
        holeMaturityStarts = starts[...]
    }

    /// The first id a head names: the first entry not matured by the last close.
    var firstUnmaturedVestingID: UInt64 {
        let inMemory = vestingBaseID + UInt64(vestingHead)
        guard let starts = holeMaturityStarts else { return vestingHole?.ids.lowerBound ?? inMemory }
        return starts.first?.firstID.rawValue ?? inMemory
    }

    /// Forgets the maturity starts an epoch close has passed.
    mutating func passMaturityStarts(upTo epoch: Int64) {
        while let first = holeMaturityStarts?.first, first.matureEpoch <= epoch { holeMaturityStarts!.removeFirst() }
    }

    /// Whether entry `id` maturing at `epoch` lies where the maturity starts put that epoch's
    /// entries (true when none were given).
    func fitsMaturityStarts(_ id: UInt64, maturing epoch: Int64) -> Bool {
        guard let starts = holeMaturityStarts else { return true }
        var k = starts.startIndex
        var high = starts.endIndex
        while k < high {
            let mid = (k + high) / 2
            if starts[mid].matureEpoch < epoch { k = mid + 1 } else { high = mid }
        }
        guard k < starts.endIndex, starts[k].matureEpoch == epoch else { return false }
        let next = k + 1
        return id >= starts[k].firstID.rawValue && (next == starts.endIndex || id < starts[next].firstID.rawValue)
    }

    /// What `event` needs supplied before this economy can apply it; nil when nothing (always nil
    /// for a complete economy). Only an epoch close (maturity) and a node's deactivation or
    /// shutdown (migration fee, cancellation) read vesting entries.
    public func vestingNeed(for event: LedgerEvent) -> VestingNeed? {
        guard let hole = vestingHole else { return nil }
        switch event.payload {
        case .epochClosed(let epoch):
            guard let first = hole.byMaturity.first, first.epoch <= epoch else { return nil }
            return .maturing(through: epoch)
        case .nodeDeactivated(let node, _), .nodeShutDown(let node):
            guard let i = nodeIndex[node], hole.byNode[i] != nil else { return nil }
            return .node(node)
        default:
            return nil
        }
    }

    /// Takes the locked entries of the hole that `need` asks for, as of this economy's position:
    /// every one of them (entries already supplied may be given again: they are skipped, the
    /// in-memory version being the current one). Checks that they match the head's totals
    /// exactly (per maturity epoch for `.maturing` and `.all`, per node for `.node`) and refuses
    /// them otherwise, leaving the economy as it was. `.all` makes the economy complete.
    ///
    /// `doneMaturities` (with `.all`): the maturity epochs of the hole's entries that are done
    /// already (cancelled, or emptied by fees), which the source does not give as entries. They
    /// become placeholders that mature when the originals would have, so that the restored
    /// economy moves past them at the same closes as an uninterrupted one — and writes the same
    /// checkpoint heads. Without them a placeholder takes its predecessor's maturity.
    public mutating func supplyVesting(
        _ entries: [LockedVestingEntry], for need: VestingNeed,
        doneMaturities: [VestingEntryID: Int64] = [:]
    ) throws(VestingSupplyError) {
        guard var hole = vestingHole else {
            guard entries.isEmpty else { throw VestingSupplyError("the economy is complete: it takes no vesting entries") }
            return
        }
        var needNode: Int?
        if case .node(let node) = need {
            guard let i = nodeIndex[node] else { throw VestingSupplyError("\(need): node \(node) is unknown") }
            needNode = i
        }
        var incoming: [(id: UInt64, state: VestingState)] = []
        incoming.reserveCapacity(entries.count)
        for e in entries.sorted(by: { $0.id < $1.id }) {
            let id = e.id.rawValue
            let what = "entry \(e.id) (\(e.account), \(e.amount.rawValue) wei, matures at epoch \(e.matureEpoch))"
            guard hole.ids.contains(id) else {
                throw VestingSupplyError("\(what) is outside the ids the checkpoint left out (v\(hole.ids.lowerBound)..<v\(hole.ids.upperBound))")
            }
            if let last = incoming.last, last.id == id { throw VestingSupplyError("\(what) is given twice") }
            if hole.suppliedIndex(of: id) != nil { continue }
            guard let a = accountIndex[e.account] else { throw VestingSupplyError("\(what): unknown account") }
            var n: Int?
            if let node = e.node {
                guard let i = nodeIndex[node] else { throw VestingSupplyError("\(what): unknown node \(node)") }
                n = i
            }
            guard e.matureEpoch > lastClosedEpoch else {
                throw VestingSupplyError("\(what) matured already (last closed epoch \(lastClosedEpoch))")
            }
            guard e.amount.rawValue > 0 else { throw VestingSupplyError("\(what) is empty") }
            guard fitsMaturityStarts(id, maturing: e.matureEpoch) else {
                throw VestingSupplyError("\(what) is not where the maturity starts put the entries maturing at epoch \(e.matureEpoch)")
            }
            let fits: Bool
            switch need {
            case .maturing(let through): fits = e.matureEpoch <= through
            case .node: fits = n == needNode
            case .all: fits = true
            }
            guard fits else { throw VestingSupplyError("\(what) is not one of \(need)") }
            let amount = e.amount
            guard let b = VestingHole.bucket(of: e.matureEpoch, in: hole.byMaturity), hole.byMaturity[b].wei >= amount else {
                throw VestingSupplyError("\(what) is more than the checkpoint's locked total maturing at epoch \(e.matureEpoch)")
            }
            hole.byMaturity[b].wei -= amount
            if hole.byMaturity[b].wei.isZero { hole.byMaturity.remove(at: b) }
            if let n {
                guard let left = hole.byNode[n], left >= amount else {
                    throw VestingSupplyError("\(what) is more than the checkpoint's locked total of node \(nodes[n].id)")
                }
                hole.byNode[n] = left == amount ? nil : left - amount
            }
            incoming.append((id, VestingState(account: a, node: n, source: e.source, amount: amount, matureEpoch: e.matureEpoch)))
        }
        switch need {
        case .maturing(let through):
            if let first = hole.byMaturity.first, first.epoch <= through {
                throw VestingSupplyError("\(need): \(first.wei) wei maturing at epoch \(first.epoch) were not given")
            }
        case .node:
            if let needNode, let left = hole.byNode[needNode] {
                throw VestingSupplyError("\(need): \(left) wei of the node's entries were not given")
            }
        case .all:
            if let first = hole.byMaturity.first {
                throw VestingSupplyError("\(need): \(hole.unsuppliedWei) wei were not given (the first maturing at epoch \(first.epoch))")
            }
        }
        func outOfOrder(_ a: (id: UInt64, state: VestingState), _ b: (id: UInt64, state: VestingState)) -> VestingSupplyError {
            VestingSupplyError("entries v\(a.id) and v\(b.id) are out of maturity order")
        }
        if hole.supplied.last.map({ $0.id < incoming.first?.id ?? UInt64.max }) ?? true {
            // After everything supplied so far (a worker completing its head piece by piece, in id
            // order): append in place instead of merging, so that n entries in k pieces cost n, not n·k.
            var previous = hole.supplied.last
            for e in incoming {
                if let p = previous, e.state.matureEpoch < p.state.matureEpoch { throw outOfOrder(p, e) }
                previous = e
            }
            vestingHole = nil // the only other reference to `hole.supplied`'s storage: append without a copy
            hole.supplied.append(contentsOf: incoming)
        } else {
            var merged: [(id: UInt64, state: VestingState)] = []
            merged.reserveCapacity(hole.supplied.count + incoming.count)
            var i = 0
            var j = 0
            while i < hole.supplied.count || j < incoming.count {
                if j == incoming.count || (i < hole.supplied.count && hole.supplied[i].id < incoming[j].id) {
                    merged.append(hole.supplied[i])
                    i += 1
                } else {
                    merged.append(incoming[j])
                    j += 1
                }
            }
            for k in merged.indices.dropFirst() where merged[k].state.matureEpoch < merged[k - 1].state.matureEpoch {
                throw outOfOrder(merged[k - 1], merged[k])
            }
            hole.supplied = merged
        }
        vestingHole = hole
        if case .all = need { fillVestingHole(doneMaturities: doneMaturities) }
    }

    /// Puts every supplied entry back into `vesting` (ids the source left out — done or emptied
    /// entries — become done placeholders, which no rule ever reads) and forgets the hole.
    private mutating func fillVestingHole(doneMaturities: [VestingEntryID: Int64]) {
        guard let hole = vestingHole else { return }
        precondition(hole.byMaturity.isEmpty && hole.byNode.isEmpty, "filling a vesting hole that is not fully supplied")
        var filled = ChunkedArray<VestingState>()
        filled.reserveCapacity(Int(vestingBaseID - hole.ids.lowerBound) + vesting.count)
        var next = hole.ids.lowerBound
        var previousMaturity = lastClosedEpoch
        func placeholder(upTo end: UInt64) {
            while next < end {
                let maturity = max(previousMaturity, doneMaturities[VestingEntryID(next)] ?? previousMaturity)
                filled.append(
                    VestingState(
                        account: 0, node: nil, source: .traffic, amount: .zero, matureEpoch: maturity,
                        status: .released))
                previousMaturity = maturity
                next += 1
            }
        }
        var perNode: [Int: [UInt64]] = [:]
        for (id, state) in hole.supplied {
            placeholder(upTo: id)
            filled.append(state)
            previousMaturity = state.matureEpoch
            if let n = state.node { perNode[n, default: []].append(id) }
            next += 1
        }
        // In-memory entries already done become placeholders too, so the array stays in maturity order.
        placeholder(upTo: vestingBaseID + UInt64(vestingHead))
        filled.append(contentsOf: vesting[vestingHead...])
        for (n, ids) in perNode { nodes[n].vestingEntries = ids + nodes[n].vestingEntries }
        vestingHead = 0
        vestingBaseID = hole.ids.lowerBound
        vesting = filled
        vestingHole = nil
    }

    // MARK: Access by id for the rules (in memory or supplied)

    /// The live entries that came from node `i`, ascending id: supplied ones of the hole first.
    func liveVestingIDs(ofNode i: Int) -> [UInt64] {
        let live = vestingBaseID + UInt64(vestingHead)
        var ids: [UInt64] = []
        if let hole = vestingHole {
            precondition(hole.byNode[i] == nil, "node \(nodes[i].id)'s vesting entries were not supplied")
            ids = hole.supplied.lazy.filter { $0.state.node == i }.map(\.id)
        }
        ids.append(contentsOf: nodes[i].vestingEntries.lazy.filter { $0 >= live })
        return ids
    }

    func vestingEntry(_ id: UInt64) -> VestingState {
        if id >= vestingBaseID { return vesting[Int(id - vestingBaseID)] }
        let hole = vestingHole!
        return hole.supplied[hole.suppliedIndex(of: id)!].state
    }

    mutating func setVestingEntry(_ id: UInt64, _ state: VestingState) {
        if id >= vestingBaseID {
            vesting[Int(id - vestingBaseID)] = state
            return
        }
        let k = vestingHole!.suppliedIndex(of: id)!
        vestingHole!.supplied[k].state = state
    }

    /// The supplied hole entries maturing at or before `epoch`, removed from the hole, ascending
    /// id; they all come before the in-memory ones. Requires the need to have been met.
    mutating func takeMaturedHoleEntries(upTo epoch: Int64) -> [(id: UInt64, state: VestingState)] {
        guard var hole = vestingHole else { return [] }
        precondition(
            hole.byMaturity.first.map { $0.epoch > epoch } ?? true,
            "vesting entries maturing at or before epoch \(epoch) were not supplied")
        let count = hole.supplied.prefix { $0.state.matureEpoch <= epoch }.count
        let due = Array(hole.supplied.prefix(count))
        hole.supplied.removeFirst(count)
        vestingHole = hole.isDone ? nil : hole
        return due
    }

    // MARK: Reference source

    /// The locked entries (amount > 0) of this economy's hole-or-memory that `need` covers, with
    /// ids in `ids`, as a projection source must return them. Used by tests as the oracle a
    /// database-backed source is compared with; requires a complete economy.
    public func lockedVestingEntries(in ids: Range<VestingEntryID>, for need: VestingNeed) -> [LockedVestingEntry] {
        precondition(isComplete, "lockedVestingEntries needs a complete economy")
        var out: [LockedVestingEntry] = []
        let first = max(ids.lowerBound.rawValue, vestingBaseID + UInt64(vestingHead))
        let end = min(ids.upperBound.rawValue, vestingBaseID + UInt64(vesting.count))
        guard first < end else { return [] }
        for id in first..<end {
            let v = vesting[Int(id - vestingBaseID)]
            guard v.status == .locked, !v.amount.isZero else { continue }
            switch need {
            case .maturing(let through) where v.matureEpoch > through: continue
            case .node(let node) where v.node.map({ nodes[$0].id != node }) ?? true: continue
            default: break
            }
            out.append(
                LockedVestingEntry(
                    id: VestingEntryID(id), account: accounts[v.account].id,
                    node: v.node.map { nodes[$0].id }, source: v.source,
                    amount: v.amount, matureEpoch: v.matureEpoch))
        }
        return out
    }
}
