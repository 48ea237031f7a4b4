import LedgerEvents
import StratosEconomics

/// An export in progress: pages of the journal turned into text, one page at a time.
///
/// `start` does everything that can be refused (bad account, `from` epoch not closed) before
/// the first byte goes out, so the HTTP export can still answer with a problem; after that,
/// `next` yields text chunks until the range is exhausted. Memory: one page of the journal.
/// The CLI and `GET /v1/export` both run this.
public struct ExportStream: Sendable {
    public static let pageSize = 1000

    private var exporter: JournalExporter
    private var pending: String?
    private var after: Int64
    private var finished: Bool

    public static func start(_ request: ExportRequest, rules: RuleSet, pool: ConnectionPool,
                             models: any ReadModelFactory) async throws -> ExportStream {
        let first = try await pool.withConnection { c -> UncheckedSendable<(JournalExporter, String, Int64, Bool)> in
            let model = try models.readModel(on: c)
            if let owner = request.account, try model.account(owner) == nil {
                throw Problem.notFound("Account", "account \(owner) has never been seen")
            }
            var exporter = JournalExporter(request: request, rules: rules)
            var text = exporter.header()
            let page = try model.journal(epochs: request.from...request.to, owner: request.account, after: 0, limit: pageSize)
            if request.from > 1 {
                guard let snapshot = try model.snapshot(.epoch(request.from - 1)) else {
                    throw try StratosServer.epochProblem(request.from - 1, model)
                }
                let date = page.first?.time ?? Timestamp(microsecondsSinceEpoch: 0)
                text += try exporter.opening(snapshot, date: date)
            }
            for t in page { text += try exporter.transaction(t) }
            return UncheckedSendable((exporter, text, page.last?.position ?? 0, page.count < pageSize))
        }.value
        return ExportStream(exporter: first.0, pending: first.1, after: first.2, finished: first.3)
    }

    /// The next chunk of text, nil at the end.
    public mutating func next(pool: ConnectionPool, models: any ReadModelFactory) async throws -> String? {
        if let p = pending {
            pending = nil
            return p
        }
        if finished { return nil }
        let request = exporter.request
        let after = self.after
        let page = try await pool.withConnection { c in
            UncheckedSendable(try models.readModel(on: c).journal(epochs: request.from...request.to, owner: request.account,
                                                                   after: after, limit: Self.pageSize))
        }.value
        guard let last = page.last else {
            finished = true
            return nil
        }
        if page.count < Self.pageSize { finished = true }
        self.after = last.position
        var text = ""
        for t in page { text += try exporter.transaction(t) }
        return text
    }
}
