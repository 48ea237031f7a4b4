import Foundation
import LedgerEvents
import StratosEconomics
import StratosProjections

/// The formats of `stratos-ledger export` and `GET /v1/export`.
public enum ExportFormat: String, Sendable, CaseIterable {
    case csv, ledger, beancount

    public var contentType: String {
        switch self {
        case .csv: "text/csv; charset=utf-8"
        case .ledger, .beancount: "text/plain; charset=utf-8"
        }
    }
}

/// What to export: journal transactions of epochs `from...to`, optionally only those touching
/// one account id's ledger accounts.
public struct ExportRequest: Sendable {
    public var format: ExportFormat
    public var from: Int64
    public var to: Int64
    public var account: AccountID?
    public init(format: ExportFormat, from: Int64 = 1, to: Int64 = Int64.max, account: AccountID? = nil) {
        self.format = format
        self.from = from
        self.to = to
        self.account = account
    }
}

public struct ExportError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

/// Turns journal transactions into text for accounting tools, one transaction at a time.
///
/// Why streaming: a journal has one transaction per event and may hold millions; the writer
/// keeps only the names of the accounts already declared (bounded by the number of accounts),
/// never the journal.
///
/// **Accounts.** The engine's chart of accounts is mapped per owner (see `exportAccount`):
/// `Assets:Wallet:<id>`, `Assets:Ozone:<id>`, `Assets:Escrow:<id>`, `Assets:Vesting:<id>`,
/// `Assets:Bonded:<id>`, `Assets:Unbonding:<id>`, `Assets:NodeTraffic:<node>`,
/// `Assets:Pools:Volume|Mining|OzoneLimit|FeeCollector`, and the two open-ended accounts
/// `Equity:Outside` (STOS from/to outside the books) and `Equity:OzoneIssuance`. Every commodity
/// sums to zero over all accounts, so every transaction balances.
///
/// **Names.** Ledger and hledger accept any id except `:` (the separator), whitespace and a few
/// characters with meaning in a posting (`;`, `#`, `(`, `)`, `[`, `]`, `@`, `*`, `!`, `"`, `%`); those
/// are written `%XX` (hex of the byte). Beancount wants every component to match
/// `[A-Z0-9][A-Za-z0-9-]*`: bytes outside `[A-Za-z0-9]` are written `-XX`, a leading lower-case
/// letter is upper-cased, and a component that would start with `-` gets an `X` in front. That
/// last mapping is not injective for ids that differ only by the case of their first letter;
/// the writer detects such a collision and refuses the export rather than merge two accounts.
///
/// **Amounts.** STOS wei as STOS with exactly 18 decimals, Ozone noz as OZ with exactly 9, by
/// integer division: nothing is rounded. (Beancount computes balances in 28 significant digits:
/// amounts up to 10^10 STOS are exact there.)
public struct JournalExporter: Sendable {
    public let request: ExportRequest
    public let rules: RuleSet
    private var declared: Set<String> = []
    private var namesByOwner: [String: String] = [:]
    private var headerWritten = false

    public init(request: ExportRequest, rules: RuleSet) {
        self.request = request
        self.rules = rules
    }

    // MARK: Public API

    /// The file header (CSV column names, comment lines).
    public mutating func header() -> String {
        headerWritten = true
        switch request.format {
        case .csv:
            return "position,event_id,type,time,epoch,posting,account,ledger_account,commodity,amount,base_units,reason\n"
        case .ledger:
            return
                "; stratos-ledger journal export, rules \(rules.name), epochs \(request.from)–\(request.to == Int64.max ? "latest" : String(request.to))\n\n"
        case .beancount:
            return "; stratos-ledger journal export, rules \(rules.name)\noption \"operating_currency\" \"STOS\"\n\n"
        }
    }

