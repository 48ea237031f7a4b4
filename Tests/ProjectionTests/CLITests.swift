import EventStore
import Foundation
import PostgresTestSupport
import StratosProjections
import XCTest

/// Runs the `stratos-ledger` built beside this test bundle (`swift build` builds it with the tests).
func runLedger(_ arguments: [String], databaseURL: String) throws -> (status: Int32, stdout: String, stderr: String) {
    let path: String
    if let bin = ProcessInfo.processInfo.environment["STRATOS_LEDGER_BIN"] {
        path = bin
    } else {
        let bundle = URL(fileURLWithPath: CommandLine.arguments.first { $0.hasSuffix(".xctest") } ?? CommandLine.arguments[0])
        path = bundle.deletingLastPathComponent().appendingPathComponent("stratos-ledger").path
    }
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw XCTSkip("no stratos-ledger executable at \(path): run `swift build` first (scripts/test.sh does)")
    }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = arguments
    var environment = ProcessInfo.processInfo.environment
    environment["DATABASE_URL"] = databaseURL
    p.environment = environment
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    // Read both pipes while it runs (a full pipe would block it).
    nonisolated(unsafe) var errData = Data()
    let reader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
    reader.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    while !reader.isFinished { Thread.sleep(forTimeInterval: 0.01) }
    return (p.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

final class CLITests: ProjectionTestCase {
    /// verify --epoch and audit epoch start from a checkpoint: they walk the hash chain of the
    /// segment they read, say so, and fail on a tampered event in it, naming its position.
    func testEpochVerifyAndAuditCheckTheHashChainOfTheirSegment() throws {
        try append(try Self.history(epochs: 200))
        try project(checkpointEvery: 50)
        let q = try LedgerQueries(connection: database.connect(), sql: sql)
        let segment = try q.replaySegment(epoch: 160)
        XCTAssertEqual(
            segment.after,
            try store.connection.query(
                "SELECT position FROM projection.epoch_checkpoints WHERE epoch <= 159 ORDER BY epoch DESC LIMIT 1"
            ).int64(0, 0))
        XCTAssertLessThan(segment.after + 2, segment.through)
        XCTAssertEqual(try q.verify(epoch: 160).chain?.isIntact, true)

        var r = try runLedger(["verify", "--epoch", "160"], databaseURL: database.url)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("epoch 160: hash chain of positions \(segment.after + 1)–\(segment.through)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("verifies"), r.stdout)
        r = try runLedger(["audit", "epoch", "160"], databaseURL: database.url)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("hash chain of positions \(segment.after + 1)–\(segment.through)"), r.stdout)
        XCTAssertNotNil(r.stdout.range(of: #"R = [0-9]+ wei \([0-9]+\.[0-9]{18} STOS\)"#, options: .regularExpression), r.stdout)

        // Tamper with an event of the segment, as the database owner: its id is not part of any
        // settlement, so the recomputation alone would still match.
        let tampered = segment.after + 2
        let c = try database.connect()
        try c.execute("ALTER TABLE event_log DISABLE TRIGGER ALL")
        try c.execute("UPDATE event_log SET event_id = event_id || '-x' WHERE position = \(tampered)")
        try c.execute("ALTER TABLE event_log ENABLE TRIGGER ALL")
        XCTAssertEqual(try store.verify().problem?.position, tampered)

        let v = try q.verify(epoch: 160)
        XCTAssertFalse(v.matches)
        XCTAssertEqual(v.chain?.problem?.position, tampered)
        XCTAssertTrue(try q.verify(epoch: 60).matches, "a segment that does not hold the tampered event still verifies")

        r = try runLedger(["verify", "--epoch", "160"], databaseURL: database.url)
        XCTAssertEqual(r.status, 2, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("BROKEN") && r.stderr.contains("position \(tampered): hash mismatch"), r.stderr)
        for format in ["text", "json"] {
            r = try runLedger(["audit", "epoch", "160", "--format", format], databaseURL: database.url)
            XCTAssertEqual(r.status, 2, r.stdout + r.stderr)
            XCTAssertTrue(r.stderr.contains("position \(tampered): hash mismatch"), r.stderr)
        }
    }

    /// Every verb that reads the log, on a database that was never migrated, says to migrate.
    func testVerbsOnAnUnmigratedDatabaseSayToMigrateFirst() throws {
        let bare = try TestDatabase.create(prefix: "unmigrated")
        defer { try? bare.drop() }
        let file = NSTemporaryDirectory() + "stratos-unmigrated-\(UInt64.random(in: 0...UInt64.max)).jsonl"
        try #"{"id":"a","type":"Funded","time":"2026-01-01T00:00:00Z","data":{"account":"st1a","amount":"1"}}"#
            .write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        for verb in [
            ["import", file], ["verify"], ["verify", "--epoch", "1"], ["project", "--once"], ["snapshot"],
            ["audit", "epoch", "1"], ["audit", "node", "stsds1x", "--epoch", "1"], ["export", "--format", "csv"],
            ["rebuild", "--rules", "paper-v1"], ["serve", "--port", "0"],
        ] {
            let r = try runLedger(verb, databaseURL: bare.url)
            XCTAssertNotEqual(r.status, 0, "\(verb)")
            XCTAssertTrue(r.stderr.contains("the database has no event log: run `stratos-ledger migrate` first"), "\(verb): \(r.stderr)")
            XCTAssertFalse(r.stderr.contains("42P01"), "\(verb): \(r.stderr)")
        }
    }

    /// snapshot prints the human form by default (STOS with 18 decimals, OZ with 9) and, with
    /// --format json, exactly the EVENTS.md JSON.
    func testSnapshotIsHumanTextByDefaultAndExactJSONOnRequest() throws {
        try append(try Self.history(epochs: 30))
        try project()
        let q = try LedgerQueries(connection: database.connect(), sql: sql)
        let expected = try q.snapshot(at: .epoch(20))
        var r = try runLedger(["snapshot", "--epoch", "20", "--format", "json"], databaseURL: database.url)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, expected.json() + "\n")

        r = try runLedger(["snapshot", "--epoch", "20"], databaseURL: database.url)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(r.stdout.hasPrefix("{"), r.stdout)
        XCTAssertTrue(r.stdout.contains("last closed epoch 20"), r.stdout)
        let (id, account) = try XCTUnwrap(expected.accounts.first { $0.value.wallet.rawValue > 0 })
        let w = account.wallet.rawValue
        let scale: UInt128 = 1_000_000_000_000_000_000
        let fraction = String(w % scale)
        let wallet = "\(w / scale).\(String(repeating: "0", count: 18 - fraction.count))\(fraction) STOS"
        XCTAssertTrue(r.stdout.contains("  \(id): wallet \(wallet), ozone "), r.stdout)
        let stos = try NSRegularExpression(pattern: #"(\S+) STOS"#)
        let oz = try NSRegularExpression(pattern: #"(\S+) OZ\b"#)
        let text = r.stdout as NSString
        for (re, decimals) in [(stos, 18), (oz, 9)] {
            let matches = re.matches(in: r.stdout, range: NSRange(location: 0, length: text.length))
            XCTAssertFalse(matches.isEmpty)
            for m in matches {
                let amount = text.substring(with: m.range(at: 1))
                XCTAssertNotNil(amount.range(of: #"^[0-9]+\.[0-9]{\#(decimals)}$"#, options: .regularExpression), amount)
            }
        }
    }
}
