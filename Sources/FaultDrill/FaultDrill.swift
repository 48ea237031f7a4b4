import EventStore
import Foundation
import LedgerEvents
import LoopbackHTTP
import PostgresClient
import StratosDemo
import StratosEconomics
import StratosProjections
import StratosService
import StratosSimulator

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The fault drill of docs/OPERATIONS.md, on 127.0.0.1 only: a primary and a synchronous
/// streaming standby (`pg_basebackup -R`), `stratos-ledger serve --project` as a child process
/// over the libpq multi-host URL of both (reads on the standby), clients appending one event per
/// request, and faults injected one after the other — PostgreSQL restarted, the service killed
/// with -9 and restarted, the primary killed with -9 and the standby promoted. Then the checks:
/// every acknowledged event is in the log exactly once at the position it was acknowledged
/// with, the positions have no gap, the hash chain verifies, the projections equal a fresh
/// rebuild, and the service is ready again (and stops on SIGTERM within seconds).
///
/// `FaultDrillTests` runs it at CI size; `stratos-bench faults` runs it longer and reports the
/// figures (docs/BENCHMARKS.md).
public enum FaultDrill {
    public enum Fault: String, CaseIterable, Sendable {
        case restartPostgres = "PostgreSQL restarted (pg_ctl restart -m fast)"
        case killService = "service killed (kill -9) and started again"
        case promoteStandby = "primary killed (kill -9), standby promoted"
    }

    public struct Configuration: Sendable {
        /// The `stratos-ledger` executable.
        public var binary: String
        /// Where the clusters and logs go (deleted at the end unless `keep`).
        public var directory: String
        public var clients: Int = 4
        /// Appending before the first fault (the fault-free rate).
        public var steadySeconds: Double = 3
        /// Appending after each fault before the next.
        public var secondsBetweenFaults: Double = 3
        public var faults: [Fault] = Fault.allCases
        /// How long the service may take to be ready after a fault.
        public var readyTimeout: Double = 30
        public var keep = false
        public var log: @Sendable (String) -> Void = { _ in }

        public init(binary: String, directory: String) {
            self.binary = binary
            self.directory = directory
        }
    }

    public struct Report: Sendable {
        public var acknowledged = 0
        /// Acknowledged events missing from the log.
        public var lost = 0
        /// Acknowledged events found at another position than their acknowledgement said, or
        /// two acknowledgements of one position.
        public var misplaced = 0
        /// Ids or positions in the log more than once.
        public var duplicates = 0
        public var logEvents: Int64 = 0
        public var gapFree = false
        public var chainVerified = false
        public var projectionsMatchRebuild = false
        public var readyAtEnd = false
        public var faultFreeRate: Double = 0
        public var drillRate: Double = 0
        /// Each fault and the seconds from it (PostgreSQL back, the service started, the
        /// standby promoted) until `/health/ready` answered 200; nil: not within the timeout.
        public var faults: [(fault: Fault, secondsToReady: Double?, secondsToAppend: Double?)] = []
        /// Requests that were not acknowledged and were sent again.
        public var retriedRequests = 0
        /// From SIGTERM to the process's end; nil: it did not end within 15 s.
        public var sigtermSeconds: Double?
        public var problems: [String] = []

        public var passed: Bool {
            problems.isEmpty && lost == 0 && misplaced == 0 && duplicates == 0 && gapFree && chainVerified
                && projectionsMatchRebuild && readyAtEnd && faults.allSatisfy { $0.secondsToReady != nil } && sigtermSeconds != nil
        }