    /// One opening transaction from the balances of the snapshot at the end of epoch `from − 1`.
    public mutating func opening(_ snapshot: EconomySnapshot, date: Timestamp) throws(ExportError) -> String {
        var postings: [(name: String, commodity: Commodity, amount: UInt128, negative: Bool)] = []
        let owner = request.account
        for id in snapshot.accounts.keys.sorted() where owner == nil || owner == id {
            let b = snapshot.accounts[id]!
            let fields: [(String, Commodity, UInt128)] = [
                ("Wallet", .stos, b.wallet.rawValue), ("Ozone", .ozone, b.ozone.rawValue), ("Escrow", .stos, b.escrow.rawValue),
                ("Vesting", .stos, b.vesting.rawValue), ("Bonded", .stos, b.bonded.rawValue), ("Unbonding", .stos, b.unbonding.rawValue),
            ]
            for (kind, commodity, amount) in fields where amount > 0 {
                postings.append((try ownerAccount(kind, id.rawValue), commodity, amount, false))
            }
        }
        if owner == nil {
            for id in snapshot.nodes.keys.sorted() {
                let u = snapshot.nodes[id]!.unsettled.rawValue
                if u > 0 { postings.append((try ownerAccount("NodeTraffic", id.rawValue), .ozone, u, false)) }
            }
            let pools: [(String, Commodity, UInt128)] = [
                ("Assets:Pools:Volume", .stos, snapshot.supply.p.rawValue),
                ("Assets:Pools:Mining", .stos, rules.mining.cap.rawValue - snapshot.supply.mined.rawValue),
                ("Assets:Pools:FeeCollector", .stos, snapshot.feeCollector.rawValue),
                ("Assets:Pools:OzoneLimit", .ozone, snapshot.supply.l.rawValue),
            ]
            for (name, commodity, amount) in pools where amount > 0 { postings.append((name, commodity, amount, false)) }
        }
        // Balance each commodity: with every account, the open-ended accounts carry the rest
        // (they hold minus everything that ever entered the books); with one owner, equity.
        for commodity in [Commodity.stos, .ozone] {
            let sum = postings.filter { $0.commodity == commodity }.reduce(UInt128(0)) { $0 + $1.amount }
            guard sum > 0 else { continue }
            let counter = owner != nil ? "Equity:OpeningBalances" : (commodity == .stos ? "Equity:Outside" : "Equity:OzoneIssuance")
            postings.append((counter, commodity, sum, true))
        }
        guard !postings.isEmpty else { return "" }
        let tx = Transaction(
            position: snapshot.position, eventID: "opening-balances", type: "OpeningBalances", time: date,
            epoch: request.from, postings: postings.map { ($0.name, $0.commodity, $0.amount, $0.negative, "opening-balance", "opening") })
        return write(tx)
    }

    /// One journal transaction.
    public mutating func transaction(_ t: JournalTransaction) throws(ExportError) -> String {
        var postings: [(String, Commodity, UInt128, Bool, String, String)] = []
        postings.reserveCapacity(t.postings.count)
        for p in t.postings {
            postings.append((try exportAccount(p), p.commodity, p.amount, p.negative, p.reason, p.account))
        }
        return write(
            Transaction(
                position: t.position, eventID: t.eventID.rawValue, type: t.type, time: t.time, epoch: t.epoch,
                postings: postings))
    }

    // MARK: Accounts

    /// The export account of one engine account (see the type's documentation).
    mutating func exportAccount(_ p: JournalPosting) throws(ExportError) -> String {
        let kind = p.account.prefix { $0 != ":" }
        switch kind {
        case "wallet": return try ownerAccount("Wallet", p.owner?.rawValue)
        case "ozone": return try ownerAccount("Ozone", p.owner?.rawValue)
        case "escrow": return try ownerAccount("Escrow", p.owner?.rawValue)
        case "vesting": return try ownerAccount("Vesting", p.owner?.rawValue)
        case "self-bonded", "bonded": return try ownerAccount("Bonded", p.owner?.rawValue)
        case "unbonding": return try ownerAccount("Unbonding", p.owner?.rawValue)
        case "node-traffic": return try ownerAccount("NodeTraffic", String(p.account.dropFirst("node-traffic:".count)))
        case "ozone-limit": return "Assets:Pools:OzoneLimit"
        case "volume-pool": return "Assets:Pools:Volume"
        case "mining-pool": return "Assets:Pools:Mining"
        case "fee-collector": return "Assets:Pools:FeeCollector"
        case "outside": return "Equity:Outside"
        case "ozone-issuance": return "Equity:OzoneIssuance"
        default: throw ExportError(message: "journal posting on unknown account \"\(p.account)\"")
        }
    }

