import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import LedgerEvents
import Logging
import NIOCore
import ServiceLifecycle
import PostgresClient
import StratosEconomics
import StratosProjections

/// How `stratos-ledger serve` runs.
public struct ServiceConfiguration: Sendable {
    public var host: String
    /// 0 picks a free port (tests); `StratosServer.run(onListening:)` reports it.
    public var port: Int
    public var database: DatabaseConfiguration
    public var rules: RuleSet
    /// `Authorization: Bearer <token>` required for writes. Without one, writes are refused.
    public var writeToken: String?
    /// When set, reads require it too (or the write token); `/health` and `/metrics` stay open.
    public var readToken: String?
    public var maxBodyBytes: Int
    /// Connections of each read pool (the primary's, and each standby's).
    public var readConnections: Int
    /// The projection schema the reads, health and `X-Stratos-Position` are about.
    public var schema: String
    public var appendLimits: Appender.Limits
    /// How long a request waits for a pooled connection before it gets 503.
    public var poolCheckoutTimeout: Duration
    /// `/health/ready` is 503 while the projections lag more events than this behind the log.
    public var maxLag: Int64
    /// How long a read with `?minPosition=N` waits for a database that has projected N.
    public var minPositionWait: Duration
    /// The statement timeout of a streamed journal or export (the service's other statements
    /// have `database.session.statementTimeout`).
    public var exportStatementTimeout: Duration
    /// On SIGTERM: how long in-flight requests may take to finish before they are cancelled.
    public var shutdownGrace: Duration

    public init(host: String = "127.0.0.1", port: Int = 8080, database: DatabaseConfiguration, rules: RuleSet = .paperV1,
                writeToken: String? = nil, readToken: String? = nil, maxBodyBytes: Int = 16 << 20, readConnections: Int = 8,
                schema: String = "projection", appendLimits: Appender.Limits = Appender.Limits(),
                poolCheckoutTimeout: Duration = .seconds(5), maxLag: Int64 = 10_000, minPositionWait: Duration = .seconds(2),
                exportStatementTimeout: Duration = .seconds(1800), shutdownGrace: Duration = .seconds(10)) {
        self.host = host; self.port = port; self.database = database; self.rules = rules
        self.writeToken = writeToken; self.readToken = readToken; self.maxBodyBytes = maxBodyBytes
        self.readConnections = readConnections; self.schema = schema; self.appendLimits = appendLimits
        self.poolCheckoutTimeout = poolCheckoutTimeout; self.maxLag = maxLag; self.minPositionWait = minPositionWait
        self.exportStatementTimeout = exportStatementTimeout; self.shutdownGrace = shutdownGrace
    }
}

/// The HTTP service (`/v1`, JSON, problem+json errors). Every verb calls the same library code
/// as the CLI: appends go through `LedgerWriter` (`Appender`), reads through the projections'
/// `LedgerReadModel`, audits through `Auditor`, exports through `JournalExporter`.
public final class StratosServer: Sendable {
    public let configuration: ServiceConfiguration
    public let metrics: ServiceMetrics
    let appender: Appender
    /// Reads go to a standby or the primary (`ReadRouter`).
    let router: ReadRouter
    /// Probes the primary for health and metrics; `standbyMonitors` each standby.
    let monitor: DatabaseMonitor
    let standbyMonitors: [DatabaseMonitor]
    /// The in-process projection worker of `serve --project`, if any.
    let worker: ProjectionSupervisor?
    let readModels: any ReadModelFactory
    let recomputations = RecomputationCache()
    let logger: Logger

