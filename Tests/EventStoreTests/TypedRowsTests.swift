import PostgresClient
import PostgresTestSupport
import XCTest

/// Typed parameters and typed rows (PostgresClient/TypedRows.swift) against a real server.
final class TypedRowsTests: XCTestCase {
    func testTypedParametersAndRowsRoundTrip() throws {
        let db = try TestDatabase.create(prefix: "typed")
        defer { try? db.drop() }
        let c = try db.connect()
        let none: Int64? = nil
        let r = try c.query(
            "SELECT $1::bigint, $2::text, $3::bytea, $4::bigint, $5::text[]",
            binding: Int64.max, "o'quote", [0, 255] as [UInt8], none, PostgresTextArray(["a\"b", "c\\d"]))
        let (big, text, bytes, missing, array) = try r.decode(
            row: 0, as: Int64.self, String.self, [UInt8].self, Int64?.self,
            String.self)
        XCTAssertEqual(big, Int64.max)
        XCTAssertEqual(text, "o'quote")
        XCTAssertEqual(bytes, [0, 255])
        XCTAssertNil(missing)
        XCTAssertEqual(array, #"{"a\"b","c\\d"}"#)
    }

    func testADecoderOfAnotherArityIsAnErrorNamingTheStatement() throws {
        let db = try TestDatabase.create(prefix: "typed")
        defer { try? db.drop() }
        let c = try db.connect()
        let r = try c.query("SELECT 1::bigint, 'two'")
        XCTAssertThrowsError(try r.decode(row: 0, as: Int64.self, statement: "t.one")) { error in
            XCTAssertTrue("\(error)".contains("t.one"), "\(error)")
            XCTAssertTrue("\(error)".contains("returns 2 columns, its decoder reads 1"), "\(error)")
        }
    }
}
