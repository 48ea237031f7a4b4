import LedgerEvents

// A deterministic binary serialisation of the full state, so that projections can resume from a
// checkpoint instead of replaying from Genesis. Little-endian fixed-width integers, strings as
// length + UTF-8, arrays as count + items, in the engine's own (creation) order; lookup indexes are
// rebuilt on decoding. Only what is still live is written (vesting entries and unbondings not yet
// done, each node's list of live vesting entries), so the same state always gives the same bytes,
// and `Economy(checkpoint: e.encodeCheckpoint())` continues exactly as `e` would.

//
// Two formats share that layout:
// * version 1, the full state: fixed-width integers, every live vesting entry;
// * version 2, the *head*: the same state without the locked vesting entries (only their id range
//   and their totals per maturity epoch and per node, which `supplyVesting` checks supplied entries
//   against), integers as LEB128 varints. Tens of KiB where a full checkpoint of a busy network
//   is ~100 MiB: cheap enough to keep one every few epochs (see Economy+VestingHole.swift).

private let magic: [UInt8] = Array("STRATOS-ECONOMY\u{0}".utf8)
private let fullFormatVersion: UInt32 = 1
/// Heads are stored by projection schemas (`epoch_checkpoints`): a change to their format must
/// also bump `ProjectionSQL.layout`, so that schemas holding the older heads are rebuilt.
private let headFormatVersion: UInt32 = 2

extension Economy {
    /// The version of the full checkpoint format, part of the key under which writers keep
    /// checkpoints (`writer_checkpoints`): bump it when the format changes, or when a release
    /// changes what an existing rule set computes (a rule fix normally gets a new rule set name
    /// instead), so that no writer restores a state this code would not have produced.
    /// `CheckpointPinTests` holds the digests of every rule set's state after a fixed history to
    /// this version: a change to either fails there until the version is bumped.
    public static var checkpointFormatVersion: UInt32 { fullFormatVersion }

    /// Deterministic serialisation of the full state (including the rule set's name). Requires a
    /// complete economy (`isComplete`): a partial one has no entries to write.
    public func encodeCheckpoint() -> [UInt8] {
        precondition(isComplete, "a partial economy has no full checkpoint; use encodeCheckpointHead()")
        return encode(head: false)
    }

    /// Deterministic serialisation of the state without its locked vesting entries (format 2).
    /// `Economy(checkpoint:)` gives back a partial economy (`isComplete == false`) that needs
    /// `supplyVesting` before the events that read those entries. Two economies in the same
    /// state give the same head, whether complete or partial.
    public func encodeCheckpointHead() -> [UInt8] {
        encode(head: true)
    }

    /// The bytes a checkpoint head of rule set `rulesName` starts with: the magic, the format
    /// version and the rule set's name, nothing of the state after them.
    ///
    /// Why: a rebuild that takes over another build's heads through an epoch before its rules
    /// differ (`Rebuilder`, "replay only what changed") gives them under its own rule set's name,
    /// as a full replay would have written them: the state after the name is the same, so the
    /// projection SQL replaces this prefix (`overlay.views`).
    public static func checkpointHeadPrefix(rulesName: String) -> [UInt8] {
        var w = CheckpointWriter(compact: true)
        w.bytes(magic)
        w.u32(headFormatVersion)
        w.string(rulesName)
        return w.output
    }

