// Part of the `append` suite: single-event appends side by side with Message DB, in one run on
// the same PostgreSQL cluster (issue 18). Message DB (github.com/message-db/message-db) is a
// PostgreSQL-native event store whose `write_message` is a PL/pgSQL function with a
// per-category lock and a per-stream version check: a peer that commits one event per
// transaction with one round trip. It is installed from its own source tree by its own
// `database/install.sh` into a scratch database and driven by pgbench (prepared, one event per
// transaction); stratos-ledger is driven over HTTP, one event per request, persistent
// connections, the server in this process as in HTTPBench: as it is, and with one commit at a
// time (as before the next commit was queued behind the one in flight). For each client count
// the three take turns of a second or so, summed per configuration, so that all three see the
// same load on a shared machine.
import EventStore
import Foundation
import LedgerEvents
import LoopbackHTTP
import PostgresClient
import StratosEconomics
import StratosService
import StratosSimulator
import Synchronization

enum AppendPeersBench {
    /// Seconds each configuration runs in all, in `rounds` turns.
    static let seconds = BenchScale.size(12.0, quick: 3.0)
    /// The configurations of one client count take turns, `seconds / rounds` each, so that all
    /// see the same machine load (on a shared machine it changes from second to second).
    static let rounds = BenchScale.size(12, quick: 3)
    static let clientCounts = [2, 8]
    /// Numbers the requests' event ids, unique across the whole run.
    static let requestCounter = Atomic<Int>(0)

    /// Requests (or transactions) and seconds summed over a configuration's turns.
    struct Tally {
        var count = 0.0
        var seconds = 0.0
        var rate: Double { seconds > 0 ? count / seconds : 0 }
    }

    static func run(serverURL: String, figure: (String, Double, String, String?) -> Void) async throws {
        var messageDB: MessageDBTarget?
        if let source = messageDBSource() {
            do {
                messageDB = try MessageDBTarget(serverURL: serverURL, source: source)
            } catch {
                FileHandle.standardError.write(Data("  Message DB row skipped: \(error)\n".utf8))
            }
        } else {
            FileHandle.standardError.write(
                Data(
                    ("  Message DB row skipped: set MESSAGE_DB_SOURCE to a checkout of https://github.com/message-db/message-db "
                        + "(the folder holding database/install.sh; e.g. `git clone https://github.com/message-db/message-db`); "
                        + "the bench never downloads it\n").utf8))
        }
        defer { messageDB?.drop() }

        var config = SimulationConfig.small
        config.epochs = 2
        config.seed = 18
        var events: [LedgerEvent] = []
        _ = try Simulator(config).run { events.append($0) }
        try profileStages(history: events, figure: figure)

        // Two servers over two copies of the history: the appender as it is (the next commit
        // queued behind the one in flight) and one commit at a time (`commitsInFlightBehind` 0,
        // as before).
        let serial = try await StratosTarget(serverURL: serverURL, suite: "append_http_serial", history: events, commitsInFlightBehind: 0)
        defer { serial.stop() }
        let overlapped = try await StratosTarget(serverURL: serverURL, suite: "append_http", history: events, commitsInFlightBehind: 1)
        defer { overlapped.stop() }

        for clients in [1] + clientCounts {
            let turn = seconds / Double(rounds)
            var peer = Tally()
            var peerTransactionsPerClient = 0
            if let messageDB, clients > 1 {
                let warm = try messageDB.pgbench(clients: clients, transactionsPerClient: 100)
                peerTransactionsPerClient = max(20, Int(warm.count / warm.seconds * turn / Double(clients)))
            }
            let sampler = messageDB.map { BackendSampler(url: serverURL, database: $0.database, application: "pgbench") }
            sampler?.start()
            var ours = StratosTarget.Turns()
            var before = StratosTarget.Turns()
            for _ in 0..<rounds {
                if let messageDB, clients > 1 {
                    let t = try messageDB.pgbench(clients: clients, transactionsPerClient: peerTransactionsPerClient)
                    peer.count += t.count
                    peer.seconds += t.seconds
                }
                if clients > 1 { try await serial.turn(clients: clients, seconds: turn, into: &before) }
                try await overlapped.turn(clients: clients, seconds: turn, into: &ours)
            }
            let peerBackendSeconds = sampler?.stop() ?? 0
            if peer.count > 0 {
                figure("Message DB write_message (pgbench, prepared), one event per transaction, \(clients) clients", peer.rate, "events/s", nil)
                if peerBackendSeconds > 0 {
                    figure("Message DB: PostgreSQL backend CPU per event, \(clients) clients", 1e6 * peerBackendSeconds / peer.count, "µs", nil)
                }
            }
            if clients > 1 { before.report(clients: clients, label: ", one commit at a time", serial: true, figure: figure) }
            ours.report(clients: clients, label: "", serial: false, figure: figure)
            if peer.count > 0, clients > 1 {
                figure(
                    "stratos-ledger / Message DB, one event per commit, \(clients) clients, one commit at a time",
                    before.requests.rate / peer.rate, "×", nil)
                figure(
                    "stratos-ledger / Message DB, one event per commit, \(clients) clients", ours.requests.rate / peer.rate, "×",
                    clients == 2 ? ">= 1.0" : ">= 2.0")
            }
        }
    }

