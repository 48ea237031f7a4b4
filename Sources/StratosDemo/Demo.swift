import EventStore
import Foundation
import LedgerEvents
import PostgresClient
import StratosEconomics
import StratosProjections
import StratosReports
import StratosService
import StratosSimulator

/// Why the demo stopped, naming the step and what to do.
public struct DemoError: Error, CustomStringConvertible {
    public var step: String
    public var message: String
    public var description: String { "demo, \(step): \(message)" }
}

/// What one run of the demo did (for the CLI's exit and for tests).
public struct DemoResult: Sendable {
    public var databaseURL: String
    public var historyPath: String
    public var events: Int
    public var lastClosedEpoch: Int64
    /// False when the database already held this history and the import was skipped.
    public var imported: Bool
    public var auditedNode: NodeID?
    public var auditedEpoch: Int64?
    /// True when the audit's derivation equals the engine and the recomputation equals the projection.
    public var auditConsistent: Bool
    public var exports: [ExportFormat: String]
    /// Seconds per step, in order.
    public var stepSeconds: [(step: String, seconds: Double)]
}

/// The one-command demo: a simulated month of a small Stratos network, imported, projected,
/// audited and exported, with what a new user wants to see printed on the way.
///
/// Every figure comes from the project's libraries: `Simulator` writes the history,
/// `Importer` appends it through the rules engine, `ProjectionWorker` projects it,
/// `LedgerQueries` answers the price series and node rewards, `Auditor` derives an audit and
/// `PreparedExport` writes the journals. This type only orchestrates and formats, so the demo
/// shows exactly what the CLI and the HTTP service would answer.
public struct Demo {
    public var options: DemoOptions
    public var console: DemoConsole
    let rules = RuleSet.paperV1
    /// The projection schema the demo builds and reads (the CLI's default).
    let schema = ProjectionSchemas()

    public init(options: DemoOptions, console: DemoConsole) {
        self.options = options
        self.console = console
    }

    public func run(database: DemoDatabase) throws -> DemoResult {
        var steps: [(String, Double)] = []
        func timed<T>(_ name: String, _ body: () throws -> T) throws -> T {
            let start = ContinuousClock.now
            defer { steps.append((name, seconds(since: start))) }
            return try body()
        }
        let config = options.simulation
        console.say(
            "stratos-ledger demo: \(options.effectiveDays) days of a \(options.size.rawValue) Stratos network "
                + "(seed \(options.seed), rules \(rules.name))\n")

        // 1. Database and schema.
        let url = try timed("database") { try prepare(database) }
        try timed("migrate") {
            let connection = try PostgresConnection(url: url)
            let outcome = try Migrator.load().migrate(connection)
            console.say(
                "• Migrated: "
                    + (outcome.applied.isEmpty
                        ? "schema up to date (\(outcome.alreadyApplied) migrations)"
                        : "applied \(outcome.applied.joined(separator: ", "))"))
        }

        // 2. The history file.
        let history = try timed("simulate") { try simulate(config) }

        // 3. Import (skipped when the database already holds exactly this history).
        let store = try EventStore(url: url)
        let imported = try timed("import") { try importHistory(history, into: store) }

        // 4. Projections to the head.
        try timed("project") { try project(url: url) }

        // 5. What a new user wants to see.
        let queries = try LedgerQueries(url: url, schemas: schema)
        let health = try queries.health()
        let lastEpoch = health.lastClosedEpoch
        let snapshot = try queries.snapshot(at: .latest)
        console.say("")
        overview(snapshot, events: health.position)
        try timed("chart") { try priceChart(queries, lastEpoch: lastEpoch) }
        let top = try timed("top nodes") { try topNodes(queries, snapshot: snapshot, lastEpoch: lastEpoch) }
        let connection = try PostgresConnection(url: url)
        let model = try ProjectionReadModels(schemas: schema).readModel(on: connection)
        let audit = try timed("audit") { try auditOne(top, model: model, connection: connection) }
        let exports = try timed("export") { try exportJournals(model: model, lastEpoch: lastEpoch) }
        let verify = try timed("verify") { try store.verify() }
        console.say("Hash chain: \(verify.isIntact ? "intact" : "BROKEN") — \(verify)\n")

        let total = steps.reduce(0.0) { $0 + $1.1 }
        console.say(
            "Done in \(format(seconds: total)) s ("
                + steps.map { "\($0.0) \(format(seconds: $0.1)) s" }.joined(separator: ", ") + ").")
        nextSteps(url: url, database: database, audit: audit)
        return DemoResult(
            databaseURL: url, historyPath: history.path, events: history.events, lastClosedEpoch: lastEpoch,
            imported: imported, auditedNode: audit?.node, auditedEpoch: audit?.epoch,
            auditConsistent: audit.map { $0.consistent && $0.recomputation.matchesProjection == true } ?? false,
            exports: exports, stepSeconds: steps)
    }