        public var description: String {
            var lines = [
                "acknowledged \(acknowledged), lost \(lost), misplaced \(misplaced), duplicates \(duplicates); "
                    + "log \(logEvents) events, gap-free \(gapFree), chain verified \(chainVerified)",
                "projections equal a fresh rebuild: \(projectionsMatchRebuild); ready at the end: \(readyAtEnd); "
                    + "SIGTERM to exit: \(sigtermSeconds.map { String(format: "%.2f s", $0) } ?? "did not exit")",
                String(
                    format: "appends/s: %.0f fault-free, %.0f during the drill; %d requests retried",
                    faultFreeRate, drillRate, retriedRequests),
            ]
            for f in faults {
                lines.append(
                    "  \(f.fault.rawValue): ready after " + (f.secondsToReady.map { String(format: "%.2f s", $0) } ?? "NOT READY")
                        + ", next append acknowledged after " + (f.secondsToAppend.map { String(format: "%.2f s", $0) } ?? "none"))
            }
            lines += problems.map { "  problem: \($0)" }
            return lines.joined(separator: "\n")
        }
    }

    /// Runs the drill. Throws when the set-up fails (no PostgreSQL binaries, a cluster that does
    /// not start); what the faults break is in the report.
    public static func run(_ configuration: Configuration) throws -> Report {
        let c = configuration
        let log = c.log
        try FileManager.default.createDirectory(atPath: c.directory, withIntermediateDirectories: true)
        chmod(c.directory, 0o755)
        let primaryDir = c.directory + "/primary"
        let standbyDir = c.directory + "/standby"
        defer {
            if !c.keep {
                try? PrivateCluster.destroy(primaryDir)
                try? PrivateCluster.destroy(standbyDir)
            }
        }
        log("starting a primary and a synchronous standby under \(c.directory)")
        let primaryServer = try PrivateCluster.start(in: primaryDir)
        let standbyServer = try PrivateCluster.standby(of: primaryDir, in: standbyDir, synchronous: true)
        let admin = try PostgresConnection(url: primaryServer)
        try admin.execute(AdminSQL.statement("database.create", database: "drill", on: admin))
        let url = try PrivateCluster.multiHostURL([primaryDir, standbyDir], database: "drill")
        let standbyURL = connectionString(standbyServer, replacingDatabaseWith: "drill")
        let owner = try PostgresConnection(url: url)
        try Migrator.load().migrate(owner)
        var genesis: LedgerEvent?
        _ = try Simulator(.tiny(epochs: 1, seed: 1)).run { if genesis == nil { genesis = $0 } }
        try EventStore(connection: owner).append([genesis!])

        let port = try freePort()
        let token = "drill-\(UInt64.random(in: 0...UInt64.max))"
        let service = ServiceProcess(
            binary: c.binary,
            arguments: [
                "serve", "--database-url", url, "--read-database-url", standbyURL, "--project",
                "--port", String(port), "--write-token", token, "--shutdown-grace", "5",
            ],
            logPath: c.directory + "/service.log", port: port)
        defer { service.kill() }
        try service.start()
        guard service.waitUntilReady(timeout: c.readyTimeout) != nil else {
            throw DrillFailure("the service was not ready within \(c.readyTimeout) s; its log:\n\(service.log)")
        }

        var report = Report()
        let appenders = Appenders(port: port, token: token, genesisTime: genesis!.time.rfc3339)
        let started = Date()
        appenders.start(clients: c.clients)
        Thread.sleep(forTimeInterval: c.steadySeconds)
        let faultsFrom = Date()
        report.faultFreeRate = Double(appenders.count(from: started, to: faultsFrom)) / faultsFrom.timeIntervalSince(started)
        log(String(format: "fault-free: %.0f appends/s", report.faultFreeRate))

        var primary = primaryDir
        for fault in c.faults {
            log("fault: \(fault.rawValue)")
            switch fault {
            case .restartPostgres:
                try PrivateCluster.restart(primary)
            case .killService:
                service.kill()
                try service.start()
            case .promoteStandby:
                guard primary == primaryDir else {
                    report.problems.append("a second promotion needs a second standby; skipped")
                    continue
                }
                try PrivateCluster.kill(primaryDir)
                try PrivateCluster.promote(standbyDir)
                primary = standbyDir
            }
            let injected = Date()
            let ready = service.waitUntilReady(timeout: c.readyTimeout)
            log("  ready after " + (ready.map { String(format: "%.2f s", $0) } ?? "— not within \(c.readyTimeout) s"))
            Thread.sleep(forTimeInterval: c.secondsBetweenFaults)
            report.faults.append((fault, ready, appenders.firstAcknowledgement(after: injected).map { $0.timeIntervalSince(injected) }))
        }
        let faultsTo = Date()
        report.drillRate = Double(appenders.count(from: faultsFrom, to: faultsTo)) / faultsTo.timeIntervalSince(faultsFrom)
        if !appenders.stop(timeout: 60) { report.problems.append("an appender did not finish its last request within 60 s") }
        report.retriedRequests = appenders.failedAttempts

        try check(&report, appenders: appenders, url: url, service: service, timeout: c.readyTimeout)

        let sigterm = Date()
        if service.signal(SIGTERM, waitUpTo: 15) { report.sigtermSeconds = Date().timeIntervalSince(sigterm) }
        if !report.passed { log("service log:\n" + service.log.split(separator: "\n").suffix(40).joined(separator: "\n")) }
        return report
    }