    /// The folder holding Message DB's `database/install.sh`: `MESSAGE_DB_SOURCE` (the checkout
    /// or its `database` folder), nil when unset or not such a folder.
    static func messageDBSource() -> String? {
        guard let path = ProcessInfo.processInfo.environment["MESSAGE_DB_SOURCE"], !path.isEmpty else { return nil }
        for candidate in [path + "/database", path] where FileManager.default.fileExists(atPath: candidate + "/install.sh") {
            return candidate
        }
        FileHandle.standardError.write(Data("  MESSAGE_DB_SOURCE=\(path) holds no database/install.sh\n".utf8))
        return nil
    }

    /// The PostgreSQL client programs (psql, createdb, pgbench): beside `PG_BINDIR`, else the
    /// newest /usr/lib/postgresql/N/bin, else whatever PATH holds.
    static func postgresBinDir() -> String? {
        if let dir = ProcessInfo.processInfo.environment["PG_BINDIR"] { return dir }
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        return versions.compactMap(Int.init).sorted().last.map { "/usr/lib/postgresql/\($0)/bin" }
    }

    /// libpq environment for the programs, from the bench's server URL.
    static func libpqEnvironment(serverURL: String, database: String) throws -> [String: String] {
        guard let url = URLComponents(string: serverURL), let host = url.host else { throw BenchError("cannot read host of \(serverURL)") }
        var env = ProcessInfo.processInfo.environment
        env["PGHOST"] = host
        env["PGPORT"] = String(url.port ?? 5432)
        env["PGUSER"] = url.user ?? "postgres"
        if let password = url.password { env["PGPASSWORD"] = password }
        env["PGDATABASE"] = database
        env["DATABASE_NAME"] = database
        if let bin = postgresBinDir() { env["PATH"] = bin + ":" + (env["PATH"] ?? "/usr/bin:/bin") }
        return env
    }