    private mutating func ownerAccount(_ group: String, _ id: String?) throws(ExportError) -> String {
        guard let id, !id.isEmpty else { throw ExportError(message: "journal posting on a \(group) account without an owner") }
        let component = request.format == .beancount ? Self.beancountComponent(id) : Self.ledgerComponent(id)
        let name = "Assets:\(group):\(component)"
        if request.format == .beancount {
            if let other = namesByOwner[name], other != id {
                throw ExportError(message: "ids \"\(other)\" and \"\(id)\" map to the same beancount account \(name); export as ledger or csv")
            }
            namesByOwner[name] = id
        }
        return name
    }

    private mutating func ownerAccount(_ group: String, _ id: String) throws(ExportError) -> String {
        try ownerAccount(group, Optional(id))
    }

    static func ledgerComponent(_ id: String) -> String {
        var out = ""
        for b in id.utf8 {
            switch b {
            case UInt8(ascii: ":"), UInt8(ascii: ";"), UInt8(ascii: "#"), UInt8(ascii: "("), UInt8(ascii: ")"),
                UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "@"), UInt8(ascii: "*"), UInt8(ascii: "!"),
                UInt8(ascii: "\""), UInt8(ascii: "%"), UInt8(ascii: "="), UInt8(ascii: "|"):
                out += "%" + hex(b)
            case 0x21...0x7E: out.unicodeScalars.append(Unicode.Scalar(b))
            default: out += "%" + hex(b)
            }
        }
        return out
    }

    static func beancountComponent(_ id: String) -> String {
        var out = ""
        for b in id.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default: out += "-" + hex(b)
            }
        }
        if let first = out.first {
            if first.isLowercase { out = first.uppercased() + out.dropFirst() } else if first == "-" { out = "X" + out }
        }
        return out
    }

    private static func hex(_ b: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
    }

    // MARK: Writing

    private struct Transaction {
        var position: Int64
        var eventID: String
        var type: String
        var time: Timestamp
        var epoch: Int64
        /// (export account, commodity, amount, negative, reason, engine account)
        var postings: [(String, Commodity, UInt128, Bool, String, String)]
    }

    private static func amountText(_ c: Commodity, _ amount: UInt128, negative: Bool) -> String {
        formatDecimal(amount, decimals: c == .stos ? 18 : 9, negative: negative)
    }

    private mutating func write(_ t: Transaction) -> String {
        let date = String(t.time.rfc3339.prefix(10))
        var out = ""
        switch request.format {
        case .csv:
            for (i, p) in t.postings.enumerated() {
                let fields = [
                    String(t.position), t.eventID, t.type, t.time.rfc3339, String(t.epoch), String(i + 1), p.0, p.5,
                    p.1.rawValue, Self.amountText(p.1, p.2, negative: p.3), (p.3 ? "-" : "") + String(p.2), p.4,
                ]
                out += fields.map(Self.csvField).joined(separator: ",") + "\n"
            }
        case .ledger:
            for p in t.postings where declared.insert(p.0).inserted { out += "account \(p.0)\n" }
            out += "\(date) * (\(t.position)) \(t.type)\n"
            out += "    ; event: \(Self.comment(t.eventID)), time: \(t.time.rfc3339), epoch: \(t.epoch)\n"
            for p in t.postings {
                out += "    \(p.0)  \(Self.amountText(p.1, p.2, negative: p.3)) \(p.1.rawValue)  ; \(p.4)\n"
            }
            out += "\n"
        case .beancount:
            for p in t.postings where declared.insert(p.0).inserted { out += "\(date) open \(p.0)\n" }
            out += "\(date) * \(Self.beancountString(t.type)) \(Self.beancountString("position \(t.position), event \(t.eventID)"))\n"
            out += "  position: \(t.position)\n  epoch: \(t.epoch)\n  time: \(Self.beancountString(t.time.rfc3339))\n"
            for p in t.postings {
                out += "  \(p.0)  \(Self.amountText(p.1, p.2, negative: p.3)) \(p.1.rawValue)\n"
            }
            out += "\n"
        }
        return out
    }

    private static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    private static func comment(_ s: String) -> String {
        s.filter { $0 != "\n" && $0 != "\r" }
    }

    private static func beancountString(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
