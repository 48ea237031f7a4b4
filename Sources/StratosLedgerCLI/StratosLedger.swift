import ArgumentParser

/// The `stratos-ledger` command. Every verb lives in its own file of this folder and is a thin
/// shell over the library modules: no rule, query or format is implemented here, so the CLI
/// and the HTTP service cannot drift apart.
@main
struct StratosLedger: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stratos-ledger",
        abstract: "Event-sourced accounting for the Stratos token economy.",
        subcommands: [
            // Verbs register here, one line each (keep alphabetical to ease merges).
            AuditCommand.self,
            BuildsCommand.self,
            DemoCommand.self,
            ExportCommand.self,
            ImportCommand.self,
            MigrateCommand.self,
            ProjectCommand.self,
            RebuildCommand.self,
            RulesCommand.self,
            ServeCommand.self,
            SimulateCommand.self,
            SnapshotCommand.self,
            VerifyCommand.self,
        ]
    )
}
