import LedgerEvents
import StratosEconomics

/// An export checked and ready to stream.
///
/// `prepare` does everything that can be refused (unknown account, `from` epoch not closed)
/// before the first byte goes out, so the HTTP export can still answer with a problem; `write`
/// then streams the journal through `JournalExporter` in chunks of about `chunkBytes`. Memory:
/// one chunk, never the journal. The CLI and `GET /v1/export` both run this.
public struct PreparedExport: Sendable {
    public static let chunkBytes = 64 << 10

    public let request: ExportRequest
    public let rules: RuleSet
    /// The balances at the end of epoch `from − 1`, when the range starts mid-history.
    let opening: EconomySnapshot?

    public static func prepare(_ request: ExportRequest, rules: RuleSet, model: any LedgerReadModel) throws -> PreparedExport {
        if let owner = request.account, try model.account(owner) == nil {
            throw Problem.notFound("Account", "account \(owner) has never been seen")
        }
        var opening: EconomySnapshot?
        if request.from > 1 {
            guard let snapshot = try model.snapshot(.epoch(request.from - 1)) else {
                throw try StratosServer.epochProblem(request.from - 1, model)
            }
            opening = snapshot
        }
        return PreparedExport(request: request, rules: rules, opening: opening)
    }

    /// Streams the export to `emit`, chunk by chunk.
    public func write(model: any LedgerReadModel, _ emit: (String) throws -> Void) throws {
        var exporter = JournalExporter(request: request, rules: rules)
        var buffer = exporter.header()
        var openingDone = opening == nil
        try model.journal(epochs: request.from...request.to) { t in
            if !openingDone, let opening {
                buffer += try exporter.opening(opening, date: t.time)
                openingDone = true
            }
            if let owner = request.account, !t.postings.contains(where: { $0.owner == owner.rawValue }) { return }
            buffer += try exporter.transaction(t)
            if buffer.utf8.count >= Self.chunkBytes {
                try emit(buffer)
                buffer = ""
            }
        }
        if !openingDone, let opening {
            buffer += try exporter.opening(opening, date: Timestamp(microsecondsSinceEpoch: 0))
        }
        if !buffer.isEmpty { try emit(buffer) }
    }
}
