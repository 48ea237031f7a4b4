import ArgumentParser
import Foundation
import StratosEconomics
import StratosProjections

/// `stratos-ledger project`: builds the serving projection from the event log and follows it.
struct ProjectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "project",
        abstract: "Build the projections from the event log and follow it live (LISTEN/NOTIFY plus catch-up).",
        discussion: """
            Creates the serving projection schema on first use (under --rules, paper-v1 by default; \
            later runs follow the rules recorded in the schema). Rows and checkpoint are committed \
            together, so the worker can be killed at any moment and restarted. One worker per \
            schema: a second one exits with a message (or waits, with --wait).
            """)

    @OptionGroup var database: DatabaseOptions

    @Flag(help: "Catch up with the log's head, then exit.")
    var once = false

    @Flag(help: "Wait for another worker's lock instead of exiting.")
    var wait = false

    @Option(help: "Rule set of a projection built for the first time.")
    var rules: String = RuleSet.paperV1.name

    @Option(help: "Projection schema to serve.")
    var schema: String = ProjectionSchemas().serving

    @Option(name: .customLong("batch-size"), help: "Events per write transaction.")
    var batchSize: Int = ProjectionDefaults.batchSize

    @Option(name: .customLong("checkpoint-every"), help: "Economy checkpoint every N epochs (for a new schema).")
    var checkpointEvery: Int64 = ProjectionDefaults.checkpointEvery

    func run() throws {
        guard let ruleSet = RuleSet.named(rules) else { throw CLIError("unknown rule set '\(rules)'") }
        guard batchSize > 0, checkpointEvery > 0 else { throw CLIError("--batch-size and --checkpoint-every must be positive") }
        let worker = try ProjectionWorker(url: try database.resolvedURL(), schema: schema, batchSize: batchSize)
        worker.progress = progressPrinter()
        try worker.lock(wait: wait)
        if try worker.createIfMissing(rules: ruleSet, checkpointEvery: checkpointEvery) {
            writeStderr("project: created schema \(schema) (rules \(ruleSet.name))\n")
        }
        if once {
            let n = try worker.catchUp()
            try worker.ensureIndexed()
            writeStderr("project: \(n) events projected, lag \(try worker.lag())\n")
        } else {
            try worker.follow()
        }
    }
}

/// A progress line on stderr (rewritten in place on a terminal, one line every few seconds otherwise).
func progressPrinter() -> (ProjectionProgress) -> Void {
    let tty = isatty(STDERR_FILENO) == 1
    return { p in
        let line = "\(p.schema): position \(p.position)/\(p.head), \(p.eventsThisRun) events in \(String(format: "%.1f", p.seconds)) s "
            + "(\(Int(p.eventsPerSecond)) events/s)"
        writeStderr(tty ? "\r\u{1B}[K" + line + (p.position >= p.head ? "\n" : "") : line + "\n")
    }
}
