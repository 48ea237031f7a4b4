import StratosEconomics

/// The journal lines of an epoch close that are derived from `vesting_entries` instead of
/// stored: its `vesting-released` transfers (one per matured entry) and its `reward` transfers
/// (one per new entry). The view `journal` (tables.sql) puts them back around the stored lines;
/// this type decides which lines those are and holds the engine to the shape the view relies on.
///
/// Why: every vesting entry is already a `vesting_entries` row, and an epoch close of the bench
/// history releases ~550 entries and creates ~1,150: storing them again as journal text was
/// three quarters of the journal's lines, its COPY, its key and its check.
///
/// The shape (`Economy.applyEpochClosed`), asserted transfer by transfer as the worker writes:
/// 1. first the releases, by ascending entry id: `vesting:<owner>:<id>` → `wallet:<owner>`;
/// 2. then the transfers that are stored (deposit and unbonding releases, settled traffic);
/// 3. last the rewards, one per `vestingCreated` effect just before it, for the same amount,
///    `<source pool>` → `vesting:<owner>:<id>`, with consecutive ids.
/// The settlement row keeps the two id ranges; the view expands the rewards to every entry of
/// the reward range and the releases to the entries of the release range that mature at this
/// epoch and were neither cancelled nor wholly taken by fees, for `amount − fee taken` (the
/// rule `vesting_schedule` derives releases from, which the worker checks with
/// `VestingMaturities`).
struct DerivedJournalLines {
    private enum Part { case releases, stored, rewards }
    private var part = Part.releases
    /// Entry ids of the first and last release, then of the first and last reward.
    private(set) var released: (first: UInt64, last: UInt64)?
    private(set) var rewarded: (first: UInt64, last: UInt64)?
    private var created: VestingEntry?

    /// Records a `vestingCreated` effect: the next transfer is its reward.
    mutating func vestingCreated(_ e: VestingEntry) {
        precondition(created == nil, "vesting entry \(e.id) created before the reward of \(created!.id)")
        created = e
    }

    /// Whether `t`, a transfer of an epoch close at `position`, is derived rather than stored.
    mutating func isDerived(_ t: Transfer, position: Int64) -> Bool {
        switch t.reason {
        case .vestingReleased:
            guard part == .releases, case .vesting(let owner, let id) = t.from, t.to == .wallet(owner) else {
                preconditionFailure("epoch close at position \(position): release \(t) out of the leading releases")
            }
            if let r = released {
                precondition(id.rawValue > r.last, "epoch close at position \(position): release \(id) after \(r.last)")
            }
            released = (released?.first ?? id.rawValue, id.rawValue)
            return true
        case .reward:
            guard let e = created, t.from == e.source.pool, t.to == .vesting(owner: e.account, entry: e.id),
                t.amount == .wei(e.amount)
            else {
                preconditionFailure("epoch close at position \(position): reward \(t) is not the vesting entry just created")
            }
            if let r = rewarded {
                precondition(e.id.rawValue == r.last + 1, "epoch close at position \(position): reward \(e.id) after \(r.last)")
            }
            rewarded = (rewarded?.first ?? e.id.rawValue, e.id.rawValue)
            created = nil
            part = .rewards
            return true
        default:
            precondition(part != .rewards, "epoch close at position \(position): \(t) after the rewards")
            part = .stored
            return false
        }
    }

    /// Asserts the close ended with every created entry rewarded.
    func finish(position: Int64) {
        precondition(created == nil, "epoch close at position \(position): vesting entry \(created!.id) without its reward")
    }
}
