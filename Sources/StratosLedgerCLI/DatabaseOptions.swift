import ArgumentParser
import EventStore
import Foundation
import PostgresClient

/// `--database-url`, shared by every verb that talks to PostgreSQL.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .customLong("database-url"),
        help: "PostgreSQL URL or libpq conninfo (default: $DATABASE_URL).")
    var databaseURL: String?

    /// The URL (a libpq multi-host one works everywhere: every reconnect finds the host that is
    /// primary now). Names the process's sessions `stratos-ledger/<verb>` in pg_stat_activity.
    func resolvedURL() throws -> String {
        SessionSettings.processApplicationName = "stratos-ledger/" + (CommandLine.arguments.dropFirst().first ?? "cli")
        try EventStore.loadStatements()
        if let databaseURL, !databaseURL.isEmpty { return databaseURL }
        if let env = ProcessInfo.processInfo.environment["DATABASE_URL"], !env.isEmpty { return env }
        throw CLIError("no database: pass --database-url or set DATABASE_URL")
    }

    /// `resolvedURL()` for the verbs that read the event log: a database without it (undefined
    /// table, SQLSTATE 42P01) is told to run `migrate` instead of a raw PostgreSQL error. Any
    /// other failure of this check (e.g. the server is down) is left to the verb itself.
    func resolvedLogURL() throws -> String {
        let url = try resolvedURL()
        if let connection = try? PostgresConnection(url: url) {
            do { _ = try connection.query("SELECT position FROM event_log_head LIMIT 1") } catch  where error.isUndefinedTable {
                throw CLIError("the database has no event log: run `stratos-ledger migrate` first")
            } catch {}
        }
        return url
    }
}

/// An error shown to the user as one line on stderr (ArgumentParser prints "Error: …" and exits 1).
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func writeStderr(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
}
