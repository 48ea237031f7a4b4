import EventStore
import Foundation
import LedgerEvents
import PostgresClient
import StratosEconomics
import StratosProjections
import StratosSimulator

#if canImport(Glibc)
    import Glibc
#endif

/// A rule fix effective from the last tenth of the epochs (issue 15, item 4): the rebuild that
/// takes the serving build over through the epoch before the fix and replays only the rest,
/// against the same rebuild `--from-genesis`. Both are built beside the serving build (not
/// switched in), twice each, alternating; the faster run of each counts: its wall time and the
/// process's peak memory during it (VmHWM, reset before it, after returning freed memory).
///
/// Size: the `bench` preset (30 days, 2.09 M events); `STRATOS_BENCH_RULEFIX_EPOCHS` for a
/// shorter history.
enum RuleFixBench: BenchSuite {
    static let name = "rule-fix"

    static func run(databaseURL: String?) async throws -> [BenchFigure] {
        guard let serverURL = databaseURL else {
            FileHandle.standardError.write(Data("bench: rule-fix needs DATABASE_URL\n".utf8))
            return []
        }
        var config = SimulationConfig.bench
        config.epochs = BenchScale.size(config.epochs, quick: 288)
        if let e = ProcessInfo.processInfo.environment["STRATOS_BENCH_RULEFIX_EPOCHS"].flatMap(Int.init) { config.epochs = e }
        let scratch = try ScratchDatabase(serverURL: serverURL, suite: "rulefix")
        defer { scratch.drop() }
        let url = scratch.url

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
        try store.connection.execute("VACUUM (ANALYZE) event_log")
        let events = Int64(summary.eventsWritten)
        say("\(events) events, \(config.epochs) epochs in the log; building the serving build (paper-v1)")
        _ = try Rebuilder(url: url).run(rules: .paperV1, diff: false)

        // The fix: from the first epoch of the last tenth, a smaller settled share and a longer lock-up.
        let from = Int64(config.epochs - config.epochs / 10 + 1)
        let fix = try RuleSet.load([
            (
                nil,
                #"{"name": "paper-v1-fix-bench", "extends": "paper-v1", "changes": [{"fromEpoch": \#(from), "set": {"settledShareBp": 7000, "lockupEpochs": 2100}}]}"#
            )
        ])[0]

        func measure(fromGenesis: Bool) throws -> (seconds: Double, peakMiB: Double, report: RebuildReport) {
            returnFreedMemory()
            try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
            var rebuilder = try Rebuilder(url: url)
            rebuilder.fromGenesis = fromGenesis
            let clock = ContinuousClock()
            let t0 = clock.now
            let report = try rebuilder.run(rules: fix, diff: false, switchOver: false)
            let seconds = (clock.now - t0).inSeconds
            let peak = memory("VmHWM") / 1_048_576
            let c = try PostgresConnection(url: url)
            try c.execute(try ProjectionSQL.load().render("schema.drop", on: c, ["schema": rebuilder.schemas.next]))
            let phases = report.phases.map { "\($0.name) \(String(format: "%.1f", $0.seconds)) s" }.joined(separator: ", ")
            say("\(report.start); \(report.events) events replayed in \(String(format: "%.1f", seconds)) s (\(phases)), peak \(Int(peak)) MiB")
            return (seconds, peak, report)
        }
        // Each twice, alternating, the faster of each kept: the machine is shared, and a burst of
        // someone else's work during one run would otherwise decide the ratio.
        var incrementalRuns: [(seconds: Double, peakMiB: Double, report: RebuildReport)] = []
        var fullRuns: [(seconds: Double, peakMiB: Double, report: RebuildReport)] = []
        for _ in 0..<2 {
            incrementalRuns.append(try measure(fromGenesis: false))
            fullRuns.append(try measure(fromGenesis: true))
        }
        let incremental = incrementalRuns.min { $0.seconds < $1.seconds }!
        let full = fullRuns.min { $0.seconds < $1.seconds }!
        say(
            "best of two: \(String(format: "%.1f", incremental.seconds)) s / \(String(format: "%.1f", full.seconds)) s (runs: "
                + incrementalRuns.map { String(format: "%.1f", $0.seconds) }.joined(separator: ", ") + " / "
                + fullRuns.map { String(format: "%.1f", $0.seconds) }.joined(separator: ", ") + " s)")
        guard case .takenOver = incremental.report.start else {
            throw ProjectionError.configuration("the rule-fix rebuild did not take the serving build over: \(incremental.report.start)")
        }
        return [
            BenchFigure(suite: name, name: "history size", value: Double(events), unit: "events", target: nil),
            BenchFigure(suite: name, name: "fix effective from epoch", value: Double(from), unit: "epoch", target: nil),
            BenchFigure(
                suite: name, name: "rebuild replaying only what changed, wall time (best of 2)", value: incremental.seconds, unit: "s", target: nil),
            BenchFigure(suite: name, name: "same rebuild --from-genesis, wall time (best of 2)", value: full.seconds, unit: "s", target: nil),
            BenchFigure(
                suite: name, name: "replaying only what changed / --from-genesis", value: 100 * incremental.seconds / full.seconds,
                unit: "%", target: "<= 20"),
            BenchFigure(
                suite: name, name: "events replayed, only what changed", value: Double(incremental.report.events), unit: "events",
                target: nil),
            BenchFigure(suite: name, name: "peak memory, only what changed (VmHWM)", value: incremental.peakMiB, unit: "MiB", target: nil),
            BenchFigure(suite: name, name: "peak memory, --from-genesis (VmHWM)", value: full.peakMiB, unit: "MiB", target: nil),
        ]
    }

    /// glibc's malloc_trim(0) (not in the Glibc module's headers: looked up by name), so that
    /// memory freed by the previous build does not count in the next one's peak.
    private static func returnFreedMemory() {
        #if canImport(Glibc)
            typealias Trim = @convention(c) (Int) -> Int32
            if let symbol = dlsym(nil, "malloc_trim") { _ = unsafeBitCast(symbol, to: Trim.self)(0) }
        #endif
    }

    private static func say(_ text: String) { FileHandle.standardError.write(Data("bench: rule-fix: \(text)\n".utf8)) }

    /// A /proc/self/status field in bytes (0 where unavailable).
    private static func memory(_ field: String) -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
            return (line.split(separator: " ").compactMap { Double($0) }.first ?? 0) * 1024
        }
        return 0
    }
}
