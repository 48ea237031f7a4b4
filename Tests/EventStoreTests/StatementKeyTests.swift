import Foundation
import PostgresClient
import XCTest

/// The SQL boundary: every statement a program asks for by name exists in its file, and every
/// statement in the files is asked for somewhere, by the sources or the tests (no dead SQL). Reads the sources as text, so it
/// covers every target, the service and the tools included.
final class StatementKeyTests: XCTestCase {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func statements(_ relative: String) throws -> [String: String] {
        let path = root.appendingPathComponent(relative).path
        return try SQLStatements(path: path).statements
    }

    func swiftSources(under folder: String = "Sources") throws -> [(path: String, text: String)] {
        let base = root.appendingPathComponent(folder)
        let enumerator = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil)!
        var out: [(String, String)] = []
        for case let url as URL in enumerator where url.pathExtension == "swift" {
            out.append((url.path.replacingOccurrences(of: root.path + "/", with: ""), try String(contentsOf: url, encoding: .utf8)))
        }
        XCTAssertGreaterThan(out.count, 20, "the sources were not found under \(base.path)")
        return out
    }

    /// Keys named at call sites: `sql("k")`, `sql.render("k"`, `self["k"]` (StoreSQL),
    /// `AdminSQL.statement("k"` and the projection model's `("copy.k", buffer)` pairs.
    func keysAskedFor(in sources: [(path: String, text: String)]) throws -> [(key: String, path: String)] {
        let pattern = try NSRegularExpression(
            pattern: #"(?:\bsql|\.render|\bself|AdminSQL\.statement)\s*[\(\[]\s*"([a-z_]+(?:\.[a-z_0-9]+)+)"|\(\s*"(copy\.[a-z_0-9]+)""#)
        var out: [(String, String)] = []
        for (path, text) in sources where !path.hasSuffix("StatementKeyTests.swift") {
            let range = NSRange(text.startIndex..., in: text)
            for match in pattern.matches(in: text, range: range) {
                for group in 1...2 where match.range(at: group).location != NSNotFound {
                    out.append((String(text[Range(match.range(at: group), in: text)!]), path))
                }
            }
        }
        return out
    }

    func testEveryStatementAskedForExistsAndEveryStatementIsUsed() throws {
        let files: [String: [String: String]] = [
            "Schema/statements/store.sql": try statements("Schema/statements/store.sql"),
            "Schema/statements/admin.sql": try statements("Schema/statements/admin.sql"),
            "Projections/queries.sql": try statements("Projections/queries.sql"),
        ]
        let known = Set(files.values.flatMap(\.keys))
        XCTAssertGreaterThan(known.count, 90)
        // The tests count as users: some statements are checks (check.*) that tests and SQL users run.
        let sources = try swiftSources() + swiftSources(under: "Tests")
        let asked = try keysAskedFor(in: try swiftSources())
        XCTAssertGreaterThan(asked.count, 90, "the call-site pattern found too few statement keys")
        for (key, path) in asked {
            XCTAssertTrue(known.contains(key), "\(path) asks for statement '\(key)', which no statements file defines")
        }
        let allText = sources.map(\.text).joined(separator: "\n")
        for (file, keys) in files {
            for key in keys.keys.sorted() {
                XCTAssertTrue(allText.contains("\"\(key)\""), "\(file): statement '\(key)' is never used by the sources")
            }
        }
    }

    func testNoStatementFileRepeatsAName() throws {
        XCTAssertThrowsError(try SQLStatements(source: "t.sql", text: "-- name: a\nSELECT 1\n-- name: a\nSELECT 2\n")) { error in
            XCTAssertEqual("\(error)", "t.sql:3: a second statement named 'a'")
        }
    }

    /// The SQL of the event store and the migrator lives in Schema/statements, not in Swift.
    func testNoSQLStringsInTheEventStoreSources() throws {
        let keywords = try NSRegularExpression(pattern: #""(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|COPY|WITH) "#)
        for (path, text) in try swiftSources()
        where path.hasPrefix("Sources/EventStore/") || path.hasPrefix("Sources/StratosDemo/")
            || path.hasPrefix("Sources/FaultDrill/")
        {
            let hits = keywords.numberOfMatches(in: text, range: NSRange(text.startIndex..., in: text))
            XCTAssertEqual(hits, 0, "\(path) holds SQL text: move it to Schema/statements/")
        }
    }
}
