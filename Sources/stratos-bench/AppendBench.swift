// The event store's append throughput: single-event appends side by side with Message DB
// (AppendPeersBench), single events, 1,000-event batches, a bulk import of a
// generated JSON Lines file, and the same rows COPYed into a bare table as the physical limit.
import EventStore
import Foundation
import LedgerEvents
import PostgresClient
import StratosEconomics
import StratosSimulator

enum AppendBench: BenchSuite {
    static let name = "append"

    static let importEvents = BenchScale.size(1_000_000, quick: 30_000)
    static let warmupImportEvents = BenchScale.size(250_000, quick: 25_000)

    static func run(databaseURL: String?) async throws -> [BenchFigure] {
        guard let databaseURL else { throw BenchError("DATABASE_URL is not set") }
        let scratch = try ScratchDatabase(serverURL: databaseURL, suite: "append")
        defer { scratch.drop() }
        let url = scratch.url
        var figures: [BenchFigure] = []
        func figure(_ name: String, _ value: Double, _ unit: String, _ target: String? = nil) {
            figures.append(BenchFigure(suite: Self.name, name: name, value: value, unit: unit, target: target))
            FileHandle.standardError.write(Data("  \(name): \(Int(value)) \(unit)\n".utf8))
        }

        // `STRATOS_BENCH_APPEND_IMPORT_ONLY=1`: only the bulk import and the COPYs it is compared
        // with (to measure the import alone, in a minute instead of many).
        let importOnly = ProcessInfo.processInfo.environment["STRATOS_BENCH_APPEND_IMPORT_ONLY"] == "1"

        // Side by side with Message DB first, on a cluster not yet busy with the rest.
        if !importOnly { try await AppendPeersBench.run(serverURL: databaseURL) { figure($0, $1, $2, $3) } }

        let store = try EventStore(url: url)
        try Migrator.load().migrate(store.connection)
        let writer = try LedgerWriter(store: store, rules: AcceptAllRules())
        var generator = EventGenerator()

        // Single-event appends (one transaction each): in one statement (event_log_append), and
        // on the locked path as before issue 18 (BEGIN, lock, SAVEPOINT, COPY, RELEASE, head,
        // COMMIT), which an append inside a transaction still takes. Round trips, client and
        // backend CPU per append, from the connection's count and /proc.
        let singles = importOnly ? 0 : BenchScale.size(2_000, quick: 300)
        try writer.append([generator.next()]) // the store learns the head; the statement is prepared
        var t = Stopwatch()
        for (label, locked) in [("one statement", false), ("locked path, as before", true)] where singles > 0 {
            let trips = store.connection.roundTrips
            let (client, server) = (processCPUSeconds(), cpuSeconds(ofPID: store.connection.backendPID))
            t = Stopwatch()
            for _ in 0..<singles {
                if locked { try writer.transaction { try $0.append([generator.next()]) } } else { try writer.append([generator.next()]) }
            }
            let n = Double(singles)
            figure("single-event appends, \(label)", n / t.seconds, "events/s")
            figure("single-event appends, \(label): round trips per append", Double(store.connection.roundTrips - trips) / n, "round trips")
            figure("single-event appends, \(label): client CPU per append", 1e6 * (processCPUSeconds() - client) / n, "µs")
            figure(
                "single-event appends, \(label): backend CPU per append", 1e6 * (cpuSeconds(ofPID: store.connection.backendPID) - server) / n, "µs")
        }

        // 1,000-event batches.
        if !importOnly {
            let batches = BenchScale.size(100, quick: 20)
            t = Stopwatch()
            for _ in 0..<batches { try writer.append((0..<1_000).map { _ in generator.next() }) }
            figure("1,000-event batches", Double(batches * 1_000) / t.seconds, "events/s", ">= 100000")
        }

        // Bulk import of generated files: a quarter-size file first, then the full one; the
        // peak resident memory after each shows whether memory grows with the file.
        let dir = NSTemporaryDirectory()
        let smallPath = dir + "stratos-bench-\(getpid())-small.jsonl"
        let bigPath = dir + "stratos-bench-\(getpid())-big.jsonl"
        let copyPath = dir + "stratos-bench-\(getpid())-rows.copy"
        defer { for p in [smallPath, bigPath, copyPath] { try? FileManager.default.removeItem(atPath: p) } }
        let smallBytes = try generator.writeFile(smallPath, events: warmupImportEvents)
        let bigBytes = try generator.writeFile(bigPath, events: importEvents)

        let headBefore = try store.head().position
        t = Stopwatch()
        _ = try Importer(writer: writer).run(JSONLinesReader(path: smallPath))
        figure("bulk import, \(warmupImportEvents) events (\(smallBytes / 1_048_576) MiB)", Double(warmupImportEvents) / t.seconds, "events/s")
        figure("peak memory after \(warmupImportEvents)-event import", Double(peakResidentKiB()) / 1024, "MiB")

        let backendPID = store.connection.backendPID
        let (clientBefore, serverBefore) = (processCPUSeconds(), cpuSeconds(ofPID: backendPID))
        t = Stopwatch()
        let summary = try Importer(writer: writer).run(JSONLinesReader(path: bigPath))
        let importSeconds = t.seconds
        let (clientCPU, serverCPU) = (processCPUSeconds() - clientBefore, cpuSeconds(ofPID: backendPID) - serverBefore)
        precondition(summary.appended == Int64(importEvents))
        let importRate = Double(importEvents) / importSeconds
        figure("bulk import, \(importEvents) events (\(bigBytes / 1_048_576) MiB)", importRate, "events/s", ">= 100000")
        figure("peak memory after \(importEvents)-event import", Double(peakResidentKiB()) / 1024, "MiB", "flat")
        figure("bulk import: client CPU per event", 1e6 * clientCPU / Double(importEvents), "µs")
        if serverCPU > 0 { figure("bulk import: server backend CPU per event", 1e6 * serverCPU / Double(importEvents), "µs") }

        t = Stopwatch()
        let rerun = try Importer(writer: writer).run(JSONLinesReader(path: bigPath))
        precondition(rerun.appended == 0 && rerun.duplicates == Int64(importEvents))
        figure("re-import of the same file (all duplicates)", Double(importEvents) / t.seconds, "events/s")

        // The physical limit: the very same rows, COPYed into a table of the same columns with no
        // index, constraint or trigger. The rows are fetched to a client-side file first (not timed).
        try store.connection.execute(
            """
            CREATE TABLE bare_event_log (position bigint, stream text, stream_version bigint, event_id text,
              type text, time timestamptz, data jsonb, metadata jsonb, appended_at timestamptz, hash bytea)
            """)
        guard
            let out = FileHandle(forWritingAtPath: copyPath)
                ?? {
                    _ = FileManager.default.createFile(atPath: copyPath, contents: nil)
                    return FileHandle(forWritingAtPath: copyPath)
                }()
        else { throw BenchError("cannot write \(copyPath)") }
        try store.connection.query("SELECT set_config('stratos.bench_from', $1, false)", [String(headBefore + Int64(warmupImportEvents))])
        var pending = Data()
        try store.connection.copyOut(
            """
            COPY (SELECT * FROM event_log WHERE position > current_setting('stratos.bench_from')::bigint ORDER BY position) TO STDOUT
            """
        ) { chunk in
            pending.append(contentsOf: chunk)
            if pending.count > 1 << 20 {
                out.write(pending)
                pending.removeAll(keepingCapacity: true)
            }
        }
        out.write(pending)
        try out.close()
        let reader = try JSONLinesReader(path: copyPath) // any line reader will do: rows are lines
        t = Stopwatch()
        let copied = try store.connection.copyIn("COPY bare_event_log FROM STDIN") { w in
            while let (_, bytes) = try reader.next() {
                try w.write(bytes)
                try w.write([UInt8(ascii: "\n")])
            }
        }
        precondition(copied == Int64(importEvents))
        let bareRate = Double(importEvents) / t.seconds
        figure("bare COPY of the same rows (physical limit)", bareRate, "events/s")
        figure("bulk import / bare COPY", 100 * importRate / bareRate, "%", ">= 50")

        // The same rows into a copy of event_log with its indexes and checks (no triggers): the
        // limit for this table, whatever the client does.
        try store.connection.execute("CREATE TABLE indexed_event_log (LIKE event_log INCLUDING ALL)")
        let reader2 = try JSONLinesReader(path: copyPath)
        let indexedServerBefore = cpuSeconds(ofPID: backendPID)
        t = Stopwatch()
        _ = try store.connection.copyIn("COPY indexed_event_log FROM STDIN") { w in
            while let (_, bytes) = try reader2.next() {
                try w.write(bytes)
                try w.write([UInt8(ascii: "\n")])
            }
        }
        let indexedRate = Double(importEvents) / t.seconds
        let indexedServerCPU = cpuSeconds(ofPID: backendPID) - indexedServerBefore
        figure("COPY of the same rows into event_log's indexed layout", indexedRate, "events/s")
        if indexedServerCPU > 0 {
            figure("indexed COPY: server backend CPU per event", 1e6 * indexedServerCPU / Double(importEvents), "µs")
        }
        figure("bulk import / indexed COPY", 100 * importRate / indexedRate, "%", ">= 90")

        t = Stopwatch()
        let report = try store.verify()
        precondition(report.isIntact)
        figure("verify (hash chain walk)", Double(report.eventsChecked) / t.seconds, "events/s")
        return figures
    }

