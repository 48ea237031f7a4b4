import EventStore
import Foundation
import PostgresClient

/// The projection SQL, read from the `Projections/` folder at run time: `tables.sql` (the
/// projection tables), `indexes.sql` (keys added once a build has caught up, by named section)
/// and `queries.sql` (every statement, by name).
///
/// Statements may hold `{name}` markers for schema identifiers (schema names cannot be
/// parameters); `render` fills them in quoted with `PQescapeIdentifier`. Values are always `$n`
/// parameters.
public struct ProjectionSQL: Sendable {
    public let tables: String
    /// The `keys.*` sections of indexes.sql that build keys, by name (run concurrently),
    /// and `keys.finish` (run after them all).
    let keySections: [String]
    let keysFinish: String
    let statements: [String: String]

    public struct MissingStatement: Error, CustomStringConvertible {
        public let name: String
        public var description: String { "Projections/queries.sql has no statement named '\(name)'" }
    }

    /// Reads the folder found by `ResourceLocator` (STRATOS_PROJECTIONS_DIR or the checkout).
    public static func load(directory: String? = nil) throws -> ProjectionSQL {
        let dir = try directory ?? ResourceLocator.path(of: .projections)
        func read(_ name: String) throws -> String {
            let path = (dir as NSString).appendingPathComponent(name)
            do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw ProjectionError.configuration("cannot read \(path): \(error.localizedDescription)")
            }
        }
        let keys = try SQLStatements.parse(try read("indexes.sql"), source: dir + "/indexes.sql")
        guard let finish = keys["keys.finish"] else { throw ProjectionError.configuration("indexes.sql has no keys.finish section") }
        let sections = keys.filter { $0.key != "keys.finish" }.sorted { $0.key < $1.key }.map(\.value)
        return ProjectionSQL(
            tables: try read("tables.sql"), keySections: sections, keysFinish: finish,
            statements: try SQLStatements.parse(try read("queries.sql"), source: dir + "/queries.sql"))
    }

    /// The version of the tables' layout (tables.sql), recorded in every schema's state row.
    /// Bump it with every change to tables.sql that code reading an older schema would trip
    /// on: a worker or query refuses a schema of another layout with `.outdatedLayout` (run a
    /// rebuild), and a rebuild starts such a `_next` schema over instead of resuming it.
    /// 2: the journal's epoch-close vesting lines derived, not stored (`journal_stored`); the
    /// vesting keys on the ids' text hash (`projection_state.text_hash`). 3: every insert-only
    /// table is a view over `<name>_own` (and, in a build that took another over, over the
    /// base build's rows).
    public static let layout: Int64 = 3

    /// The tables every projection schema holds (tables.sql), for checks and fingerprints.
    public static let tableNames = [
        "balances", "balance_history", "nodes", "vesting_entries", "vesting_changes", "release_schedule", "release_done",
        "ozone_supply", "settlements", "settled_nodes", "gas_fee_rewards", "journal_stored", "exceptions", "epoch_checkpoints",
    ]

    /// The statement called `name` (a programming error if absent: the file ships with the code).
    public func callAsFunction(_ name: String) -> String {
        guard let sql = statements[name] else { preconditionFailure(MissingStatement(name: name).description) }
        return sql
    }

    /// The statement with its `{identifier}` markers replaced by quoted identifiers.
    public func render(
        _ name: String, on connection: PostgresConnection,
        _ identifiers: [String: String]
    ) throws(PostgresError) -> String {
        var sql = self(name)
        for (key, value) in identifiers {
            sql = sql.replacingOccurrences(of: "{\(key)}", with: try connection.escapeIdentifier(value))
        }
        precondition(
            !sql.contains("{schema}") && !sql.contains("{a}") && !sql.contains("{b}") && !sql.contains("{table}"),
            "statement \(name) has an unfilled identifier")
        return sql
    }
}
