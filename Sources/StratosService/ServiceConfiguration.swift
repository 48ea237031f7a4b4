import StratosEconomics

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

    public init(
        host: String = "127.0.0.1", port: Int = 8080, database: DatabaseConfiguration, rules: RuleSet = .paperV1,
        writeToken: String? = nil, readToken: String? = nil, maxBodyBytes: Int = 16 << 20, readConnections: Int = 8,
        schema: String = "projection", appendLimits: Appender.Limits = Appender.Limits(),
        poolCheckoutTimeout: Duration = .seconds(5), maxLag: Int64 = 10_000, minPositionWait: Duration = .seconds(2),
        exportStatementTimeout: Duration = .seconds(1800), shutdownGrace: Duration = .seconds(10)
    ) {
        self.host = host
        self.port = port
        self.database = database
        self.rules = rules
        self.writeToken = writeToken
        self.readToken = readToken
        self.maxBodyBytes = maxBodyBytes
        self.readConnections = readConnections
        self.schema = schema
        self.appendLimits = appendLimits
        self.poolCheckoutTimeout = poolCheckoutTimeout
        self.maxLag = maxLag
        self.minPositionWait = minPositionWait
        self.exportStatementTimeout = exportStatementTimeout
        self.shutdownGrace = shutdownGrace
    }
}
