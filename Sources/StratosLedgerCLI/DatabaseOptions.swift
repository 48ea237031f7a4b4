import ArgumentParser
import Foundation
import EventStore
import PostgresClient

/// `--database-url`, shared by every verb that talks to PostgreSQL.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"),
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
}

/// An error shown to the user as one line on stderr (ArgumentParser prints "Error: …" and exits 1).
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func writeStderr(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
}