    private func encode(head: Bool) -> [UInt8] {
        var w = CheckpointWriter(compact: head)
        w.bytes(magic)
        w.u32(head ? headFormatVersion : fullFormatVersion)
        w.string(rules.name)
        w.i64(position)
        w.i64(lastClosedEpoch)
        w.bool(genesisTime != nil)
        w.i64(genesisTime?.microsecondsSinceEpoch ?? 0)
        w.i64(lastTime.microsecondsSinceEpoch)
        for v in [
            s.rawValue, p.rawValue, l.rawValue, mined.rawValue, feeCollector.rawValue, externalIn.rawValue, externalOut.rawValue,
            ozoneIssued.rawValue, totalDelegation.rawValue,
        ] { w.u128(v) }

        w.count(accounts.count)
        for a in accounts {
            w.string(a.id.rawValue)
            for v in [a.wallet.rawValue, a.ozone.rawValue, a.vesting.rawValue, a.bonded.rawValue, a.unbonding.rawValue, a.escrow.rawValue] {
                w.u128(v)
            }
        }
        let live = vestingBaseID + UInt64(vestingHead)
        w.count(nodes.count)
        for n in nodes {
            w.string(n.id.rawValue)
            w.u8(n.kind == .resource ? 0 : 1)
            w.index(n.owner)
            w.u8(UInt8(NodeStatus.allCases.firstIndex(of: n.status)!))
            for v in [n.initialDeposit.rawValue, n.deposit.rawValue, n.unsettled.rawValue] { w.u128(v) }
            w.i64(n.activationDay)
            w.i64(n.deactivationDay)
            w.i64(n.releaseDay)
            w.indices(n.voters)
            w.indices(n.approvals)
            guard !head else { continue }
            let entries = n.vestingEntries.filter { $0 >= live }
            w.count(entries.count)
            for e in entries { w.u64(e) }
        }
        w.count(validators.count)
        for v in validators {
            w.string(v.id.rawValue)
            w.index(v.operatorAccount)
            for x in [v.selfDelegation.rawValue, v.commissionBp, v.power.rawValue] { w.u128(x) }
            w.count(v.delegations.count)
            for d in v.delegations {
                w.index(d.delegator)
                w.u128(d.amount.rawValue)
            }
        }
        w.indices(unsettledNodes)
        if head {
            writeVestingTotals(&w)
        } else {
            w.u64(live)
            w.count(vesting.count - vestingHead)
            for v in vesting[vestingHead...] {
                w.index(v.account)
                w.i64(Int64(v.node ?? -1)) // -1: no node (the format predates the optional)
                w.u8(v.source == .traffic ? 0 : 1)
                w.u128(v.amount.rawValue)
                w.i64(v.matureEpoch)
                w.u8(v.status.rawValue)
            }
        }
        w.u64(unbondingBaseID + UInt64(unbondingHead))
        w.count(unbondings.count - unbondingHead)
        for u in unbondings[unbondingHead...] {
            w.index(u.account)
            w.index(u.validator)
            w.u128(u.amount.rawValue)
            w.i64(u.releaseDay)
        }
        w.indices(pendingReleases)
        return w.output
    }

    /// The head's stand-in for the entries: their id range [first live, next id) and the locked
    /// totals (amount > 0) per maturity epoch (ascending) and per node index (ascending).
    private func writeVestingTotals(_ w: inout CheckpointWriter) {
        w.u64(firstUnmaturedVestingID)
        w.u64(vestingBaseID + UInt64(vesting.count))
        w.count(lockedTotals.byMaturity.count)
        for b in lockedTotals.byMaturity {
            w.i64(b.epoch)
            w.u128(b.wei.rawValue)
        }
        w.count(lockedTotals.byNode.count)
        for n in lockedTotals.byNode.keys.sorted() {
            w.index(n)
            w.u128(lockedTotals.byNode[n]!.rawValue)
        }
    }