    // MARK: Steps

    private func prepare(_ database: DemoDatabase) throws -> String {
        switch database {
        case .given(let url):
            if options.fresh {
                throw DemoError(
                    step: "database",
                    message: "--fresh drops and recreates only the demo's own database "
                        + "(\(DemoDatabase.defaultName) on the private cluster); it never drops the database of DATABASE_URL. "
                        + "Point DATABASE_URL at an empty database, or unset it.")
            }
            console.say("• Database: \(redacted(url)) (given by DATABASE_URL or --database-url, used as it is)")
            return url
        case .dedicated(let serverURL, let name):
            let admin = try PostgresConnection(url: serverURL)
            let exists = try admin.query(AdminSQL.statement("database.exists", on: admin), binding: name).rowCount > 0
            if exists && options.fresh {
                try admin.query(AdminSQL.statement("database.terminate_sessions", on: admin), binding: name)
                try admin.execute(AdminSQL.statement("database.drop", database: name, on: admin))
            }
            if !exists || options.fresh { try admin.execute(AdminSQL.statement("database.create", database: name, on: admin)) }
            let url = connectionString(serverURL, replacingDatabaseWith: name)
            let how = !exists ? "created" : options.fresh ? "dropped and created again (--fresh)" : "reused"
            console.say("• Database: \(redacted(url)) (\(how))")
            return url
        }
    }

    struct History {
        var path: String
        var events: Int
        /// Canonical bytes of the first and last events: how a re-run recognises its history.
        var first: [UInt8]
        var last: [UInt8]
    }

