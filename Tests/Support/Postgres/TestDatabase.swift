import PostgresClient

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A fresh, uniquely named database for one test, on the server named by `DATABASE_URL`
/// (default: the development cluster, postgresql://postgres@127.0.0.1:54329/postgres).
///
/// Test suites run in parallel, so no two tests may share a database: each creates its own
/// with `create(prefix:)` and drops it with `drop()` (typically in `tearDown`).
public struct TestDatabase: Sendable {
    public static let defaultURL = "postgresql://postgres@127.0.0.1:54329/postgres"

    /// The server-level URL tests were started with.
    public let serverURL: String
    public let name: String
    /// A connection string for the new database.
    public let url: String

    public static var serverURLFromEnvironment: String {
        if let p = getenv("DATABASE_URL"), let s = String(validatingCString: p), !s.isEmpty { return s }
        return defaultURL
    }

    /// Creates the database. `prefix` becomes part of its name (letters, digits, underscore).
    public static func create(prefix: String = "test") throws -> TestDatabase {
        let serverURL = serverURLFromEnvironment
        let admin: PostgresConnection
        do {
            admin = try PostgresConnection(url: serverURL)
        } catch {
            throw TestDatabaseError.unreachable(url: serverURL, underlying: error.description)
        }
        let cleanPrefix = String(prefix.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }.prefix(30))
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let name = "stratos_\(cleanPrefix)_\(getpid())_\(suffix)"
        try admin.execute("CREATE DATABASE \(try admin.escapeIdentifier(name))")
        return TestDatabase(
            serverURL: serverURL, name: name,
            url: connectionString(serverURL, replacingDatabaseWith: name))
    }

    /// A new connection to this database.
    public func connect() throws -> PostgresConnection {
        try PostgresConnection(url: url)
    }

    /// Drops the database, ending its sessions first (WITH (FORCE) waits for them to be gone;
    /// terminating them and dropping in two steps raced with their exit and left databases behind).
    public func drop() throws {
        let admin = try PostgresConnection(url: serverURL)
        try admin.execute("DROP DATABASE IF EXISTS \(try admin.escapeIdentifier(name)) WITH (FORCE)")
    }
}

public enum TestDatabaseError: Error, CustomStringConvertible {
    case unreachable(url: String, underlying: String)
    public var description: String {
        switch self {
        case .unreachable(let url, let underlying):
            "cannot reach PostgreSQL at \(url) (set DATABASE_URL, or start the development cluster with scripts/pg-cluster.sh): \(underlying)"
        }
    }
}