    /// The exact inverse of `encodeCheckpoint`. Throws `CheckpointError` on malformed input,
    /// an unknown rule set, or a state that breaks the invariants.
    /// `ruleSets`: the rule sets a checkpoint may name (the named ones by default).
    public init(checkpoint: [UInt8], ruleSets: [RuleSet] = RuleSet.all) throws {
        var r = CheckpointReader(checkpoint)
        guard try r.bytes(magic.count) == magic else { throw r.error("not an economy checkpoint") }
        let version = try r.u32()
        guard version == fullFormatVersion || version == headFormatVersion else {
            throw r.error("unsupported checkpoint format version \(version)")
        }
        let head = version == headFormatVersion
        r.compact = head
        let name = try r.string()
        guard let rules = ruleSets.first(where: { $0.name == name }) else { throw r.error("unknown rule set \(name)") }
        self.init(rules: rules)
        position = try r.i64()
        lastClosedEpoch = try r.i64()
        let hasGenesis = try r.bool()
        let g = try r.i64()
        genesisTime = hasGenesis ? Timestamp(microsecondsSinceEpoch: g) : nil
        lastTime = Timestamp(microsecondsSinceEpoch: try r.i64())
        s = try r.wei()
        p = try r.wei()
        l = try r.noz()
        mined = try r.wei()
        feeCollector = try r.wei()
        externalIn = try r.wei()
        externalOut = try r.wei()
        ozoneIssued = try r.noz()
        totalDelegation = try r.wei()

        let accountCount = try r.count()
        for _ in 0..<accountCount {
            let id = AccountID(unchecked: try r.string())
            var a = AccountState(id: id)
            a.wallet = try r.wei()
            a.ozone = try r.noz()
            a.vesting = try r.wei()
            a.bonded = try r.wei()
            a.unbonding = try r.wei()
            a.escrow = try r.wei()
            guard accountIndex.updateValue(accounts.count, forKey: id) == nil else { throw r.error("duplicate account \(id)") }
            accounts.append(a)
        }
        let nodeCount = try r.count()
        var nodeVoters: [[Int]] = []
        for _ in 0..<nodeCount {
            let id = NodeID(unchecked: try r.string())
            let kindCode = try r.u8()
            guard kindCode <= 1 else { throw r.error("bad node kind") }
            let owner = try r.index(below: accounts.count)
            let statusCode = Int(try r.u8())
            guard statusCode < NodeStatus.allCases.count else { throw r.error("bad node status") }
            var n = NodeState(
                id: id, kind: kindCode == 0 ? .resource : .meta, owner: owner,
                status: NodeStatus.allCases[statusCode], initialDeposit: try r.wei(), deposit: try r.wei())
            n.unsettled = try r.noz()
            n.activationDay = try r.i64()
            n.deactivationDay = try r.i64()
            n.releaseDay = try r.i64()
            let voters = try r.indices()
            n.approvals = try r.indices()
            nodeVoters.append(voters + n.approvals)
            n.voters = voters
            if !head {
                let entries = try r.count()
                for _ in 0..<entries { n.vestingEntries.append(try r.u64()) }
            }
            guard nodeIndex.updateValue(nodes.count, forKey: id) == nil else { throw r.error("duplicate node \(id)") }
            nodes.append(n)
        }
        for list in nodeVoters where list.contains(where: { $0 >= nodes.count }) { throw r.error("voter index out of range") }
        let validatorCount = try r.count()
        for _ in 0..<validatorCount {
            let id = ValidatorID(unchecked: try r.string())
            let op = try r.index(below: accounts.count)
            var v = ValidatorState(
                id: id, operatorAccount: op, selfDelegation: try r.wei(), commissionBp: try r.u128(),
                power: try r.wei())
            guard v.commissionBp <= 10_000 else { throw r.error("commission out of range") }
            let j = validators.count
            let delegationCount = try r.count()
            for k in 0..<delegationCount {
                let d = Delegation(delegator: try r.index(below: accounts.count), amount: try r.wei())
                guard delegationIndex.updateValue(k, forKey: DelegationKey(validator: j, delegator: d.delegator)) == nil else {
                    throw r.error("duplicate delegation")
                }
                v.delegations.append(d)
            }
            guard validatorIndex.updateValue(j, forKey: id) == nil else { throw r.error("duplicate validator \(id)") }
            validators.append(v)
        }
        unsettledNodes = try r.indices(below: nodes.count)
        activeMeta = nodes.indices.filter { nodes[$0].kind == .meta && nodes[$0].status == .active }

        if head {
            try readVestingTotals(&r)
        } else {
            try readVestingEntries(&r)
        }
        unbondingBaseID = try r.u64()
        let unbondingCount = try r.count()
        for _ in 0..<unbondingCount {
            unbondings.append(
                UnbondingState(
                    account: try r.index(below: accounts.count),
                    validator: try r.index(below: validators.count),
                    amount: try r.wei(), releaseDay: try r.i64()))
        }
        pendingReleases = try r.indices(below: nodes.count)
        guard r.atEnd else { throw r.error("trailing bytes") }
        do {
            try checkInvariants()
        } catch {
            throw CheckpointError(message: "decoded state breaks an invariant: \(error)", offset: checkpoint.count)
        }
    }

