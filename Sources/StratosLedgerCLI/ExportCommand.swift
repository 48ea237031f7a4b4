import ArgumentParser
import Foundation
import LedgerEvents
import PostgresClient
import StratosEconomics
import StratosProjections
import StratosReports

extension ExportFormat: ExpressibleByArgument {}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export the double-entry journal for accounting tools (csv, ledger/hledger, beancount).",
        discussion: """
            --from/--to are epochs (inclusive). A range that starts mid-history begins with one \
            opening transaction holding the balances at the end of epoch FROM − 1. STOS amounts \
            have exactly 18 decimals, OZ exactly 9. The same code serves GET /v1/export.
            """)

    @OptionGroup var database: DatabaseOptions
    @Option(help: "csv, ledger or beancount.") var format: ExportFormat
    @Option(help: "First epoch.") var from: Int64 = 1
    @Option(help: "Last epoch (default: the latest).") var to: Int64?
    @Option(help: "Only transactions touching this account id (with opening balances of it alone).") var account: String?
    @Option(help: "Write to this file instead of standard output.") var output: String?
    @Option(help: "Projection schema to read.") var schema = "projection"
    @Option(help: "Rule set (for the mining pool of opening balances): a built-in name or a rule-set file.") var rules = RuleSet.paperV1.name

    func run() throws {
        let ruleSet = try resolveRules(rules)
        guard from >= 1 else { throw CLIError("--from must be an epoch ≥ 1") }
        let last = to ?? Int64.max
        guard last >= from else { throw CLIError("--to \(last) is before --from \(from)") }
        let owner = try account.map { a -> AccountID in
            guard let id = AccountID(a) else { throw CLIError("account id \"\(a)\" is not valid") }
            return id
        }
        let connection = try PostgresConnection(url: try database.resolvedLogURL())
        let model = try ProjectionReadModels(schemas: ProjectionSchemas(serving: schema)).readModel(on: connection)
        let prepared: PreparedExport
        do {
            prepared = try PreparedExport.prepare(
                ExportRequest(format: format, from: from, to: last, account: owner),
                rules: ruleSet, model: model)
        } catch let refusal as ExportRefusal { throw CLIError(refusal.description) }
        let handle: FileHandle
        if let output {
            guard FileManager.default.createFile(atPath: output, contents: nil) else { throw CLIError("cannot create \(output)") }
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        } else {
            handle = FileHandle.standardOutput
        }
        try prepared.write(model: model) { chunk in try handle.write(contentsOf: Data(chunk.utf8)) }
        if output != nil { try handle.close() }
    }
}
