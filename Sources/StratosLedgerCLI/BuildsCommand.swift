import ArgumentParser
import Foundation
import LedgerEvents
import StratosProjections

struct BuildsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "builds",
        abstract: "The projection builds kept side by side (serving, previous, kept, next), by name.",
        subcommands: [BuildsListCommand.self, BuildsSwitchCommand.self, BuildsDropCommand.self, BuildsDiffCommand.self],
        defaultSubcommand: BuildsListCommand.self)
}

struct BuildsSwitchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switch", abstract: "Make a build serving, atomically (the serving one becomes <schema>_previous).")

    @OptionGroup var database: DatabaseOptions

    @Argument(help: "The build to serve, by the name `builds` lists (or its schema).")
    var build: String

    @Option(help: "Serving projection schema.")
    var schema: String = ProjectionSchemas().serving

    func run() throws {
        let rebuilder = try Rebuilder(url: try database.resolvedLogURL(), schemas: ProjectionSchemas(serving: schema))
        try rebuilder.switchTo(build: build)
        writeStderr("builds: \(build) is serving (as \(schema))\n")
    }
}

struct BuildsDropCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drop",
        abstract: "Drop a build; refuses the serving one.",
        discussion: """
            A build that took this one over (a rebuild that replayed only what changed) reads its \
            rows through views: it first gets its own copy of them, in the same transaction, so \
            that no build breaks. That copy takes what the take-over saved (seconds to minutes on \
            a long history).
            """)

    @OptionGroup var database: DatabaseOptions

    @Argument(help: "The build to drop, by the name `builds` lists (or its schema).")
    var build: String

    @Option(help: "Serving projection schema.")
    var schema: String = ProjectionSchemas().serving

    func run() throws {
        let rebuilder = try Rebuilder(url: try database.resolvedLogURL(), schemas: ProjectionSchemas(serving: schema))
        try rebuilder.drop(build: build) { dependent in
            writeStderr("builds: \(dependent) took \(build) over: copying the rows it reads from \(build) into it first\n")
        }
        writeStderr("builds: dropped \(build)\n")
    }
}

struct BuildsListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the builds (the default).")

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Output format: text or json.")
    var format: OutputFormat = .text

    @Option(help: "Serving projection schema.")
    var schema: String = ProjectionSchemas().serving

    func run() throws {
        let rebuilder = try Rebuilder(url: try database.resolvedLogURL(), schemas: ProjectionSchemas(serving: schema))
        let builds = try rebuilder.builds()
        switch format {
        case .json:
            print(BuildInfo.json(builds).canonicalText)
        case .text:
            for b in builds {
                print(
                    "\(b.serving ? "*" : " ") \(b.name)  \(b.schema)  \(b.rules)  sha256 \(b.rulesSha256 ?? "-")  position \(b.position)  "
                        + "\(b.status)  created \(b.createdAt)" + (b.servedUntil.map { "  served until \($0)" } ?? "")
                        + (b.base.map { "  reads \($0.build) through epoch \($0.epoch)" } ?? ""))
            }
        }
    }
}

struct BuildsDiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "What differs between two builds: per account, node and epoch, rewards per role and source, refusals.",
        discussion: """
            Amounts that differ, with A's value, B's and B - A. --node or --account narrows the \
            accounts, nodes, per-epoch rewards and reward totals to one node or account; --from \
            and --to to a range of epochs (balances are then those at the close of --to). \
            docs/PROJECTIONS.md describes the JSON.
            """)

    @OptionGroup var database: DatabaseOptions

    @Argument(help: "Build A, by the name `builds` lists (or its schema).")
    var a: String

    @Argument(help: "Build B.")
    var b: String

    @Option(help: "Only this node.")
    var node: String?

    @Option(help: "Only this account.")
    var account: String?

    @Option(help: "First epoch of the range.")
    var from: Int64?

    @Option(help: "Last epoch of the range.")
    var to: Int64?

    @Option(help: "Output format: text or json.")
    var format: OutputFormat = .text

    @Option(help: "Serving projection schema.")
    var schema: String = ProjectionSchemas().serving

    var filter: BuildDiffFilter { BuildDiffFilter(node: node, account: account, fromEpoch: from, toEpoch: to) }

    func validate() throws {
        do { try filter.validate() } catch { throw ValidationError("\(error)") }
    }

    func run() throws {
        let rebuilder = try Rebuilder(url: try database.resolvedLogURL(), schemas: ProjectionSchemas(serving: schema))
        let diff = try rebuilder.diff(a, b, filter: filter)
        switch format {
        case .json: print(diff.json.canonicalText)
        case .text: print(diff.text(), terminator: "")
        }
    }
}
