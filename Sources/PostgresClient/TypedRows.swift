/// Typed parameters and typed row decoding, after postgres-nio's `PostgresEncodable` /
/// `PostgresDecodable`: a statement's values are Swift values (`Int64`, `String`, `[UInt8]`),
/// not strings built at each call site, and a row is decoded as a tuple whose arity must equal
/// the statement's column count — a statement edited in its `.sql` file without its decoder is
/// an error naming both, not a silently misread column.

/// A Swift value that can be a statement parameter.
public protocol PostgresBindable: Sendable {
    var postgresParameter: PostgresParameter { get }
}

extension String: PostgresBindable { public var postgresParameter: PostgresParameter { .text(self) } }
extension Int64: PostgresBindable { public var postgresParameter: PostgresParameter { .text(String(self)) } }
extension Int: PostgresBindable { public var postgresParameter: PostgresParameter { .text(String(self)) } }
extension Int32: PostgresBindable { public var postgresParameter: PostgresParameter { .text(String(self)) } }
extension Bool: PostgresBindable { public var postgresParameter: PostgresParameter { .text(self ? "true" : "false") } }
extension Array: PostgresBindable where Element == UInt8 {
    public var postgresParameter: PostgresParameter { .bytea(self) }
}
extension Optional: PostgresBindable where Wrapped: PostgresBindable {
    public var postgresParameter: PostgresParameter { self?.postgresParameter ?? .text(nil) }
}

/// A `text[]` parameter (cast it in SQL: `$1::text[]`).
public struct PostgresTextArray: PostgresBindable {
    public let elements: [String]
    public init(_ elements: [String]) { self.elements = elements }
    public var postgresParameter: PostgresParameter { .text(postgresArrayLiteral(elements)) }
}

/// A Swift value one result column decodes to.
public protocol PostgresDecodable {
    static func decode(_ result: PostgresResult, row: Int, column: Int) throws(PostgresError) -> Self
}

extension String: PostgresDecodable {
    public static func decode(_ r: PostgresResult, row: Int, column: Int) throws(PostgresError) -> String { try r.string(row, column) }
}
extension Int64: PostgresDecodable {
    public static func decode(_ r: PostgresResult, row: Int, column: Int) throws(PostgresError) -> Int64 { try r.int64(row, column) }
}
extension Int: PostgresDecodable {
    public static func decode(_ r: PostgresResult, row: Int, column: Int) throws(PostgresError) -> Int { Int(try r.int64(row, column)) }
}
extension Array: PostgresDecodable where Element == UInt8 {
    public static func decode(_ r: PostgresResult, row: Int, column: Int) throws(PostgresError) -> [UInt8] { try r.bytea(row, column) }
}
extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public static func decode(_ r: PostgresResult, row: Int, column: Int) throws(PostgresError) -> Wrapped? {
        r.isNull(row, column) ? nil : try Wrapped.decode(r, row: row, column: column)
    }
}

extension PostgresResult {
    /// Throws unless the statement returned exactly `count` columns.
    public func expectColumns(_ count: Int, statement: String) throws(PostgresError) {
        guard columnCount == count else {
            throw .decoding(
                column: statement, row: -1,
                message: "the statement returns \(columnCount) columns, its decoder reads \(count)")
        }
    }

    /// Row `row` as a tuple of the given types, one per column, in order; the statement must
    /// return exactly that many columns.
    public func decode<each T: PostgresDecodable>(
        row: Int, as types: repeat (each T).Type,
        statement: String = "statement"
    ) throws(PostgresError) -> (repeat each T) {
        var arity = 0
        for _ in repeat (each T).self { arity += 1 }
        try expectColumns(arity, statement: statement)
        var column = 0
        func next<U: PostgresDecodable>(_ type: U.Type) throws(PostgresError) -> U {
            defer { column += 1 }
            return try U.decode(self, row: row, column: column)
        }
        return (repeat try next((each T).self))
    }

    /// Every row as a tuple of the given types (see `decode(row:as:statement:)`).
    public func decodeAll<each T: PostgresDecodable>(
        as types: repeat (each T).Type,
        statement: String = "statement"
    ) throws(PostgresError) -> [(repeat each T)] {
        var out: [(repeat each T)] = []
        out.reserveCapacity(rowCount)
        for row in 0..<rowCount { out.append(try decode(row: row, as: repeat (each T).self, statement: statement)) }
        return out
    }
}

extension PostgresConnection {
    /// Runs `sql` with typed parameters (`$1`, `$2`, … in order).
    @discardableResult
    public func query(_ sql: String, binding parameters: any PostgresBindable...) throws(PostgresError) -> PostgresResult {
        try query(sql, parameters.map(\.postgresParameter))
    }
}
