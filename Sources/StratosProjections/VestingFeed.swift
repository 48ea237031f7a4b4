import Dispatch
import LedgerEvents
import PostgresClient
import StratosEconomics

/// Gives a projection worker's partial economy the locked vesting entries its events need, one
/// maturity range ahead: while the worker applies the events up to the next epoch close that
/// needs entries, the entries of the next `lookahead` maturity epochs are read and decoded on a
/// session and a thread of their own.
///
/// Why ahead: late in a history every epoch close releases ~1,500 entries that a checkpoint head
/// left out. Read when the close is reached, a rule-fix rebuild of the last tenth of the bench
/// history waited ~4 s for them (a third of its time); read ahead, that work overlaps the
/// replay. Why this is exact: every read is as of the head's position (`asOf`), and an entry the
/// economy has not been given has not changed since then (the economy changes an entry only once
/// it has it), so a read made early gives what a read made at the close would give; entries the
/// economy was given in between (a node's, for a deactivation) are skipped by `supplyVesting`.
///
/// Not thread-safe: one worker thread calls `meet`; the reads run on `queue`, one at a time.
final class VestingFeed {
    private let loader: EconomyLoader
    private let session: UncheckedSession
    private let asOf: Int64
    private let lookahead: Int64
    private let queue = DispatchQueue(label: "stratos-projection-vesting")
    /// The maturity epoch through which every left-out entry has been given to the economy.
    private var givenThrough: Int64
    /// The read under way: entries maturing in (givenThrough, through].
    private var ahead: (through: Int64, result: Box, done: DispatchGroup)?

    private final class Box: @unchecked Sendable {
        var entries: Result<[LockedVestingEntry], any Error> = .success([])
    }

    private struct UncheckedSession: @unchecked Sendable {
        let connection: PostgresConnection
    }

    /// `economy` is the partial economy the worker starts from (decoded from the head at `asOf`).
    init(loader: EconomyLoader, session: PostgresConnection, asOf: Int64, lookahead: Int64, economy: Economy) {
        precondition(lookahead > 0)
        self.loader = loader
        self.session = UncheckedSession(connection: session)
        self.asOf = asOf
        self.lookahead = lookahead
        self.givenThrough = economy.lastClosedEpoch
    }

    /// Gives `economy` what `event` needs (nothing if it needs nothing), then starts reading the
    /// next range ahead after an epoch close's.
    func meet(_ economy: inout Economy, for event: LedgerEvent) throws {
        guard let need = economy.vestingNeed(for: event) else { return }
        switch need {
        case .maturing(let epoch):
            if let ahead {
                self.ahead = nil
                ahead.done.wait()
                try loader.give(try ahead.result.entries.get(), for: .maturing(through: ahead.through), to: &economy, at: asOf)
                givenThrough = ahead.through
            }
            if economy.vestingNeed(for: event) != nil {
                let through = max(epoch, givenThrough) + lookahead
                let entries = try read(after: givenThrough, through: through, economy.vestingHoleIDs, economy.rules)
                try loader.give(entries, for: .maturing(through: through), to: &economy, at: asOf)
                givenThrough = through
            }
            readAhead(economy)
        case .node:
            // After the read under way (one session): its result stays for the close that needs it.
            ahead?.done.wait()
            let connection = session.connection
            try queue.sync { try loader.prepare(&economy, for: event, at: asOf, connection) }
        case .all:
            preconditionFailure("a worker is never asked for every entry at once")
        }
    }

    /// Waits for the read under way, if any (before the worker's session is closed or replaced).
    func finish() {
        ahead?.done.wait()
        ahead = nil
    }

    private func read(after: Int64, through: Int64, _ ids: Range<VestingEntryID>?, _ rules: RuleSet) throws
        -> [LockedVestingEntry]
    {
        guard let ids else { return [] }
        let (loader, asOf, connection) = (loader, asOf, session.connection)
        return try queue.sync {
            try loader.lockedEntries(maturingAfter: after, through: through, in: ids, lockUp: rules.lockupRange, asOf: asOf, connection)
        }
    }

    private func readAhead(_ economy: Economy) {
        guard ahead == nil, let ids = economy.vestingHoleIDs else { return }
        let (after, through) = (givenThrough, givenThrough + lookahead)
        let box = Box()
        let done = DispatchGroup()
        let (loader, asOf, session, lockUp) = (loader, asOf, session, economy.rules.lockupRange)
        queue.async(group: done) {
            box.entries = Result {
                try loader.lockedEntries(
                    maturingAfter: after, through: through, in: ids, lockUp: lockUp, asOf: asOf, session.connection)
            }
        }
        ahead = (through, box, done)
    }
}
