import EventStore
import Foundation
import LedgerEvents
import PostgresClient
import XCTest

final class ImportTests: StoreTestCase {
    func importFile(
        _ lines: [String], commitEvery: Int? = nil, batchSize: Int = 2000,
        rules: CappedRules = CappedRules()
    ) throws -> ImportSummary {
        let path = try writeTempFile(lines)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try LedgerWriter(store: store, rules: rules)
        return try Importer(writer: writer, batchSize: batchSize, commitEvery: commitEvery).run(JSONLinesReader(path: path))
    }

    func assertRefused(_ lines: [String], line: Int, mentions: [String], file: StaticString = #filePath, lineNo: UInt = #line) throws {
        XCTAssertThrowsError(try importFile(lines), file: file, line: lineNo) { error in
            guard let e = error as? ImportError else { return XCTFail("\(error)", file: file, line: lineNo) }
            XCTAssertEqual(e.lineNumber, line, "\(e)", file: file, line: lineNo)
            let text = "\(e)"
            XCTAssertTrue(text.hasPrefix("line \(line): "), text, file: file, line: lineNo)
            for m in mentions { XCTAssertTrue(text.contains(m), "\(text) should mention \(m)", file: file, line: lineNo) }
            XCTAssertTrue(text.contains("nothing was appended"), text, file: file, line: lineNo)
        }
        XCTAssertEqual(try store.head().position, 0, "log unchanged", file: file, line: lineNo)
        XCTAssertEqual(try store.connection.query("SELECT count(*) FROM event_log").int64(0, 0), 0, file: file, line: lineNo)
    }

    func testImportAndIdempotentRerun() throws {
        let lines = (1...25).map { line("e\($0)", time: "2026-01-01T00:00:\(String(format: "%02d", $0))Z") }
        let first = try importFile(lines, batchSize: 7)
        XCTAssertEqual(first.appended, 25)
        XCTAssertEqual(first.head, 25)
        let second = try importFile(lines, batchSize: 7)
        XCTAssertEqual(second.appended, 0)
        XCTAssertEqual(second.duplicates, 25)
        XCTAssertEqual(try store.head().position, 25)
        XCTAssertTrue(try store.verify().isIntact)
    }

