// The console's pages on the bench history: server-side time per page type (request to last
// byte over loopback, so rendering plus its reads) and page weight (the HTML; the stylesheet and
// icon are cached assets and there are no images).
import EventStore
import Foundation
import LedgerEvents
import LoopbackHTTP
import PostgresClient
import StratosProjections
import StratosSimulator

/// Size: the `bench` simulator preset (2 million events); `STRATOS_BENCH_CONSOLE_EPOCHS` for a
/// shorter history, `STRATOS_BENCH_CONSOLE_DATABASE` to measure an existing, projected database,
/// `STRATOS_BENCH_CONSOLE_KEEP=1` to keep the scratch database for that.
enum ConsoleBench: BenchSuite {
    static let name = "console"

    static func run(databaseURL: String?) async throws -> [BenchFigure] {
        guard let serverURL = databaseURL else {
            FileHandle.standardError.write(Data("bench: console needs DATABASE_URL\n".utf8))
            return []
        }
        let env = ProcessInfo.processInfo.environment
        let url: String
        var scratch: ScratchDatabase?
        if let existing = env["STRATOS_BENCH_CONSOLE_DATABASE"] {
            url = existing
        } else {
            var config = SimulationConfig.bench
            config.epochs = BenchScale.size(config.epochs, quick: 144)
            if let e = env["STRATOS_BENCH_CONSOLE_EPOCHS"].flatMap(Int.init) { config.epochs = e }
            let db = try ScratchDatabase(serverURL: serverURL, suite: "console")
            scratch = db
            url = db.url
            let store = try EventStore(url: url)
            try Migrator.load().migrate(store.connection)
            var batch: [LedgerEvent] = []
            let summary = try Simulator(config).run { event in
                batch.append(event)
                if batch.count == 10_000 {
                    try store.append(batch)
                    batch.removeAll(keepingCapacity: true)
                }
            }
            if !batch.isEmpty { try store.append(batch) }
            try store.connection.execute("VACUUM (ANALYZE) event_log")
            FileHandle.standardError.write(Data("bench: console: \(summary.eventsWritten) events in \(url), projecting\n".utf8))
            _ = try Rebuilder(url: url).run(rules: .paperV1, diff: false)
        }
        defer { if env["STRATOS_BENCH_CONSOLE_KEEP"] == nil { scratch?.drop() } }

        let c = try PostgresConnection(url: url)
        let sql = try ProjectionSQL.load()
        try c.query(sql("search_path.set"), ["projection, public"])
        let queries = try LedgerQueries(connection: c, sql: sql)
        let health = try queries.health()
        let last = health.lastClosedEpoch
        let head = health.head
        var rng = SplitMix64(seed: 2027)
        func epochs(_ n: Int) -> [Int64] { (0..<n).map { _ in Int64.random(in: 2...last, using: &rng) } }
        let snapshot = try queries.snapshot(at: .latest)
        var nodes: [(node: String, epoch: Int64, owner: String)] = []
        for epoch in epochs(40) {
            if let n = try queries.settlement(epoch: epoch).report.settled.randomElement(using: &rng)?.node,
                let owner = snapshot.nodes[n]?.owner
            {
                nodes.append((n.rawValue, epoch, owner.rawValue))
            }
        }
        let pages: [(String, [String])] = [
            ("overview", Array(repeating: "/", count: 20)),
            ("epoch", epochs(40).map { "/epochs/\($0)" }),
            ("epoch recompute (cold)", epochs(20).map { "/epochs/\($0)/recompute" }),
            ("node with the derivation of one epoch (cold)", nodes.map { "/nodes/\($0.node)?epoch=\($0.epoch)" }),
            ("account (a node owner)", nodes.map { "/accounts/\($0.owner)" }),
            ("events", (0..<40).map { _ in "/events?after=\(Int64.random(in: 0...max(0, head - 50), using: &rng))" }),
            ("events filtered by type", (0..<20).map { _ in "/events?type=EpochClosed&after=\(Int64.random(in: 0...head, using: &rng))" }),
            ("event", (0..<40).map { _ in "/events/\(Int64.random(in: 1...head, using: &rng))" }),
            ("builds", Array(repeating: "/builds", count: 10)),
        ]

        let (port, task) = try await startBenchServer(url: url, writeToken: "bench-token")
        defer { task.cancel() }
        // One unmeasured request first: the process's first one opens the read connections and
        // loads the build's rule set, which is start-up, not a page's render time.
        _ = try await onOwnThread { try LoopbackHTTPClient(port: port).get("/") }
        var figures: [BenchFigure] = []
        let label = "\(head)-event history"
        for (page, paths) in pages {
            let samples = try await onOwnThread {
                let client = LoopbackHTTPClient(port: port)
                return try paths.map { path -> (ms: Double, bytes: Int, path: String) in
                    let t = Stopwatch()
                    let r = try client.get(path)
                    guard r.status == 200 else { throw BenchError("\(path): \(r.status) \(r.text.prefix(200))") }
                    return (t.seconds * 1000, r.body.count, path)
                }
            }
            // The slowest requests, to find what a p95 is made of.
            let slowest = samples.sorted { $0.ms > $1.ms }.prefix(3).map { "\($0.path) \(Int($0.ms)) ms" }
            FileHandle.standardError.write(Data("bench: console: \(page): slowest \(slowest.joined(separator: ", "))\n".utf8))
            let ms = samples.map(\.ms).sorted()
            let bytes = samples.map(\.bytes).sorted()
            figures.append(
                BenchFigure(
                    suite: name, name: "\(page), p95 of \(ms.count), \(label)", value: ms[min(ms.count - 1, ms.count * 95 / 100)], unit: "ms",
                    target: "<= 100"))
            figures.append(BenchFigure(suite: name, name: "\(page), p50", value: ms[ms.count / 2], unit: "ms", target: nil))
            figures.append(
                BenchFigure(suite: name, name: "\(page), largest page", value: Double(bytes.last ?? 0) / 1024, unit: "KiB", target: "<= 200 KB"))
        }
        return figures
    }
}
