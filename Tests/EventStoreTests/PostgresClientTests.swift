import PostgresClient
import PostgresTestSupport
import XCTest

final class PostgresClientTests: XCTestCase {
    var database: TestDatabase!
    var connection: PostgresConnection!

    override func setUpWithError() throws {
        database = try TestDatabase.create(prefix: "pgclient")
        connection = try database.connect()
    }

    override func tearDownWithError() throws {
        connection = nil
        try database?.drop()
    }

    func testParametersAreNeverSQL() throws {
        try connection.execute("CREATE TABLE t (id bigint PRIMARY KEY, name text, flag boolean, raw bytea)")
        let evil = "x'); DROP TABLE t; --"
        try connection.query("INSERT INTO t VALUES ($1, $2, $3, $4)", ["1", evil, "true", "\\x00ff10"])
        try connection.query("INSERT INTO t VALUES ($1, $2, $3, $4)", ["2", nil, "false", nil])
        let r = try connection.query("SELECT id, name, flag, raw FROM t ORDER BY id")
        XCTAssertEqual(r.rowCount, 2)
        XCTAssertEqual(try r.int64(0, "id"), 1)
        XCTAssertEqual(try r.string(0, "name"), evil)
        XCTAssertEqual(try r.bool(0, "flag"), true)
        XCTAssertEqual(try r.bytea(0, "raw"), [0x00, 0xff, 0x10])
        XCTAssertNil(r.optionalString(1, 1))
        XCTAssertThrowsError(try r.string(1, "name"))
        XCTAssertThrowsError(try r.column("nope"))
    }

    /// `bytea` parameters in binary, beside text ones and NULL; every byte value, an empty value,
    /// and the hex text form the other parameters use agree.
    func testBinaryByteaParameters() throws {
        try connection.execute("CREATE TABLE b (id bigint PRIMARY KEY, name text, raw bytea)")
        let every = (0...255).map(UInt8.init) + [0, 0, 255]
        try connection.query("INSERT INTO b VALUES ($1, $2, $3)", [.text("1"), .text("x'); --"), .bytea(every)])
        try connection.query("INSERT INTO b VALUES ($1, $2, $3)", [.text("2"), .text(nil), .bytea([])])
        try connection.query("INSERT INTO b VALUES ($1, $2, $3)", ["3", nil, encodeByteaHex(every)])
        let r = try connection.query("SELECT id, name, raw FROM b ORDER BY id")
        XCTAssertEqual(try r.bytea(0, "raw"), every)
        XCTAssertEqual(try r.string(0, "name"), "x'); --")
        XCTAssertNil(r.optionalString(1, 1))
        XCTAssertEqual(try r.bytea(1, "raw"), [])
        XCTAssertEqual(try r.bytea(2, "raw"), every)
        // The same values read back in binary; an integer column in binary is refused, not misread.
        let binary = try connection.query("SELECT raw, name, id FROM b ORDER BY id", [], binaryResults: true)
        XCTAssertEqual(try binary.bytea(0, 0), every)
        XCTAssertEqual(try binary.string(0, 1), "x'); --")
        XCTAssertEqual(try binary.bytea(1, 0), [])
        XCTAssertThrowsError(try binary.int64(0, 2)) { XCTAssertTrue("\($0)".contains("binary result column"), "\($0)") }
        XCTAssertEqual(encodeByteaHex([0x00, 0xab, 0x7f]), "\\x00ab7f")
    }

    func testServerErrorCarriesSQLState() throws {
        try connection.execute("CREATE TABLE u (k text UNIQUE)")
        try connection.query("INSERT INTO u VALUES ($1)", ["a"])
        do {
            try connection.query("INSERT INTO u VALUES ($1)", ["a"])
            XCTFail("expected a unique violation")
        } catch {
            XCTAssertTrue(error.isUniqueViolation, "\(error)")
            XCTAssertTrue(error.description.contains("23505"))
            guard case .server(_, _, _, let detail, _, _) = error else { return XCTFail() }
            XCTAssertNotNil(detail)
        }
        XCTAssertThrowsError(try connection.query("SELEC 1")) { error in
            XCTAssertEqual((error as? PostgresError)?.sqlState, "42601")
        }
    }

    func testTransactionRollsBackOnThrow() throws {
        struct Boom: Error {}
        try connection.execute("CREATE TABLE v (n int)")
        XCTAssertThrowsError(
            try connection.transaction { c in
                try c.query("INSERT INTO v VALUES (1)")
                throw Boom()
            })
        XCTAssertFalse(connection.isInTransaction)
        try connection.transaction { c in
            try c.query("INSERT INTO v VALUES (2)")
            // A nested transaction is a savepoint: its failure leaves the outer work intact.
            _ = try? c.transaction { c2 in
                try c2.query("INSERT INTO v VALUES (3)")
                throw Boom()
            }
        }
        let r = try connection.query("SELECT n FROM v")
        XCTAssertEqual(r.rowCount, 1)
        XCTAssertEqual(try r.int64(0, 0), 2)
    }

