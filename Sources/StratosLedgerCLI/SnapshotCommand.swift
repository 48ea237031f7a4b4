import ArgumentParser
import Foundation
import LedgerEvents
import StratosEconomics
import StratosProjections
import StratosReports

/// `stratos-ledger snapshot`: the docs/EVENTS.md economy snapshot at an epoch, a position or now.
struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Print the economy snapshot (docs/EVENTS.md) at a closed epoch, a log position, or the projection's head.",
        discussion: "Loads the nearest stored economy checkpoint and replays the events after it.")

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Right after EpochClosed N.")
    var epoch: Int64?

    @Option(help: "Right after the event at log position P.")
    var position: Int64?

    @Option(help: "Output: text (for humans: STOS with 18 decimals, OZ with 9) or json (EVENTS.md, amounts in wei and noz).")
    var format: OutputFormat = .text

    @Option(help: "Projection schema to read.")
    var schema: String = ProjectionSchemas().serving

    func validate() throws {
        if epoch != nil && position != nil { throw ValidationError("give --epoch or --position, not both") }
    }

    func run() throws {
        let queries = try LedgerQueries(url: try database.resolvedLogURL(), schemas: ProjectionSchemas(serving: schema))
        let point: SnapshotPoint = epoch.map { .epoch($0) } ?? position.map { .position($0) } ?? .latest
        let snapshot = try queries.snapshot(at: point)
        if format == .json {
            print(snapshot.json())
            return
        }
        print(Self.text(snapshot, rulesSha256: try queries.health().rulesSha256), terminator: "")
    }

    /// The human form: STOS amounts with all 18 decimals, Ozone with 9 (exact, like the exports).
    static func text(_ snapshot: EconomySnapshot, rulesSha256: String? = nil) -> String {
        func stos(_ w: Wei) -> String { formatDecimal(w.rawValue, decimals: 18) + " STOS" }
        func oz(_ n: Noz) -> String { formatDecimal(n.rawValue, decimals: 9) + " OZ" }
        var out =
            "Economy (rules \(snapshot.rules)\(rulesSha256.map { ", sha256 \($0)" } ?? "")) after log position \(snapshot.position), "
            + "last closed epoch \(snapshot.lastClosedEpoch)\n"
        out += "Supply\n"
        out += "  s (deposit constant)        \(stos(snapshot.supply.s))\n"
        out += "  p (unissued prepay pool)    \(stos(snapshot.supply.p))\n"
        out += "  l (remaining Ozone limit)   \(oz(snapshot.supply.l))\n"
        out += "  mined                       \(stos(snapshot.supply.mined))\n"
        out += "  fee collector               \(stos(snapshot.feeCollector))\n"
        out += "Accounts (\(snapshot.accounts.count))\n"
        for id in snapshot.accounts.keys.sorted() {
            let a = snapshot.accounts[id]!
            out +=
                "  \(id): wallet \(stos(a.wallet)), ozone \(oz(a.ozone)), vesting \(stos(a.vesting)), "
                + "bonded \(stos(a.bonded)), unbonding \(stos(a.unbonding)), escrow \(stos(a.escrow))\n"
        }
        out += "Nodes (\(snapshot.nodes.count))\n"
        for id in snapshot.nodes.keys.sorted() {
            let n = snapshot.nodes[id]!
            out +=
                "  \(id): \(n.kind.rawValue), owner \(n.owner), \(n.status.rawValue), deposit \(stos(n.deposit)), "
                + "unsettled traffic \(oz(n.unsettled))\n"
        }
        return out
    }
}
