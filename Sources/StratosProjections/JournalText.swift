import LedgerEvents
import StratosEconomics

// The stored form of a journal transaction (the `journal.transfers` column, tables.sql): one
// line per transfer, `reason from_kind from_a from_b to_kind to_a to_b amount`, lines separated
// by a newline, fields by one space. Both directions live here, so the format has one owner:
// the worker encodes (`CopyBuffer.journalTransfer`), `LedgerQueries.journal` decodes
// (`JournalText.postings`), and the `journal_postings` view decodes it in SQL.
//
// Why this form: COPY stores a text field as it comes (no array literal, no numeric to parse),
// so a 6,000-transfer epoch close costs PostgreSQL about as much as its bytes. Identifiers are
// never empty and never hold a space (EVENTS.md: printable ASCII without spaces), so an empty
// field means "absent" and splitting on spaces is exact even for ids that contain ':'.

/// The kinds of `LedgerAccount`, as written in the journal (the first part of `description`).
enum JournalAccountKind: String, CaseIterable {
    case wallet, ozone
    case nodeTraffic = "node-traffic"
    case ozoneLimit = "ozone-limit"
    case volumePool = "volume-pool"
    case miningPool = "mining-pool"
    case escrow, vesting
    case selfBonded = "self-bonded"
    case bonded, unbonding
    case feeCollector = "fee-collector"
    case outside
    case ozoneIssuance = "ozone-issuance"

    /// The first identifier is the owner (`LedgerAccount.owner`).
    var hasOwner: Bool {
        switch self {
        case .wallet, .ozone, .escrow, .vesting, .selfBonded, .bonded, .unbonding: true
        case .nodeTraffic, .ozoneLimit, .volumePool, .miningPool, .feeCollector, .outside, .ozoneIssuance: false
        }
    }

    /// `LedgerAccount.commodity` of every account of this kind.
    var commodity: Commodity {
        switch self {
        case .ozone, .nodeTraffic, .ozoneLimit, .ozoneIssuance: .ozone
        default: .stos
        }
    }

    /// How many identifiers follow the kind.
    var identifiers: Int {
        switch self {
        case .wallet, .ozone, .nodeTraffic: 1
        case .escrow, .vesting, .selfBonded, .bonded, .unbonding: 2
        case .ozoneLimit, .volumePool, .miningPool, .feeCollector, .outside, .ozoneIssuance: 0
        }
    }
}

extension CopyBuffer {
    /// Starts a `journal` row: position, epoch, then the transfers field (filled by
    /// `journalTransfer`, closed by `endRow`).
    mutating func beginJournalRow(position: Int64, epoch: Int64) {
        int(position); int(epoch); beginField()
    }

    /// Appends one transfer line to the open transfers field. `first` is false for every
    /// transfer after the first of the transaction (a newline separates them).
    mutating func journalTransfer(_ t: Transfer, first: Bool) {
        if !first { bytes.append(0x0A) }
        bytes.append(contentsOf: t.reason.rawValue.utf8)
        journalSide(t.from)
        journalSide(t.to)
        bytes.append(0x20)
        appendDecimal(t.amount.baseUnits)
    }

