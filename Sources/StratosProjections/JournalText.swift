import LedgerEvents
import StratosEconomics

// The text form of a journal transaction (the `transfers` column of `journal_stored` and of the view `journal`, tables.sql): one
// line per transfer, `reason from_kind from_a from_b to_kind to_a to_b amount`, lines separated
// by a newline, fields by one space. Both directions live here, so the format has one owner:
// the worker encodes (`CopyBuffer.journalTransfer`), `LedgerQueries.journal` decodes
// (`JournalText.postings`), the rebuild's check reads every stored line back through the same
// decoder (`JournalText.forEachLine`, `Rebuilder.checkJournal`), and the `journal_postings` view
// decodes it in SQL. The one other writer is the view `journal`, which writes an epoch close's
// derived vesting lines in this form (`DerivedJournalLines`); the tests hold its lines equal to
// the engine's transfers.
//
// Why this form: COPY stores a text field as it comes (no array literal, no numeric to parse),
// so a 6,000-transfer epoch close costs PostgreSQL about as much as its bytes. Identifiers are
// never empty and never hold a space (docs/EVENTS.md: printable ASCII without spaces), so an empty
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
        int(position)
        int(epoch)
        beginField()
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
        @inline(__always) func kind(_ k: JournalAccountKind) {
            bytes.append(0x20)
            bytes.append(contentsOf: k.rawValue.utf8)
        }
        @inline(__always) func id(_ s: String) {
            bytes.append(0x20)
            appendRaw(s)
        }
        @inline(__always) func numbered(_ prefix: UInt8, _ n: UInt64) {
            bytes.append(0x20)
            bytes.append(prefix)
            appendDecimal(UInt128(n))
        }
        @inline(__always) func none() { bytes.append(0x20) }
        switch account {
        case .wallet(let a):
            kind(.wallet)
            id(a.rawValue)
            none()
        case .ozone(let a):
            kind(.ozone)
            id(a.rawValue)
            none()
        case .nodeTraffic(let n):
            kind(.nodeTraffic)
            id(n.rawValue)
            none()
        case .ozoneLimit:
            kind(.ozoneLimit)
            none()
            none()
        case .volumePool:
            kind(.volumePool)
            none()
            none()
        case .miningPool:
            kind(.miningPool)
            none()
            none()
        case .escrow(let a, let n):
            kind(.escrow)
            id(a.rawValue)
            id(n.rawValue)
        case .vesting(let a, let e):
            kind(.vesting)
            id(a.rawValue)
            numbered(UInt8(ascii: "v"), e.rawValue)
        case .selfBonded(let a, let v):
            kind(.selfBonded)
            id(a.rawValue)
            id(v.rawValue)
        case .bonded(let a, let v):
            kind(.bonded)
            id(a.rawValue)
            id(v.rawValue)
        case .unbonding(let a, let u):
            kind(.unbonding)
            id(a.rawValue)
            numbered(UInt8(ascii: "u"), u.rawValue)
        case .feeCollector:
            kind(.feeCollector)
            none()
            none()
        case .outside:
            kind(.outside)
            none()
            none()
        case .ozoneIssuance:
            kind(.ozoneIssuance)
            none()
            none()
        }
    }
}

enum JournalText {
    /// The postings of one stored transaction (the transfers field, COPY escapes already
    /// removed): a debit and a credit per transfer, in order. Throws `.corrupt` as `forEachLine`.
    static func postings(_ text: [UInt8], position: Int64) throws(ProjectionError) -> [JournalPosting] {
        let decoded = text.withUnsafeBytes { raw -> Result<[JournalPosting], ProjectionError> in
            var postings: [JournalPosting] = []
            do throws(ProjectionError) {
                try forEachLine(raw, position: position) { line in
                    let reason = line.reason.rawValue
                    let from = line.account(line.from, raw, line.fromIDs)
                    let to = line.account(line.to, raw, line.toIDs)
                    postings.append(
                        JournalPosting(
                            account: from.path, owner: from.owner, amount: Amount(line.from.commodity, baseUnits: line.amount),
                            negative: true, reason: reason))
                    postings.append(
                        JournalPosting(
                            account: to.path, owner: to.owner, amount: Amount(line.to.commodity, baseUnits: line.amount),
                            negative: false, reason: reason))
                }
            } catch {
                return .failure(error)
            }
            return .success(postings)
        }
        return try decoded.get()
    }

    /// Calls `body` with every transfer line of one stored transaction, in order, each checked:
    /// eight fields, a known reason, known account kinds each with its number of identifiers, the
    /// same commodity on both sides (so the transaction balances per commodity), and an amount in
    /// canonical decimal (digits, no leading zero) that is positive and fits 128 bits. Throws
    /// `.corrupt` naming the position, the transfer's number and what is wrong.
    ///
    /// Why bytes and tables rather than `split` and `String`s: the rebuild checks every line of
    /// the journal with it (9.8 M on the bench history) while the keys are built, and an
    /// allocation per field would make that check the slowest part of the rebuild.
    static func forEachLine(
        _ text: UnsafeRawBufferPointer, position: Int64,
        _ body: (JournalLine) throws(ProjectionError) -> Void
    ) throws(ProjectionError) {
        guard !text.isEmpty else { return }
        var number = 0
        var start = 0
        while start <= text.count {
            number += 1
            var end = start
            while end < text.count && text[end] != 0x0A { end += 1 }
            try body(try line(text, start..<end, position: position, number: number))
            start = end + 1
        }
    }