    /// `worker`: the projection worker to run in this process (started and stopped with the
    /// server; its state is part of `/health`).
    public init(configuration: ServiceConfiguration, readModels: any ReadModelFactory,
                worker: ProjectionSupervisor? = nil) throws {
        self.configuration = configuration
        self.readModels = readModels
        self.worker = worker
        let metrics = ServiceMetrics()
        self.metrics = metrics
        var logger = Logger(label: "stratos-ledger")
        logger.logLevel = .notice
        self.logger = logger
        let database = configuration.database
        self.appender = Appender(database: database, rules: configuration.rules, metrics: metrics,
                                 limits: configuration.appendLimits, log: { [logger] in logger.notice("\($0)") },
                                 onWriterCheckpoint: { [logger] outcome in
            switch outcome {
            case .written: logger.notice("\(outcome)")
            case .failed: logger.error("\(outcome)")
            }
        })
        let sql = try ProjectionSQL.load()
        func pool(_ url: String, _ name: String) -> ConnectionPool {
            ConnectionPool(url: url, settings: database.settings(name), maximum: configuration.readConnections,
                           checkoutTimeout: configuration.poolCheckoutTimeout)
        }
        self.router = ReadRouter(primary: pool(database.url, "reader"),
                                 standbys: database.readURLs.map { pool($0, "standby-reader") },
                                 schema: configuration.schema, sql: sql, minPositionWait: configuration.minPositionWait)
        self.monitor = DatabaseMonitor(name: "primary", url: database.url, settings: database.settings("monitor"),
                                       schema: configuration.schema, sql: sql)
        self.standbyMonitors = database.readURLs.enumerated().map { i, url in
            DatabaseMonitor(name: "standby \(i + 1)", url: url, settings: database.settings("standby-monitor"),
                            schema: configuration.schema, sql: sql)
        }
    }

