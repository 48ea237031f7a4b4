import PostgresClient
import ServiceLifecycle
import StratosProjections
import Synchronization

/// Probes one database every second, on a connection of its own: is it reachable, where is the
/// log head, where are the projections, and how old is the oldest event they have not applied.
///
/// Why a background probe instead of a query per health request: a health check must answer at
/// once and truthfully also when PostgreSQL is down or hanging — not after a connect timeout, and
/// not by piling up connection attempts under a load balancer's polling. Health and metrics read
/// the latest probe and how old it is; a probe older than `staleAfter` counts as a failure.
public final class DatabaseMonitor: Service, Sendable {
    public struct Probe: Sendable {
        /// When the probe finished.
        public var at: ContinuousClock.Instant
        /// nil when the probe succeeded.
        public var error: String?
        public var head: Int64 = 0
        /// The projection's checkpoint position; nil when the schema is not built.
        public var projected: Int64?
        /// Seconds since the oldest event not yet projected was appended (0: none waits).
        public var lagSeconds: Double = 0

        public var reachable: Bool { error == nil }
        public var lagEvents: Int64? { projected.map { max(0, head - $0) } }
    }

    public let name: String
    public let url: String
    private let settings: SessionSettings
    private let schema: String
    private let sql: ProjectionSQL
    private let interval: Duration
    public let staleAfter: Duration
    private let latest = Mutex<Probe?>(nil)

    public init(
        name: String, url: String, settings: SessionSettings, schema: String, sql: ProjectionSQL,
        interval: Duration = .seconds(1), staleAfter: Duration = .seconds(3)
    ) {
        var s = settings
        s.connectTimeout = .seconds(2)
        s.statementTimeout = .seconds(2)
        self.name = name
        self.url = url
        self.settings = s
        self.schema = schema
        self.sql = sql
        self.interval = interval
        self.staleAfter = staleAfter
    }

    /// The latest probe, with a stale one turned into a failure; nil before the first.
    public var probe: Probe? {
        guard var p = latest.withLock({ $0 }) else { return nil }
        if p.error == nil, ContinuousClock.now - p.at > staleAfter {
            p.error = "no answer from PostgreSQL for \(Int((ContinuousClock.now - p.at).inSeconds)) s"
        }
        return p
    }

    /// Probes once now (the first probe, before the service answers its first request).
    public func probeNow() async {
        var connection: AsyncPostgresConnection?
        await probeOnce(&connection)
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await self.loop() }
    }

    private func loop() async {
        var connection: AsyncPostgresConnection?
        while !Task.isCancelled {
            await probeOnce(&connection)
            try? await Task.sleep(for: interval)
        }
    }

    private func probeOnce(_ connection: inout AsyncPostgresConnection?) async {
        do {
            if connection == nil { connection = try await AsyncPostgresConnection.connect(url: url, settings: settings) }
            let (schema, sql) = (self.schema, self.sql)
            let result = try await connection!.withConnection { c -> Probe in
                var p = Probe(at: .now)
                if try c.query(sql("schema.exists"), binding: schema).rowCount > 0 {
                    let r = try c.query(try sql.render("health.probe", on: c, ["schema": schema]))
                    p.head = try r.int64(0, 0)
                    p.projected = try r.int64(0, 1)
                    p.lagSeconds = r.optionalString(0, 2).flatMap(Double.init) ?? 0
                } else {
                    p.head = try c.query(sql("log.head")).int64(0, 0)
                }
                return p
            }
            latest.withLock { $0 = result }
        } catch {
            if let c = connection, !((try? await c.withConnection { $0.isOK }) ?? false) { connection = nil }
            let message = (error as? PostgresError)?.message ?? "\(error)"
            latest.withLock { p in
                var failed = p ?? Probe(at: .now)
                failed.at = .now
                failed.error = message
                p = failed
            }
        }
    }
}