    func testMalformedLineAppendsNothing() throws {
        try assertRefused([line("a"), line("b"), #"{"id":"c","type":"Funded","#, line("d")], line: 3, mentions: ["invalid JSON"])
    }

    func testJSONNumberWhereAnAmountBelongsIsRefused() throws {
        try assertRefused(
            [line("a"), line("b"), line("c", data: #"{"account":"st1alice","amount":100}"#)],
            line: 3, mentions: ["\"c\"", "data.amount", "JSON number"])
    }

    func testUnknownTypeIsRefused() throws {
        try assertRefused([line("a"), line("b", type: "Minted")], line: 2, mentions: ["\"b\"", "Minted"])
    }

    func testTimeGoingBackwardsIsRefusedWithLine() throws {
        // The refusal comes at append time, in a later batch than the first event.
        let lines = [
            line("a", time: "2026-01-01T00:00:05Z"), line("b", time: "2026-01-01T00:00:06Z"),
            line("c", time: "2026-01-01T00:00:07Z"), line("d", time: "2026-01-01T00:00:04Z"),
        ]
        XCTAssertThrowsError(try importFile(lines, batchSize: 3)) { error in
            let e = error as! ImportError
            XCTAssertEqual(e.lineNumber, 4)
            XCTAssertEqual(e.eventID, "d")
            XCTAssertTrue("\(e)".contains("goes backwards"), "\(e)")
            // The event before it is in an earlier batch of the same file: its line, not "the log".
            XCTAssertTrue("\(e)".contains("the previous event in the file, at line 3, is at 2026-01-01T00:00:07Z"), "\(e)")
        }
        XCTAssertEqual(try store.head().position, 0)
    }

    func testTimeGoingBackwardsNamesThePreviousLineOrTheLog() throws {
        try assertRefused(
            [line("a", time: "2026-01-01T00:00:05Z"), line("b", time: "2026-01-01T00:00:04Z")], line: 2,
            mentions: ["\"b\"", "goes backwards", "the previous event in the file, \"a\" at line 1, is at 2026-01-01T00:00:05Z"])
        _ = try importFile([line("a", time: "2026-01-01T00:00:05Z")])
        XCTAssertThrowsError(try importFile([line("z", time: "2026-01-01T00:00:01Z")])) { error in
            XCTAssertEqual((error as? ImportError)?.lineNumber, 1)
            XCTAssertTrue("\(error)".contains("the log's last event, at position 1, is at 2026-01-01T00:00:05Z"), "\(error)")
        }
    }

    func testDuplicateIDInOneFileNamesTheConflictingLineAndTheFirst() throws {
        let other = line("x", data: #"{"account":"st1bob","amount":"7"}"#)
        try assertRefused(
            [line("a"), line("x"), line("b"), line("x"), other, line("c")], line: 5,
            mentions: ["\"x\"", "already used at line 2 of this file", "other content"])
        // In a later batch than the first use: still the later line, and not mistaken for the log.
        XCTAssertThrowsError(try importFile([line("x"), line("a"), line("b"), other], batchSize: 2)) { error in
            XCTAssertEqual((error as? ImportError)?.lineNumber, 4)
            XCTAssertTrue("\(error)".contains("earlier line of this file"), "\(error)")
        }
    }

    func testOverlongLineIsNamedOnceWithTheLimit() throws {
        let long = line("big", data: #"{"account":"st1alice","amount":"1","pad":""# + String(repeating: "x", count: 1 << 20) + #""}"#)
        XCTAssertThrowsError(try importFile([line("a"), long])) { error in
            let text = "\(error)"
            XCTAssertEqual((error as? ImportError)?.lineNumber, 2)
            XCTAssertTrue(text.hasPrefix("line 2: the line is longer than 1048576 bytes (1 MiB)"), text)
            XCTAssertFalse(text.contains("line 2: line 2"), text)
        }
        XCTAssertEqual(try store.head().position, 0)
    }

    func testRuleViolationNamesEventAndLineAndAppendsNothing() throws {
        let lines = [line("a"), line("b"), line("big", data: #"{"account":"st1alice","amount":"5000"}"#), line("c")]
        XCTAssertThrowsError(try importFile(lines, batchSize: 2)) { error in
            let e = error as! ImportError
            XCTAssertEqual(e.lineNumber, 3)
            XCTAssertTrue("\(e)".contains("big") && "\(e)".contains("amount-out-of-range"), "\(e)")
        }
        XCTAssertEqual(try store.head().position, 0)
    }

    func testCommitEveryKeepsCommittedChunksAndRerunResumes() throws {
        var lines = (1...10).map { line("e\($0)") }
        lines.insert(line("bad", data: #"{"account":"st1alice","amount":"x"}"#), at: 7) // line 8
        XCTAssertThrowsError(try importFile(lines, commitEvery: 3)) { error in
            let e = error as! ImportError
            XCTAssertEqual(e.lineNumber, 8)
            XCTAssertEqual(e.committedEvents, 6)
            XCTAssertTrue("\(e)".contains("6 events before it were committed"), "\(e)")
        }
        XCTAssertEqual(try store.head().position, 6)
        lines.remove(at: 7)
        let rerun = try importFile(lines, commitEvery: 3)
        XCTAssertEqual(rerun.duplicates, 6)
        XCTAssertEqual(rerun.appended, 4)
        XCTAssertTrue(try store.verify().isIntact)
    }

    /// Batches prepared while the one before is queued (binary COPY) write the same rows the
    /// exact path would: positions without gaps, stream versions continuing across batches,
    /// times and data as the file has them (verify recomputes every hash from the columns), and
    /// a batch that is all duplicates in the middle of new ones is skipped exactly.
    func testQueuedBatchesContinueVersionsAndChainAcrossBatches() throws {
        let accounts = ["st1alice", "st1bob", "st1carol"]
        let lines = (1...20).map {
            line(
                "q\($0)", time: "2026-01-01T00:00:\(String(format: "%02d", $0))Z",
                data: #"{"account":"\#(accounts[$0 % 3])","amount":"\#($0)"}"#)
        }
        XCTAssertEqual(try importFile(Array(lines[0..<6]), batchSize: 3).appended, 6)
        let summary = try importFile(lines, batchSize: 3)
        XCTAssertEqual(summary.duplicates, 6)
        XCTAssertEqual(summary.appended, 14)
        XCTAssertEqual(try store.head().position, 20)
        XCTAssertTrue(try store.verify().isIntact)
        let versions = try store.connection.query(
            "SELECT stream, count(*), max(stream_version), min(time)::text FROM event_log GROUP BY stream ORDER BY stream")
        XCTAssertEqual(versions.rowCount, 3)
        for row in 0..<versions.rowCount {
            let stream = try versions.string(row, 0)
            XCTAssertEqual(try versions.int64(row, 1), try versions.int64(row, 2), "versions 1…n in \(stream)")
        }
        XCTAssertEqual(
            try store.connection.query("SELECT time::text, data::text FROM event_log WHERE position = 20").string(0, 1),
            #"{"amount": "20", "account": "st1carol"}"#)
    }

    func testClientMetadataIsKept() throws {
        _ = try importFile([
            #"{"id":"m","type":"Funded","time":"2026-01-01T00:00:00Z","data":{"account":"st1a","amount":"1"},"metadata":{"correlationId":"c-9"}}"#
        ])
        let e = try XCTUnwrap(store.read(from: 1, limit: 1).first)
        XCTAssertEqual(e.clientMetadata, ["correlationId": "c-9"])
    }
}

final class LedgerWriterTests: StoreTestCase {
    func testRefusedBatchAppendsNothingAndKeepsState() throws {
        let writer = try LedgerWriter(store: store, rules: CappedRules())
        try writer.append([funded("a"), funded("b")])
        XCTAssertEqual(writer.rules.accepted, 2)
        XCTAssertThrowsError(try writer.append([funded("c"), funded("d", amount: 1_001)])) { error in
            guard case .ruleViolation(let v)? = error as? AppendError else { return XCTFail("\(error)") }
            XCTAssertEqual(v.eventID.rawValue, "d")
        }
        XCTAssertEqual(writer.rules.accepted, 2)
        XCTAssertEqual(writer.position, 2)
        XCTAssertEqual(try store.head().position, 2)
        // Duplicates are not given to the rules again.
        try writer.append([funded("b"), funded("c")])
        XCTAssertEqual(writer.rules.accepted, 3)
    }

    func testWritersCatchUpWithEachOther() throws {
        let w1 = try LedgerWriter(store: store, rules: CappedRules())
        let w2 = try LedgerWriter(store: newStore(), rules: CappedRules())
        try w1.append([funded("a"), funded("b")])
        try w2.append([funded("c")])
        XCTAssertEqual(w2.position, 3)
        XCTAssertEqual(w2.rules.accepted, 3)
        try w1.append([funded("d")])
        XCTAssertEqual(w1.position, 4)
        XCTAssertEqual(w1.rules.accepted, 4)
        // A new writer replays the log from the start.
        let w3 = try LedgerWriter(store: newStore(), rules: CappedRules())
        XCTAssertEqual(w3.position, 4)
        XCTAssertEqual(w3.rules.accepted, 4)
    }

    func testFailedTransactionRestoresState() throws {
        let writer = try LedgerWriter(store: store, rules: CappedRules())
        struct Abort: Error {}
        XCTAssertThrowsError(
            try writer.transaction { w in
                try w.append([funded("a")])
                throw Abort()
            })
        XCTAssertEqual(writer.position, 0)
        XCTAssertEqual(writer.rules.accepted, 0)
        XCTAssertEqual(try store.head().position, 0)
        // Stream versions remembered inside the rolled-back transaction are not reused.
        try writer.append([funded("b")])
        XCTAssertEqual(try store.read(from: 1, limit: 1).first?.streamVersion, 1)
        XCTAssertTrue(try store.verify().isIntact)
    }
}
