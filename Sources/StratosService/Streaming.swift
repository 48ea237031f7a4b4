import Dispatch
import PostgresClient
import Synchronization

/// Hands text produced by blocking code on a pooled connection's thread (a COPY of the journal)
/// to an async consumer (the HTTP response writer), one chunk at a time.
///
/// Why: the journal is read with one COPY whose rows arrive in a synchronous callback; the
/// response is written with `await`. The producer waits after each chunk until the consumer
/// has written it, so at most one chunk is in memory and a slow client slows the COPY down
/// (TCP back-pressure all the way to PostgreSQL) instead of filling memory. If the client goes
/// away, the producer's next `send` throws and the COPY stops.
final class ChunkHandoff: Sendable {
    private let acknowledged = DispatchSemaphore(value: 0)
    private let cancelled = Atomic<Bool>(false)
    private let continuation: AsyncThrowingStream<String, any Error>.Continuation

    init(_ continuation: AsyncThrowingStream<String, any Error>.Continuation) { self.continuation = continuation }

    /// Producer side: blocks until the consumer has written `chunk`.
    func send(_ chunk: String) throws {
        if cancelled.load(ordering: .acquiring) { throw CancellationError() }
        continuation.yield(chunk)
        acknowledged.wait()
        if cancelled.load(ordering: .acquiring) { throw CancellationError() }
    }

    /// Consumer side: the chunk is written.
    func acknowledge() { acknowledged.signal() }

    func cancel() {
        cancelled.store(true, ordering: .releasing)
        acknowledged.signal()
    }

    /// Runs `produce` on a pooled connection and returns the chunks it sends.
    static func stream(pool: ConnectionPool,
                       _ produce: @escaping @Sendable (PostgresConnection, (String) throws -> Void) throws -> Void)
        -> (AsyncThrowingStream<String, any Error>, ChunkHandoff) {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: String.self, throwing: (any Error).self)
        let handoff = ChunkHandoff(continuation)
        continuation.onTermination = { _ in handoff.cancel() }
        Task {
            do {
                try await pool.withConnection { c in try produce(c, handoff.send) }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        return (stream, handoff)
    }
}