    static func runProgram(_ arguments: [String], environment: [String: String], directory: String? = nil) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = arguments
        p.environment = environment
        if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard p.terminationStatus == 0 else {
            throw BenchError("\(arguments.joined(separator: " ")) exited \(p.terminationStatus): \(text.suffix(600))")
        }
        return text
    }

    /// Message DB installed into a scratch database, its `write_message` driven by pgbench: one
    /// event per transaction, prepared, each to a random stream of one category (so every write
    /// takes the same category lock, as every stratos-ledger append takes the head lock).
    final class MessageDBTarget {
        let admin: PostgresConnection
        let database: String
        let quoted: String
        let script: String
        let environment: [String: String]

        init(serverURL: String, source: String) throws {
            admin = try PostgresConnection(url: serverURL)
            database = "stratos_bench_messagedb_\(getpid())"
            quoted = try admin.escapeIdentifier(database)
            try admin.execute("DROP DATABASE IF EXISTS \(quoted)")
            let env = try libpqEnvironment(serverURL: serverURL, database: database)
            _ = try runProgram(["bash", source + "/install.sh"], environment: env, directory: source)
            let version =
                (try? String(contentsOfFile: source + "/VERSION.txt", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
            FileHandle.standardError.write(Data("  Message DB \(version) installed from \(source) into \(database)\n".utf8))
            script = NSTemporaryDirectory() + "stratos-bench-\(getpid())-messagedb.sql"
            try """
            \\set n random(1, 1000000000)
            SELECT write_message(gen_random_uuid()::varchar, 'account-' || :n, 'Funded', '{"account": "st1bench", "amount": "1000"}'::jsonb, '{"appendedBy": "pgbench"}'::jsonb);

            """.write(toFile: script, atomically: true, encoding: .utf8)
            var pgbenchEnv = env
            pgbenchEnv["PGOPTIONS"] = "-c search_path=message_store,public"
            environment = pgbenchEnv
        }

        func drop() {
            try? FileManager.default.removeItem(atPath: script)
            _ = try? admin.execute("DROP DATABASE IF EXISTS \(quoted) WITH (FORCE)")
        }

        /// One pgbench run: its transactions and the seconds they took (from its tps, without
        /// connection set-up). pgbench's `-T` runs on SIGALRM, which a child of this process
        /// inherits blocked (the Swift runtime's threads block signals), so a run is sized in
        /// transactions.
        func pgbench(clients: Int, transactionsPerClient: Int) throws -> Tally {
            let out = try runProgram(
                [
                    "pgbench", "-n", "-M", "prepared", "-c", String(clients), "-j", String(clients), "-t", String(transactionsPerClient),
                    "-f", script, database,
                ], environment: environment)
            guard let line = out.split(separator: "\n").first(where: { $0.hasPrefix("tps = ") }),
                let tps = Double(line.dropFirst("tps = ".count).prefix { $0 != " " }), tps > 0
            else { throw BenchError("pgbench printed no tps: \(out.suffix(400))") }
            let transactions = Double(clients * transactionsPerClient)
            return Tally(count: transactions, seconds: transactions / tps)
        }
    }

    /// One stratos-ledger server over a scratch database holding the history.
    final class StratosTarget {
        let scratch: ScratchDatabase
        let owner: PostgresConnection
        let port: Int
        let task: Task<Void, any Error>
        let time: String
        let token = "bench-token"
        let serial: Bool

        init(serverURL: String, suite: String, history: [LedgerEvent], commitsInFlightBehind: Int) async throws {
            scratch = try ScratchDatabase(serverURL: serverURL, suite: suite)
            owner = try PostgresConnection(url: scratch.url)
            try Migrator.load().migrate(owner)
            try LedgerWriter(store: EventStore(connection: owner), rules: Economy(rules: .paperV1)).append(history)
            time = history.last!.time.rfc3339
            serial = commitsInFlightBehind == 0
            (port, task) = try await startBenchServer(
                url: scratch.url, writeToken: token, appendLimits: Appender.Limits(commitsInFlightBehind: commitsInFlightBehind))
        }

        func stop() {
            task.cancel()
            scratch.drop()
        }

        /// The server's append counters (`/metrics`).
        func counters() throws -> (requests: Double, commits: Double, sentBehind: Double, decidedAgain: Double) {
            let text = try LoopbackHTTPClient(port: port).get("/metrics", headers: [("Authorization", "Bearer \(token)")]).text
            func value(_ name: String) -> Double {
                text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) } ?? 0
            }
            return (
                value("stratos_append_requests_total"), value("stratos_append_commits_total"),
                value("stratos_append_commits_sent_behind_total"), value("stratos_append_groups_decided_again_total")
            )
        }

        /// What a configuration's turns add up to.
        struct Turns {
            var requests = Tally()
            var serviceSeconds = 0.0
            var clientSeconds = 0.0
            var backendSeconds = 0.0
            var commits = 0.0
            var sentBehind = 0.0
            var decidedAgain = 0.0

            func report(clients: Int, label: String, serial: Bool, figure: (String, Double, String, String?) -> Void) {
                let n = max(1, requests.count)
                let plural = clients == 1 ? "" : "s"
                figure(
                    "stratos-ledger POST /v1/events, one event per request, \(clients) client\(plural)\(label)", requests.rate, "events/s", nil)
                figure(
                    "stratos-ledger: service CPU per single-event request, \(clients) client\(plural)\(label)", 1e6 * serviceSeconds / n, "µs",
                    serial ? nil : "<= 100")
                figure(
                    "stratos-ledger: PostgreSQL backend CPU per single-event request, \(clients) client\(plural)\(label)",
                    1e6 * backendSeconds / n, "µs", nil)
                figure("bench client threads: CPU per request, \(clients) client\(plural)\(label)", 1e6 * clientSeconds / n, "µs", nil)
                figure(
                    "stratos-ledger: requests per commit, \(clients) client\(plural)\(label)", requests.count / max(1, commits), "requests", nil)
                if !serial {
                    figure(
                        "stratos-ledger: commits sent behind the one in flight, \(clients) client\(plural)", 100 * sentBehind / max(1, commits),
                        "%", nil)
                    figure(
                        "stratos-ledger: groups sent without waiting and decided again, \(clients) client\(plural)",
                        100 * decidedAgain / max(1, commits), "%", nil)
                }
            }
        }

        /// Runs `clients` clients for `seconds` and adds what they did to `turns`: requests and
        /// time, the service's CPU (this process's minus the client threads') and the backends'.
        func turn(clients: Int, seconds: Double, into turns: inout Turns) async throws {
            let failures = Atomic<Int>(0)
            let requests = Atomic<Int>(0)
            let clientCPU = Mutex<Double>(0)
            let countersBefore = try counters()
            let backendsBefore = try backendCPU(owner, database: scratch.name, application: "stratos-ledger/appender")
            let processBefore = AppendBench.processCPUSeconds()
            let t = Stopwatch()
            let deadline = ContinuousClock.now + .seconds(seconds)
            let done = DispatchGroup()
            let (port, token, time) = (self.port, self.token, self.time)
            for _ in 0..<clients {
                done.enter()
                Thread.detachNewThread {
                    defer { done.leave() }
                    let started = threadCPUSeconds()
                    let client = LoopbackHTTPClient(port: port)
                    let headers = [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")]
                    while ContinuousClock.now < deadline {
                        let n = AppendPeersBench.requestCounter.add(1, ordering: .relaxed).newValue
                        let body = Array(
                            #"[{"id":"peer-\#(n)","type":"Funded","time":"\#(time)","data":{"account":"st1bench\#(n % 5000)","amount":"1000"}}]"#
                                .utf8)
                        let r = try? client.request("POST", "/v1/events", headers: headers, body: body)
                        if r?.status == 201 { requests.add(1, ordering: .relaxed) } else { failures.add(1, ordering: .relaxed) }
                    }
                    let used = threadCPUSeconds() - started
                    clientCPU.withLock { $0 += used }
                }
            }
            await withCheckedContinuation { c in done.notify(queue: .global()) { c.resume() } }
            let elapsed = t.seconds
            let processSeconds = AppendBench.processCPUSeconds() - processBefore
            let backendSeconds = try backendCPU(owner, database: scratch.name, application: "stratos-ledger/appender") - backendsBefore
            if failures.load(ordering: .relaxed) > 0 { throw BenchError("\(failures.load(ordering: .relaxed)) append requests failed") }
            let countersAfter = try counters()
            turns.requests.count += Double(requests.load(ordering: .relaxed))
            turns.requests.seconds += elapsed
            turns.serviceSeconds += processSeconds - clientCPU.withLock { $0 }
            turns.clientSeconds += clientCPU.withLock { $0 }
            turns.backendSeconds += backendSeconds
            turns.commits += countersAfter.commits - countersBefore.commits
            turns.sentBehind += countersAfter.sentBehind - countersBefore.sentBehind
            turns.decidedAgain += countersAfter.decidedAgain - countersBefore.decidedAgain
        }
    }

    /// The service's own work per single-event request, stage by stage, on this thread (CPU
    /// time): the body's parse and validation (EventBatch.parse), the rules check as the writer
    /// does it (on a copy of the state, then adopted) and without the copy, and the store's
    /// client side (canonical form and chained hash). The rest of a request's CPU is HTTP,
    /// scheduling and the database client (docs/EVENT-STORE.md has the whole profile).
    static func profileStages(history: [LedgerEvent], figure: (String, Double, String, String?) -> Void) throws {
        let time = history.last!.time.rfc3339
        func body(_ n: Int) -> [UInt8] {
            Array(#"[{"id":"stage-\#(n)","type":"Funded","time":"\#(time)","data":{"account":"st1bench\#(n % 5000)","amount":"1000"}}]"#.utf8)
        }
        let n = BenchScale.size(20_000, quick: 2_000)
        var start = threadCPUSeconds()
        var batches: [EventBatch] = []
        batches.reserveCapacity(n)
        for i in 0..<n { batches.append(try EventBatch.parse(body(i), format: .jsonArray)) }
        figure("profile: parse + validate a one-event request body", 1e6 * (threadCPUSeconds() - start) / Double(n), "µs", nil)

        var economy = Economy(rules: .paperV1)
        for event in history { _ = try economy.apply(event) }
        start = threadCPUSeconds()
        for batch in batches {
            var next = economy
            for item in batch.items { try next.check(item.event) }
            economy = next
        }
        figure("profile: rules check on a copy of the state, adopted (as LedgerWriter)", 1e6 * (threadCPUSeconds() - start) / Double(n), "µs", nil)
        var inPlace = Economy(rules: .paperV1)
        for event in history { _ = try inPlace.apply(event) }
        start = threadCPUSeconds()
        for batch in batches { for item in batch.items { try inPlace.check(item.event) } }
        figure("profile: rules check in place (no copy)", 1e6 * (threadCPUSeconds() - start) / Double(n), "µs", nil)

        start = threadCPUSeconds()
        var hash = HashChain.initial
        for (i, batch) in batches.enumerated() {
            hash = HashChain.next(previous: hash, position: Int64(i + 1), canonicalEvent: batch.items[0].event.canonicalUTF8)
        }
        precondition(hash.count == 32)
        figure("profile: canonical form + chained hash of one event", 1e6 * (threadCPUSeconds() - start) / Double(n), "µs", nil)
    }

    /// CPU seconds of the calling thread.
    static func threadCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Total CPU seconds so far of the backends of `database` serving `application`.
    static func backendCPU(_ c: PostgresConnection, database: String, application: String) throws -> Double {
        try backendPIDs(c, database: database, application: application).reduce(0) { $0 + AppendBench.cpuSeconds(ofPID: $1) }
    }

    static func backendPIDs(_ c: PostgresConnection, database: String, application: String) throws -> [Int32] {
        let r = try c.query("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2", [database, application])
        return try (0..<r.rowCount).map { Int32(try r.int64($0, 0)) }
    }
}

/// Follows the CPU time of backends that live only while pgbench runs: samples them every
/// 100 ms and keeps each one's last reading (a backend's counters end with it).
final class BackendSampler: @unchecked Sendable {
    let url: String
    let database: String
    let application: String
    private let last = Mutex<[Int32: Double]>([:])
    private let running = Atomic<Bool>(true)
    private let finished = DispatchSemaphore(value: 0)

    init(url: String, database: String, application: String) {
        self.url = url
        self.database = database
        self.application = application
    }

    func start() {
        Thread.detachNewThread { [self] in
            defer { finished.signal() }
            guard let c = try? PostgresConnection(url: url) else { return }
            // Bounded: at most ten minutes of samples.
            for _ in 0..<6_000 where running.load(ordering: .relaxed) {
                for pid in (try? AppendPeersBench.backendPIDs(c, database: database, application: application)) ?? [] {
                    let seconds = AppendBench.cpuSeconds(ofPID: pid)
                    if seconds > 0 { last.withLock { $0[pid] = seconds } }
                }
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
    }

    /// Stops sampling; the summed last readings.
    func stop() -> Double {
        running.store(false, ordering: .relaxed)
        finished.wait()
        return last.withLock { $0.values.reduce(0, +) }
    }
}