    private static func line(
        _ text: UnsafeRawBufferPointer, _ bounds: Range<Int>, position: Int64,
        number: Int
    ) throws(ProjectionError) -> JournalLine {
        func fail(_ what: String) -> ProjectionError {
            .corrupt("journal transaction at position \(position), transfer \(number): \(what)")
        }
        func string(_ r: Range<Int>) -> String { String(decoding: UnsafeRawBufferPointer(rebasing: text[r]), as: UTF8.self) }
        // The eight fields' ranges, found in one pass.
        var f: (Range<Int>, Range<Int>, Range<Int>, Range<Int>, Range<Int>, Range<Int>, Range<Int>, Range<Int>) = (
            0..<0, 0..<0, 0..<0, 0..<0, 0..<0, 0..<0, 0..<0, 0..<0
        )
        var count = 0
        try withUnsafeMutableBytes(of: &f) { (raw) throws(ProjectionError) in
            let fields = raw.bindMemory(to: Range<Int>.self)
            var fieldStart = bounds.lowerBound
            for i in bounds.lowerBound...bounds.upperBound where i == bounds.upperBound || text[i] == 0x20 {
                if count < 8 { fields[count] = fieldStart..<i }
                count += 1
                fieldStart = i + 1
            }
            guard count == 8 else { throw fail("\(count) fields, expected 8") }
        }
        guard let reason = reasons.value(text, f.0) else { throw fail("unknown reason '\(string(f.0))'") }
        func kind(_ r: Range<Int>, _ a: Range<Int>, _ b: Range<Int>) throws(ProjectionError) -> JournalAccountKind {
            guard let kind = kinds.value(text, r) else { throw fail("unknown account kind '\(string(r))'") }
            let ids = (a.isEmpty ? 0 : 1) + (b.isEmpty ? 0 : 1)
            guard ids == kind.identifiers, b.isEmpty || !a.isEmpty else {
                throw fail("account kind '\(kind.rawValue)' takes \(kind.identifiers) identifiers, got \(ids)")
            }
            return kind
        }
        let from = try kind(f.1, f.2, f.3)
        let to = try kind(f.4, f.5, f.6)
        guard let amount = positiveDecimal(text, f.7) else { throw fail("amount '\(string(f.7))' is not a positive integer") }
        let line = JournalLine(reason: reason, from: from, fromIDs: (f.2, f.3), to: to, toIDs: (f.5, f.6), amount: amount)
        guard from.commodity == to.commodity else {
            throw fail(
                "moves \(from.commodity.rawValue) from \(line.account(from, text, line.fromIDs).path) "
                    + "to \(to.commodity.rawValue) in \(line.account(to, text, line.toIDs).path)")
        }
        return line
    }

    /// A positive integer written in canonical decimal (no sign, no leading zero), if it fits.
    private static func positiveDecimal(_ text: UnsafeRawBufferPointer, _ r: Range<Int>) -> UInt128? {
        guard !r.isEmpty, r.count <= 39, text[r.lowerBound] != 0x30 else { return nil }
        var value: UInt128 = 0
        for i in r {
            let digit = text[i] &- 0x30
            guard digit <= 9 else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt128(digit))
            if o1 || o2 { return nil }
            value = a
        }
        return value
    }

    private static let reasons = ByteNames(TransferReason.allCases.map { ($0.rawValue, $0) })
    private static let kinds = ByteNames(JournalAccountKind.allCases.map { ($0.rawValue, $0) })
}

/// One checked transfer line of a stored transaction (`JournalText.forEachLine`): byte ranges of
/// its identifiers in the transaction's text (empty when absent).
struct JournalLine {
    var reason: TransferReason
    var from: JournalAccountKind
    var fromIDs: (a: Range<Int>, b: Range<Int>)
    var to: JournalAccountKind
    var toIDs: (a: Range<Int>, b: Range<Int>)
    var amount: UInt128

    /// The account path (`kind[:a[:b]]`, as `LedgerAccount.description`) and owner of one side.
    func account(
        _ kind: JournalAccountKind, _ text: UnsafeRawBufferPointer,
        _ ids: (a: Range<Int>, b: Range<Int>)
    ) -> (path: String, owner: AccountID?) {
        func string(_ r: Range<Int>) -> String { String(decoding: UnsafeRawBufferPointer(rebasing: text[r]), as: UTF8.self) }
        var path = kind.rawValue
        if !ids.a.isEmpty { path += ":" + string(ids.a) }
        if !ids.b.isEmpty { path += ":" + string(ids.b) }
        return (path, kind.hasOwner ? AccountID(unchecked: string(ids.a)) : nil)
    }
}

/// A small table from names to values looked up by their bytes, without making a `String`:
/// names grouped by length, compared byte by byte (a dozen bytes, a handful of names per length).
struct ByteNames<Value: Sendable>: Sendable {
    private var byLength: [[(name: [UInt8], value: Value)]] = []

    init(_ pairs: [(String, Value)]) {
        for (name, value) in pairs {
            let bytes = Array(name.utf8)
            while byLength.count <= bytes.count { byLength.append([]) }
            byLength[bytes.count].append((bytes, value))
        }
    }

    func value(_ text: UnsafeRawBufferPointer, _ r: Range<Int>) -> Value? {
        guard r.count < byLength.count else { return nil }
        search: for candidate in byLength[r.count] {
            for k in 0..<r.count where candidate.name[k] != text[r.lowerBound + k] { continue search }
            return candidate.value
        }
        return nil
    }
}
