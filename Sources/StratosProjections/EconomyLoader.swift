import LedgerEvents
import PostgresClient
import StratosEconomics

/// Rebuilds an `Economy` at any point from the nearest stored checkpoint plus a replay of the
/// events after it: a snapshot or one epoch's recomputation costs about one epoch of events (with
/// the default head at every epoch close), not the whole history.
///
/// Checkpoints are *heads* (`Economy.encodeCheckpointHead`): the state without its locked vesting
/// entries, tens of KiB instead of ~100 MiB late in a busy history, so one can be kept at every
/// epoch close. The economy they give back is partial; the loader gives it, from this schema's
/// `vesting_entries` and `vesting_changes`, exactly the entries an event reads (those maturing at
/// an epoch close, those of a node that deactivates or shuts down), and the economy checks them
/// against the totals the head recorded. `complete` gives it all of them (a worker resuming).
struct EconomyLoader {
    let sql: ProjectionSQL
    let reader: LogReader
    /// Events read per COPY while replaying (read into memory first: the vesting queries a
    /// replay may need cannot run on the connection while a COPY is streaming).
    var chunk: Int64 = 20_000

    struct Start {
        var economy: Economy
        /// The log position the economy reflects (0 for a fresh one).
        var position: Int64
    }

    /// The latest checkpoint at or before log position `position`, or a fresh economy.
    func checkpoint(_ c: PostgresConnection, atOrBeforePosition position: Int64, rules: RuleSet) throws -> Start {
        try decode(c.query(sql("checkpoint.latest_through_position"), binding: position), rules: rules)
    }

    /// The latest checkpoint of an epoch at or before `epoch`, or a fresh economy.
    func checkpoint(_ c: PostgresConnection, atOrBeforeEpoch epoch: Int64, rules: RuleSet) throws -> Start {
        try decode(c.query(sql("checkpoint.latest_through_epoch"), binding: epoch), rules: rules)
    }

    private func decode(_ r: PostgresResult, rules: RuleSet) throws -> Start {
        guard r.rowCount > 0 else { return Start(economy: Economy(rules: rules), position: 0) }
        let epoch = try r.int64(0, 0)
        let economy: Economy
        // The build's rule set first (it may come from a file), then the built-ins, so that a
        // checkpoint of another rule set is reported below as such.
        let known = [rules] + RuleSet.all.filter { $0.name != rules.name }
        do { economy = try Economy(checkpoint: try r.bytea(0, 2), ruleSets: known) } catch {
            throw ProjectionError.corrupt("economy checkpoint of epoch \(epoch): \(error)")
        }
        guard economy.rules == rules else {
            throw ProjectionError.corrupt("checkpoint of epoch \(epoch) is for rules \(economy.rules.name), not \(rules.name)")
        }
        return Start(economy: economy, position: try r.int64(0, 1))
    }

    /// Gives a partial economy every locked vesting entry it lacks: it becomes complete.
    ///
    /// Late in a busy history that is millions of entries: they are read through a cursor, a
    /// hundred thousand rows at a time, and supplied one maturity range at a time (rows come in
    /// entry id order, which is maturity order), so memory holds the economy and one piece of
    /// rows, never the whole result as well (1.2 GiB more on the bench history).
    func complete(_ start: inout Start, _ c: PostgresConnection) throws {
        guard let ids = start.economy.vestingHoleIDs else { return }
        let position = start.position
        let bounds = [
            String(ids.lowerBound.rawValue), String(ids.upperBound.rawValue), String(position),
            String(start.economy.lastClosedEpoch),
        ]
        var economy = start.economy
        try c.transaction { c in
            try c.query(sql("vesting.live_all_open"), bounds)
            var pending: [LockedVestingEntry] = []
            while true {
                let r = try c.query(sql("vesting.live_all_fetch"))
                if r.rowCount == 0 { break }
                pending += try lockedEntries(r)
                // Every entry maturing before the last one read is in: supply those.
                let last = pending[pending.count - 1].matureEpoch
                let cut = pending.firstIndex { $0.matureEpoch == last }!
                if cut > 0 {
                    try give(Array(pending[..<cut]), for: .maturing(through: last - 1), to: &economy, at: position)
                    pending.removeFirst(cut)
                }
            }
            try c.execute(sql("vesting.live_all_close"))
            let done = try c.query(sql("vesting.done_in_hole"), bounds)
            var doneMaturities: [VestingEntryID: Int64] = [:]
            for i in 0..<done.rowCount { doneMaturities[VestingEntryID(UInt64(try done.int64(i, 0)))] = try done.int64(i, 1) }
            try give(pending, for: .all, to: &economy, at: position, doneMaturities: doneMaturities)
        }
        start.economy = economy
    }

    /// Tells a partial economy where each maturity epoch's left-out entries start, so that the
    /// heads it writes are those a complete economy writes (`Economy.setVestingMaturityStarts`).
    func giveMaturityStarts(_ start: inout Start, _ c: PostgresConnection) throws {
        guard let ids = start.economy.vestingHoleIDs else { return }
        let r = try c.query(
            sql("vesting.maturity_starts"),
            binding: Int64(ids.lowerBound.rawValue), Int64(ids.upperBound.rawValue), start.position,
            start.economy.lastClosedEpoch)
        var starts: [VestingMaturityStart] = []
        for i in 0..<r.rowCount {
            starts.append(VestingMaturityStart(matureEpoch: try r.int64(i, 0), firstID: VestingEntryID(UInt64(try r.int64(i, 1)))))
        }
        do { try start.economy.setVestingMaturityStarts(starts) } catch {
            throw ProjectionError.corrupt("the vesting tables disagree with the economy checkpoint at position \(start.position): \(error)")
        }
    }

