import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import LedgerEvents
import Logging
import NIOCore
import PostgresClient
import ServiceLifecycle
import StratosEconomics
import StratosProjections
import StratosReports

/// The HTTP service (`/v1`, JSON, problem+json errors). Every verb calls the same library code
/// as the CLI: appends go through `LedgerWriter` (`Appender`), reads through the projections'
/// `ReadModel` (StratosReports), audits through `Auditor`, exports through `JournalExporter`.
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
    let readModels: ProjectionReadModels
    let recomputations = RecomputationCache()
    let logger: Logger

    /// `worker`: the projection worker to run in this process (started and stopped with the
    /// server; its state is part of `/health`).
    public init(
        configuration: ServiceConfiguration, readModels: ProjectionReadModels,
        worker: ProjectionSupervisor? = nil
    ) throws {
        self.configuration = configuration
        self.readModels = readModels
        self.worker = worker
        let metrics = ServiceMetrics()
        self.metrics = metrics
        let standard = Logger(label: "stratos-ledger").handler
        var logger = Logger(label: "stratos-ledger") { _ in DeferredMetadataLogHandler(standard) }
        logger.logLevel = .notice
        self.logger = logger
        let database = configuration.database
        self.appender = Appender(
            database: database, rules: configuration.rules, metrics: metrics,
            limits: configuration.appendLimits, log: { [logger] in logger.notice("\($0)") },
            onWriterCheckpoint: { [logger] outcome in
                switch outcome {
                case .written: logger.notice("\(outcome)")
                case .failed: logger.error("\(outcome)")
                }
            })
        let sql = try ProjectionSQL.load()
        func pool(_ url: String, _ name: String) -> ConnectionPool {
            ConnectionPool(
                url: url, settings: database.settings(name), maximum: configuration.readConnections,
                checkoutTimeout: configuration.poolCheckoutTimeout)
        }
        self.router = ReadRouter(
            primary: pool(database.url, "reader"),
            standbys: database.readURLs.map { pool($0, "standby-reader") },
            schema: configuration.schema, sql: sql, minPositionWait: configuration.minPositionWait)
        self.monitor = DatabaseMonitor(
            name: "primary", url: database.url, settings: database.settings("monitor"),
            schema: configuration.schema, sql: sql)
        self.standbyMonitors = database.readURLs.enumerated().map { i, url in
            DatabaseMonitor(
                name: "standby \(i + 1)", url: url, settings: database.settings("standby-monitor"),
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
            logger.notice(
                "rules state at log position \(rulesState.position) in \(milliseconds) ms: from \(from), \(rulesState.position - rulesState.restoredFrom) events replayed"
            )
        } catch let error where Self.isUnreachable(error) {
            // A service that starts before its database must not exit: it answers /health/live,
            // says `down` on /health, and opens the writer on the first append once PostgreSQL answers.
            logger.error("PostgreSQL cannot be reached at start (\(error)); appends are refused until it answers")
        }
        await monitor.probeNow()
        var services: [any Service] = [monitor] + standbyMonitors
        if let worker { services.append(WorkerService(supervisor: worker)) }
        let endpoint = AppendEndpoint(
            appender: appender, metrics: metrics,
            auth: BearerAuthMiddleware(access: .write, tokens: tokens), maxBodyBytes: configuration.maxBodyBytes, logger: logger)
        let app = Application(
            router: buildRouter(),
            server: HTTPServerBuilder { responder in AppendingHTTP1Channel(base: HTTP1Channel(responder: responder), endpoint: endpoint) },
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
        var group = ServiceGroupConfiguration(
            services: [.init(service: app), .init(service: watch)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = configuration.shutdownGrace
        group.maximumCancellationDuration = .seconds(3)
        try await ServiceGroup(configuration: group).run()
    }

    // MARK: Routes

    /// The routes, by area, each area a group with the middleware it needs: health and metrics
    /// open; appends behind the write token; reads, audits and exports behind the read token
    /// (when one is configured). The problem middleware wraps them all, the not-found responder
    /// included.
    var tokens: BearerAuthMiddleware.Tokens { .init(write: configuration.writeToken, read: configuration.readToken) }

    func buildRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ProblemMiddleware(metrics: metrics))
        let routes = RouteTable(router: router)
        addHealthRoutes(routes.group(""))
        addEventRoutes(routes.group("/v1", middleware: BearerAuthMiddleware(access: .write, tokens: tokens)))
        let reads = routes.group("/v1", middleware: BearerAuthMiddleware(access: .read, tokens: tokens))
        addReadRoutes(reads)
        addAuditRoutes(reads)
        addExportRoutes(reads)
        addBuildRoutes(reads)
        addConsoleRoutes(routes.group("", middleware: ConsoleMiddleware(auth: BearerAuthMiddleware(access: .read, tokens: tokens))))
        routes.refuseOtherMethods()
        return router
    }

    func addHealthRoutes(_ routes: RouteGroup) {
        routes.get("/health") { _, _ in self.healthResponse(self.health()) }
        routes.get("/health/live") { _, _ in Reply.json(.object(["status": .string("live")])).response() }
        routes.get("/health/ready") { _, _ in self.readyResponse() }
        routes.get("/metrics") { _, _ in self.metricsResponse() }
    }

    static func isUnreachable(_ error: any Error) -> Bool {
        if let e = error as? PostgresError { return e.isConnectionLoss }
        if case .database(let e)? = error as? AppendError { return e.isConnectionLoss }
        return false
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

    func read(_ request: Request, _ body: @escaping @Sendable (ReadModel) throws -> Reply) async throws -> Response {
        let models = readModels
        let r = try await router.read(minPosition: try Self.minPosition(request), build: try Self.build(request)) { c, schema in
            try body(try models.readModel(on: c, schema: schema))
        }
        return r.value.response(position: r.position)
    }

    func audit(_ request: Request, _ body: @escaping @Sendable (Auditor) throws -> Reply) async throws -> Response {
        let models = readModels
        let build = try Self.build(request)
        // A recomputation runs under its build's rules: only the serving build's are cached.
        let cache = build == nil ? recomputations : nil
        do {
            let r = try await router.read(minPosition: try Self.minPosition(request), build: build) { c, schema in
                try body(Auditor(connection: c, readModel: try models.readModel(on: c, schema: schema), cache: cache))
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

    /// `X-Stratos-Position` is the snapshot's position.
    func streamed(
        _ request: Request, contentType: String, headers extra: HTTPFields = [:],
        _ produce: @escaping @Sendable (PostgresConnection, (String) throws -> Void) throws -> Void
    ) async throws -> Response {
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
}