    /// Runs until cancelled (or SIGINT/SIGTERM with `gracefulShutdown`). `onListening` gets the
    /// bound port once the server accepts connections.
    ///
    /// On SIGTERM/SIGINT: the server stops accepting connections, in-flight requests have
    /// `shutdownGrace` to finish (an append still queued is appended and answered; a new one is
    /// refused), then what is left is cancelled (cancel requests reach PostgreSQL), the worker's
    /// transaction is rolled back, and the process ends. A watchdog ends it regardless
    /// `shutdownGrace` + 5 s after the signal, whatever hangs.
    public func run(gracefulShutdown: Bool = false, onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let started = ContinuousClock.now
        do {
            let rulesState = try await appender.prepare()
            let from = rulesState.restoredFrom > 0 ? "the writer checkpoint at \(rulesState.restoredFrom)" : "Genesis"
            let milliseconds = Int((ContinuousClock.now - started) / .milliseconds(1))
            logger.notice("rules state at log position \(rulesState.position) in \(milliseconds) ms: from \(from), \(rulesState.position - rulesState.restoredFrom) events replayed")
        } catch let error where Self.isUnreachable(error) {
            // A service that starts before its database must not exit: it answers /health/live,
            // says `down` on /health, and opens the writer on the first append once PostgreSQL answers.
            logger.error("PostgreSQL cannot be reached at start (\(error)); appends are refused until it answers")
        }
        await monitor.probeNow()
        var services: [any Service] = [monitor] + standbyMonitors
        if let worker { services.append(WorkerService(supervisor: worker)) }
        let app = Application(
            router: buildRouter(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "stratos-ledger"),
            services: services,
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
        guard gracefulShutdown else {
            try await app.run()
            return
        }
        // The group shuts its services down last to first: the watch (which arms the watchdog
        // and refuses new appends) at once, then the application (HTTP drain, then the worker).
        let watch = ShutdownWatch(appender: appender, grace: configuration.shutdownGrace, logger: logger)
        var group = ServiceGroupConfiguration(services: [.init(service: app), .init(service: watch)],
                                              gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = configuration.shutdownGrace
        group.maximumCancellationDuration = .seconds(3)
        try await ServiceGroup(configuration: group).run()
    }

    // MARK: Routes

    func buildRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        // Middlewares first: they wrap the routes added after them (and the not-found responder).
        router.add(middleware: ProblemMiddleware(metrics: metrics))
        var routes = RouteTable(router: router)
        routes.get("/health") { _, _ in self.healthResponse(self.health()) }
        routes.get("/health/live") { _, _ in Reply.json(.object(["status": .string("live")])).response() }
        routes.get("/health/ready") { _, _ in self.readyResponse() }
        routes.get("/metrics") { _, _ in self.metricsResponse() }
        routes.post("/v1/events") { request, context in
            try self.authorize(request, write: true)
            return try await self.appendEvents(request)
        }
        routes.get("/v1/snapshot") { request, context in
            try self.authorize(request, write: false)
            return try await self.snapshot(request)
        }
        routes.get("/v1/epochs/:epoch/settlement") { request, context in
            try self.authorize(request, write: false)
            let epoch = try Self.epochParameter(context, "epoch")
            return try await self.read(request) { model in
                if let report = try model.settlement(epoch: epoch) { return .raw(report.json()) }
                throw try Self.epochProblem(epoch, model)
            }
        }
        routes.get("/v1/accounts/:id") { request, context in
            try self.authorize(request, write: false)
            let id = try Self.identifier(context, "id", AccountID.init)
            return try await self.read(request) { model in
                guard let v = try model.account(id) else { throw Problem.notFound("Account", "account \(id) has never been seen") }
                return .json(v)
            }
        }
        routes.get("/v1/accounts/:id/vesting") { request, context in
            try self.authorize(request, write: false)
            let id = try Self.identifier(context, "id", AccountID.init)
            return try await self.read(request) { model in
                guard let v = try model.vesting(id) else { throw Problem.notFound("Account", "account \(id) has never been seen") }
                return .json(v)
            }
        }
        routes.get("/v1/nodes/:id/rewards") { request, context in
            try self.authorize(request, write: false)
            let id = try Self.identifier(context, "id", NodeID.init)
            let range = try Self.epochRange(request)
            return try await self.read(request) { model in
                guard let v = try model.nodeRewards(id, epochs: range) else { throw Problem.notFound("Node", "node \(id) has never been seen") }
                return .json(v)
            }
        }
        routes.get("/v1/nodes/top") { request, context in
            try self.authorize(request, write: false)
            let range = try Self.epochRange(request)
            let limit = try request.uri.queryParameters.get("limit").map { text in
                guard let v = Int(text), (1...Self.topNodesLimit).contains(v) else {
                    throw Problem.badParameter("limit", "limit must be an integer from 1 to \(Self.topNodesLimit), got \"\(text)\"")
                }
                return v
            } ?? 10
            return try await self.read(request) { model in .json(try model.topNodes(epochs: range, limit: limit)) }
        }
        routes.get("/v1/ozone") { request, context in
            try self.authorize(request, write: false)
            let range = try Self.epochRange(request)
            return try await self.read(request) { model in .json(try model.ozoneSeries(epochs: range)) }
        }
        routes.get("/v1/stake/:id") { request, context in
            try self.authorize(request, write: false)
            guard let raw = context.parameters.get("id").flatMap({ $0.removingPercentEncoding }), isValidIdentifier(raw) else {
                throw Problem.badParameter("id", "the validator or delegator id must be 1–128 printable ASCII characters without spaces")
            }
            return try await self.read(request) { model in
                guard let v = try model.stake(raw) else { throw Problem.notFound("Validator or delegator", "\(raw) is neither a validator nor a delegator") }
                return .json(v)
            }
        }
        routes.get("/v1/journal") { request, context in
            try self.authorize(request, write: false)
            return try await self.journal(request)
        }
        routes.get("/v1/export") { request, context in
            try self.authorize(request, write: false)
            return try await self.export(request)
        }
        routes.get("/v1/audit/nodes/:id") { request, context in
            try self.authorize(request, write: false)
            let id = try Self.identifier(context, "id", NodeID.init)
            guard let text = request.uri.queryParameters.get("epoch") else {
                throw Problem.badParameter("epoch", "the audit of a node needs ?epoch=N")
            }
            let epoch = try Self.epochValue(text, "epoch")
            return try await self.audit(request) { auditor in .json(try auditor.auditNode(id, epoch: epoch).json()) }
        }
        routes.get("/v1/audit/epochs/:epoch") { request, context in
            try self.authorize(request, write: false)
            let epoch = try Self.epochParameter(context, "epoch")
            return try await self.audit(request) { auditor in
                let r = try auditor.recompute(epoch: epoch)
                return .json(Self.epochAuditJSON(r))
            }
        }
        routes.refuseOtherMethods()
        return router
    }

    static func isUnreachable(_ error: any Error) -> Bool {
        if let e = error as? PostgresError { return e.isConnectionLoss }
        if case .database(let e)? = error as? AppendError { return e.isConnectionLoss }
        return false
    }

    /// The machine form of `audit epoch`: the recomputed report and the check.
    public static func epochAuditJSON(_ r: EpochRecomputation) -> JSONValue {
        let report = (try? JSONValue.parse(r.report.json())) ?? .null
        return .object([
            "epoch": .number(String(r.epoch)),
            "settlement": report,
            "matchesProjection": r.matchesProjection.map { .bool($0) } ?? .null,
            "replayedFrom": .object(["epoch": .number(String(r.replayedFrom.epoch)), "position": .number(String(r.replayedFrom.position))]),
            "replayedEvents": .number(String(r.replayedEvents)),
            "closePosition": .number(String(r.closeEvent.position)),
        ])
    }

    // MARK: Handlers

    private func appendEvents(_ request: Request) async throws -> Response {
        var request = request
        let contentType = request.headers[.contentType]
        let mediaType = contentType?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        let format: EventBatch.Format
        switch mediaType {
        case "application/json": format = .jsonArray
        case "application/x-ndjson", "application/jsonl", "application/jsonlines": format = .jsonLines
        default: throw Problem.unsupportedMediaType(contentType)
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > configuration.maxBodyBytes {
            throw Problem.tooLarge(limit: configuration.maxBodyBytes)
        }
        let buffer: ByteBuffer
        do { buffer = try await request.collectBody(upTo: configuration.maxBodyBytes) } catch let e as HTTPError where e.status == .contentTooLarge {
            throw Problem.tooLarge(limit: configuration.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            // A chunked body has no Content-Length to refuse up front: it is refused here, once
            // it has grown past the limit.
            throw Problem.tooLarge(limit: configuration.maxBodyBytes)
        }
        let batch = try EventBatch.parse(Array(buffer.readableBytesView), format: format)
        let outcome: AppendOutcome
        do {
            outcome = try await appender.append(batch, metadata: AppendMetadata(appendedBy: "stratos-ledger serve"))
        } catch {
            metrics.recordRefusedBatch()
            throw error
        }
        metrics.recordAppend(appended: outcome.appended, duplicates: outcome.duplicates)
        return Reply.json(outcome.json).response(status: outcome.appended > 0 ? .created : .ok)
    }

    private func snapshot(_ request: Request) async throws -> Response {
        let q = request.uri.queryParameters
        let point: SnapshotAt
        switch (q.get("epoch"), q.get("position")) {
        case (nil, nil): point = .now
        case (let e?, nil): point = .epoch(try Self.epochValue(e, "epoch"))
        case (nil, let p?):
            guard let v = Int64(p), v >= 0 else { throw Problem.badParameter("position", "position must be an integer ≥ 0, got \"\(p)\"") }
            point = .position(v)
        default: throw Problem.badParameter("epoch", "give either ?epoch= or ?position=, not both")
        }
        return try await read(request) { model in
            if let s = try model.snapshot(point) { return .raw(s.json()) }
            switch point {
            case .epoch(let e): throw try Self.epochProblem(e, model)
            case .position(let p):
                let head = try model.snapshot(.now)?.position ?? 0
                throw Problem.notFound("Position", "position \(p) is beyond the projected log (at position \(head))")
            case .now: throw Problem.notFound("Snapshot", "the log is empty: append Genesis first")
            }
        }
    }

    private func journal(_ request: Request) async throws -> Response {
        let range = try Self.epochRange(request)
        let owner = try request.uri.queryParameters.get("account").map { try Self.identifierValue($0, "account", AccountID.init) }
        let models = readModels
        if let owner {
            _ = try await read(request) { model in
                guard try model.account(owner) != nil else { throw Problem.notFound("Account", "account \(owner) has never been seen") }
                return .raw("")
            }
        }
        return try await streamed(request, contentType: "application/x-ndjson") { c, emit in
            var buffer = ""
            try models.readModel(on: c).journal(epochs: range) { t in
                if let owner, !t.postings.contains(where: { $0.owner == owner.rawValue }) { return }
                buffer += Self.journalLine(t) + "\n"
                if buffer.utf8.count >= PreparedExport.chunkBytes {
                    try emit(buffer)
                    buffer = ""
                }
            }
            if !buffer.isEmpty { try emit(buffer) }
        }
    }

    /// A chunked response whose body `produce` writes in a read snapshot (see `ChunkHandoff`);
    /// `X-Stratos-Position` is the snapshot's position.
    private func streamed(_ request: Request, contentType: String, headers extra: HTTPFields = [:],
                          _ produce: @escaping @Sendable (PostgresConnection, (String) throws -> Void) throws -> Void) async throws -> Response {
        let (chunks, handoff, position) = try await ChunkHandoff.stream(
            router: router, minPosition: try Self.minPosition(request),
            statementTimeout: configuration.exportStatementTimeout, produce)
        let body = ResponseBody { writer in
            for try await chunk in chunks {
                try await writer.write(ByteBuffer(string: chunk))
                handoff.acknowledge()
            }
            try await writer.finish(nil)
        }
        var headers = extra
        headers[.contentType] = contentType
        headers[Self.positionHeader] = String(position)
        return Response(status: .ok, headers: headers, body: body)
    }

    /// The log position a read reflects (`ReadRouter`).
    static let positionHeader = HTTPField.Name("X-Stratos-Position")!

    /// `?minPosition=N`: read from a database that has projected at least N.
    static func minPosition(_ request: Request) throws -> Int64? {
        guard let text = request.uri.queryParameters.get("minPosition") else { return nil }
        guard let v = Int64(text), v >= 0 else {
            throw Problem.badParameter("minPosition", "minPosition must be a log position ≥ 0, got \"\(text)\"")
        }
        return v
    }

    static func journalLine(_ t: JournalRecord) -> String {
        JSONValue.object([
            "position": .number(String(t.position)), "id": .string(t.eventID), "type": .string(t.type),
            "time": .string(t.time.rfc3339), "epoch": .number(String(t.epoch)),
            "postings": .array(t.postings.map { p in
                .object(["account": .string(p.account), "owner": p.owner.map { .string($0) } ?? .null,
                         "commodity": .string(p.commodity.rawValue),
                         "amount": .string((p.negative ? "-" : "") + String(p.amount)), "reason": .string(p.reason)])
            }),
        ]).canonicalText
    }

    private func export(_ request: Request) async throws -> Response {
        let q = request.uri.queryParameters
        guard let f = q.get("format") else { throw Problem.badParameter("format", "give ?format=csv, ledger or beancount") }
        guard let format = ExportFormat(rawValue: f) else {
            throw Problem.badParameter("format", "unknown export format \"\(f)\": use csv, ledger or beancount")
        }
        let range = try Self.epochRange(request)
        let owner = try q.get("account").map { try Self.identifierValue($0, "account", AccountID.init) }
        let exportRequest = ExportRequest(format: format, from: range.lowerBound, to: range.upperBound, account: owner)
        let models = readModels
        let rules = configuration.rules
        // Everything that can be refused is checked before the first byte is sent.
        let minPosition = try Self.minPosition(request)
        let prepared = try await router.read(minPosition: minPosition) { c in
            try PreparedExport.prepare(exportRequest, rules: rules, model: try models.readModel(on: c))
        }.value
        let name = "stratos-journal.\(format == .csv ? "csv" : format == .ledger ? "journal" : "beancount")"
        return try await streamed(request, contentType: format.contentType,
                                  headers: [.contentDisposition: "attachment; filename=\"\(name)\""]) { c, emit in
            try prepared.write(model: try models.readModel(on: c), emit)
        }
    }

    // MARK: Plumbing

    /// A reply built on a pooled connection.
    enum Reply: Sendable {
        case json(JSONValue)
        /// Already-serialised JSON.
        case raw(String)

        func response(status: HTTPResponse.Status = .ok, position: Int64? = nil) -> Response {
            let text: String
            switch self {
            case .json(let v): text = v.canonicalText
            case .raw(let s): text = s
            }
            var headers: HTTPFields = [.contentType: "application/json"]
            if let position { headers[StratosServer.positionHeader] = String(position) }
            return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
    }

    private func read(_ request: Request, _ body: @escaping @Sendable (any LedgerReadModel) throws -> Reply) async throws -> Response {
        let models = readModels
        let r = try await router.read(minPosition: try Self.minPosition(request)) { c in try body(try models.readModel(on: c)) }
        return r.value.response(position: r.position)
    }

    private func audit(_ request: Request, _ body: @escaping @Sendable (Auditor) throws -> Reply) async throws -> Response {
        let models = readModels
        let cache = recomputations
        do {
            let r = try await router.read(minPosition: try Self.minPosition(request)) { c in
                try body(Auditor(connection: c, readModel: try models.readModel(on: c), cache: cache))
            }
            return r.value.response(position: r.position)
        } catch let e as AuditError {
            switch e {
            case .epochNotClosed(let epoch, let last): throw Problem.epochNotClosed(epoch, lastClosed: last)
            case .unknownNode(let n): throw Problem.notFound("Node", "node \(n) has never been seen")
            case .corruptLog: throw Problem("corrupt-log", status: 500, title: "The event log cannot be replayed", detail: e.description)
            }
        }
    }

    private func authorize(_ request: Request, write: Bool) throws {
        let presented: String? = request.headers[.authorization].flatMap { value in
            let parts = value.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
            return String(parts[1]).trimmingCharacters(in: .whitespaces)
        }
        if write {
            guard let token = configuration.writeToken, !token.isEmpty else {
                throw Problem("writes-disabled", status: 403, title: "Writes are disabled",
                              detail: "this server was started without a write token (--write-token or STRATOS_WRITE_TOKEN)")
            }
            guard let presented else { throw Problem.unauthorized("appending events needs Authorization: Bearer <write token>") }
            guard constantTimeEqual(presented, token) else { throw Problem.unauthorized("the bearer token is not the write token") }
        } else if let token = configuration.readToken, !token.isEmpty {
            guard let presented else { throw Problem.unauthorized("reads need Authorization: Bearer <read token>") }
            let ok = constantTimeEqual(presented, token)
                || (configuration.writeToken.map { !$0.isEmpty && constantTimeEqual(presented, $0) } ?? false)
            guard ok else { throw Problem.unauthorized("the bearer token is not a read token") }
        }
    }

    /// The most nodes `GET /v1/nodes/top` lists at once.
    static let topNodesLimit = 1000

    static func epochProblem(_ epoch: Int64, _ model: any LedgerReadModel) throws -> Problem {
        let last = try model.snapshot(.now)?.lastClosedEpoch ?? 0
        return epoch > last ? Problem.epochNotClosed(epoch, lastClosed: last)
                            : Problem.notFound("Epoch", "epoch \(epoch) is not in the projections yet")
    }

    static func epochValue(_ text: String, _ name: String) throws -> Int64 {
        guard let v = Int64(text), v >= 1 else { throw Problem.badParameter(name, "\(name) must be an epoch number ≥ 1, got \"\(text)\"") }
        return v
    }

    static func epochParameter(_ context: BasicRequestContext, _ name: String) throws -> Int64 {
        try epochValue(context.parameters.get(name) ?? "", name)
    }

    /// `?from=&to=` as a closed epoch range (defaults: 1 and the latest).
    static func epochRange(_ request: Request) throws -> ClosedRange<Int64> {
        let q = request.uri.queryParameters
        let from = try q.get("from").map { try epochValue($0, "from") } ?? 1
        let to = try q.get("to").map { try epochValue($0, "to") } ?? Int64.max
        guard from <= to else { throw Problem.badParameter("to", "the range is empty: from = \(from) is after to = \(to)") }
        return from...to
    }

    static func identifierValue<T>(_ raw: String, _ name: String, _ make: (String) -> T?) throws -> T {
        guard let decoded = raw.removingPercentEncoding, let v = make(decoded) else {
            throw Problem.badParameter(name, "\(name) must be 1–128 printable ASCII characters without spaces, got \"\(raw)\"")
        }
        return v
    }

    static func identifier<T>(_ context: BasicRequestContext, _ name: String, _ make: (String) -> T?) throws -> T {
        try identifierValue(context.parameters.get(name) ?? "", name, make)
    }
}

/// Compares two secrets in time that depends only on their lengths, not on where they differ.
public func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    var diff = UInt8(x.count == y.count ? 0 : 1)
    for i in 0..<max(x.count, y.count) {
        diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
    }
    return diff == 0
}

/// Registers the routes and remembers each path's methods, so that a known path asked with
/// another method is answered 405 with `Allow` (RFC 9110 15.5.6) instead of Hummingbird's 404,
/// which cannot tell "no such path" from "not with this method". Unknown paths stay 404.
struct RouteTable {
    typealias Handler = @Sendable (Request, BasicRequestContext) async throws -> Response
    let router: Router<BasicRequestContext>
    /// Path → its methods, in registration order.
    private var methods: [(path: String, methods: [HTTPRequest.Method])] = []

    /// The methods a client may try on any path; the others are unknown methods (404).
    static let standardMethods: [HTTPRequest.Method] = [.get, .head, .post, .put, .patch, .delete, .options]

    init(router: Router<BasicRequestContext>) { self.router = router }

    mutating func get(_ path: String, _ handler: @escaping Handler) { add(.get, path, handler) }
    mutating func post(_ path: String, _ handler: @escaping Handler) { add(.post, path, handler) }

    private mutating func add(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping Handler) {
        router.on(RouterPath(path), method: method, use: handler)
        if let i = methods.firstIndex(where: { $0.path == path }) { methods[i].methods.append(method) } else {
            methods.append((path, [method]))
        }
    }

    /// Adds, on every registered path, a 405 responder for each standard method it lacks.
    func refuseOtherMethods() {
        for (path, allowed) in methods {
            let allow = allowed.map(\.rawValue).joined(separator: ", ")
            for method in Self.standardMethods where !allowed.contains(method) {
                router.on(RouterPath(path), method: method) { request, _ -> Response in
                    throw Problem.methodNotAllowed(request.method.rawValue, request.uri.path, allow: allow)
                }
            }
        }
    }
}

/// Turns every error into problem+json and records each request's latency.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let metrics: ServiceMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response: Response
        do {
            response = try await next(request, context)
        } catch let problem as Problem {
            // 503s are logged where the outage is seen (appender, worker, probes), once per
            // outage; one line per refused request would bury them under a busy client's retries.
            if problem.status >= 500 && problem.status != 503 { context.logger.error("\(request.method) \(request.uri.path): \(problem)") }
            response = Self.response(problem)
        } catch let error as PoolError {
            let retry: Int
            switch error {
            case .exhausted: retry = 1
            case .unreachable(_, let after): retry = Appender.seconds(after)
            }
            response = Self.response(.unavailable("\(error)", retryAfterSeconds: retry))
        } catch let error as PostgresError where error.isTransient {
            context.logger.notice("\(request.method) \(request.uri.path): \(error)")
            let detail = error.isQueryCanceled
                ? "the query took longer than the service allows (statement timeout); narrow the request"
                : "PostgreSQL cannot answer now: \(error.message)"
            response = Self.response(.unavailable(detail, retryAfterSeconds: 1))
        } catch let error as HTTPError {
            let problem: Problem
            switch error.status.code {
            case 404: problem = .noRoute(request.method.rawValue, request.uri.path)
            case 413: problem = Problem("body-too-large", status: 413, title: "Request body too large", detail: error.body ?? "the request body is too large")
            default: problem = Problem("http", status: error.status.code, title: error.status.reasonPhrase, detail: error.body ?? error.status.reasonPhrase)
            }
            response = Self.response(problem)
        } catch {
            context.logger.error("\(request.method) \(request.uri.path) failed: \(String(reflecting: error))")
            response = Self.response(.internalError(requestID: context.id))
        }
        let d = ContinuousClock.now - start
        let seconds = d.inSeconds
        metrics.recordRequest(route: context.endpointPath ?? "unmatched", method: request.method.rawValue,
                              status: response.status.code, seconds: seconds)
        return response
    }

    static func response(_ problem: Problem) -> Response {
        var headers: HTTPFields = [.contentType: Problem.contentType]
        if let allow = problem.allow { headers[.allow] = allow }
        if let seconds = problem.retryAfterSeconds { headers[.retryAfter] = String(seconds) }
        return Response(status: .init(code: problem.status), headers: headers,
                        body: ResponseBody(byteBuffer: ByteBuffer(string: problem.json.canonicalText)))
    }
}
