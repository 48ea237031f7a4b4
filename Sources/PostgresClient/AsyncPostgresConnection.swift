import Dispatch

/// A `PostgresConnection` for Swift concurrency.
///
/// Why: libpq is blocking. A `PQexec` that waits on the network, a COPY of a million rows or a
/// LISTEN loop would pin one of the cooperative pool's few threads (as many as cores, here 2)
/// and stall every other task of the process. So each connection gets its own serial
/// `DispatchQueue`: the blocking call runs there, the awaiting task is suspended (its thread
/// returns to the pool) and is resumed through a checked continuation when the call finishes.
/// The serial queue also gives the one-thread-at-a-time use libpq requires, so the type can
/// be `Sendable` and shared between tasks; calls are executed in the order submitted.
public final class AsyncPostgresConnection: @unchecked Sendable {
    private let connection: PostgresConnection
    private let queue: DispatchQueue

    /// Connects on the connection's own queue (connecting blocks too).
    public static func connect(url: String, database: String? = nil) async throws -> AsyncPostgresConnection {
        let queue = DispatchQueue(label: "stratos.postgres.connection")
        let box: UncheckedBox<PostgresConnection> = try await withCheckedThrowingContinuation { continuation in
            queue.async {
                do { continuation.resume(returning: UncheckedBox(try PostgresConnection(url: url, database: database))) }
                catch { continuation.resume(throwing: error) }
            }
        }
        return AsyncPostgresConnection(connection: box.value, queue: queue)
    }

    /// Wraps an open connection, which must not be used directly afterwards.
    public init(connection: PostgresConnection, queue: DispatchQueue = DispatchQueue(label: "stratos.postgres.connection")) {
        self.connection = connection
        self.queue = queue
    }

    /// Runs `body` with exclusive use of the connection on its dedicated thread.
    public func withConnection<T>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        let connection = UncheckedBox(self.connection)
        let box: UncheckedBox<T> = try await withCheckedThrowingContinuation { continuation in
            queue.async {
                do { continuation.resume(returning: UncheckedBox(try body(connection.value))) }
                catch { continuation.resume(throwing: error) }
            }
        }
        return box.value
    }

    public func query(_ sql: String, _ parameters: [String?] = []) async throws -> PostgresResult {
        try await withConnection { try $0.query(sql, parameters) }
    }

    public func execute(_ sql: String) async throws {
        _ = try await withConnection { try $0.execute(sql) }
    }

    /// Waits for a notification without holding a cooperative thread. While it waits, other
    /// calls on this connection queue behind it, so use a connection dedicated to listening.
    public func waitForNotification(timeout: Duration?) async throws -> PostgresNotification? {
        try await withConnection { try $0.waitForNotification(timeout: timeout) }
    }
}

/// Carries a non-Sendable value across the queue hop; safe because the connection is only
/// touched on its serial queue and results are handed over exactly once.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