    /// ` kind a b` of one side (a and b empty when the kind has fewer identifiers).
    private mutating func journalSide(_ account: LedgerAccount) {
        @inline(__always) func kind(_ k: JournalAccountKind) { bytes.append(0x20); bytes.append(contentsOf: k.rawValue.utf8) }
        @inline(__always) func id(_ s: String) { bytes.append(0x20); appendRaw(s) }
        @inline(__always) func numbered(_ prefix: UInt8, _ n: UInt64) {
            bytes.append(0x20); bytes.append(prefix); appendDecimal(UInt128(n))
        }
        @inline(__always) func none() { bytes.append(0x20) }
        switch account {
        case .wallet(let a): kind(.wallet); id(a.rawValue); none()
        case .ozone(let a): kind(.ozone); id(a.rawValue); none()
        case .nodeTraffic(let n): kind(.nodeTraffic); id(n.rawValue); none()
        case .ozoneLimit: kind(.ozoneLimit); none(); none()
        case .volumePool: kind(.volumePool); none(); none()
        case .miningPool: kind(.miningPool); none(); none()
        case .escrow(let a, let n): kind(.escrow); id(a.rawValue); id(n.rawValue)
        case .vesting(let a, let e): kind(.vesting); id(a.rawValue); numbered(UInt8(ascii: "v"), e.rawValue)
        case .selfBonded(let a, let v): kind(.selfBonded); id(a.rawValue); id(v.rawValue)
        case .bonded(let a, let v): kind(.bonded); id(a.rawValue); id(v.rawValue)
        case .unbonding(let a, let u): kind(.unbonding); id(a.rawValue); numbered(UInt8(ascii: "u"), u.rawValue)
        case .feeCollector: kind(.feeCollector); none(); none()
        case .outside: kind(.outside); none(); none()
        case .ozoneIssuance: kind(.ozoneIssuance); none(); none()
        }
    }
}

enum JournalText {
    /// The postings of one stored transaction (the transfers field, COPY escapes already
    /// removed): a debit and a credit per transfer, in order. Throws `.corrupt` naming the
    /// position and what is wrong; a transfer whose sides hold different commodities is refused
    /// (the transaction would not balance).
    static func postings(_ text: some Collection<UInt8>, position: Int64) throws(ProjectionError) -> [JournalPosting] {
        var postings: [JournalPosting] = []
        var line = 0
        for transfer in text.split(separator: 0x0A, omittingEmptySubsequences: false) where !text.isEmpty {
            line += 1
            let f = transfer.split(separator: 0x20, omittingEmptySubsequences: false)
            func fail(_ what: String) -> ProjectionError {
                .corrupt("journal transaction at position \(position), transfer \(line): \(what)")
            }
            guard f.count == 8 else { throw fail("\(f.count) fields, expected 8") }
            let reason = String(decoding: f[0], as: UTF8.self)
            guard TransferReason(rawValue: reason) != nil else { throw fail("unknown reason '\(reason)'") }
            guard let amount = parseDecimalUInt128(String(decoding: f[7], as: UTF8.self)), amount > 0 else {
                throw fail("amount '\(String(decoding: f[7], as: UTF8.self))' is not a positive integer")
            }
            let from = try side(f[1], f[2], f[3], fail)
            let to = try side(f[4], f[5], f[6], fail)
            guard from.commodity == to.commodity else {
                throw fail("moves \(from.commodity.rawValue) from \(from.account) to \(to.commodity.rawValue) in \(to.account)")
            }
            postings.append(JournalPosting(account: from.account, owner: from.owner, commodity: from.commodity,
                                           amount: amount, negative: true, reason: reason))
            postings.append(JournalPosting(account: to.account, owner: to.owner, commodity: to.commodity,
                                           amount: amount, negative: false, reason: reason))
        }
        return postings
    }

    private static func side<S: Collection<UInt8>>(_ kindField: S, _ a: S, _ b: S,
                                                    _ fail: (String) -> ProjectionError)
        throws(ProjectionError) -> (account: String, owner: AccountID?, commodity: Commodity) {
        let name = String(decoding: kindField, as: UTF8.self)
        guard let kind = JournalAccountKind(rawValue: name) else { throw fail("unknown account kind '\(name)'") }
        let count = (a.isEmpty ? 0 : 1) + (b.isEmpty ? 0 : 1)
        guard count == kind.identifiers, b.isEmpty || !a.isEmpty else {
            throw fail("account kind '\(name)' takes \(kind.identifiers) identifiers, got \(count)")
        }
        var account = name
        if !a.isEmpty { account += ":" + String(decoding: a, as: UTF8.self) }
        if !b.isEmpty { account += ":" + String(decoding: b, as: UTF8.self) }
        let owner = kind.hasOwner ? AccountID(unchecked: String(decoding: a, as: UTF8.self)) : nil
        return (account, owner, kind.commodity)
    }
}
