import ArgumentParser
import Foundation
import StratosDemo
import StratosReports
import StratosService

extension DemoSize: ExpressibleByArgument {}

/// `stratos-ledger demo`: a thin shell over `StratosDemo.Demo`.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Simulate a month of a small network, import, project, chart, audit and export it.",
        discussion: """
            With no --database-url and no DATABASE_URL, it starts the private PostgreSQL cluster \
            of the project folder (scripts/pg-cluster.sh start: initdb on first use; left running \
            for reuse — scripts/pg-cluster.sh stop|destroy) and works in its own database \
            stratos_demo there. With a database URL it uses that database as it is. A re-run \
            reuses what is there (the import is idempotent); --fresh recreates stratos_demo.
            """)

    @Option(help: "Network size: tiny (2 days, for CI) or small (30 days, ~100,000 events).")
    var size: DemoSize = .small

    @Option(help: "Days of history (144 epochs a day; default: 30 for small, 2 for tiny).")
    var days: Int?

    @Option(help: "Seed of the simulator (same seed, same history).")
    var seed: UInt64 = 1

    @Option(name: .customLong("output-dir"), help: "Where the history and the exported journals are written.")
    var outputDirectory = "demo-output"

    @Flag(help: "Drop and recreate the demo's database stratos_demo first.")
    var fresh = false

    @Option(help: "How many nodes the reward table shows.")
    var top = 5

    @Option(name: .customLong("export-days"), help: "Export the journals of the last N days (0: the whole history).")
    var exportDays = 1

    @Option(
        name: .customLong("database-url"),
        help: "PostgreSQL URL or libpq conninfo (default: $DATABASE_URL, else the private cluster).")
    var databaseURL: String?

    @Flag(help: "Keep serving the API and the console (http://127.0.0.1:PORT/) after the demo, until Ctrl-C or SIGTERM.")
    var serve = false

    @Option(help: "The port of the console the demo prints (and serves with --serve).")
    var port = 8080

    func validate() throws {
        if let days, days < 1 { throw ValidationError("--days must be at least 1") }
        if top < 1 { throw ValidationError("--top must be at least 1") }
        if exportDays < 0 { throw ValidationError("--export-days must be 0 (everything) or more") }
    }

    func run() async throws {
        var options = DemoOptions(size: size, days: days, seed: seed, outputDirectory: outputDirectory, fresh: fresh)
        options.topNodes = top
        options.exportDays = exportDays
        options.commandName = CommandLine.arguments.first ?? "stratos-ledger"
        options.consolePort = port
        let database: DemoDatabase
        if let url = databaseURL ?? ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty {
            database = .given(url: url)
        } else {
            writeStderr("demo: no DATABASE_URL: starting the private PostgreSQL cluster (scripts/pg-cluster.sh start)\n")
            database = .dedicated(serverURL: try PrivateCluster.start(), name: DemoDatabase.defaultName)
        }
        let result = try Demo(options: options, console: .standard()).run(database: database)
        if result.auditedNode != nil && !result.auditConsistent {
            writeStderr("demo: the audit does not match the engine or the projection\n")
            throw ExitCode(3)
        }
        guard serve else { return }
        // The same service as `serve` (reads as stratos_app; no write token: appends refused).
        let configuration = ServiceConfiguration(
            host: "127.0.0.1", port: port, database: DatabaseConfiguration(url: result.databaseURL, role: "stratos_app"))
        let server = try StratosServer(configuration: configuration, readModels: try ProjectionReadModels())
        try await server.run(gracefulShutdown: true) { port in
            writeStderr("demo: the console is at http://127.0.0.1:\(port)/ (Ctrl-C stops it)\n")
        }
    }
}