    func testCopyInAndOut() throws {
        try connection.execute("CREATE TABLE c (n bigint, s text)")
        let rows = try connection.copyIn("COPY c (n, s) FROM STDIN") { writer in
            for i in 0..<10_000 {
                var line: [UInt8] = Array("\(i)\t".utf8)
                appendCopyTextField("row\t\(i)\\\n", to: &line)
                line.append(UInt8(ascii: "\n"))
                try writer.write(line)
            }
        }
        XCTAssertEqual(rows, 10_000)
        XCTAssertEqual(try connection.query("SELECT count(*) FROM c WHERE s = 'row' || chr(9) || '7' || chr(92) || chr(10)").int64(0, 0), 1)
        XCTAssertEqual(try connection.query("SELECT s FROM c WHERE n = 7").string(0, 0), "row\t7\\\n")

        var seen = 0
        var bytes = 0
        let out = try connection.copyOut("COPY (SELECT n FROM c ORDER BY n) TO STDOUT") { chunk in
            XCTAssertEqual(String(decoding: chunk, as: UTF8.self), "\(seen)\n")
            seen += 1
            bytes += chunk.count
        }
        XCTAssertEqual(out, 10_000)
        XCTAssertEqual(seen, 10_000)

        // A failing COPY (bad data) copies nothing and leaves the connection usable.
        XCTAssertThrowsError(try connection.copyIn("COPY c (n, s) FROM STDIN") { w in try w.write("1\tok\nnot-a-number\tx\n") })
        XCTAssertEqual(try connection.query("SELECT count(*) FROM c").int64(0, 0), 10_000)
        // A client-side abort also copies nothing.
        struct Stop: Error {}
        XCTAssertThrowsError(
            try connection.copyIn("COPY c (n, s) FROM STDIN") { w in
                try w.write("1\tok\n")
                throw Stop()
            }
        ) {
            XCTAssertTrue($0 is Stop)
        }
        XCTAssertEqual(try connection.query("SELECT count(*) FROM c").int64(0, 0), 10_000)
        // Stopping a COPY TO early.
        var taken = 0
        XCTAssertThrowsError(
            try connection.copyOut("COPY c TO STDOUT") { _ in
                taken += 1
                if taken == 5 { throw Stop() }
            })
        XCTAssertEqual(try connection.query("SELECT 1").int64(0, 0), 1)
    }

    func testListenNotify() throws {
        try connection.listen("ledger events")
        XCTAssertNil(try connection.waitForNotification(timeout: .milliseconds(50)))
        let other = try database.connect()
        try other.notify("ledger events", payload: "42")
        let n = try XCTUnwrap(connection.waitForNotification(timeout: .seconds(5)))
        XCTAssertEqual(n.channel, "ledger events")
        XCTAssertEqual(n.payload, "42")
        XCTAssertEqual(n.senderPID, other.backendPID)
        // Notifications inside a transaction arrive only at commit.
        try other.transaction { c in
            try c.notify("ledger events", payload: "in-tx")
            XCTAssertNil(try connection.waitForNotification(timeout: .milliseconds(50)))
        }
        XCTAssertEqual(try connection.waitForNotification(timeout: .seconds(5))?.payload, "in-tx")
    }

    func testAsyncConnectionRunsOffThePool() async throws {
        let async = try await AsyncPostgresConnection.connect(url: database.url)
        // Several sleeping queries in parallel tasks must not block one another's tasks.
        let r = try await async.query("SELECT $1::int + 1", ["41"])
        XCTAssertEqual(try r.int64(0, 0), 42)
        do {
            _ = try await async.query("SELECT * FROM missing_table")
            XCTFail()
        } catch let error as PostgresError {
            XCTAssertTrue(error.isUndefinedTable)
        }
    }

    func testConnectionStringReplacement() {
        XCTAssertEqual(
            connectionString("postgresql://postgres@127.0.0.1:54329/postgres", replacingDatabaseWith: "x_1"),
            "postgresql://postgres@127.0.0.1:54329/x_1")
        XCTAssertEqual(
            connectionString("postgres://u:p@h/db?sslmode=disable", replacingDatabaseWith: "a b"),
            "postgres://u:p@h/a%20b?sslmode=disable")
        XCTAssertEqual(connectionString("postgresql://h:1", replacingDatabaseWith: "d"), "postgresql://h:1/d")
        XCTAssertEqual(connectionString("host=h port=1", replacingDatabaseWith: "it's"), "host=h port=1 dbname='it\\'s'")
    }

    func testEscapeIdentifier() throws {
        XCTAssertEqual(try connection.escapeIdentifier("we\"ird"), "\"we\"\"ird\"")
    }

    func testUnreachableServerIsAClearError() {
        XCTAssertThrowsError(try PostgresConnection(url: "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")) { error in
            guard case .connection(let m)? = error as? PostgresError else { return XCTFail("\(error)") }
            XCTAssertFalse(m.isEmpty)
        }
    }
}