    /// Format 2: the hole's id range and totals; nothing in memory.
    private mutating func readVestingTotals(_ r: inout CheckpointReader) throws(CheckpointError) {
        let first = try r.u64()
        let end = try r.u64()
        guard first <= end else { throw r.error("vesting id range \(first)..<\(end) is reversed") }
        var byMaturity: [VestingHole.Bucket] = []
        for _ in 0..<(try r.count()) {
            let bucket = VestingHole.Bucket(epoch: try r.i64(), wei: try r.wei())
            guard !bucket.wei.isZero, byMaturity.last.map({ $0.epoch < bucket.epoch }) ?? true else {
                throw r.error("vesting totals per maturity epoch are not ascending and positive")
            }
            byMaturity.append(bucket)
        }
        var byNode: [Int: Wei] = [:]
        var previous = -1
        for _ in 0..<(try r.count()) {
            let n = try r.index(below: nodes.count)
            let wei = try r.wei()
            guard n > previous, !wei.isZero else { throw r.error("vesting totals per node are not ascending and positive") }
            previous = n
            byNode[n] = wei
        }
        vestingBaseID = end
        vestingHead = 0
        lockedTotals = LockedVestingTotals(byMaturity: byMaturity, byNode: byNode)
        if !byMaturity.isEmpty || !byNode.isEmpty {
            vestingHole = VestingHole(ids: first..<end, byMaturity: byMaturity, byNode: byNode)
        }
    }

    /// Format 1: every live entry, and each node's list of them.
    private mutating func readVestingEntries(_ r: inout CheckpointReader) throws(CheckpointError) {
        vestingBaseID = try r.u64()
        let vestingCount = try r.count()
        vesting.reserveCapacity(vestingCount)
        for _ in 0..<vestingCount {
            let account = try r.index(below: accounts.count)
            let nodeCode = Int(try r.i64())
            guard (-1..<nodes.count).contains(nodeCode) else { throw r.error("vesting entry names an unknown node") }
            let node = nodeCode < 0 ? nil : nodeCode
            let sourceCode = try r.u8()
            guard sourceCode <= 1 else { throw r.error("bad vesting source") }
            let amount = try r.wei()
            let mature = try r.i64()
            guard let status = VestingStatus(rawValue: try r.u8()) else { throw r.error("bad vesting status") }
            vesting.append(
                VestingState(
                    account: account, node: node, source: sourceCode == 0 ? .traffic : .mining,
                    amount: amount, matureEpoch: mature, status: status))
        }
        let vestingEnd = vestingBaseID + UInt64(vesting.count)
        for (i, n) in nodes.enumerated() {
            for id in n.vestingEntries where id < vestingBaseID || id >= vestingEnd || vesting[Int(id - vestingBaseID)].node != i {
                throw r.error("node \(n.id) lists vesting entry \(id), which is not a live entry of it")
            }
        }
        for k in vesting.indices.dropFirst() where vesting[k].matureEpoch < vesting[k - 1].matureEpoch {
            throw r.error("vesting entries out of maturity order")
        }
        for v in vesting where v.status == .locked { lockedTotals.add(v.amount, maturing: v.matureEpoch, node: v.node) }
    }
}

