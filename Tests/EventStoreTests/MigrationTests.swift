import EventStore
import Foundation
import PostgresClient
import PostgresTestSupport
import XCTest

final class MigrationTests: XCTestCase {
    var database: TestDatabase!
    override func setUpWithError() throws { database = try TestDatabase.create(prefix: "migrations") }
    override func tearDownWithError() throws { try database?.drop() }

    func copySchema() throws -> String {
        let dir = NSTemporaryDirectory() + "stratos-schema-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.copyItem(atPath: ResourceLocator.path(of: .schema), toPath: dir)
        return dir
    }

    func testMigrateIsIdempotent() throws {
        let c = try database.connect()
        let migrator = try Migrator.load()
        XCTAssertGreaterThanOrEqual(migrator.migrations.count, 3)
        let first = try migrator.migrate(c)
        XCTAssertEqual(first.applied, migrator.migrations.map(\.name))
        let second = try migrator.migrate(c)
        XCTAssertEqual(second.applied, [])
        XCTAssertEqual(second.alreadyApplied, migrator.migrations.count)
        let rows = try c.query("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
        XCTAssertEqual(rows.rowCount, migrator.migrations.count)
        XCTAssertEqual(try rows.string(0, 2), migrator.migrations[0].checksum)
        XCTAssertEqual(migrator.migrations[0].checksum.count, 64)
    }

    func testEditedMigrationIsRefused() throws {
        let dir = try copySchema()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let c = try database.connect()
        try Migrator.load(directory: dir).migrate(c)
        let edited = (dir as NSString).appendingPathComponent("0001_event_log.sql")
        try (try String(contentsOfFile: edited, encoding: .utf8) + "\n-- sneaky edit\n").write(toFile: edited, atomically: true, encoding: .utf8)
        let migrator = try Migrator.load(directory: dir)
        XCTAssertThrowsError(try migrator.migrate(c)) { error in
            guard case .edited(let file, 1, let applied, let now)? = error as? MigrationError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, edited)
            XCTAssertNotEqual(applied, now)
            let text = "\(error)"
            XCTAssertTrue(text.contains("0001_event_log.sql") && text.contains(applied) && text.contains(now), text)
        }
    }

    func testNewMigrationIsAppliedAndAFailingOneLeavesNothing() throws {
        let dir = try copySchema()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let c = try database.connect()
        try Migrator.load(directory: dir).migrate(c)
        try "CREATE TABLE extra (x int); CREATE TABLE broken (;".write(toFile: dir + "/9000_broken.sql", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Migrator.load(directory: dir).migrate(c)) { error in
            XCTAssertTrue("\(error)".contains("9000_broken.sql"), "\(error)")
        }
        XCTAssertEqual(try c.query("SELECT count(*) FROM pg_tables WHERE tablename = 'extra'").int64(0, 0), 0)
        try "CREATE TABLE extra (x int);".write(toFile: dir + "/9000_broken.sql", atomically: true, encoding: .utf8)
        XCTAssertEqual(try Migrator.load(directory: dir).migrate(c).applied, ["9000_broken.sql"])
    }

    func testConcurrentMigratorsSerialise() throws {
        let url = database.url
        let errors = Locked<[String]>([])
        let applied = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            do {
                let outcome = try Migrator.load().migrate(PostgresConnection(url: url))
                applied.mutate { $0 += outcome.applied }
            } catch { errors.mutate { $0.append("\(error)") } }
        }
        XCTAssertEqual(errors.value, [])
        let migrator = try Migrator.load()
        XCTAssertEqual(applied.value.sorted(), migrator.migrations.map(\.name).sorted(), "each applied exactly once")
    }

    func testSchemaLocator() throws {
        let dir = try ResourceLocator.path(of: .schema)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/0001_event_log.sql"))
        XCTAssertEqual(try ResourceLocator.path(of: .schema, environment: ["STRATOS_SCHEMA_DIR": dir]), dir)
        XCTAssertThrowsError(try ResourceLocator.path(of: .schema, environment: ["STRATOS_SCHEMA_DIR": "/nonexistent"]))
    }
}
