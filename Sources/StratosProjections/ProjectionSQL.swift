import Foundation
import PostgresClient

/// The projection SQL, read from the `Projections/` folder at run time: `tables.sql` (the
/// projection tables), `indexes.sql` (keys added once a build has caught up) and `queries.sql`
/// (every statement, by name).
///
/// Statements may hold `{name}` markers for schema identifiers (schema names cannot be
/// parameters); `render` fills them in quoted with `PQescapeIdentifier`. Values are always `$n`
/// parameters.
public struct ProjectionSQL: Sendable {
    public let tables: String
    public let indexes: String
    let statements: [String: String]

    public struct MissingStatement: Error, CustomStringConvertible {
        public let name: String
        public var description: String { "Projections/queries.sql has no statement named '\(name)'" }
    }

    /// Reads the folder found by `ProjectionFiles.directory()`.
    public static func load(directory: String? = nil) throws -> ProjectionSQL {
        let dir = try directory ?? ProjectionFiles.directory()
        func read(_ name: String) throws -> String {
            let path = (dir as NSString).appendingPathComponent(name)
            do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw ProjectionError.configuration("cannot read \(path): \(error.localizedDescription)")
            }
        }
        return ProjectionSQL(tables: try read("tables.sql"), indexes: try read("indexes.sql"),
                             statements: parseNamedStatements(try read("queries.sql")))
    }

    /// The statement called `name` (a programming error if absent: the file ships with the code).
    public func callAsFunction(_ name: String) -> String {
        guard let sql = statements[name] else { preconditionFailure(MissingStatement(name: name).description) }
        return sql
    }

    /// The statement with its `{identifier}` markers replaced by quoted identifiers.
    public func render(_ name: String, on connection: PostgresConnection,
                       _ identifiers: [String: String]) throws(PostgresError) -> String {
        var sql = self(name)
        for (key, value) in identifiers {
            sql = sql.replacingOccurrences(of: "{\(key)}", with: try connection.escapeIdentifier(value))
        }
        precondition(!sql.contains("{schema}") && !sql.contains("{old}") && !sql.contains("{new}"),
                     "statement \(name) has an unfilled identifier")
        return sql
    }

    /// Splits a file of `-- name: key` sections into statements (comments before a name and
    /// trailing blank lines are dropped).
    static func parseNamedStatements(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        var current: String?
        var lines: [Substring] = []
        func finish() {
            guard let name = current else { return }
            while let last = lines.last, last.trimmingCharacters(in: .whitespaces).isEmpty || last.hasPrefix("--") {
                lines.removeLast()
            }
            result[name] = lines.joined(separator: "\n")
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("-- name:") {
                finish()
                current = line.dropFirst("-- name:".count).trimmingCharacters(in: .whitespaces)
                lines = []
            } else if current != nil {
                lines.append(line)
            }
        }
        finish()
        return result
    }
}

/// Finds the `Projections/` folder: `STRATOS_PROJECTIONS_DIR`, else the first folder holding
/// `Package.swift` and `Projections/` upwards from the executable, then from the current directory.
public enum ProjectionFiles {
    public static func directory(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        let fm = FileManager.default
        if let explicit = environment["STRATOS_PROJECTIONS_DIR"], !explicit.isEmpty {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: explicit, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ProjectionError.configuration("STRATOS_PROJECTIONS_DIR=\(explicit) is not a folder")
            }
            return explicit
        }
        var starts: [URL] = []
        if let exe = Bundle.main.executableURL { starts.append(exe.resolvingSymlinksInPath().deletingLastPathComponent()) }
        starts.append(URL(fileURLWithPath: fm.currentDirectoryPath))
        starts.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent())
        for start in starts {
            var dir = start.standardizedFileURL
            while true {
                let candidate = dir.appendingPathComponent("Projections")
                if fm.fileExists(atPath: dir.appendingPathComponent("Package.swift").path),
                   fm.fileExists(atPath: candidate.appendingPathComponent("queries.sql").path) {
                    return candidate.path
                }
                let parent = dir.deletingLastPathComponent()
                if parent.path == dir.path { break }
                dir = parent
            }
        }
        throw ProjectionError.configuration(
            "cannot find the Projections/ folder: set STRATOS_PROJECTIONS_DIR or run from the project checkout")
    }
}
