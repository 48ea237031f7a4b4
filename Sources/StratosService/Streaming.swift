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

    /// How long the producer waits for the client to take one chunk before it gives up (and
    /// its COPY, its connection and its snapshot are released).
    static let chunkTimeout: Double = 60

    /// Producer side: blocks until the consumer has written `chunk`.
    func send(_ chunk: String) throws {
        if cancelled.load(ordering: .acquiring) { throw CancellationError() }
        continuation.yield(chunk)
        if acknowledged.wait(timeout: .now() + Self.chunkTimeout) == .timedOut {
            cancel()
            throw StreamStalled(seconds: Self.chunkTimeout)
        }
        if cancelled.load(ordering: .acquiring) { throw CancellationError() }
    }

    /// Consumer side: the chunk is written.
    func acknowledge() { acknowledged.signal() }

    func cancel() {
        cancelled.store(true, ordering: .releasing)
        acknowledged.signal()
    }

    /// Runs `produce` in a read snapshot (`ReadRouter`) and returns the chunks it sends and the
    /// log position the snapshot reflects, once `produce` has started.
    static func stream(
        router: ReadRouter, minPosition: Int64?, statementTimeout: Duration,
        _ produce: @escaping @Sendable (PostgresConnection, (String) throws -> Void) throws -> Void
    )
        async throws -> (chunks: AsyncThrowingStream<String, any Error>, handoff: ChunkHandoff, position: Int64)
    {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: String.self, throwing: (any Error).self)
        let handoff = ChunkHandoff(continuation)
        continuation.onTermination = { _ in handoff.cancel() }
        let position = OneShot<Int64>()
        let milliseconds = String(statementTimeout.wholeMilliseconds)
        Task {
            do {
                _ = try await router.read(minPosition: minPosition, onPosition: { position.fulfil(.success($0)) }) { c in
                    try c.withSessionParameter("statement_timeout", milliseconds) { try produce(c, handoff.send) }
                }
                continuation.finish()
            } catch {
                position.fulfil(.failure(error))
                continuation.finish(throwing: error)
            }
        }
        return (stream, handoff, try await position.value)
    }
}

/// The client took no chunk for `seconds`: the export is abandoned.
struct StreamStalled: Error, CustomStringConvertible {
    let seconds: Double
    var description: String { "the client read nothing for \(Int(seconds)) s; the export was stopped" }
}

/// A value delivered once, awaited once (the first `fulfil` wins).
final class OneShot<T: Sendable>: Sendable {
    private let state = Mutex<(result: Result<T, any Error>?, waiter: CheckedContinuation<T, any Error>?)>((nil, nil))

    func fulfil(_ result: Result<T, any Error>) {
        let waiter = state.withLock { s -> CheckedContinuation<T, any Error>? in
            guard s.result == nil else { return nil }
            s.result = result
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(with: result)
    }

    var value: T {
        get async throws {
            try await withCheckedThrowingContinuation { c in
                let ready = state.withLock { s -> Result<T, any Error>? in
                    if let r = s.result { return r }
                    s.waiter = c
                    return nil
                }
                if let ready { c.resume(with: ready) }
            }
        }
    }
}
