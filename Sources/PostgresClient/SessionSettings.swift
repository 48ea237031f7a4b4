import Synchronization

/// What every connection of this project sets up when it connects: who it is, how long it may
/// wait, and how fast it notices a dead peer.
///
/// Why each one matters for a ledger that must keep telling the truth through faults:
/// * `applicationName` (`stratos-ledger/<role>`) names the session in `pg_stat_activity`, so an
///   operator can tell the appender from a projection worker or an orphaned backend.
/// * `connectTimeout` bounds each connection attempt (per host of a multi-host URL): a host that
///   does not answer must not hold a reconnect loop forever.
/// * TCP keepalives and `tcp_user_timeout` make a vanished server (a powered-off primary, a cut
///   cable) an error within seconds instead of a `recv` that never returns.
/// * `statementTimeout`, `lockTimeout` and `idleInTransactionTimeout` bound the server side: no
///   statement, lock wait (the log's head lock included) or forgotten transaction outlives them.
/// * `clientConnectionCheckInterval` (PostgreSQL 14+) makes a backend whose client died (kill -9)
///   notice it while it still runs a statement, and end, releasing its locks — the projection
///   worker's advisory lock among them — within that interval rather than when the statement ends.
/// * `role` switches the session to a role with fewer rights (`set_config('role', …)`).
///
/// Session settings travel in one `set_config` statement right after connecting; nil leaves the
/// server's (or the role's) own value.
public struct SessionSettings: Sendable, Hashable {
    public var applicationName: String
    public var connectTimeout: Duration
    public var statementTimeout: Duration?
    public var lockTimeout: Duration?
    public var idleInTransactionTimeout: Duration?
    public var clientConnectionCheckInterval: Duration?
    /// TCP keepalives (idle, interval, count) and `tcp_user_timeout`: a dead peer is detected
    /// after about idle + interval × count of silence.
    public var keepalivesIdle: Duration
    public var keepalivesInterval: Duration
    public var keepalivesCount: Int
    public var tcpUserTimeout: Duration
    public var role: String?

    public init(
        applicationName: String = SessionSettings.processApplicationName, connectTimeout: Duration = .seconds(5),
        statementTimeout: Duration? = nil, lockTimeout: Duration? = nil, idleInTransactionTimeout: Duration? = nil,
        clientConnectionCheckInterval: Duration? = nil, keepalivesIdle: Duration = .seconds(10),
        keepalivesInterval: Duration = .seconds(3), keepalivesCount: Int = 3, tcpUserTimeout: Duration = .seconds(20),
        role: String? = nil
    ) {
        self.applicationName = applicationName
        self.connectTimeout = connectTimeout
        self.statementTimeout = statementTimeout
        self.lockTimeout = lockTimeout
        self.idleInTransactionTimeout = idleInTransactionTimeout
        self.clientConnectionCheckInterval = clientConnectionCheckInterval
        self.keepalivesIdle = keepalivesIdle
        self.keepalivesInterval = keepalivesInterval
        self.keepalivesCount = keepalivesCount
        self.tcpUserTimeout = tcpUserTimeout
        self.role = role
    }

    /// The same settings under another `stratos-ledger/<role>` name.
    public func named(_ role: String) -> SessionSettings {
        var s = self
        s.applicationName = "stratos-ledger/\(role)"
        return s
    }

    /// The application name of connections that do not say otherwise: `stratos-ledger/<verb>`
    /// as set by the CLI at start (`stratos-ledger` before that).
    public static var processApplicationName: String {
        get { defaultName.withLock { $0 } }
        set { defaultName.withLock { $0 = newValue } }
    }
    private static let defaultName = Mutex("stratos-ledger")

    /// libpq connection keywords that a URL may override (they come before `dbname`).
    var connectionDefaults: [(String, String)] {
        [
            ("connect_timeout", String(max(1, connectTimeout.wholeSeconds))),
            ("keepalives", "1"),
            ("keepalives_idle", String(max(1, keepalivesIdle.wholeSeconds))),
            ("keepalives_interval", String(max(1, keepalivesInterval.wholeSeconds))),
            ("keepalives_count", String(max(1, keepalivesCount))),
            ("tcp_user_timeout", String(max(0, tcpUserTimeout.wholeMilliseconds))),
        ]
    }

    /// `(name, value)` pairs for `set_config` once connected. `client_connection_check_interval`
    /// only where the server has it (14+).
    func sessionParameters(serverVersion: Int) -> [(String, String)] {
        var out: [(String, String)] = []
        if let d = statementTimeout { out.append(("statement_timeout", String(d.wholeMilliseconds))) }
        if let d = lockTimeout { out.append(("lock_timeout", String(d.wholeMilliseconds))) }
        if let d = idleInTransactionTimeout { out.append(("idle_in_transaction_session_timeout", String(d.wholeMilliseconds))) }
        if let d = clientConnectionCheckInterval, serverVersion >= 140000 {
            out.append(("client_connection_check_interval", String(d.wholeMilliseconds)))
        }
        if let role, !role.isEmpty { out.append(("role", role)) }
        return out
    }
}

extension Duration {
    /// Whole milliseconds, rounded down (timeouts are given to PostgreSQL in ms).
    public var wholeMilliseconds: Int64 {
        let (s, atto) = components
        return s * 1000 + atto / 1_000_000_000_000_000
    }
    public var wholeSeconds: Int64 { components.seconds }
}
