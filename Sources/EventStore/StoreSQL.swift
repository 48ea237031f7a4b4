import PostgresClient

/// Every statement the event store and the migrator run: `Schema/statements/store.sql`, by
/// name. The schema itself is the numbered migrations of `Schema/`.
///
/// The file is read once, on first use; `EventStore`, `LedgerWriter` and `Migrator` call
/// `load()` when they are created, so a missing or broken file is a clear error there rather
/// than a failed precondition in the middle of an append.
enum StoreSQL {
    static let file = "statements/store.sql"

    private static let loaded: Result<SQLStatements, any Error> = Result {
        try SQLStatements(path: ResourceLocator.path(of: .schema) + "/" + file)
    }

    /// The statements, or the error that made them unreadable.
    static func load() throws -> SQLStatements { try loaded.get() }

    /// The statement called `name` (after a successful `load()`).
    static subscript(name: String) -> String {
        switch loaded {
        case .success(let statements): statements[name]
        case .failure(let error): preconditionFailure("Schema/\(file) was not loaded: \(error)")
        }
    }

    static var migrationsLock: String { self["migrations.lock"] }
    static var migrationsUnlock: String { self["migrations.unlock"] }
    static var migrationsCreateTable: String { self["migrations.create_table"] }
    static var migrationsApplied: String { self["migrations.applied"] }
    static var migrationsRecord: String { self["migrations.record"] }

    static var lockHead: String { self["head.lock"] }
    static var readHead: String { self["head.read"] }
    static var updateHeadAndNotify: String { self["head.update_and_notify"] }
    static var appendInOneStatement: String { self["log.append_in_one_statement"] }
    static var hashAt: String { self["log.hash_at"] }
    static var existingIDs: String { self["log.existing_ids"] }
    static var streamVersions: String { self["log.stream_versions"] }
    static var copyIn: String { self["log.copy_in"] }
    static var copyInBinary: String { self["log.copy_in_binary"] }
    static var readRange: String { self["log.read_range"] }
    static var headersInWindow: String { self["log.headers_in_window"] }
    static var streamLastVersion: String { self["log.stream_last_version"] }
    static var streamVersionPosition: String { self["log.stream_version_position"] }
    static var readStreamVersions: String { self["log.read_stream_versions"] }
    static var setReplayBounds: String { self["log.set_replay_bounds"] }
    static var copyOutRange: String { self["log.copy_out_range"] }

    static var latestWriterCheckpoints: String { self["writer_checkpoints.latest"] }
    static var writerCheckpointState: String { self["writer_checkpoints.state"] }
    static var insertWriterCheckpoint: String { self["writer_checkpoints.insert"] }
    static var pruneWriterCheckpoints: String { self["writer_checkpoints.prune"] }
}

/// Statements on the server rather than on the ledger (`Schema/statements/admin.sql`): the
/// demo's and the fault drill's databases and the drill's checks.
public enum AdminSQL {
    static let file = "statements/admin.sql"

    private static let loaded: Result<SQLStatements, any Error> = Result {
        try SQLStatements(path: ResourceLocator.path(of: .schema) + "/" + file)
    }

    /// The statements, or the error that made them unreadable.
    public static func load() throws -> SQLStatements { try loaded.get() }

    /// The statement called `name`, its `{database}` marker (if any) filled in with `database`
    /// quoted by `PQescapeIdentifier` (database names cannot be parameters).
    public static func statement(_ name: String, database: String? = nil, on connection: PostgresConnection) throws -> String {
        var sql = try load()[name]
        if let database { sql = sql.replacingOccurrences(of: "{database}", with: try connection.escapeIdentifier(database)) }
        precondition(!sql.contains("{database}"), "statement \(name) needs a database name")
        return sql
    }
}
