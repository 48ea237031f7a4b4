import ArgumentParser
import EventStore
import LedgerEvents
import PostgresClient
import StratosProjections
import StratosReports

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Recompute settlements from history and explain them.",
        discussion: """
            Exit status 0 when the recomputation matches the stored projection, 3 when it does not. \
            audit epoch first walks the hash chain of the log segment it replays (from the economy \
            checkpoint through the epoch's close): exit 2, naming the first broken position, when it \
            does not verify.
            """,
        subcommands: [AuditNodeCommand.self, AuditEpochCommand.self])
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// Options shared by the audit verbs.
struct AuditOptions: ParsableArguments {
    @OptionGroup var database: DatabaseOptions
    @Option(help: "Output: text (for humans) or json.") var format: OutputFormat = .text
    @Option(help: "Projection schema to compare with.") var schema = "projection"

    /// "rule set NAME, sha256 …" of the projection audited (the JSON reports keep their pinned shapes).
    func rulesLine() throws -> String {
        let h = try LedgerQueries(url: try database.resolvedURL(), schemas: ProjectionSchemas(serving: schema)).health()
        return "rule set \(h.rules), sha256 \(h.rulesSha256 ?? "?")"
    }

    func auditor() throws -> Auditor {
        let connection = try PostgresConnection(url: try database.resolvedLogURL())
        let model = try ProjectionReadModels(schemas: ProjectionSchemas(serving: schema)).readModel(on: connection)
        return Auditor(connection: connection, readModel: model)
    }

    /// The projection's queries (for the log segment an epoch's recomputation reads).
    func queries() throws -> LedgerQueries {
        try LedgerQueries(url: try database.resolvedLogURL(), schemas: ProjectionSchemas(serving: schema))
    }
}

struct AuditNodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Derive every wei a node's owner earned from the node at one or several epoch closes.")

    @Argument(help: "The node id.") var node: String
    @Option(help: "The epoch.") var epoch: Int64?
    @Option(help: "First epoch of a range.") var from: Int64?
    @Option(help: "Last epoch of a range.") var to: Int64?
    @OptionGroup var options: AuditOptions

    func run() throws {
        guard let id = NodeID(node) else { throw CLIError("node id \"\(node)\" is not 1–128 printable ASCII characters without spaces") }
        let epochs: ClosedRange<Int64>
        switch (epoch, from, to) {
        case (let e?, nil, nil): epochs = e...e
        case (nil, let f?, let t?): epochs = f...max(f, t)
        default: throw CLIError("give --epoch N, or --from A --to B")
        }
        guard epochs.lowerBound >= 1 else { throw CLIError("epochs start at 1") }
        let auditor = try options.auditor()
        var mismatch = false
        var json: [JSONValue] = []
        if options.format == .text { print(try options.rulesLine()) }
        for e in epochs {
            let audit = try auditor.auditNode(id, epoch: e)
            mismatch = mismatch || !audit.consistent || audit.recomputation.matchesProjection == false
            switch options.format {
            case .text: print(audit.text())
            case .json: json.append(audit.json())
            }
        }
        if options.format == .json { print((epochs.count == 1 ? json[0] : .array(json)).canonicalText) }
        if mismatch {
            writeStderr("audit: the recomputation does not match the stored projection or the engine\n")
            throw ExitCode(3)
        }
    }
}

struct AuditEpochCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "epoch",
        abstract: "Recompute an epoch's settlement report (docs/EVENTS.md) and compare it with the projection.")

    @Argument(help: "The epoch.") var epoch: Int64
    @OptionGroup var options: AuditOptions

    func run() throws {
        guard epoch >= 1 else { throw CLIError("epochs start at 1") }
        // The replay trusts the log segment it reads: check its hash chain first (after the
        // replay when the projection has not reached the epoch's close, which the replay finds).
        let queries = try options.queries()
        func check(_ chain: SegmentVerifyReport) throws -> SegmentVerifyReport {
            guard chain.isIntact else {
                writeStderr("audit: epoch \(epoch): \(chain)\n")
                throw ExitCode(2)
            }
            return chain
        }
        var early: SegmentVerifyReport?
        do { early = try check(queries.verifyChain(epoch: epoch)) } catch ProjectionError.epochNotClosed {}
        let r = try options.auditor().recompute(epoch: epoch)
        let chain = try early ?? check(queries.verifyChain(epoch: epoch, closeAt: r.closeEvent.position))
        switch options.format {
        case .json: print(r.report.json())
        case .text:
            print(try options.rulesLine())
            print(
                "Settlement of epoch \(epoch) (rules \(r.report.rules)), recomputed from "
                    + (r.replayedFrom.epoch == 0 ? "Genesis" : "the state after epoch \(r.replayedFrom.epoch)")
                    + " by replaying \(r.replayedEvents) events; EpochClosed at position \(r.closeEvent.position)")
            // Exact amounts in wei and noz (what the derivation uses), with STOS (18 decimals) and OZ (9).
            func stos(_ w: Wei) -> String { "\(w) wei (\(formatDecimal(w.rawValue, decimals: 18)) STOS)" }
            func oz(_ n: Noz) -> String { "\(n) noz (\(formatDecimal(n.rawValue, decimals: 9)) OZ)" }
            print("  T = \(oz(r.report.T)), Y = \(oz(r.report.Y)), settled \(r.report.settled.count) node(s)")
            for (i, s) in r.report.settled.enumerated() { print("    \(i + 1). \(s.node): \(oz(s.traffic))") }
            print(
                "  R = \(stos(r.report.trafficReward)), M = \(stos(r.report.miningReward)); "
                    + "dust traffic \(r.report.trafficDust) wei, mining \(r.report.miningDust) wei")
            for w in r.report.rewards {
                print(
                    "    \(w.account) \(w.role.rawValue)/\(w.source.rawValue) \(stos(w.amount))"
                        + (w.node.map { " node \($0)" } ?? "") + (w.validator.map { " validator \($0)" } ?? "")
                        + " (matures at epoch \(w.matureEpoch))")
            }
        }
        switch r.matchesProjection {
        case true?: if options.format == .text { print("\(chain)\nrecomputation = stored projection: yes") }
        case nil: writeStderr("audit: epoch \(epoch) is not in the projection yet; nothing to compare\n")
        case false?:
            let d = r.difference.map { ": \($0.field) stored \($0.stored), recomputed \($0.recomputed)" } ?? ""
            writeStderr("audit: the stored projection of epoch \(epoch) differs from the recomputation\(d)\n")
            throw ExitCode(3)
        }
    }
}
