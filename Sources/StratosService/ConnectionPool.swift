import PostgresClient

/// How the service reaches PostgreSQL.
///
/// The service must not be able to change the event log. The store's migration creates the role
/// `stratos_app` with only SELECT/INSERT on `event_log` (and SELECT/UPDATE of the head row); the
/// service switches every connection to it right after connecting (`set_config('role', …)`, the
/// parameterised form of `SET ROLE`), so even a bug in the service cannot UPDATE or DELETE an
/// event. In production, prefer a login role that is a member of `stratos_app` and defaults to
/// it (`CREATE ROLE stratos_service LOGIN IN ROLE stratos_app; ALTER ROLE stratos_service SET
/// role = 'stratos_app'`) and give the service that URL: then the switch cannot be undone by
/// the session. `role: nil` keeps the URL's own role (tools and tests that own the database).
///
/// `url` is the primary: appends and the projection worker use it. A libpq multi-host URL
/// (`postgresql://h1:p1,h2:p2/db?target_session_attrs=read-write`) makes every reconnect find
/// whichever host is primary now. `readURLs` are hot standbys for reads (docs/OPERATIONS.md).
public struct DatabaseConfiguration: Sendable {
    public var url: String
    public var role: String?
    public var readURLs: [String]
    /// Timeouts of the service's sessions; each use names its sessions (`settings(_:)`).
    public var session: SessionSettings

    /// The service's sessions: a statement may run 30 s (exports set their own bound), a lock
    /// wait — the log's head lock included — 5 s, a transaction stay idle 60 s; a backend whose
    /// client died ends within 2 s.
    public static let defaultSession = SessionSettings(
        statementTimeout: .seconds(30), lockTimeout: .seconds(5), idleInTransactionTimeout: .seconds(60),
        clientConnectionCheckInterval: .seconds(2))

    public init(
        url: String, role: String? = "stratos_app", readURLs: [String] = [],
        session: SessionSettings = DatabaseConfiguration.defaultSession
    ) {
        self.url = url
        self.role = role
        self.readURLs = readURLs
        self.session = session
    }

    /// The settings of the sessions named `stratos-ledger/<name>`, with the role applied.
    public func settings(_ name: String) -> SessionSettings {
        var s = session.named(name)
        s.role = role
        return s
    }

    /// A blocking connection to the primary, named and with the role applied.
    public func connect(as name: String) throws(PostgresError) -> PostgresConnection {
        try PostgresConnection(url: url, settings: settings(name))
    }
}

/// Why a connection could not be had from a pool: both are 503 with `Retry-After` for a client.
public enum PoolError: Error, Sendable, CustomStringConvertible {
    /// Every connection stayed busy for the whole checkout timeout, or too many were waiting.
    case exhausted(String)
    /// PostgreSQL could not be reached (the last connect failed); no new attempt before
    /// `retryAfter` so that a dead server is not hammered by every request.
    case unreachable(String, retryAfter: Duration)

    public var description: String {
        switch self {
        case .exhausted(let m): m
        case .unreachable(let m, _): "PostgreSQL cannot be reached: \(m)"
        }
    }
}