    /// User + system CPU time of this process (all threads).
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    /// User + system CPU time of another local process (the PostgreSQL backend), 0 if unreadable.
    static func cpuSeconds(ofPID pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let utime = Double(fields[11]), let stime = Double(fields[12]) else { return 0 }
        return (utime + stime) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// VmHWM of /proc/self/status: the peak resident set size, in KiB.
    static func peakResidentKiB() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.split(separator: " ").dropFirst().first { !$0.isEmpty }.map(String.init) ?? "") ?? 0
        }
        return 0
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

struct Stopwatch {
    let start = ContinuousClock.now
    var seconds: Double {
        let d = ContinuousClock.now - start
        return d.inSeconds
    }
}

/// Deterministic stream of plausible events (funding, transfers, prepayments over 10,000
/// accounts), one second apart.
struct EventGenerator {
    var n = 0
    var rng = SplitMix64(seed: 0x5EED)
    mutating func random() -> UInt64 { rng.next() }
    static let start: Int64 = 1_767_225_600_000_000

    mutating func next() -> LedgerEvent {
        n += 1
        let account = AccountID(unchecked: "st1bench\(random() % 10_000)")
        let amount = Wei(UInt128(random() % 1_000_000_000) * 1_000_000_000)
        let payload: EventPayload
        switch random() % 3 {
        case 0: payload = .funded(account: account, amount: amount)
        case 1: payload = .transferred(from: account, to: AccountID(unchecked: "st1bench\(random() % 10_000)"), amount: amount)
        default: payload = .prepaid(account: account, amount: amount)
        }
        return LedgerEvent(
            id: EventID(unchecked: "bench-\(n)"), time: Timestamp(microsecondsSinceEpoch: Self.start + Int64(n) * 1_000_000),
            payload: payload)
    }

    /// Writes `events` lines of JSON; returns the file size. Streams, so memory stays small.
    mutating func writeFile(_ path: String, events: Int) throws -> Int {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        guard let h = FileHandle(forWritingAtPath: path) else { throw BenchError("cannot write \(path)") }
        var buffer: [UInt8] = []
        var total = 0
        for _ in 0..<events {
            buffer.append(contentsOf: next().canonicalUTF8)
            buffer.append(UInt8(ascii: "\n"))
            if buffer.count > 1 << 20 {
                h.write(Data(buffer))
                total += buffer.count
                buffer.removeAll(keepingCapacity: true)
            }
        }
        h.write(Data(buffer))
        total += buffer.count
        try h.close()
        return total
    }
}