    private func simulate(_ config: SimulationConfig) throws -> History {
        let directory = options.outputDirectory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw DemoError(step: "simulate", message: "cannot create \(directory): \(error.localizedDescription)")
        }
        let path = (directory as NSString).appendingPathComponent(
            "history-\(options.size.rawValue)-\(options.effectiveDays)d-seed\(options.seed).jsonl")
        let writer = try JSONLinesWriter(path: path, hashing: true)
        var first: [UInt8]?
        var last: [UInt8] = []
        let start = ContinuousClock.now
        let summary = try Simulator(config).run { event in
            let bytes = event.canonicalUTF8
            if first == nil { first = bytes }
            last = bytes
            try writer.write(event)
            if writer.linesWritten % 2000 == 0 {
                let epoch = (event.time.microsecondsSinceEpoch - config.genesisTime.microsecondsSinceEpoch) / 600_000_000
                console.progress(
                    "simulate", done: epoch, total: Int64(config.epochs),
                    detail: "epoch \(epoch), \(writer.linesWritten) events")
            }
        }
        let hash = try writer.finish()
        console.endProgress()
        guard summary.refused == 0, let first else {
            throw DemoError(
                step: "simulate",
                message: "the simulator's proposals were refused by the rules "
                    + "(\(summary.refused); e.g. \(summary.refusalSamples.first ?? "?")): a simulator bug")
        }
        console.say(
            "• Simulated \(summary.eventsWritten) events over \(summary.lastClosedEpoch) epochs in "
                + "\(format(seconds: seconds(since: start))) s → \(path)\n"
                + "  (\(writer.bytesWritten / 1024) KiB, sha256 \(hash.map(SHA256.hex) ?? "?"); the same seed writes the same bytes)")
        return History(path: path, events: summary.eventsWritten, first: first, last: last)
    }

    /// Imports the history. A database that already holds it is reused; one holding another
    /// history is refused (mixing two histories would be meaningless).
    private func importHistory(_ history: History, into store: EventStore) throws -> Bool {
        let head = try store.head()
        if head.position > 0 {
            guard let first = try store.read(from: 1, limit: 1).first, first.canonicalUTF8 == history.first else {
                throw DemoError(
                    step: "import",
                    message: "the database already holds another history (\(head.position) events). "
                        + "Run with --fresh to start over in the demo's own database, or use the same --size/--days/--seed as before.")
            }
            if head.position == Int64(history.events),
                let last = try store.read(from: head.position, limit: 1).first, last.canonicalUTF8 == history.last
            {
                console.say(
                    "• Import skipped: the database already holds this history (\(head.position) events). "
                        + "Import is idempotent; --fresh starts over.")
                return false
            }
            console.say(
                "• The database holds the first \(head.position) events of this history: importing the rest "
                    + "(events already present are skipped by id).")
        }
        let reader = try JSONLinesReader(path: history.path)
        let writer = try LedgerWriter(store: store, rules: Economy(rules: rules))
        let total = Int64(history.events)
        let importer = Importer(
            writer: writer, metadata: AppendMetadata(appendedBy: "stratos-ledger demo"),
            progress: { p in
                let rate = p.seconds > 0 ? Int(Double(p.appended + p.duplicates) / p.seconds) : 0
                console.progress("import", done: Int64(p.lines), total: total, detail: "\(p.lines) events, \(rate) events/s")
            })
        let summary: ImportSummary
        do { summary = try importer.run(reader) } catch {
            throw DemoError(step: "import", message: "\(error)")
        }
        console.say("• Imported: \(summary)")
        return true
    }

    private func project(url: String) throws {
        let worker = try ProjectionWorker(url: url, schema: schema.serving)
        worker.progressInterval = .milliseconds(200)
        worker.progress = { p in
            console.progress(
                "project", done: p.position, total: p.head,
                detail: "position \(p.position)/\(p.head), \(Int(p.eventsPerSecond)) events/s")
        }
        do {
            try worker.lock(wait: false)
        } catch ProjectionError.locked {
            // A `stratos-ledger project` worker follows this database: let it do the work.
            console.say("• Projections: another worker follows this database; waiting for it to reach the head")
            let queries = try LedgerQueries(url: url, schemas: schema)
            while true {
                if let h = try? queries.health(), h.lag == 0, h.indexed { return }
                Thread.sleep(forTimeInterval: 0.5)
            }
        }
        defer { try? worker.unlock() }
        let start = ContinuousClock.now
        if let st = try worker.readState(), (try? st.requireCurrentLayout(schema: schema.serving)) == nil {
            // A demo database kept from an older release (or server): rebuild its projections
            // rather than refuse to go on.
            console.say(
                "• Projections: schema \(schema.serving) cannot be read as it is (table layout \(st.layout)"
                    + "\(st.textHashUnchanged ? "" : ", keys on a text hash this server computes differently")); rebuilding it")
            try worker.unlock()
            var rebuilder = try Rebuilder(url: url, schemas: schema)
            rebuilder.progress = { p in
                console.progress(
                    "rebuild", done: p.position, total: p.head,
                    detail: "position \(p.position)/\(p.head), \(Int(p.eventsPerSecond)) events/s")
            }
            let report = try rebuilder.run(rules: rules, diff: false)
            console.endProgress()
            console.say("• Rebuilt \(report.events) events in \(format(seconds: seconds(since: start))) s")
            return
        }
        let created = try worker.createIfMissing(rules: rules, checkpointEvery: ProjectionDefaults.checkpointEvery)
        let n = try worker.catchUp()
        try worker.ensureIndexed()
        console.endProgress()
        console.say(
            "• Projected \(n) events\(created ? " (new schema \(schema.serving))" : "") in "
                + "\(format(seconds: seconds(since: start))) s; lag \(try worker.lag())")
    }

    private func overview(_ s: EconomySnapshot, events: Int64) {
        var byKind: [NodeKind: [NodeStatus: Int]] = [:]
        for n in s.nodes.values { byKind[n.kind, default: [:]][n.status, default: 0] += 1 }
        func nodes(_ kind: NodeKind) -> String {
            let counts = byKind[kind] ?? [:]
            return NodeStatus.allCases.compactMap { st in counts[st].map { "\($0) \(st.rawValue)" } }.joined(separator: ", ")
        }
        console.say(
            """
            The network after \(s.lastClosedEpoch) epochs (\(events) events)
              accounts        \(s.accounts.count)
              resource nodes  \(nodes(.resource))
              meta nodes      \(nodes(.meta))
              Ozone limit l   \(formatDecimal(s.supply.l.rawValue, decimals: 9)) OZ left to sell
              STOS in s + p   \(formatDecimal(s.supply.s.rawValue, decimals: 18)) + \(formatDecimal(s.supply.p.rawValue, decimals: 18)) STOS
              mined           \(formatDecimal(s.supply.mined.rawValue, decimals: 18)) STOS

            """)
    }

    private func priceChart(_ queries: LedgerQueries, lastEpoch: Int64) throws {
        guard lastEpoch >= 1 else {
            console.say("No epoch closed: no Ozone price yet.\n")
            return
        }
        let points = try queries.ozoneSupply(epochs: 1...lastEpoch)
        let chart = PriceChart(points: points)
        let per = chart.bucketEpochs == chart.unitEpochs ? chart.unit : "\(chart.bucketEpochs / chart.unitEpochs) \(chart.unit)s"
        console.say("Ozone price (s + p) / l after each \(per), in wei per noz (1 OZ = 10^9 noz), exact to the thousandth:")
        console.say(chart.render(height: options.chartHeight))
        if let first = points.first, let last = points.last {
            func stosPerOZ(_ p: OzoneSupplyPoint) -> String {
                // wei per OZ = floor((s + p) × 10^9 / l), shown as STOS with 18 decimals.
                formatDecimal(PriceChart.scaled(p.priceNumeratorWei, p.priceDenominatorNoz, by: 1_000_000_000), decimals: 18)
            }
            console.say(
                "  epoch \(first.epoch): \(PriceChart.format(milli: PriceChart.milli(first.priceNumeratorWei, first.priceDenominatorNoz))) wei/noz"
                    + " = \(stosPerOZ(first)) STOS per OZ")
            console.say(
                "  epoch \(last.epoch): \(PriceChart.format(milli: PriceChart.milli(last.priceNumeratorWei, last.priceDenominatorNoz))) wei/noz"
                    + " = \(stosPerOZ(last)) STOS per OZ")
            console.say("  exact price now: \(last.priceNumeratorWei) / \(last.priceDenominatorNoz) wei per noz\n")
        }
    }

    struct NodeTotal {
        var node: NodeID
        var snapshot: NodeSnapshot
        var byRole: [RewardRole: UInt128]
        var total: UInt128
        /// The last epoch its resource (settled traffic) reward was earned in.
        var lastSettledEpoch: Int64?
        var lastRewardEpoch: Int64?
    }

    private func topNodes(_ queries: LedgerQueries, snapshot: EconomySnapshot, lastEpoch: Int64) throws -> [NodeTotal] {
        guard lastEpoch >= 1 else { return [] }
        // Ranked by the projections in one query (`GET /v1/nodes/top` serves the same), every
        // node that earned something, so the audit below can pick the best-paid settled one.
        let totals = try queries.topNodes(epochs: 1...lastEpoch, limit: max(1, snapshot.nodes.count)).compactMap { t -> NodeTotal? in
            guard let node = snapshot.nodes[t.node] else { return nil }
            return NodeTotal(
                node: t.node, snapshot: node, byRole: t.byRole.mapValues(\.amount.rawValue), total: t.total.rawValue,
                lastSettledEpoch: t.byRole[.resource]?.lastEpoch, lastRewardEpoch: t.lastEpoch)
        }
        let shown = totals.prefix(options.topNodes)
        console.say("Top \(shown.count) nodes by reward earned over epochs 1–\(lastEpoch) (STOS, vesting until mature):")
        let rows: [[String]] =
            [["#", "node", "kind", "status", "owner", "resource", "meta", "deposit", "total"]]
            + shown.enumerated().map { i, t in
                [
                    String(i + 1), t.node.rawValue, t.snapshot.kind.rawValue, t.snapshot.status.rawValue, t.snapshot.owner.rawValue,
                    stos(t.byRole[.resource] ?? 0), stos(t.byRole[.meta] ?? 0), stos(t.byRole[.deposit] ?? 0), stos(t.total),
                ]
            }
        console.say(table(rows, rightAligned: [0, 5, 6, 7, 8]) + "\n")
        return totals
    }

    /// The full audit of the best-paid node at the last epoch it was settled in.
    private func auditOne(_ nodes: [NodeTotal], model: ReadModel, connection: PostgresConnection) throws -> NodeAudit? {
        guard let pick = nodes.first(where: { $0.lastSettledEpoch != nil }) ?? nodes.first(where: { $0.lastRewardEpoch != nil }),
            let epoch = pick.lastSettledEpoch ?? pick.lastRewardEpoch
        else {
            console.say("No node earned a reward yet: nothing to audit.\n")
            return nil
        }
        let audit = try Auditor(connection: connection, readModel: model).auditNode(pick.node, epoch: epoch)
        console.say(
            "The full audit of node \(pick.node) for epoch \(epoch) — every wei derived from history "
                + "(`stratos-ledger audit node \(pick.node) --epoch \(epoch)`):\n")
        console.say(audit.text() + "\n")
        return audit
    }

    private func exportJournals(model: ReadModel, lastEpoch: Int64) throws -> [ExportFormat: String] {
        let from = options.exportDays > 0 ? max(1, lastEpoch - Int64(options.exportDays) * 144 + 1) : 1
        var written: [ExportFormat: String] = [:]
        var lines: [String] = []
        for format in ExportFormat.allCases {
            let path = (options.outputDirectory as NSString).appendingPathComponent("journal.\(format.rawValue)")
            guard FileManager.default.createFile(atPath: path, contents: nil),
                let handle = FileHandle(forWritingAtPath: path)
            else {
                throw DemoError(step: "export", message: "cannot create \(path)")
            }
            defer { try? handle.close() }
            let prepared = try PreparedExport.prepare(ExportRequest(format: format, from: from, to: lastEpoch), rules: rules, model: model)
            var bytes = 0
            try prepared.write(model: model) { chunk in
                let data = Data(chunk.utf8)
                bytes += data.count
                try handle.write(contentsOf: data)
            }
            written[format] = path
            lines.append("  \(format.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)) \(path) (\(bytes / 1024) KiB)")
        }
        var text = "The double-entry journal of epochs \(from)–\(lastEpoch), exported for accounting tools"
        text += " (`stratos-ledger export --format csv|ledger|beancount --from \(from)`):\n" + lines.joined(separator: "\n") + "\n"
        if from > 1 {
            text += "  (the last \(options.exportDays) day(s), opening with the balances after epoch \(from - 1); --export-days 0 exports it all)\n"
        }
        console.say(text)
        return written
    }

    private func nextSteps(url: String, database: DemoDatabase, audit: NodeAudit?) {
        let cli = options.commandName
        var text = "\nTry next (with DATABASE_URL=\(redacted(url))):\n"
        text += "  \(cli) snapshot                 (balances, nodes and supply now)\n"
        text += "  \(cli) audit epoch \(audit?.epoch ?? 1)   (the settlement report, recomputed and compared)\n"
        text += "  \(cli) serve   (the HTTP API, docs/SERVICE.md)\n"
        // The auditor's console (docs/CONSOLE.md), served by `serve` or by `demo --serve`.
        let consoleURL = "http://127.0.0.1:\(options.consolePort)/"
        text +=
            "The console: \(consoleURL)"
            + (audit.map { "  (the audited node: \(consoleURL)nodes/\($0.node)?epoch=\($0.epoch))" } ?? "") + "\n"
        text += "  served by \(cli) serve --port \(options.consolePort), or by \(cli) demo --serve\n"
        if case .dedicated = database {
            text +=
                "The private PostgreSQL cluster keeps running for the next run: "
                + "scripts/pg-cluster.sh stop stops it, scripts/pg-cluster.sh destroy deletes it.\n"
        }
        console.say(text)
    }
}

