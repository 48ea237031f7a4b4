import ArgumentParser
import Foundation
import StratosEconomics
import StratosProjections
import Synchronization

/// `stratos-ledger project`: builds the serving projection from the event log and follows it.
struct ProjectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "project",
        abstract: "Build the projections from the event log and follow it live (LISTEN/NOTIFY plus catch-up).",
        discussion: """
            Creates the serving projection schema on first use (under --rules, paper-v1 by default; \
            later runs follow the rules recorded in the schema). Rows and checkpoint are committed \
            together, so the worker can be killed at any moment and restarted. One worker per \
            schema: a second one waits up to --lock-wait seconds for the lock (a killed \
            predecessor's backend ends within seconds), then exits with a message; --wait waits \
            as long as it takes. Live, the worker survives PostgreSQL restarts and failovers \
            (reconnecting with backoff, resuming from its checkpoint); SIGTERM/SIGINT stop it \
            cleanly (the open batch is rolled back).
            """)

    @OptionGroup var database: DatabaseOptions

    @Flag(help: "Catch up with the log's head, then exit.")
    var once = false

    @Flag(help: "Wait for another worker's lock as long as it takes.")
    var wait = false

    @Option(name: .customLong("lock-wait"), help: "Seconds to wait for another worker's lock before giving up.")
    var lockWait: Double = 30

    @Option(
        help:
            "Rule set (a built-in name or a rule-set file) of a projection built for the first time (default paper-v1); for an existing one, it must be the one it was built with."
    )
    var rules: String?

    @Option(help: "Projection schema to serve.")
    var schema: String = ProjectionSchemas().serving

    @Option(name: .customLong("batch-size"), help: "Events per write transaction.")
    var batchSize: Int = ProjectionDefaults.batchSize

    @Option(name: .customLong("checkpoint-every"), help: "Economy checkpoint every N epochs (for a new schema).")
    var checkpointEvery: Int64 = ProjectionDefaults.checkpointEvery

    func run() throws {
        let given = try rules.map(resolveRules)
        let ruleSet = given ?? RuleSet.paperV1
        guard batchSize > 0, checkpointEvery > 0 else { throw CLIError("--batch-size and --checkpoint-every must be positive") }
        guard lockWait.isFinite, lockWait >= 0 else { throw CLIError("--lock-wait must be a number of seconds ≥ 0") }
        let url = try database.resolvedLogURL()
        let lockTimeout: Duration? = wait ? nil : .milliseconds(Int64(lockWait * 1000))
        if once {
            let worker = try ProjectionWorker(url: url, schema: schema, batchSize: batchSize)
            worker.progress = progressPrinter()
            try worker.lock(
                timeout: lockTimeout,
                onWait: { pid in
                    writeStderr("project: waiting for the lock of schema \(schema)\(pid.map { " (held by backend pid \($0))" } ?? "")\n")
                })
            let created =
                try given.map { try worker.createIfMissing(requiring: $0, checkpointEvery: checkpointEvery) }
                ?? worker.createIfMissing(rules: ruleSet, checkpointEvery: checkpointEvery)
            if created { writeStderr("project: created schema \(schema) (rules \(ruleSet.name), sha256 \(ruleSet.sha256))\n") }
            let n = try worker.catchUp()
            try worker.ensureIndexed()
            writeStderr("project: \(n) events projected, lag \(try worker.lag())\n")
            return
        }
        // Live: supervised, until SIGTERM or SIGINT.
        let supervisor = ProjectionSupervisor(
            configuration: .init(
                url: url, schema: schema, rules: ruleSet, checkpointEvery: checkpointEvery,
                batchSize: batchSize, lockWait: lockTimeout, retryWhenLocked: false),
            log: { writeStderr("project: \($0)\n") })
        let signals = stopOnSignals { supervisor.stop(timeout: .seconds(5)) }
        defer { signals.forEach { $0.cancel() } }
        writeStderr("project: following the log into schema \(schema) (SIGTERM or Ctrl-C stops)\n")
        supervisor.runHere()
        if let error = supervisor.terminalError { throw error }
    }
}

/// Calls `stop` (once, off the signal) on SIGTERM or SIGINT; keep the sources alive while needed.
func stopOnSignals(_ stop: @escaping @Sendable () -> Void) -> [any DispatchSourceSignal] {
    let once = OnceFlag()
    return [SIGTERM, SIGINT].map { number in
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler {
            guard once.claim() else { return }
            writeStderr("stopping (signal \(number))\n")
            stop()
        }
        source.resume()
        return source
    }
}

/// True for the first caller only.
final class OnceFlag: Sendable {
    private let claimed = Mutex(false)
    func claim() -> Bool {
        claimed.withLock { c in
            defer { c = true }
            return !c
        }
    }
}

/// A progress line on stderr (rewritten in place on a terminal, one line every few seconds otherwise).
func progressPrinter() -> (ProjectionProgress) -> Void {
    let tty = isatty(STDERR_FILENO) == 1
    return { p in
        let line =
            "\(p.schema): position \(p.position)/\(p.head), \(p.eventsThisRun) events in \(String(format: "%.1f", p.seconds)) s "
            + "(\(Int(p.eventsPerSecond)) events/s)"
        writeStderr(tty ? "\r\u{1B}[K" + line + (p.position >= p.head ? "\n" : "") : line + "\n")
    }
}
