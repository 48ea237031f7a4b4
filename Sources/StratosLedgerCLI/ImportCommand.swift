import ArgumentParser
import EventStore
import Foundation
import LedgerEvents
import PostgresClient
import StratosEconomics

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Append a JSON Lines file of events (docs/EVENTS.md envelopes) to the log.",
        discussion: """
            Every event is validated and checked against the economic rules. By default the whole \
            file is one transaction: one bad line appends nothing, and the error names its line and \
            event id. Re-running the same file is a no-op (events are idempotent by id).
            For files too big for one transaction, --commit-every N commits every N events; if it \
            then fails, the committed part stays and re-running the file resumes after it.
            """)

    @Argument(help: "The JSON Lines file, or - for standard input.")
    var file: String

    @Option(help: "Commit every N events instead of once for the whole file.")
    var commitEvery: Int?

    @Option(help: "The rule set events are checked against.")
    var rules: String = RuleSet.paperV1.name

    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        if let commitEvery, commitEvery < 1 { throw ValidationError("--commit-every must be at least 1") }
    }

    func run() throws {
        let ruleSet = try resolveRules(rules)
        let reader: JSONLinesReader =
            file == "-"
            ? JSONLinesReader(fileDescriptor: STDIN_FILENO)
            : try JSONLinesReader(path: file)
        let store = try EventStore(url: try database.resolvedLogURL())
        let showProgress = isatty(STDERR_FILENO) == 1
        let writer = try LedgerWriter(
            store: store, rules: Economy(rules: ruleSet),
            onCheckpoint: { outcome in
                writeStderr((showProgress ? "\r\u{1B}[K" : "") + "\(outcome)\n")
            })

        var lastShown = ContinuousClock.now
        let importer = Importer(
            writer: writer, commitEvery: commitEvery,
            progress: { p in
                guard showProgress, ContinuousClock.now - lastShown > .milliseconds(250) else { return }
                lastShown = ContinuousClock.now
                let rate = p.seconds > 0 ? Double(p.appended + p.duplicates) / p.seconds : 0
                writeStderr(
                    "\r\u{1B}[K\(p.lines) lines, \(p.appended) appended, \(p.duplicates) present, "
                        + "\(p.bytesRead / 1_048_576) MiB read, \(Int(rate)) events/s")
            })
        defer { if showProgress { writeStderr("\r\u{1B}[K") } }
        let summary = try importer.run(reader)
        print(summary)
    }
}
