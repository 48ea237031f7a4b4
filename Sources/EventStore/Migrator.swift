import Foundation
import LedgerEvents
import PostgresClient

/// One SQL file of `Schema/`, named `NNNN_description.sql`.
public struct Migration: Sendable, Hashable {
    public let version: Int
    public let name: String
    public let path: String
    public let sql: String
    /// SHA-256 of the file's bytes, lower-case hex.
    public let checksum: String
}

public enum MigrationError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case badFileName(path: String)
    case duplicateVersion(Int, [String])
    /// An already-applied migration file no longer has the checksum it was applied with.
    case edited(file: String, version: Int, appliedChecksum: String, fileChecksum: String)
    /// The database records a migration that has no file (a newer schema than this program).
    case unknownApplied(version: Int, name: String)
    case failed(file: String, error: PostgresError)
    case database(PostgresError)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read migration \(path): \(reason)"
        case .badFileName(let path): "migration file \(path) is not named NNNN_name.sql"
        case .duplicateVersion(let v, let files): "migration version \(v) is used by several files: \(files.joined(separator: ", "))"
        case .edited(let file, let version, let applied, let current):
            "migration \(file) (version \(version)) was edited after it was applied: applied with checksum \(applied), "
                + "the file now has checksum \(current). Applied migrations are immutable; add a new migration instead."
        case .unknownApplied(let version, let name):
            "the database has migration \(version) (\(name)) applied, which this program's Schema/ folder does not have"
        case .failed(let file, let error): "migration \(file) failed: \(error)"
        case .database(let error): "migrations: \(error)"
        }
    }
}

/// Applies the numbered SQL files of `Schema/` in order.
///
/// - each file runs in its own transaction together with the row recording it
///   (`schema_migrations`: version, name, SHA-256 checksum, applied_at), so a failed
///   migration leaves nothing half-applied;
/// - re-running applies nothing when everything is applied;
/// - a file whose checksum differs from the one it was applied with is refused before anything
///   runs, naming the file and both checksums;
/// - concurrent migrators (several service instances starting at once, parallel tests against
///   one database) serialise on a session advisory lock.
public struct Migrator {
    /// Advisory lock key of the migrator ("stratos-migrate" folded into 63 bits, fixed forever).
    public static let advisoryLockKey: Int64 = 0x5374_7261_746F_734D

    public let migrations: [Migration]

    public init(migrations: [Migration]) { self.migrations = migrations.sorted { $0.version < $1.version } }

    /// Loads every `NNNN_*.sql` file of `directory` (default: the located `Schema/`).
    public static func load(directory: String? = nil) throws -> Migrator {
        try EventStore.loadStatements()
        let dir = try directory ?? ResourceLocator.path(of: .schema)
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".sql") }.sorted()
        } catch {
            throw MigrationError.unreadable(path: dir, reason: "\(error.localizedDescription)")
        }
        var migrations: [Migration] = []
        for file in files {
            let path = (dir as NSString).appendingPathComponent(file)
            let digits = file.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, let version = Int(digits), file.dropFirst(digits.count).hasPrefix("_") else {
                throw MigrationError.badFileName(path: path)
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw MigrationError.unreadable(path: path, reason: "cannot open")
            }
            guard let sql = String(data: data, encoding: .utf8) else {
                throw MigrationError.unreadable(path: path, reason: "not UTF-8")
            }
            migrations.append(
                Migration(
                    version: version, name: file, path: path, sql: sql,
                    checksum: SHA256.hex(SHA256.hash(Array(data)))))
        }
        let byVersion = Dictionary(grouping: migrations, by: \.version)
        if let (v, dup) = byVersion.first(where: { $0.value.count > 1 }) {
            throw MigrationError.duplicateVersion(v, dup.map(\.name).sorted())
        }
        return Migrator(migrations: migrations)
    }

    public struct Outcome: Sendable {
        /// Names of the files applied by this run, in order (empty: already up to date).
        public var applied: [String]
        public var alreadyApplied: Int
    }

    /// Brings the database up to date. Returns what was applied.
    @discardableResult
    public func migrate(_ connection: PostgresConnection) throws(MigrationError) -> Outcome {
        do {
            try connection.query(StoreSQL.migrationsLock, binding: Self.advisoryLockKey)
        } catch { throw .database(error) }
        defer { _ = try? connection.query(StoreSQL.migrationsUnlock, binding: Self.advisoryLockKey) }

        let applied: [Int: (name: String, checksum: String)]
        do {
            try connection.execute(StoreSQL.migrationsCreateTable)
            let rows = try connection.query(StoreSQL.migrationsApplied)
                .decodeAll(as: Int.self, String.self, String.self, statement: "migrations.applied")
            var map: [Int: (String, String)] = [:]
            for (version, name, checksum) in rows { map[version] = (name, checksum) }
            applied = map
        } catch { throw .database(error) }

        // Refuse before running anything if history was rewritten.
        let files = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
        for (version, record) in applied.sorted(by: { $0.key < $1.key }) {
            guard let file = files[version] else { throw .unknownApplied(version: version, name: record.name) }
            if file.checksum != record.checksum {
                throw .edited(file: file.path, version: version, appliedChecksum: record.checksum, fileChecksum: file.checksum)
            }
        }

        var outcome = Outcome(applied: [], alreadyApplied: applied.count)
        for migration in migrations where applied[migration.version] == nil {
            do {
                try connection.transaction { c in
                    try c.execute(migration.sql)
                    try c.query(StoreSQL.migrationsRecord, binding: migration.version, migration.name, migration.checksum)
                }
            } catch let error as PostgresError {
                throw .failed(file: migration.path, error: error)
            } catch {
                throw .failed(file: migration.path, error: .protocol("\(error)"))
            }
            outcome.applied.append(migration.name)
        }
        return outcome
    }
}
