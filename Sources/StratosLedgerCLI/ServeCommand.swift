import ArgumentParser
import Foundation
import PostgresClient
import StratosEconomics
import StratosProjections
import StratosReports
import StratosService

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the HTTP API (/v1): append events, query reports, audit, export.",
        discussion: """
            Writes need Authorization: Bearer <write token> (--write-token or $STRATOS_WRITE_TOKEN; \
            without one, writes are refused). Reads are open unless --read-token (or \
            $STRATOS_READ_TOKEN) is given. Every connection switches to --database-role \
            (default stratos_app, created by `migrate`: SELECT/INSERT on the event log only), so the \
            service cannot change or delete an event; the projection tables must be readable by it. \
            With --project the server also runs the projection worker, on its own connection with \
            the URL's role. The API is described in docs/openapi.yaml.
            """)

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0: any free port).") var port = 8080
    @Option(help: "Bearer token for writes (default: $STRATOS_WRITE_TOKEN).") var writeToken: String?
    @Option(help: "Bearer token for reads; reads are open without one (default: $STRATOS_READ_TOKEN).") var readToken: String?
    @Option(help: "Largest accepted request body in bytes (chunked bodies included).") var maxBodyBytes = 16 << 20
    @Option(help: "Role the service's connections switch to ('' keeps the URL's role).") var databaseRole = "stratos_app"
    @Option(help: "Rule set of the writer: a built-in name or a rule-set file.") var rules = RuleSet.paperV1.name
    @Option(help: "Projection schema to read.") var schema = "projection"
    @Option(help: "Connections in each read pool (the primary's and each standby's).") var readConnections = 8
    @Option(
        name: .customLong("read-database-url"),
        help: "A hot standby for reads, audits and exports (repeatable; multi-host URLs welcome). Appends and the worker stay on --database-url.")
    var readDatabaseURLs: [String] = []
    @Flag(help: "Also run the projection worker in this process.") var project = false
    @OptionGroup var timeouts: ServiceTimeoutOptions

    func run() async throws {
        let ruleSet = try resolveRules(rules)
        let url = try database.resolvedLogURL()
        let env = ProcessInfo.processInfo.environment
        let role = databaseRole.isEmpty ? nil : databaseRole
        let session = try timeouts.sessionSettings()
        let configuration = ServiceConfiguration(
            host: host, port: port,
            database: DatabaseConfiguration(url: url, role: role, readURLs: readDatabaseURLs, session: session),
            rules: ruleSet,
            writeToken: writeToken ?? env["STRATOS_WRITE_TOKEN"], readToken: readToken ?? env["STRATOS_READ_TOKEN"],
            maxBodyBytes: maxBodyBytes, readConnections: readConnections, schema: schema,
            appendLimits: Appender.Limits(maxQueuedRequests: timeouts.maxQueuedAppends, maxGroupEvents: timeouts.maxGroupEvents),
            poolCheckoutTimeout: try timeouts.seconds(timeouts.poolTimeout, "--pool-timeout"), maxLag: timeouts.maxLag,
            minPositionWait: try timeouts.seconds(timeouts.minPositionWait, "--min-position-wait"),
            shutdownGrace: try timeouts.seconds(timeouts.shutdownGrace, "--shutdown-grace"))
        if configuration.writeToken?.isEmpty ?? true {
            writeStderr("serve: no write token configured: POST /v1/events will be refused\n")
        }
        var worker: ProjectionSupervisor?
        if project {
            // The worker connects with the URL's own role (it owns the projection tables).
            var workerSession = ProjectionWorker.defaultSettings
            workerSession.connectTimeout = session.connectTimeout
            worker = ProjectionSupervisor(
                configuration: .init(
                    url: url, schema: schema, rules: ruleSet, settings: workerSession,
                    lockWait: try timeouts.seconds(timeouts.lockWait, "--lock-wait")),
                log: { writeStderr("serve: \($0)\n") })
        }
        let server = try StratosServer(
            configuration: configuration,
            readModels: try ProjectionReadModels(schemas: ProjectionSchemas(serving: schema)),
            worker: worker)
        try await server.run(gracefulShutdown: true) { port in
            writeStderr("serve: listening on http://\(configuration.host):\(port)\n")
        }
    }
}

/// The limits of `serve` (docs/OPERATIONS.md has the table and what each trades).
struct ServiceTimeoutOptions: ParsableArguments {
    @Option(help: "statement_timeout of the service's sessions, in seconds (exports: 1800).") var statementTimeout = 30.0
    @Option(help: "lock_timeout of the service's sessions (the log's head lock included), in seconds.") var lockTimeout = 5.0
    @Option(help: "idle_in_transaction_session_timeout of the service's sessions, in seconds.") var idleInTransactionTimeout = 60.0
    @Option(help: "connect_timeout of every connection attempt (per host), in seconds.") var connectTimeout = 5.0
    @Option(help: "How long a request waits for a pooled connection, in seconds.") var poolTimeout = 5.0
    @Option(help: "Append requests allowed to wait for the writer; beyond: 503 at once.") var maxQueuedAppends = 1024
    @Option(help: "Events one group commit takes at most.") var maxGroupEvents = 10_000
    @Option(help: "/health/ready is 503 while the projections lag more events than this.") var maxLag: Int64 = 10_000
    @Option(help: "How long ?minPosition=N waits for a database that has projected N, in seconds.") var minPositionWait = 2.0
    @Option(help: "On SIGTERM, how long in-flight requests may take to finish, in seconds.") var shutdownGrace = 10.0
    @Option(help: "How long the projection worker waits for its schema's lock per attempt, in seconds.") var lockWait = 30.0

    func seconds(_ value: Double, _ name: String) throws -> Duration {
        guard value.isFinite, value >= 0, value <= 86_400 else { throw CLIError("\(name) must be a number of seconds from 0 to 86400, got \(value)") }
        return .milliseconds(Int64((value * 1000).rounded()))
    }

    func sessionSettings() throws -> SessionSettings {
        guard maxQueuedAppends >= 1, maxGroupEvents >= 1, maxLag >= 0 else {
            throw CLIError("--max-queued-appends and --max-group-events must be at least 1, --max-lag at least 0")
        }
        var s = DatabaseConfiguration.defaultSession
        s.statementTimeout = try seconds(statementTimeout, "--statement-timeout")
        s.lockTimeout = try seconds(lockTimeout, "--lock-timeout")
        s.idleInTransactionTimeout = try seconds(idleInTransactionTimeout, "--idle-in-transaction-timeout")
        s.connectTimeout = try seconds(connectTimeout, "--connect-timeout")
        return s
    }
}
