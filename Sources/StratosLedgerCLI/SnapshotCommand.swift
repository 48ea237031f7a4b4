import ArgumentParser
import Foundation
import StratosEconomics
import StratosProjections

/// `stratos-ledger snapshot`: the EVENTS.md economy snapshot at an epoch, a position or now.
struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Print the economy snapshot (EVENTS.md) at a closed epoch, a log position, or the projection's head.",
        discussion: "Loads the nearest stored economy checkpoint and replays the events after it.")

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Right after EpochClosed N.")
    var epoch: Int64?

    @Option(help: "Right after the event at log position P.")
    var position: Int64?

    @Option(help: "json or text.")
    var format: String = "json"

    @Option(help: "Projection schema to read.")
    var schema: String = ProjectionSchemas().serving

    func validate() throws {
        if epoch != nil && position != nil { throw ValidationError("give --epoch or --position, not both") }
        if !["json", "text"].contains(format) { throw ValidationError("--format must be json or text") }
    }

    func run() throws {
        let queries = try LedgerQueries(url: try database.resolvedLogURL(), schemas: ProjectionSchemas(serving: schema))
        let point: SnapshotPoint = epoch.map { .epoch($0) } ?? position.map { .position($0) } ?? .latest
        let snapshot = try queries.snapshot(at: point)
        if format == "json" { print(snapshot.json()); return }
        print("rules \(snapshot.rules), position \(snapshot.position) (events applied), last closed epoch \(snapshot.lastClosedEpoch)")
        print("s \(snapshot.supply.s) wei, p \(snapshot.supply.p) wei, l \(snapshot.supply.l) noz, mined \(snapshot.supply.mined) wei, "
              + "fee collector \(snapshot.feeCollector) wei")
        print("accounts (wallet / ozone / vesting / bonded / unbonding / escrow):")
        for id in snapshot.accounts.keys.sorted() {
            let a = snapshot.accounts[id]!
            print("  \(id): \(a.wallet) / \(a.ozone) / \(a.vesting) / \(a.bonded) / \(a.unbonding) / \(a.escrow)")
        }
        print("nodes (kind, owner, status, deposit, unsettled):")
        for id in snapshot.nodes.keys.sorted() {
            let n = snapshot.nodes[id]!
            print("  \(id): \(n.kind.rawValue), \(n.owner), \(n.status.rawValue), \(n.deposit), \(n.unsettled)")
        }
    }
}