/// Fixed-width little-endian integers, or (compact) LEB128 varints with zigzag for signed ones.
private struct CheckpointWriter {
    let compact: Bool
    var output: [UInt8] = []
    init(compact: Bool) { self.compact = compact }
    mutating func bytes(_ b: [UInt8]) { output += b }
    mutating func u8(_ v: UInt8) { output.append(v) }
    mutating func bool(_ v: Bool) { u8(v ? 1 : 0) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { output += $0 } }
    mutating func u64(_ v: UInt64) {
        if compact { varint(UInt128(v)) } else { withUnsafeBytes(of: v.littleEndian) { output += $0 } }
    }
    mutating func i64(_ v: Int64) {
        if compact { varint(UInt128(UInt64(bitPattern: (v << 1) ^ (v >> 63)))) } else { u64(UInt64(bitPattern: v)) }
    }
    mutating func u128(_ v: UInt128) {
        if compact {
            varint(v)
        } else {
            u64(UInt64(truncatingIfNeeded: v))
            u64(UInt64(truncatingIfNeeded: v >> 64))
        }
    }
    private mutating func varint(_ value: UInt128) {
        var v = value
        while v >= 0x80 {
            output.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        output.append(UInt8(v))
    }
    mutating func count(_ n: Int) { u64(UInt64(n)) }
    mutating func index(_ i: Int) { u64(UInt64(i)) }
    mutating func indices(_ list: [Int]) {
        count(list.count)
        for i in list { index(i) }
    }
    mutating func string(_ s: String) {
        count(s.utf8.count)
        output += Array(s.utf8)
    }
}

private struct CheckpointReader {
    let input: [UInt8]
    var offset = 0
    /// Varints (format 2) after the version.
    var compact = false
    init(_ input: [UInt8]) { self.input = input }

    var atEnd: Bool { offset == input.count }
    func error(_ message: String) -> CheckpointError { CheckpointError(message: message, offset: offset) }

    mutating func bytes(_ n: Int) throws(CheckpointError) -> [UInt8] {
        guard n >= 0, input.count - offset >= n else { throw error("truncated") }
        defer { offset += n }
        return Array(input[offset..<offset + n])
    }
    mutating func u8() throws(CheckpointError) -> UInt8 { try bytes(1)[0] }
    mutating func bool() throws(CheckpointError) -> Bool {
        switch try u8() {
        case 0: return false
        case 1: return true
        default: throw error("bad boolean")
        }
    }
    mutating func u32() throws(CheckpointError) -> UInt32 {
        try bytes(4).reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }
    mutating func u64() throws(CheckpointError) -> UInt64 {
        if compact {
            let v = try varint(bits: 64)
            return UInt64(v)
        }
        return try bytes(8).reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }
    mutating func i64() throws(CheckpointError) -> Int64 {
        let u = try u64()
        return compact ? Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1))) : Int64(bitPattern: u)
    }
    mutating func u128() throws(CheckpointError) -> UInt128 {
        if compact { return try varint(bits: 128) }
        let low = try u64()
        let high = try u64()
        return UInt128(high) << 64 | UInt128(low)
    }
    mutating func wei() throws(CheckpointError) -> Wei { Wei(try u128()) }
    mutating func noz() throws(CheckpointError) -> Noz { Noz(try u128()) }
    /// One LEB128 value of at most `bits` bits, in its shortest form (so that one state has one encoding).
    private mutating func varint(bits: Int) throws(CheckpointError) -> UInt128 {
        var value: UInt128 = 0
        var shift = 0
        while true {
            guard offset < input.count else { throw error("truncated") }
            let byte = input[offset]
            offset += 1
            let payload = UInt128(byte & 0x7F)
            guard shift < bits, bits - shift >= 7 || payload >> (bits - shift) == 0 else {
                throw error("varint overflows \(bits) bits")
            }
            value |= payload << shift
            if byte & 0x80 == 0 {
                guard byte != 0 || shift == 0 else { throw error("varint not in its shortest form") }
                return value
            }
            shift += 7
        }
    }
    mutating func count() throws(CheckpointError) -> Int {
        let n = try u64()
        // Every item takes at least one byte: a larger count is corrupt, not a reason to allocate.
        guard n <= UInt64(input.count - offset) else { throw error("count \(n) exceeds the remaining input") }
        return Int(n)
    }
    mutating func index(below bound: Int) throws(CheckpointError) -> Int {
        let i = try u64()
        guard i < UInt64(bound) else { throw error("index \(i) out of range (< \(bound))") }
        return Int(i)
    }
    mutating func indices(below bound: Int = .max) throws(CheckpointError) -> [Int] {
        let n = try count()
        var list: [Int] = []
        list.reserveCapacity(n)
        for _ in 0..<n { list.append(try index(below: bound)) }
        return list
    }
    mutating func string() throws(CheckpointError) -> String {
        let n = try count()
        let b = try bytes(n)
        guard let s = String(validating: b, as: UTF8.self) else {
            throw error("bad string")
        }
        return s
    }
}
