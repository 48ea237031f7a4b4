import ArgumentParser
import Foundation
import StratosEconomics
import StratosProjections
import StratosService

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the HTTP API (/v1): append events, query reports, audit, export.",
        discussion: """
            Writes need Authorization: Bearer <write token> (--write-token or $STRATOS_WRITE_TOKEN; \
            without one, writes are refused). Reads are open unless --read-token (or \
            $STRATOS_READ_TOKEN) is given. Every connection switches to --database-role \
            (default stratos_app, created by `migrate`: SELECT/INSERT on the event log only), so the \
            service cannot change or delete an event; the projection tables must be readable by it. \
            With --project the server also runs the projection worker, on its own connection with \
            the URL's role. The API is described in docs/openapi.yaml.
            """)

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0: any free port).") var port = 8080
    @Option(help: "Bearer token for writes (default: $STRATOS_WRITE_TOKEN).") var writeToken: String?
    @Option(help: "Bearer token for reads; reads are open without one (default: $STRATOS_READ_TOKEN).") var readToken: String?
    @Option(help: "Largest accepted request body in bytes.") var maxBodyBytes = 16 << 20
    @Option(help: "Role the service's connections switch to ('' keeps the URL's role).") var databaseRole = "stratos_app"
    @Option(help: "Rule set of the writer.") var rules = RuleSet.paperV1.name
    @Option(help: "Projection schema to read.") var schema = "projection"
    @Option(help: "Read connections in the pool.") var readConnections = 8
    @Flag(help: "Also run the projection worker in this process.") var project = false

    func run() async throws {
        guard let ruleSet = RuleSet.named(rules) else { throw CLIError("unknown rule set \(rules)") }
        let url = try database.resolvedURL()
        let env = ProcessInfo.processInfo.environment
        let configuration = ServiceConfiguration(
            host: host, port: port,
            database: DatabaseConfiguration(url: url, role: databaseRole.isEmpty ? nil : databaseRole),
            rules: ruleSet,
            writeToken: writeToken ?? env["STRATOS_WRITE_TOKEN"], readToken: readToken ?? env["STRATOS_READ_TOKEN"],
            maxBodyBytes: maxBodyBytes, readConnections: readConnections)
        if configuration.writeToken?.isEmpty ?? true {
            writeStderr("serve: no write token configured: POST /v1/events will be refused\n")
        }
        if project {
            let schema = self.schema
            let worker = try ProjectionWorker(url: url, schema: schema)
            try worker.lock(wait: false)
            try worker.createIfMissing(rules: ruleSet, checkpointEvery: ProjectionDefaults.checkpointEvery)
            // The worker is used by this thread only from here on.
            nonisolated(unsafe) let owned = worker
            let thread = Thread {
                do { try owned.follow() } catch { writeStderr("serve: projection worker stopped: \(error)\n") }
            }
            thread.start()
        }
        let server = StratosServer(configuration: configuration,
                                   readModels: try ProjectionReadModels(schemas: ProjectionSchemas(serving: schema)))
        try await server.run(gracefulShutdown: true) { port in
            writeStderr("serve: listening on http://\(configuration.host):\(port)\n")
        }
    }
}
