import ArgumentParser
import Foundation
import StratosEconomics
import StratosProjections

/// `stratos-ledger rebuild`: all projections from the whole log under a rule set, switched in atomically.
struct RebuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Rebuild every projection from the whole log under a rule set, then switch it in atomically.",
        discussion: """
            Builds into <schema>_next while <schema> keeps serving, checks the engine's invariants \
            and the journal, then switches it in: <schema> becomes <schema>_previous and \
            <schema>_next becomes <schema>, in one transaction. An interrupted rebuild is resumed \
            by running it again. Events the new rules refuse are recorded as exceptions (see \
            --diff). The build is named by --as (else after its rules: paper-v1-effective-s, \
            paper-v1-effective-s-2, ...) and keeps that name across switches (`builds`). No build \
            is dropped: an older <schema>_previous is kept as <schema>_kept_<n>. --switch-back \
            serves the build that served before (a rebuild under the rules already serving \
            replaces it in that history: the switch-back still returns to the build under other \
            rules). When the new rules equal \
            the serving build's through epoch N-1, the rebuild takes the serving build over through \
            its latest checkpoint before N and replays only the log after it (--from-genesis: \
            replay all).
            """)

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Rule set: a built-in (\(RuleSet.all.map(\.name).joined(separator: ", "))) or a rule-set file.")
    var rules: String?

    @Option(name: .customLong("as"), help: "The build's name (1–64 letters, digits, '.', '_', '-'; default: from the rules).")
    var buildName: String?

    @Flag(help: "Report what the new rules change, per account, node and epoch, with totals.")
    var diff = false

    @Flag(name: .customLong("switch-back"), help: "Swap the serving projection with the previous one and exit.")
    var switchBack = false

    @Flag(name: .customLong("no-switch"), help: "Build and check (and diff) only; keep the serving projection.")
    var noSwitch = false

    @Flag(
        name: .customLong("from-genesis"),
        help: "Replay the whole log, even when the serving build could be taken over through the epoch before the rules differ.")
    var fromGenesis = false

    @Option(help: "Serving projection schema.")
    var schema: String = ProjectionSchemas().serving

    @Option(name: .customLong("checkpoint-every"), help: "Economy checkpoint every N epochs.")
    var checkpointEvery: Int64 = ProjectionDefaults.checkpointEvery

    func validate() throws {
        if switchBack == (rules != nil) { throw ValidationError("give --rules NAME or --switch-back") }
        if let rules { _ = try resolveRules(rules) }
        if buildName != nil && switchBack { throw ValidationError("--as names a new build: give it with --rules, not --switch-back") }
        if let buildName {
            do { try BuildCatalog(schemas: ProjectionSchemas(serving: schema), sql: try ProjectionSQL.load()).validate(name: buildName) } catch {
                throw ValidationError("--as: \(error)")
            }
        }
    }

    func run() throws {
        var rebuilder = try Rebuilder(
            url: try database.resolvedLogURL(), schemas: ProjectionSchemas(serving: schema),
            checkpointEvery: checkpointEvery)
        if switchBack {
            let name = try rebuilder.switchBack()
            writeStderr("rebuild: \(name) is serving again (as \(schema))\n")
            return
        }
        rebuilder.fromGenesis = fromGenesis
        rebuilder.progress = progressPrinter()
        rebuilder.phaseStarted = { [next = rebuilder.schemas.next] name in writeStderr("\(next): \(name)…\n") }
        let ruleSet = try resolveRules(rules!)
        let report = try rebuilder.run(rules: ruleSet, diff: diff, switchOver: !noSwitch, name: buildName)
        if let d = report.diff { print(d.text(), terminator: "") }
        writeStderr("rebuild: \(report.start)\n")
        let phases: String = report.phases.map { "\($0.name) \(String(format: "%.1f", $0.seconds)) s" }.joined(separator: ", ")
        writeStderr(
            "rebuild: build \(report.name), \(report.events) events under \(report.rules) (sha256 \(ruleSet.sha256))"
                + (report.resumedFrom > 0 ? " (resumed from position \(report.resumedFrom))" : "")
                + ", \(report.refused) refused, \(String(format: "%.1f", report.seconds)) s (\(phases)); "
                + (report.switched
                    ? "switched in (the build it replaced is kept: `stratos-ledger builds`)\n"
                    : "not switched (it waits in \(rebuilder.schemas.next))\n"))
    }
}