/// A small pool of `AsyncPostgresConnection`s.
///
/// Why: each libpq connection serves one query at a time on its own thread, so concurrent
/// requests need several; connecting per request would cost more than most queries.
///
/// Limits, each with a way back: at most `maximum` connections; at most `maxWaiters` requests
/// waiting for one, each for at most `checkoutTimeout` (then `PoolError.exhausted`); after a
/// failed connect, checkouts that need a new connection fail at once for a backoff interval
/// (`PoolError.unreachable`) instead of each waiting out a connect timeout. A connection that
/// fails is dropped; a read that lost its connection is retried once on a fresh one (a read is
/// safe to repeat), which hides a PostgreSQL restart from clients.
public actor ConnectionPool {
    public let url: String
    private let settings: SessionSettings
    private let maximum: Int
    private let checkoutTimeout: Duration
    private let maxWaiters: Int
    private let backoff: Backoff
    private var idle: [AsyncPostgresConnection] = []
    private var open = 0
    private var waiters: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
    private var nextWaiter: UInt64 = 0
    private var failedConnects = 0
    private var unreachableUntil: ContinuousClock.Instant?
    private var lastConnectError = ""

    public init(
        url: String, settings: SessionSettings, maximum: Int = 8, checkoutTimeout: Duration = .seconds(5),
        maxWaiters: Int = 256, backoff: Backoff = Backoff(initial: .milliseconds(200), cap: .seconds(2))
    ) {
        self.url = url
        self.settings = settings
        self.maximum = max(1, maximum)
        self.checkoutTimeout = checkoutTimeout
        self.maxWaiters = max(0, maxWaiters)
        self.backoff = backoff
    }

    /// Runs `body` with exclusive use of one connection, off the cooperative pool. With
    /// `retryOnConnectionLoss` (reads), a body that fails because its connection was lost runs
    /// once more on a fresh connection.
    public nonisolated func withConnection<T: Sendable>(
        retryOnConnectionLoss: Bool = true,
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        do {
            return try await once(body)
        } catch let error as PostgresError where retryOnConnectionLoss && error.isConnectionLoss {
            return try await once(body)
        }
    }

    private nonisolated func once<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        let connection = try await checkout()
        do {
            let result = try await connection.withConnection(body)
            await checkin(connection, healthy: true)
            return result
        } catch {
            let healthy = (try? await connection.withConnection { $0.isOK && !$0.isInTransaction }) ?? false
            await checkin(connection, healthy: healthy)
            throw error
        }
    }

    /// Drops the idle connections (after a failover they point at the old primary's sessions).
    public func dropIdle() {
        open -= idle.count
        idle.removeAll()
    }

    private func checkout() async throws -> AsyncPostgresConnection {
        let deadline = ContinuousClock.now + checkoutTimeout
        while true {
            if let c = idle.popLast() { return c }
            if open < maximum {
                if let until = unreachableUntil, ContinuousClock.now < until {
                    throw PoolError.unreachable(lastConnectError, retryAfter: until - ContinuousClock.now)
                }
                open += 1
                do {
                    let c = try await AsyncPostgresConnection.connect(url: url, settings: settings)
                    failedConnects = 0
                    unreachableUntil = nil
                    return c
                } catch {
                    open -= 1
                    let delay = backoff.delay(attempt: failedConnects)
                    failedConnects += 1
                    unreachableUntil = ContinuousClock.now + delay
                    lastConnectError = (error as? PostgresError)?.message ?? "\(error)"
                    wakeOne()
                    throw PoolError.unreachable(lastConnectError, retryAfter: delay)
                }
            }
            guard waiters.count < maxWaiters else {
                throw PoolError.exhausted("all \(maximum) database connections are busy and \(waiters.count) requests wait already")
            }
            let left = deadline - ContinuousClock.now
            guard left > .zero else {
                throw PoolError.exhausted("no database connection became free within \(checkoutTimeout)")
            }
            try await waitForCheckin(upTo: left)
        }
    }

    /// Suspends until a connection is checked in (or a slot frees), or `timeout` passes.
    private func waitForCheckin(upTo timeout: Duration) async throws {
        let id = nextWaiter
        nextWaiter += 1
        let timer = Task { [weak self] in
            try await Task.sleep(for: timeout)
            await self?.expire(id)
        }
        defer { timer.cancel() }
        try await withCheckedThrowingContinuation { waiters.append((id, $0)) }
    }

    private func expire(_ id: UInt64) {
        guard let i = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: i).continuation.resume(
            throwing: PoolError.exhausted("no database connection became free within \(checkoutTimeout)"))
    }

    private func checkin(_ connection: AsyncPostgresConnection, healthy: Bool) {
        if healthy { idle.append(connection) } else { open -= 1 }
        wakeOne()
    }

    private func wakeOne() {
        if !waiters.isEmpty { waiters.removeFirst().continuation.resume() }
    }
}
