import Dispatch
import Synchronization

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
    public static func connect(
        url: String, database: String? = nil,
        settings: SessionSettings = SessionSettings()
    ) async throws -> AsyncPostgresConnection {
        let queue = DispatchQueue(label: "stratos.postgres.connection")
        let box: UncheckedBox<PostgresConnection> = try await withCheckedThrowingContinuation { continuation in
            queue.async {
                do { continuation.resume(returning: UncheckedBox(try PostgresConnection(url: url, database: database, settings: settings))) } catch {
                    continuation.resume(throwing: error)
                }
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
    ///
    /// Cancelling the awaiting task sends a cancel request (`PQcancel`) for the statement `body`
    /// is running, so the server stops working for a client that no longer waits; `body` then
    /// fails with 57014 and the connection stays usable. A call still queued behind another
    /// when its task is cancelled does not run at all.
    public func withConnection<T>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        let connection = UncheckedBox(self.connection)
        let call = CallState()
        let box: UncheckedBox<T> = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                queue.async {
                    guard call.begin() else {
                        continuation.resume(throwing: CancellationError())
                        return
                    }
                    defer { call.end() }
                    do { continuation.resume(returning: UncheckedBox(try body(connection.value))) } catch { continuation.resume(throwing: error) }
                }
            }
        } onCancel: {
            call.cancel { connection.value.cancel() }
        }
        return box.value
    }

    /// Asks the server to cancel whatever statement runs on this connection now (any thread).
    public func cancelRunningStatement() { connection.cancel() }

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

/// Where one `withConnection` call is: queued, running, cancelled or done. A cancel request is
/// sent only while the call runs, so it never hits a later caller's statement.
private final class CallState: Sendable {
    private enum Phase { case queued, running, cancelled, done }
    private let phase = Mutex(Phase.queued)

    /// On the queue, before `body`: false when the task was cancelled while queued.
    func begin() -> Bool {
        phase.withLock { p in
            guard p == .queued else { return false }
            p = .running
            return true
        }
    }
    func end() { phase.withLock { $0 = .done } }
    /// From the cancellation handler: runs `send` (the cancel request) if `body` is running,
    /// under the lock, so that `body` cannot end and a later call start in between.
    func cancel(_ send: () -> Void) {
        phase.withLock { p in
            switch p {
            case .queued: p = .cancelled
            case .running: send()
            case .cancelled, .done: break
            }
        }
    }
}

/// Carries a non-Sendable value across the queue hop; safe because the connection is only
/// touched on its serial queue and results are handed over exactly once.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
