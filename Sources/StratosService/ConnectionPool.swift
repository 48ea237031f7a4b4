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
public struct DatabaseConfiguration: Sendable {
    public var url: String
    public var role: String?
    public init(url: String, role: String? = "stratos_app") { self.url = url; self.role = role }

    /// A blocking connection with the role applied.
    public func connect() throws(PostgresError) -> PostgresConnection {
        let c = try PostgresConnection(url: url)
        if let role, !role.isEmpty { try c.query("SELECT set_config('role', $1, false)", [role]) }
        return c
    }
}

/// A small pool of `AsyncPostgresConnection`s for the read endpoints.
///
/// Why: each libpq connection serves one query at a time on its own thread, so concurrent
/// requests need several; connecting per request would cost more than most queries. Broken
/// connections are dropped and replaced on the next checkout.
public actor ConnectionPool {
    private let database: DatabaseConfiguration
    private let maximum: Int
    private var idle: [AsyncPostgresConnection] = []
    private var open = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public init(database: DatabaseConfiguration, maximum: Int = 8) {
        self.database = database; self.maximum = max(1, maximum)
    }

    /// Runs `body` with exclusive use of one connection, off the cooperative pool.
    public nonisolated func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        let connection = try await checkout()
        do {
            let result = try await connection.withConnection(body)
            await checkin(connection, healthy: true)
            return result
        } catch {
            let healthy = (try? await connection.withConnection { $0.isOK }) ?? false
            await checkin(connection, healthy: healthy)
            throw error
        }
    }

    private func checkout() async throws -> AsyncPostgresConnection {
        while true {
            if let c = idle.popLast() { return c }
            if open < maximum {
                open += 1
                do {
                    let database = self.database
                    let c = try await AsyncPostgresConnection.connect(url: database.url)
                    if let role = database.role, !role.isEmpty {
                        _ = try await c.query("SELECT set_config('role', $1, false)", [role])
                    }
                    return c
                } catch {
                    open -= 1
                    wakeOne()
                    throw error
                }
            }
            await withCheckedContinuation { waiters.append($0) }
        }
    }

    private func checkin(_ connection: AsyncPostgresConnection, healthy: Bool) {
        if healthy { idle.append(connection) } else { open -= 1 }
        wakeOne()
    }

    private func wakeOne() {
        if !waiters.isEmpty { waiters.removeFirst().resume() }
    }
}
