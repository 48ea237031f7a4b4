import XCTest

@testable import LedgerEvents

#if canImport(Glibc)
    import Glibc
#endif

final class JSONLinesReaderTests: XCTestCase {
    func temporaryFile(_ bytes: [UInt8]) throws -> String {
        var template = Array("/tmp/ledger-events-test-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        XCTAssertGreaterThanOrEqual(fd, 0)
        let path = String(cString: template)
        let written = bytes.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count) }
        XCTAssertEqual(written, bytes.count)
        close(fd)
        addTeardownBlock { unlink(path) }
        return path
    }

    func readAll(_ reader: JSONLinesReader) throws -> [(Int, String)] {
        var lines: [(Int, String)] = []
        while let (number, bytes) = try reader.next() { lines.append((number, String(decoding: bytes, as: UTF8.self))) }
        return lines
    }

    func testCRLFBlankLinesAndMissingFinalNewline() throws {
        let text = "{\"a\":1}\r\n\r\n   \n{\"b\":2}\n\t\n{\"c\":3}\r\n{\"d\":4}"
        for chunkSize in [1, 2, 3, 7, 1 << 20] {
            let reader = try JSONLinesReader(path: try temporaryFile(Array(text.utf8)), chunkSize: chunkSize)
            let lines = try readAll(reader)
            XCTAssertEqual(lines.map(\.0), [1, 4, 6, 7], "chunk \(chunkSize)")
            XCTAssertEqual(lines.map(\.1), [#"{"a":1}"#, #"{"b":2}"#, #"{"c":3}"#, #"{"d":4}"#])
            XCTAssertEqual(reader.bytesRead, text.utf8.count)
            XCTAssertNil(try reader.next(), "stays at the end")
        }
    }

    func testEmptyFile() throws {
        let reader = try JSONLinesReader(path: try temporaryFile([]))
        XCTAssertNil(try reader.next())
        let blanks = try JSONLinesReader(path: try temporaryFile(Array("\n\r\n \n".utf8)))
        XCTAssertNil(try blanks.next())
    }

    func testLongLineIsAnErrorNamingItsLine() throws {
        let text = "{\"a\":1}\n" + String(repeating: "x", count: 100) + "\n{}\n"
        let reader = try JSONLinesReader(path: try temporaryFile(Array(text.utf8)), chunkSize: 16, maximumLineLength: 64)
        XCTAssertEqual(try reader.next()?.lineNumber, 1)
        XCTAssertThrowsError(try reader.next()) { error in
            XCTAssertEqual(error as? JSONLinesReaderError, .lineTooLong(lineNumber: 2, limit: 64))
            XCTAssertEqual("\(error)", "line 2: longer than 64 bytes")
        }
        // A line of exactly the limit is fine, with or without CR.
        let exact = String(repeating: "y", count: 64) + "\r\n" + String(repeating: "z", count: 64)
        let ok = try JSONLinesReader(path: try temporaryFile(Array(exact.utf8)), chunkSize: 5, maximumLineLength: 64)
        XCTAssertEqual(try readAll(ok).map(\.1), [String(repeating: "y", count: 64), String(repeating: "z", count: 64)])
    }

    /// Many lines across many chunk refills, compared with a straightforward split.
    func testManyLinesMatchSplit() throws {
        var rng = SplitMix64(seed: 3)
        var text = ""
        var expected: [(Int, String)] = []
        for i in 1...2_000 {
            let line = String(repeating: "e", count: Int(rng.next() % 300))
            text += line + (rng.next() % 3 == 0 ? "\r\n" : "\n")
            if !line.isEmpty { expected.append((i, line)) }
        }
        let reader = try JSONLinesReader(path: try temporaryFile(Array(text.utf8)), chunkSize: 1000, maximumLineLength: 400)
        let lines = try readAll(reader)
        XCTAssertEqual(lines.map(\.0), expected.map(\.0))
        XCTAssertEqual(lines.map(\.1), expected.map(\.1))
    }

    func testReadsFromAPipe() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        let payload = Array("{\"x\":1}\n{\"y\":2}\n".utf8)
        _ = payload.withUnsafeBufferPointer { write(fds[1], $0.baseAddress, $0.count) }
        close(fds[1])
        let reader = JSONLinesReader(fileDescriptor: fds[0])
        XCTAssertEqual(try readAll(reader).map(\.1), [#"{"x":1}"#, #"{"y":2}"#])
        close(fds[0])
    }

    func testMissingFile() {
        XCTAssertThrowsError(try JSONLinesReader(path: "/nonexistent/events.jsonl")) { error in
            XCTAssertTrue("\(error)".hasPrefix("cannot open /nonexistent/events.jsonl: "), "\(error)")
        }
    }
}
