import EventStore
import Foundation
import LedgerEvents
import PostgresClient
import StratosEconomics
import StratosProjections
import StratosSimulator

/// Projection throughput: a simulated history is appended to a fresh database, then every
/// projection is rebuilt from the whole log (events/s from reading the log to committed rows),
/// with the process's peak memory over the rebuild (VmHWM, reset before it), the size of the
/// economy checkpoints, and the time to recompute single epochs late in the history.
///
/// Size: the `bench` simulator preset (30 days, over 2,000,000 events); set
/// `STRATOS_BENCH_PROJECTION_EPOCHS` for a shorter history, `STRATOS_BENCH_CHECKPOINT_EVERY` to
/// change the checkpoint interval, `STRATOS_BENCH_READS_DATABASE` to measure only the read
/// latencies on an existing, projected database.
enum ProjectionBench: BenchSuite {
    static let name = "projection"

    static func run(databaseURL: String?) async throws -> [BenchFigure] {
        guard let serverURL = databaseURL else {
            FileHandle.standardError.write(Data("bench: projection needs DATABASE_URL\n".utf8))
            return []
        }
        let env = ProcessInfo.processInfo.environment
        var config = SimulationConfig.bench
        config.epochs = BenchScale.size(config.epochs, quick: 144)
        if let e = env["STRATOS_BENCH_PROJECTION_EPOCHS"].flatMap(Int.init) { config.epochs = e }
        let checkpointEvery = env["STRATOS_BENCH_CHECKPOINT_EVERY"].flatMap(Int64.init) ?? ProjectionDefaults.checkpointEvery

        if let existing = env["STRATOS_BENCH_READS_DATABASE"] {
            // Only the read latencies, on a database already imported and projected.
            let c = try PostgresConnection(url: existing)
            let sql = try ProjectionSQL.load()
            try c.query(sql("search_path.set"), binding: "projection, public")
            let queries = try LedgerQueries(connection: c, sql: sql)
            return try await longHistoryReads(url: existing, queries: queries, lastEpoch: try queries.health().lastClosedEpoch)
        }
        let scratch = try ScratchDatabase(serverURL: serverURL, suite: "projection")
        defer { scratch.drop() }
        let url = scratch.url

        // 1. The history, streamed into the log in batches (never held whole in memory).
        let store = try EventStore(url: url)
        try Migrator.load().migrate(store.connection)
        var batch: [LedgerEvent] = []
        batch.reserveCapacity(10_000)
        let summary = try Simulator(config).run { event in
            batch.append(event)
            if batch.count == 10_000 {
                try store.append(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty { try store.append(batch) }
        let events = Int64(summary.eventsWritten)
        // A log just bulk-loaded is vacuumed first, as autovacuum would long have done on a real
        // server: otherwise its pass over the 2 M fresh rows runs inside the measurement.
        try store.connection.execute("VACUUM (ANALYZE) event_log")
        FileHandle.standardError.write(Data("bench: projection: \(events) events in the log, rebuilding\n".utf8))

        // 2. Full rebuild, from reading the log to committed, indexed rows.
        resetPeakMemory()
        let rssBefore = residentMemory("VmRSS")
        let clock = ContinuousClock()
        var rebuilder = try Rebuilder(url: url, checkpointEvery: checkpointEvery)
        var catchUpRate = 0.0
        rebuilder.progress = { p in if p.position >= p.head { catchUpRate = p.eventsPerSecond } }
        let t0 = clock.now
        let report = try rebuilder.run(rules: .paperV1, diff: false)
        let rebuildSeconds = (clock.now - t0).inSeconds
        let peak = residentMemory("VmHWM")

        // 3. Checkpoints and single-epoch recomputation late in the history.
        let c = try PostgresConnection(url: url)
        let sql = try ProjectionSQL.load()
        try c.query(sql("search_path.set"), binding: "projection, public")
        let sizes = try c.query(sql("checkpoint.sizes"))
        let queries = try LedgerQueries(connection: c, sql: sql)
        let last = try queries.health().lastClosedEpoch
        var worst = 0.0
        var best = Double.infinity
        // The epoch right after a checkpoint (one epoch to replay) up to the one just before the next.
        let base = (last - 1) / checkpointEvery * checkpointEvery
        var probes = Set([last, max(1, base + 1), max(1, last - 1)])
        if checkpointEvery > 1 { probes.insert(max(1, base - 1)) }
        for epoch in probes.sorted() {
            let v = try queries.verify(epoch: epoch)
            precondition(v.matches, "verify \(epoch) failed: \(String(describing: v.firstDifference))")
            worst = max(worst, v.recomputeSeconds)
            best = min(best, v.recomputeSeconds)
        }

        let reads = try await longHistoryReads(url: url, queries: queries, lastEpoch: last)
        return [
            BenchFigure(suite: name, name: "history size", value: Double(events), unit: "events", target: ">= 2000000"),
            BenchFigure(
                suite: name, name: "full rebuild, log to committed rows (catch-up)", value: catchUpRate,
                unit: "events/s", target: ">= 200000"),
            BenchFigure(
                suite: name, name: "full rebuild incl. indexes, checks and switch", value: Double(report.events) / rebuildSeconds,
                unit: "events/s", target: nil),
            BenchFigure(suite: name, name: "full rebuild wall time", value: rebuildSeconds, unit: "s", target: nil),
            BenchFigure(
                suite: name, name: "peak memory during rebuild (VmHWM)", value: peak / 1_048_576, unit: "MiB",
                target: "bounded by live state"),
            BenchFigure(suite: name, name: "resident memory before rebuild", value: rssBefore / 1_048_576, unit: "MiB", target: nil),
            BenchFigure(
                suite: name, name: "economy checkpoint heads stored (every \(checkpointEvery) epochs)", value: Double(try sizes.int64(0, 0)),
                unit: "checkpoints", target: nil),
            BenchFigure(
                suite: name, name: "largest economy checkpoint head", value: Double(try sizes.int64(0, 2)) / 1_048_576, unit: "MiB", target: nil),
            BenchFigure(suite: name, name: "recompute one late epoch (verify), best", value: best * 1000, unit: "ms", target: "<= 200"),
            BenchFigure(suite: name, name: "recompute one late epoch (verify), worst", value: worst * 1000, unit: "ms", target: "<= 200"),
        ] + reads
    }

    /// Resets the kernel's peak-RSS mark (VmHWM) of this process (Linux: clear_refs 5).
    private static func resetPeakMemory() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }

    /// A /proc/self/status field in bytes (0 where unavailable).
    private static func residentMemory(_ field: String) -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
            let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
            return kb * 1024
        }
        return 0
    }
}
