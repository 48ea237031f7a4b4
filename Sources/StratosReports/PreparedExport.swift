import LedgerEvents
import StratosEconomics

/// Why an export cannot start: the CLI prints it, the service answers it as a problem (404, 409).
public enum ExportRefusal: Error, Sendable, CustomStringConvertible {
    case unknownAccount(AccountID)
    /// `from − 1` (the opening balances' epoch) is not closed yet.
    case epochNotClosed(epoch: Int64, lastClosed: Int64)
    /// Closed in the log but not projected yet.
    case epochNotProjected(epoch: Int64)

    public var description: String {
        switch self {
        case .unknownAccount(let id): "account \(id) has never been seen"
        case .epochNotClosed(let epoch, let last): "epoch \(epoch) is not closed yet (the last closed epoch is \(last))"
        case .epochNotProjected(let epoch): "epoch \(epoch) is not in the projections yet"
        }
    }
}

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

    public static func prepare(_ request: ExportRequest, rules: RuleSet, model: ReadModel) throws -> PreparedExport {
        if let owner = request.account, try model.account(owner) == nil {
            throw ExportRefusal.unknownAccount(owner)
        }
        var opening: EconomySnapshot?
        if request.from > 1 {
            guard let snapshot = try model.snapshot(.epoch(request.from - 1)) else {
                let last = try model.lastClosedEpoch()
                throw request.from - 1 > last
                    ? ExportRefusal.epochNotClosed(epoch: request.from - 1, lastClosed: last)
                    : ExportRefusal.epochNotProjected(epoch: request.from - 1)
            }
            opening = snapshot
        }
        return PreparedExport(request: request, rules: rules, opening: opening)
    }

    /// Streams the export to `emit`, chunk by chunk.
    public func write(model: ReadModel, _ emit: (String) throws -> Void) throws {
        var exporter = JournalExporter(request: request, rules: rules)
        var buffer = exporter.header()
        var openingDone = opening == nil
        try model.journal(epochs: request.from...request.to) { t in
            if !openingDone, let opening {
                buffer += try exporter.opening(opening, date: t.time)
                openingDone = true
            }
            if let owner = request.account, !t.postings.contains(where: { $0.owner == owner }) { return }
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
