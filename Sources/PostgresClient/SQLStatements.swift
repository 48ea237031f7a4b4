import Foundation

/// A file of named SQL statements: `-- name: key` starts a statement, which runs to the next
/// name. Comments before a name and trailing blank lines are dropped.
///
/// Why files and not Swift strings: SQL is read, reviewed and diffed as SQL, in one kind of
/// place (`Schema/statements/`, `Projections/queries.sql`), and a test checks that every key a
/// program asks for exists and that every statement in the files is used
/// (`Tests/EventStoreTests/StatementKeyTests`).
public struct SQLStatements: Sendable {
    /// Where the statements came from, for messages.
    public let source: String
    public let statements: [String: String]

    public enum LoadError: Error, CustomStringConvertible {
        case unreadable(path: String, reason: String)
        case duplicateName(path: String, name: String, line: Int)
        public var description: String {
            switch self {
            case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
            case .duplicateName(let path, let name, let line): "\(path):\(line): a second statement named '\(name)'"
            }
        }
    }

    public init(source: String, text: String) throws(LoadError) {
        self.source = source
        self.statements = try Self.parse(text, source: source)
    }

    /// Reads and parses the file at `path`.
    public init(path: String) throws(LoadError) {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
        try self.init(source: path, text: text)
    }

    /// The statement called `name`. Its absence is a programming error (the files ship with the
    /// code and the key test runs over both), hence a precondition and not a thrown error.
    public subscript(name: String) -> String {
        guard let sql = statements[name] else { preconditionFailure("\(source) has no statement named '\(name)'") }
        return sql
    }

    public var names: [String] { statements.keys.sorted() }

    /// Splits `text` into its named statements.
    public static func parse(_ text: String, source: String = "SQL") throws(LoadError) -> [String: String] {
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
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.hasPrefix("-- name:") {
                finish()
                let name = line.dropFirst("-- name:".count).trimmingCharacters(in: .whitespaces)
                if result[name] != nil { throw .duplicateName(path: source, name: name, line: number + 1) }
                current = name
                lines = []
            } else if current != nil {
                lines.append(line)
            }
        }
        finish()
        return result
    }
}
