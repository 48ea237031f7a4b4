import ArgumentParser
import EventStore
import PostgresClient

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply the SQL migrations of Schema/ that the database does not have yet.",
        discussion: "Schema/ is found through $STRATOS_SCHEMA_DIR, else upwards from the executable and the current directory.")

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let connection = try PostgresConnection(url: try database.resolvedURL())
        let migrator = try Migrator.load()
        let outcome = try migrator.migrate(connection)
        if outcome.applied.isEmpty {
            print("schema up to date (\(outcome.alreadyApplied) migrations applied)")
        } else {
            for name in outcome.applied { print("applied \(name)") }
        }
    }
}
