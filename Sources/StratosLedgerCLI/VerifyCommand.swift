import ArgumentParser
import EventStore
import Foundation
import PostgresClient
import StratosProjections

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Walk the event log's hash chain and name the first broken position; with --epoch, recompute one epoch.",
        discussion: """
            Exit status 0 when the chain is intact, 2 when it is broken. With --epoch N: walk the hash \
            chain of the log segment the recomputation reads (from the economy checkpoint at or \
            before epoch N-1 through the close of N; exit 2 naming the first broken position), then \
            recompute epoch N from that checkpoint plus its events and compare it with the stored \
            settlement bit for bit (exit 2 naming the first differing field); refused events of the \
            epoch are listed.
            """)

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Recompute this epoch's settlement and compare it with the stored one.")
    var epoch: Int64?

    @Option(help: "Projection schema (with --epoch).")
    var schema: String = ProjectionSchemas().serving

    func run() throws {
        if let epoch { return try verifyEpoch(epoch) }
        let store = try EventStore(url: try database.resolvedLogURL())
        let showProgress = isatty(STDERR_FILENO) == 1
        let report = try store.verify { checked in
            if showProgress { writeStderr("\r\u{1B}[K\(checked) events checked") }
        }
        if showProgress { writeStderr("\r\u{1B}[K") }
        if report.isIntact {
            print(report)
        } else {
            writeStderr("verify: \(report)\n")
            throw ExitCode(2)
        }
    }

    private func verifyEpoch(_ epoch: Int64) throws {
        let queries = try LedgerQueries(url: try database.resolvedLogURL(), schemas: ProjectionSchemas(serving: schema))
        let v = try queries.verify(epoch: epoch)
        if let chain = v.chain, !chain.isIntact {
            writeStderr("verify: epoch \(epoch): \(chain)\n")
            throw ExitCode(2)
        }
        if let chain = v.chain { print("epoch \(epoch): \(chain)") }
        for e in v.exceptions {
            print("epoch \(epoch): refused event at position \(e.position) \(e.eventID) (\(e.type)) [\(e.rule)]: \(e.message)")
        }
        if let d = v.firstDifference {
            writeStderr("verify: epoch \(epoch) differs at \(d.field): stored \(d.stored), recomputed \(d.recomputed)\n")
            throw ExitCode(2)
        }
        print(
            "epoch \(epoch): settlement recomputed from the checkpoint matches the stored one "
                + "(\(String(format: "%.1f", v.recomputeSeconds * 1000)) ms)")
    }
}
