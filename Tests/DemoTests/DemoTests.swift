import Foundation
import LedgerEvents
import PostgresTestSupport
import XCTest

@testable import StratosDemo

/// The demo end to end on the tiny network, against a real PostgreSQL (each test its own
/// database), in-process through the library entry point the CLI calls.
final class DemoTests: XCTestCase {
    var database: TestDatabase!
    var outputDirectory: String!

    override func setUpWithError() throws {
        database = try TestDatabase.create(prefix: "demo")
        outputDirectory = NSTemporaryDirectory() + "stratos-demo-\(UUID().uuidString)"
    }

    override func tearDownWithError() throws {
        try database?.drop()
        if let outputDirectory { try? FileManager.default.removeItem(atPath: outputDirectory) }
    }

    /// Runs the demo and returns its report (progress lines are collected apart).
    func runDemo(_ target: DemoDatabase, seed: UInt64 = 1, fresh: Bool = false) throws -> (DemoResult, String) {
        var report = ""
        var progress = ""
        let console = DemoConsole(report: { report += $0 }, progress: { progress += $0 }, interactive: false)
        var options = DemoOptions(size: .tiny, seed: seed, outputDirectory: outputDirectory, fresh: fresh)
        options.topNodes = 3
        let result = try Demo(options: options, console: console).run(database: target)
        if result.imported {
            XCTAssertTrue(progress.contains("import: 100%"), progress)
            XCTAssertTrue(progress.contains("project: 100%"), progress)
        }
        return (result, report)
    }

    func testDemoRunsEndToEndAndPrintsChartTopNodesAuditAndExports() throws {
        let dedicated = DemoDatabase.dedicated(serverURL: database.serverURL, name: database.name)
        let (result, report) = try runDemo(dedicated)

        XCTAssertTrue(result.imported)
        XCTAssertGreaterThan(result.events, 1000)
        XCTAssertEqual(result.lastClosedEpoch, 2 * 144)
        // The chart: a price axis, bars and a time axis.
        XCTAssertTrue(report.contains("Ozone price (s + p) / l after each hour"), report)
        XCTAssertTrue(report.contains(" ┤"))
        XCTAssertTrue(report.contains("└────"))
        XCTAssertTrue(report.contains("hour 48"))
        XCTAssertTrue(report.range(of: "[▁▂▃▄▅▆▇█]", options: .regularExpression) != nil)
        // The top nodes and the full audit of the first one.
        XCTAssertTrue(report.contains("Top 3 nodes by reward"))
        let node = try XCTUnwrap(result.auditedNode)
        let epoch = try XCTUnwrap(result.auditedEpoch)
        XCTAssertTrue(report.contains("Audit of node \(node) at the close of epoch \(epoch) (rules paper-v1)"), report)
        XCTAssertTrue(report.contains("R = floor((s + p) × Y / (l + Y))"))
        XCTAssertTrue(report.contains("derivation = engine report: yes"))
        XCTAssertTrue(report.contains("recomputation = stored projection: yes"))
        XCTAssertTrue(result.auditConsistent)
        // The journals, written where the report says.
        XCTAssertEqual(Set(result.exports.keys), [.csv, .ledger, .beancount])
        for (format, path) in result.exports {
            XCTAssertTrue(report.contains(path))
            let text = try String(contentsOfFile: path, encoding: .utf8)
            XCTAssertFalse(text.isEmpty, "\(format)")
        }
        XCTAssertTrue(
            try String(contentsOfFile: result.exports[.ledger]!, encoding: .utf8).contains("OpeningBalances")
                || result.lastClosedEpoch <= 144)
        XCTAssertTrue(report.contains("Hash chain: intact"))
        XCTAssertTrue(report.contains("(reused)"), "the test's database existed already")

        // A re-run reuses the history: nothing imported again, same audit.
        let (again, report2) = try runDemo(dedicated)
        XCTAssertFalse(again.imported)
        XCTAssertTrue(report2.contains("Import skipped: the database already holds this history"))
        XCTAssertEqual(again.auditedNode, result.auditedNode)
        XCTAssertEqual(again.auditedEpoch, result.auditedEpoch)

        // Another seed is refused rather than mixed into this history …
        XCTAssertThrowsError(try runDemo(.given(url: database.url), seed: 2)) { error in
            XCTAssertTrue("\(error)".contains("already holds another history"), "\(error)")
        }
        // … and --fresh on the demo's own database starts over.
        let (fresh, report3) = try runDemo(dedicated, seed: 2, fresh: true)
        XCTAssertTrue(fresh.imported)
        XCTAssertTrue(report3.contains("dropped and created again"))
        XCTAssertTrue(fresh.auditConsistent)
    }

    func testFreshNeverDropsTheDatabaseOfDatabaseURL() throws {
        XCTAssertThrowsError(try runDemo(.given(url: database.url), fresh: true)) { error in
            XCTAssertTrue("\(error)".contains("never drops the database of DATABASE_URL"), "\(error)")
        }
    }

    func testPriceChartUsesExactScaledIntegers() {
        // Prices 20,000,000.5 → 20,000,008 wei per noz over 3 days (one column a day).
        var prices: [PriceChart.Price] = []
        for epoch in Int64(1)...(3 * 144) {
            let numerator = UInt128(40_000_001 + 2 * UInt128(epoch / 144) * 8)
            prices.append((epoch, Wei(numerator * 1_000_000_000), Noz(2_000_000_000)))
        }
        let chart = PriceChart(prices: prices)
        XCTAssertEqual(chart.unit, "hour")
        XCTAssertEqual(chart.columns.count, 36, "72 hours in buckets of 2")
        XCTAssertEqual(chart.columns.first?.milliWeiPerNoz, 20_000_000_500)
        XCTAssertEqual(chart.columns.last?.milliWeiPerNoz, 20_000_024_500)
        let text = chart.render(height: 4)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 4 + 2 + 1)
        XCTAssertTrue(lines[0].hasPrefix("20,000,024.500 ┤"), text)
        XCTAssertTrue(lines[3].hasPrefix("20,000,006.500 ┤"), text)
        XCTAssertTrue(text.contains("hour 72"))

        XCTAssertEqual(PriceChart.format(milli: 0), "0.000")
        XCTAssertEqual(PriceChart.format(milli: 1_234_567_890_123), "1,234,567,890.123")
        // Beyond 128 bits in the product, still exact.
        XCTAssertEqual(PriceChart.scaled(Wei(UInt128.max / 2), Noz(UInt128.max), by: 1000), 499)
        XCTAssertEqual(PriceChart(prices: []).render(), "  (no epoch closed yet: no price to show)\n")
    }

    func testRedactsPasswords() {
        XCTAssertEqual(redacted("postgresql://u:secret@h:5432/db"), "postgresql://u:***@h:5432/db")
        XCTAssertEqual(redacted("postgresql://postgres@127.0.0.1:54329/postgres"), "postgresql://postgres@127.0.0.1:54329/postgres")
    }
}