// MARK: Formatting

/// Whole STOS and 6 decimals, truncated (display only; the audit shows every wei).
private func stos(_ wei: UInt128) -> String {
    formatDecimal(wei / 1_000_000_000_000, decimals: 6)
}

private func table(_ rows: [[String]], rightAligned: Set<Int>) -> String {
    guard let width = rows.first?.count else { return "" }
    let widths = (0..<width).map { c in rows.map { $0[c].count }.max() ?? 0 }
    return rows.map { row in
        "  "
            + row.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                return rightAligned.contains(c) ? pad + cell : cell + pad
            }.joined(separator: "  ")
    }.joined(separator: "\n") + "\n"
}

/// The URL with its password (if any) replaced by `***`.
func redacted(_ url: String) -> String {
    guard let scheme = url.range(of: "://") else { return url }
    let rest = url[scheme.upperBound...]
    guard let at = rest.firstIndex(of: "@") else { return url }
    let userinfo = rest[..<at]
    guard let colon = userinfo.firstIndex(of: ":") else { return url }
    return String(url[..<colon]) + ":***" + String(rest[at...])
}

private func seconds(since start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    return d.inSeconds
}

/// Seconds with one decimal (durations are measurements, never money).
private func format(seconds: Double) -> String {
    let tenths = Int((seconds * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}