    /// The checks after the drill, on whichever host is primary now.
    static func check(_ report: inout Report, appenders: Appenders, url: String, service: ServiceProcess, timeout: Double) throws {
        let acknowledged = appenders.acknowledged
        report.acknowledged = acknowledged.count
        let c = try PostgresConnection(url: url)
        let rows = try c.query(AdminSQL.statement("drill.positions", on: c))
        var logged: [String: Int64] = [:]
        for i in 0..<rows.rowCount {
            let id = try rows.string(i, 0)
            if logged[id] != nil { report.duplicates += 1 }
            logged[id] = try rows.int64(i, 1)
        }
        var positions = Set<Int64>()
        for (id, ack) in acknowledged {
            guard let position = logged[id] else {
                report.lost += 1
                continue
            }
            if position != ack.position || !positions.insert(position).inserted { report.misplaced += 1 }
        }
        let totals = try c.query(AdminSQL.statement("drill.totals", on: c))
        report.logEvents = try totals.int64(0, 0)
        report.gapFree = try totals.int64(0, 1) == report.logEvents
        report.duplicates += Int(report.logEvents - (try totals.int64(0, 2)))
        let verify = try EventStore(connection: c).verify()
        report.chainVerified = verify.problem == nil
        if let problem = verify.problem { report.problems.append("verify: \(problem)") }

        // The service's projections, once caught up, against a fresh build of the same log.
        let head = try EventStore(connection: c).head().position
        let client = LoopbackHTTPClient(port: service.port, timeoutSeconds: 5)
        let deadline = Date().addingTimeInterval(timeout)
        var projected: Int64 = -1
        while Date() < deadline {
            if let r = try? client.get("/health"), case .object(let o)? = try? JSONValue.parse(r.body),
                case .number(let p)? = o["projected"], let value = Int64(p)
            {
                projected = value
                if value == head { break }
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        guard projected == head else {
            report.problems.append("the service's projections stayed at \(projected), the log is at \(head)")
            return
        }
        let reference = try ProjectionWorker(url: url, schema: "drill_reference")
        try reference.lock(wait: false)
        try reference.createIfMissing(rules: .paperV1, checkpointEvery: ProjectionDefaults.checkpointEvery)
        try reference.catchUp()
        try reference.ensureIndexed()
        let sql = try ProjectionSQL.load()
        let served = try sql.fingerprint(c, schema: "projection")
        let rebuilt = try sql.fingerprint(c, schema: "drill_reference")
        report.projectionsMatchRebuild = served == rebuilt
        if served != rebuilt {
            for (table, value) in served where rebuilt[table] != value {
                report.problems.append("projection table \(table): served \(value), rebuilt \(rebuilt[table] ?? "missing")")
            }
        }
        report.readyAtEnd = service.waitUntilReady(timeout: timeout) != nil
    }
}
