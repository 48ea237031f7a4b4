import EventStore
import Foundation
import LedgerEvents
// The HTTP service: appends over HTTP (1 and 100 events per request, 1 and several concurrent
// clients, loopback) and read latency (p50/p99) of the audit and snapshot endpoints on a long
// simulated history. The server runs in this process on a free loopback port, as in production
// (real PostgreSQL, the stratos_app role, projections built by the real worker).
import LoopbackHTTP
import PostgresClient
import StratosEconomics
import StratosProjections
import StratosService
import StratosSimulator
import Synchronization

enum HTTPBench: BenchSuite {
    static let name = "http"
    /// Epochs of the read-latency history (10 days of the small network).
    static let historyEpochs = BenchScale.size(1440, quick: 288)
    static let readSamples = BenchScale.size(300, quick: 60)
    static let clients = 8

    static func run(databaseURL: String?) async throws -> [BenchFigure] {
        guard let databaseURL else { throw BenchError("DATABASE_URL is not set") }
        let scratch = try ScratchDatabase(serverURL: databaseURL, suite: "http")
        defer { scratch.drop() }
        let url = scratch.url
        var figures: [BenchFigure] = []
        func figure(_ name: String, _ value: Double, _ unit: String, _ target: String? = nil) {
            figures.append(BenchFigure(suite: Self.name, name: name, value: value, unit: unit, target: target))
            FileHandle.standardError.write(Data("  \(name): \(String(format: "%.1f", value)) \(unit)\n".utf8))
        }

        // 1. A long history, imported and projected (checkpoint every epoch).
        let owner = try PostgresConnection(url: url)
        try Migrator.load().migrate(owner)
        var config = SimulationConfig.small
        config.epochs = historyEpochs
        config.seed = 11
        var events: [LedgerEvent] = []
        _ = try Simulator(config).run { events.append($0) }
        let writer = try LedgerWriter(store: EventStore(connection: owner), rules: Economy(rules: .paperV1))
        try writer.transaction { w in
            for start in stride(from: 0, to: events.count, by: 5_000) {
                try w.append(Array(events[start..<min(start + 5_000, events.count)]))
            }
        }
        let worker = try ProjectionWorker(url: url, schema: "projection")
        try worker.createIfMissing(rules: .paperV1, checkpointEvery: 1)
        try worker.catchUp()
        FileHandle.standardError.write(Data("  history: \(events.count) events, \(historyEpochs) epochs\n".utf8))

        // 2. The server.
        let token = "bench-token"
        let (port, task) = try await startBenchServer(url: url, writeToken: token)
        defer { task.cancel() }

        // 3. Read latency on the long history.
        var rng = SystemRandomNumberGenerator()
        let reader = LoopbackHTTPClient(port: port)
        var settled: [(Int64, String)] = []
        var seen = Set<Int64>()
        while settled.count < 60 {
            let epoch = Int64.random(in: 2...Int64(historyEpochs - 1), using: &rng)
            guard seen.insert(epoch).inserted else { continue }
            let r = try reader.get("/v1/epochs/\(epoch)/settlement")
            if let node = (try? JSONValue.parse(r.body))?.settledNodes.first { settled.append((epoch, node)) }
        }
        let audits = settled.map { "/v1/audit/nodes/\($0.1)?epoch=\($0.0)" }
        func percentiles(_ name: String, _ values: [Double], target p99Target: String? = nil) {
            let sorted = values.sorted()
            figure("\(name) p50, \(values.count) samples, \(historyEpochs)-epoch history", sorted[sorted.count / 2], "ms")
            figure(
                "\(name) p99, \(values.count) samples, \(historyEpochs)-epoch history", sorted[min(sorted.count - 1, sorted.count * 99 / 100)], "ms",
                p99Target)
        }
        // Cold: each epoch audited for the first time (checkpoint load + replay); warm: again
        // (the server keeps recent recomputations; the stored side is read each time).
        percentiles("audit node, cold (distinct random epochs)", try await getLatencies(port: port, audits), target: "<= 50")
        percentiles(
            "audit node, warm (same epochs again)", try await getLatencies(port: port, (0..<readSamples).map { audits[$0 % audits.count] }),
            target: "<= 50")
        percentiles("audit epoch, cold (distinct random epochs)", try await getLatencies(port: port, settled.map { "/v1/audit/epochs/\($0.0)" }))
        percentiles(
            "snapshot at a random epoch",
            try await getLatencies(
                port: port,
                (0..<readSamples).map { _ in
                    "/v1/snapshot?epoch=\(Int.random(in: 1...historyEpochs, using: &rng))"
                }))
        percentiles("snapshot now", try await getLatencies(port: port, Array(repeating: "/v1/snapshot", count: 100)))

        // 4. Appends: Funded events to fresh accounts, all at the log's last time (valid in any
        // interleaving: times may be equal, never go back).
        let time = events.last!.time.rfc3339
        let counter = Atomic<Int>(0)
        @Sendable func body(_ count: Int) -> [UInt8] {
            var out = Array("[".utf8)
            for i in 0..<count {
                let n = counter.add(1, ordering: .relaxed).newValue
                if i > 0 { out.append(UInt8(ascii: ",")) }
                out += Array(
                    #"{"id":"bench-\#(n)","type":"Funded","time":"\#(time)","data":{"account":"st1bench\#(n % 5000)","amount":"1000"}}"#.utf8)
            }
            return out + Array("]".utf8)
        }
        func appendRate(perRequest: Int, clients: Int, requestsPerClient: Int) async throws -> Double {
            let failures = Atomic<Int>(0)
            let t = Stopwatch()
            // One thread per client (concurrentPerform would run only as many as there are cores,
            // so "8 clients" would be 2 at a time).
            let done = DispatchGroup()
            for _ in 0..<clients {
                done.enter()
                Thread.detachNewThread {
                    defer { done.leave() }
                    let client = LoopbackHTTPClient(port: port)
                    for _ in 0..<requestsPerClient {
                        let r = try? client.request(
                            "POST", "/v1/events",
                            headers: [
                                ("Authorization", "Bearer \(token)"),
                                ("Content-Type", "application/json"),
                            ], body: body(perRequest))
                        if r?.status != 201 { failures.add(1, ordering: .relaxed) }
                    }
                }
            }
            // Waiting without blocking a thread of the cooperative pool, which the server uses.
            await withCheckedContinuation { c in done.notify(queue: .global()) { c.resume() } }
            let seconds = t.seconds
            if failures.load(ordering: .relaxed) > 0 { throw BenchError("\(failures.load(ordering: .relaxed)) append requests failed") }
            return Double(perRequest * clients * requestsPerClient) / seconds
        }
        figure("append 1 event/request, 1 client", try await appendRate(perRequest: 1, clients: 1, requestsPerClient: 1_000), "events/s")
        // Group commit: how many requests shared each commit, from the server's own counters.
        func appendCounters() throws -> (requests: Double, commits: Double) {
            let text = try reader.get("/metrics").text
            func value(_ name: String) -> Double {
                text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) } ?? 0
            }
            return (value("stratos_append_requests_total"), value("stratos_append_commits_total"))
        }
        let before = try appendCounters()
        figure(
            "append 1 event/request, \(clients) clients", try await appendRate(perRequest: 1, clients: clients, requestsPerClient: 250), "events/s")
        let after = try appendCounters()
        figure(
            "append 1 event/request, \(clients) clients: requests per commit (group commit)",
            (after.requests - before.requests) / max(1, after.commits - before.commits), "requests")
        figure("append 100 events/request, 1 client", try await appendRate(perRequest: 100, clients: 1, requestsPerClient: 200), "events/s")
        figure(
            "append 100 events/request, \(clients) clients", try await appendRate(perRequest: 100, clients: clients, requestsPerClient: 60),
            "events/s", ">= 20000")
        figure(
            "append 1000 events/request, \(clients) clients", try await appendRate(perRequest: 1000, clients: clients, requestsPerClient: 8),
            "events/s")
        return figures
    }
}

extension JSONValue {
    fileprivate var settledNodes: [String] {
        guard case .object(let o) = self, case .array(let list)? = o["settled"] else { return [] }
        return list.compactMap { if case .object(let n) = $0, case .string(let id)? = n["node"] { id } else { nil } }
    }
}