    /// Meets what `event` needs of a partial economy at log position `position` (the one right
    /// before the event); with `maturingThrough`, one query covers every close up to that epoch.
    func prepare(
        _ economy: inout Economy, for event: LedgerEvent, at position: Int64, maturingThrough: Int64? = nil,
        _ c: PostgresConnection
    ) throws {
        guard let need = economy.vestingNeed(for: event) else { return }
        if case .maturing(let epoch) = need, let later = maturingThrough, later > epoch {
            try supply(.maturing(through: later), to: &economy, at: position, c)
        }
        if economy.vestingNeed(for: event) != nil { try supply(need, to: &economy, at: position, c) }
    }

    /// Replays events after `start` through `last` (refused events are skipped, as the
    /// projection does), calling `observe` after each applied event; stops when it returns false.
    func replay(
        _ c: PostgresConnection, from start: inout Start, through last: Int64,
        observe: (AppliedEvent, Int64) throws -> Bool = { _, _ in true }
    ) throws {
        var events: [LoggedEvent] = []
        while start.position < last {
            let through = min(last, start.position + chunk)
            events.removeAll(keepingCapacity: true)
            try reader.read(c, from: start.position + 1, through: through) {
                events.append($0)
                return true
            }
            // One query for every maturity the chunk reaches (instead of one per epoch close).
            let lastClose = events.lazy.compactMap { e -> Int64? in
                if case .success(let event) = e.event, case .epochClosed(let epoch) = event.payload { return epoch }
                return nil
            }.max()
            for logged in events {
                guard case .success(let event) = logged.event else {
                    start.position = logged.position
                    continue
                }
                try prepare(&start.economy, for: event, at: start.position, maturingThrough: lastClose, c)
                start.position = logged.position
                guard let applied = try? start.economy.apply(event) else { continue }
                if try !observe(applied, logged.position) { return }
            }
        }
    }

    /// The locked entries `need` asks for (an epoch's maturities or a node's entries) as of log
    /// position `position`, from the tables.
    private func supply(_ need: VestingNeed, to economy: inout Economy, at position: Int64, _ c: PostgresConnection) throws {
        guard let ids = economy.vestingHoleIDs else { return }
        let closed = economy.lastClosedEpoch
        // epoch_earned = mature_epoch − the lock-up of the epoch earned: bounded by the rule set's
        // shortest and longest lock-up.
        let lockUp = economy.rules.lockupRange
        var through = Int64.max / 2
        var node: String?
        switch need {
        case .maturing(let epoch): through = epoch
        case .node(let id): node = id.rawValue
        case .all: preconditionFailure("every entry is supplied by complete(_:_:)")
        }
        var parameters: [String?] = [
            String(ids.lowerBound.rawValue), String(ids.upperBound.rawValue), String(position), String(closed),
            String(through), String(closed - lockUp.upperBound), String(through - lockUp.lowerBound),
        ]
        if let node { parameters.append(node) }
        let r = try c.query(sql(node == nil ? "vesting.live" : "vesting.live_of_node"), parameters)
        try give(try lockedEntries(r), for: need, to: &economy, at: position)
    }

    /// The hole's locked entries (`ids`) maturing in (`after`, `through`], as of log position
    /// `position` (`vesting.live_maturing_range`; `VestingFeed` reads them ahead).
    func lockedEntries(
        maturingAfter after: Int64, through: Int64, in ids: Range<VestingEntryID>, lockUp: ClosedRange<Int64>,
        asOf position: Int64, _ c: PostgresConnection
    ) throws -> [LockedVestingEntry] {
        try lockedEntries(
            c.query(
                sql("vesting.live_maturing_range"),
                binding: Int64(ids.lowerBound.rawValue), Int64(ids.upperBound.rawValue), position, after, through,
                after - lockUp.upperBound, through - lockUp.lowerBound))
    }

    /// Rows of `vesting.live` / `vesting.live_all_fetch` as entries.
    private func lockedEntries(_ r: PostgresResult) throws -> [LockedVestingEntry] {
        var entries: [LockedVestingEntry] = []
        entries.reserveCapacity(r.rowCount)
        for i in 0..<r.rowCount {
            entries.append(
                LockedVestingEntry(
                    id: VestingEntryID(UInt64(try r.int64(i, 0))), account: AccountID(unchecked: try r.string(i, 1)),
                    node: r.optionalString(i, 2).map(NodeID.init(unchecked:)), source: try enumValue(r, i, 3),
                    amount: try wei(r, i, 4), matureEpoch: try r.int64(i, 5)))
        }
        return entries
    }

    /// The economy checks the entries against its head's totals: a mismatch means the tables
    /// and the checkpoint disagree (corrupt, never silently used).
    func give(
        _ entries: [LockedVestingEntry], for need: VestingNeed, to economy: inout Economy,
        at position: Int64, doneMaturities: [VestingEntryID: Int64] = [:]
    ) throws {
        do {
            try economy.supplyVesting(entries, for: need, doneMaturities: doneMaturities)
        } catch {
            throw ProjectionError.corrupt("the vesting tables disagree with the economy checkpoint before position \(position): \(error)")
        }
    }
}
