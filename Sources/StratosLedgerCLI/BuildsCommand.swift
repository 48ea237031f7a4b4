import ArgumentParser
import Foundation
import StratosProjections

struct BuildsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "builds",
        abstract: "The projection builds kept side by side (serving, previous, kept, next).",
        subcommands: [BuildsListCommand.self, BuildsSwitchCommand.self, BuildsDropCommand.self],
        defaultSubcommand: BuildsListCommand.self)
}

struct BuildsSwitchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switch", abstract: "Make a build serving, atomically (the serving one becomes <schema>_previous).")

    @OptionGroup var database: DatabaseOptions

    @Argument(help: "The build (schema) to serve, as `builds` lists it.")
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
    static let configuration = CommandConfiguration(commandName: "drop", abstract: "Drop a build; refuses the serving one.")

    @OptionGroup var database: DatabaseOptions

    @Argument(help: "The build (schema) to drop, as `builds` lists it.")
    var build: String

    @Option(help: "Serving projection schema.")
    var schema: String = ProjectionSchemas().serving

    func run() throws {
        let rebuilder = try Rebuilder(url: try database.resolvedLogURL(), schemas: ProjectionSchemas(serving: schema))
        try rebuilder.drop(build: build)
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
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            print(String(decoding: try encoder.encode(builds), as: UTF8.self))
        case .text:
            for b in builds {
                print(
                    "\(b.serving ? "*" : " ") \(b.name)  \(b.rules)  sha256 \(b.rulesSha256 ?? "-")  position \(b.position)  "
                        + "\(b.status)  created \(b.createdAt)")
            }
        }
    }
}
