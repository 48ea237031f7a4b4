import FaultDrill
import Foundation
import XCTest

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
