import Foundation
import LoopbackHTTP
import StratosReports
import StratosService
import Synchronization

/// Runs blocking client work (the loopback HTTP client) on a thread of its own and waits for it
/// without blocking the cooperative pool: the server under measurement runs on that pool, which
/// has only as many threads as cores (2 here), so a blocked pool thread would halve the server.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
        }
    }
}

/// Latencies (ms) of GET requests made one after another from one client thread; each must answer 200.
func getLatencies(port: Int, _ paths: [String]) async throws -> [Double] {
    try await onOwnThread {
        let client = LoopbackHTTPClient(port: port)
        let trace = ProcessInfo.processInfo.environment["STRATOS_BENCH_TRACE"] != nil
        let latencies = try paths.map { path in
            let t = Stopwatch()
            let r = try client.get(path)
            guard r.status == 200 else { throw BenchError("\(path): \(r.status) \(r.text.prefix(200))") }
            let ms = t.seconds * 1000
            if trace { FileHandle.standardError.write(Data("\(path) \(ms) ms\n".utf8)) }
            return ms
        }
        // The slowest requests, named, so that an outlier can be looked into.
        for (path, ms) in zip(paths, latencies).sorted(by: { $0.1 > $1.1 }).prefix(2) {
            FileHandle.standardError.write(Data("  slowest: \(path) \(String(format: "%.1f", ms)) ms\n".utf8))
        }
        return latencies
    }
}

/// A server under measurement, in this process on a free loopback port, as in production (the
/// stratos_app role, the projections of `url`). Cancel `task` to stop it.
func startBenchServer(
    url: String, writeToken: String, appendLimits: Appender.Limits = Appender.Limits()
) async throws -> (port: Int, task: Task<Void, any Error>) {
    let server = try StratosServer(
        configuration: ServiceConfiguration(
            host: "127.0.0.1", port: 0, database: DatabaseConfiguration(url: url, role: "stratos_app"),
            writeToken: writeToken, readConnections: 4, appendLimits: appendLimits),
        readModels: try ProjectionReadModels())
    let bound = Mutex<Int?>(nil)
    let task = Task.detached { try await server.run { port in bound.withLock { $0 = port } } }
    while bound.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(20)) }
    return (bound.withLock { $0 }!, task)
}
