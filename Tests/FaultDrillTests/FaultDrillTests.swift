import Foundation
import PostgresTestSupport
import XCTest

@testable import FaultDrill

/// The fault drill at CI size (docs/OPERATIONS.md): a primary and a synchronous standby on
/// 127.0.0.1, the service as a child process over a multi-host URL, four clients appending, and
/// PostgreSQL restarted, the service killed with -9, the primary killed and the standby
/// promoted. Every acknowledged event must be in the log exactly once, and the rest must hold.
final class FaultDrillTests: XCTestCase {
    /// The `stratos-ledger` built beside this test bundle (`swift build` builds it with the tests).
    static func binary() throws -> String {
        if let path = ProcessInfo.processInfo.environment["STRATOS_LEDGER_BIN"] { return path }
        let bundle = URL(fileURLWithPath: CommandLine.arguments.first { $0.hasSuffix(".xctest") } ?? CommandLine.arguments[0])
        let path = bundle.deletingLastPathComponent().appendingPathComponent("stratos-ledger").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw XCTSkip("no stratos-ledger executable at \(path): run `swift build` first (scripts/test.sh does)")
        }
        return path
    }

    func testEveryAcknowledgedEventSurvivesRestartsKillsAndAPromotion() throws {
        let directory = NSTemporaryDirectory() + "stratos-drill-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        var configuration = FaultDrill.Configuration(binary: try Self.binary(), directory: directory)
        configuration.clients = 4
        configuration.steadySeconds = 2
        configuration.secondsBetweenFaults = 2
        configuration.keep = ProcessInfo.processInfo.environment["DRILL_KEEP"] != nil
        configuration.log = { FileHandle.standardError.write(Data("drill: \($0)\n".utf8)) }
        let started = Date()
        let report = try FaultDrill.run(configuration)
        FileHandle.standardError.write(Data("drill report (\(Int(Date().timeIntervalSince(started))) s):\n\(report.description)\n".utf8))
        XCTAssertGreaterThan(report.acknowledged, 50, "the clients got appends through")
        XCTAssertEqual(report.lost, 0, "acknowledged but lost")
        XCTAssertEqual(report.duplicates, 0)
        XCTAssertEqual(report.misplaced, 0)
        XCTAssertTrue(report.gapFree, "positions without gaps")
        XCTAssertTrue(report.chainVerified, "verify passes")
        XCTAssertTrue(report.projectionsMatchRebuild, "projections equal a fresh rebuild")
        XCTAssertTrue(report.readyAtEnd)
        XCTAssertEqual(report.faults.count, 3)
        for f in report.faults { XCTAssertNotNil(f.secondsToReady, "\(f.fault.rawValue): ready again") }
        XCTAssertNotNil(report.sigtermSeconds, "SIGTERM ends the service")
        XCTAssertTrue(report.problems.isEmpty, "\(report.problems)")
    }
}

/// `project` killed with -9 in the middle of a catch-up and started again at once, as a
/// supervisor would: the new worker waits for the dead one's backend to end (it still runs its
/// statement and holds the schema's lock) instead of being refused, and finishes the build.
final class ProjectKillTests: XCTestCase {
    func testProjectKilledAndRestartedAtOnceFinishesTheBuild() throws {
        let binary = try FaultDrillTests.binary()
        let database = try TestDatabase.create(prefix: "projectkill")
        defer { try? database.drop() }
        let directory = NSTemporaryDirectory() + "stratos-projectkill-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let history = directory + "/history.jsonl"
        func run(_ arguments: [String], log: String) throws -> ServiceProcess {
            let url = arguments[0] == "simulate" ? [] : ["--database-url", database.url]
            let p = ServiceProcess(
                binary: binary, arguments: arguments + url,
                logPath: directory + "/" + log, port: 0)
            try p.start()
            return p
        }
        for (arguments, log) in [
            (["migrate"], "migrate.log"), (["simulate", "--days", "3", "--output", history], "simulate.log"),
            (["import", history], "import.log"),
        ] {
            let p = try run(arguments, log: log)
            XCTAssertEqual(p.waitForExit(timeout: 120), 0, "\(arguments[0]): \(p.log)")
        }
        let owner = try database.connect()
        let head = try owner.query("SELECT position FROM event_log_head").int64(0, 0)
        var killed = 0
        var waited = 0
        for round in 0..<5 {
            // Small batches so that the kill lands inside a statement.
            let p = try run(["project", "--batch-size", "50"], log: "project-\(round).log")
            Thread.sleep(forTimeInterval: Double.random(in: 0.2...0.8))
            p.kill()
            killed += 1
            if round > 0, p.log.contains("waiting for the lock") { waited += 1 }
        }
        let last = try run(["project", "--once"], log: "project-last.log")
        XCTAssertEqual(last.waitForExit(timeout: 120), 0, last.log)
        XCTAssertFalse(last.log.contains("another projection worker holds the lock"), last.log)
        let projected = try owner.query("SELECT last_position FROM projection.projection_state").int64(0, 0)
        XCTAssertEqual(projected, head, "the build finished after \(killed) kills")
        // Whether a kill lands inside a statement (then the next worker waits for the orphaned
        // backend) is up to timing; SupervisorTests holds a lock deterministically.
        FileHandle.standardError.write(Data("project killed \(killed) times; \(waited) restarts waited for a predecessor's backend\n".utf8))
    }
}
