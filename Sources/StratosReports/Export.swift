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
        var postings: [Posting] = []
        func opening(_ account: String, _ amount: Amount) {
            guard amount.baseUnits > 0 else { return }
            postings.append(Posting(account: account, amount: amount, negative: false, reason: "opening-balance", engineAccount: "opening"))
        }
        let owner = request.account
        for id in snapshot.accounts.keys.sorted() where owner == nil || owner == id {
            let b = snapshot.accounts[id]!
            let fields: [(String, Amount)] = [
                ("Wallet", .wei(b.wallet)), ("Ozone", .noz(b.ozone)), ("Escrow", .wei(b.escrow)),
                ("Vesting", .wei(b.vesting)), ("Bonded", .wei(b.bonded)), ("Unbonding", .wei(b.unbonding)),
            ]
            for (kind, amount) in fields where amount.baseUnits > 0 { opening(try ownerAccount(kind, id.rawValue), amount) }
        }
        if owner == nil {
            for id in snapshot.nodes.keys.sorted() where !snapshot.nodes[id]!.unsettled.isZero {
                opening(try ownerAccount("NodeTraffic", id.rawValue), .noz(snapshot.nodes[id]!.unsettled))
            }
            opening("Assets:Pools:Volume", .wei(snapshot.supply.p))
            opening("Assets:Pools:Mining", .wei(rules.mining.cap - snapshot.supply.mined))
            opening("Assets:Pools:FeeCollector", .wei(snapshot.feeCollector))
            opening("Assets:Pools:OzoneLimit", .noz(snapshot.supply.l))
        }
        // Balance each commodity: with every account, the open-ended accounts carry the rest
        // (they hold minus everything that ever entered the books); with one owner, equity.
        var stos = Wei.zero
        var ozone = Noz.zero
        for p in postings {
            switch p.amount {
            case .wei(let w): stos += w
            case .noz(let n): ozone += n
            }
        }
        for sum in [Amount.wei(stos), .noz(ozone)] where sum.baseUnits > 0 {
            let counter = owner != nil ? "Equity:OpeningBalances" : (sum.commodity == .stos ? "Equity:Outside" : "Equity:OzoneIssuance")
            postings.append(Posting(account: counter, amount: sum, negative: true, reason: "opening-balance", engineAccount: "opening"))
        }
        guard !postings.isEmpty else { return "" }
        let tx = Transaction(
            position: snapshot.position, eventID: "opening-balances", type: "OpeningBalances", time: date,
            epoch: request.from, postings: postings)
        return write(tx)
    }

    /// One journal transaction.
    public mutating func transaction(_ t: JournalTransaction) throws(ExportError) -> String {
        var postings: [Posting] = []
        postings.reserveCapacity(t.postings.count)
        for p in t.postings {
            postings.append(
                Posting(account: try exportAccount(p), amount: p.amount, negative: p.negative, reason: p.reason, engineAccount: p.account))
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
        var postings: [Posting]
    }

    /// One posting as exported: the export account, and the engine account it comes from.
    private struct Posting {
        var account: String
        var amount: Amount
        var negative: Bool
        var reason: String
        var engineAccount: String

        /// The amount in whole units with all decimals (18 for STOS, 9 for OZ), signed.
        var decimalText: String {
            formatDecimal(amount.baseUnits, decimals: amount.commodity == .stos ? 18 : 9, negative: negative)
        }
    }

    private mutating func write(_ t: Transaction) -> String {
        let date = String(t.time.rfc3339.prefix(10))
        var out = ""
        switch request.format {
        case .csv:
            for (i, p) in t.postings.enumerated() {
                let fields = [
                    String(t.position), t.eventID, t.type, t.time.rfc3339, String(t.epoch), String(i + 1), p.account,
                    p.engineAccount, p.amount.commodity.rawValue, p.decimalText, (p.negative ? "-" : "") + String(p.amount.baseUnits),
                    p.reason,
                ]
                out += fields.map(Self.csvField).joined(separator: ",") + "\n"
            }
        case .ledger:
            for p in t.postings where declared.insert(p.account).inserted { out += "account \(p.account)\n" }
            out += "\(date) * (\(t.position)) \(t.type)\n"
            out += "    ; event: \(Self.comment(t.eventID)), time: \(t.time.rfc3339), epoch: \(t.epoch)\n"
            for p in t.postings {
                out += "    \(p.account)  \(p.decimalText) \(p.amount.commodity.rawValue)  ; \(p.reason)\n"
            }
            out += "\n"
        case .beancount:
            for p in t.postings where declared.insert(p.account).inserted { out += "\(date) open \(p.account)\n" }
            out += "\(date) * \(Self.beancountString(t.type)) \(Self.beancountString("position \(t.position), event \(t.eventID)"))\n"
            out += "  position: \(t.position)\n  epoch: \(t.epoch)\n  time: \(Self.beancountString(t.time.rfc3339))\n"
            for p in t.postings {
                out += "  \(p.account)  \(p.decimalText) \(p.amount.commodity.rawValue)\n"
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
