import Foundation
import PostgresClient

/// A database of the suite's own on the benchmark's server, created fresh and dropped at the
/// end, so a suite never measures (or disturbs) data it did not write.
struct ScratchDatabase {
    let admin: PostgresConnection
    let name: String
    /// The benchmark server's URL with this database in it.
    let url: String

    init(serverURL: String, suite: String) throws {
        admin = try PostgresConnection(url: serverURL)
        name = "stratos_bench_\(suite)_\(getpid())"
        try admin.execute("DROP DATABASE IF EXISTS \(try admin.escapeIdentifier(name))")
        try admin.execute("CREATE DATABASE \(try admin.escapeIdentifier(name))")
        url = connectionString(serverURL, replacingDatabaseWith: name)
    }

    /// Drops it, ending connections a suite may have left open.
    func drop() {
        _ = try? admin.execute("DROP DATABASE IF EXISTS \(try admin.escapeIdentifier(name)) WITH (FORCE)")
    }
}
