import ArgumentParser
import Foundation
import StratosProjections

struct BuildsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "builds",
        abstract: "List the projection builds kept side by side (serving, previous, kept, next).")

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
