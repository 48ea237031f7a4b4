import CLibPQ

/// Everything that can go wrong talking to PostgreSQL, shaped like postgres-nio's errors:
/// the SQLSTATE and the server's own message, detail and hint are kept so callers can branch
/// on the condition (`isUniqueViolation`) and users see what the server said.
public enum PostgresError: Error, Sendable, CustomStringConvertible {
    /// Could not connect, or the connection broke (libpq's `PQerrorMessage`).
    case connection(String)
    /// The server refused a statement (fields of `PQresultErrorField`).
    case server(sqlState: String, severity: String, message: String, detail: String?, hint: String?, position: Int?)
    /// The conversation did not go as the call expected (e.g. `query` got a COPY result).
    case `protocol`(String)
    /// A value of a result could not be read as the requested type.
    case decoding(column: String, row: Int, message: String)

    public var sqlState: String? {
        if case .server(let state, _, _, _, _, _) = self { return state }
        return nil
    }
    /// 23505: a UNIQUE or PRIMARY KEY constraint refused a duplicate.
    public var isUniqueViolation: Bool { sqlState == "23505" }
    /// 40001: a SERIALIZABLE transaction must be retried.
    public var isSerializationFailure: Bool { sqlState == "40001" }
    /// 40P01: deadlock detected; the transaction was rolled back.
    public var isDeadlock: Bool { sqlState == "40P01" }
    /// 57014: statement cancelled (timeout or cancel request).
    public var isQueryCanceled: Bool { sqlState == "57014" }
    /// 42P01: the relation does not exist.
    public var isUndefinedTable: Bool { sqlState == "42P01" }
    /// 3D000: the database does not exist.
    public var isInvalidCatalogName: Bool { sqlState == "3D000" }
    /// P0001: `RAISE EXCEPTION` from PL/pgSQL (our triggers use it).
    public var isRaiseException: Bool { sqlState == "P0001" }

    /// The server's primary message (or the connection/protocol message).
    public var message: String {
        switch self {
        case .connection(let m), .protocol(let m): m
        case .server(_, _, let m, _, _, _): m
        case .decoding(let column, let row, let m): "column \(column), row \(row): \(m)"
        }
    }

    public var description: String {
        switch self {
        case .connection(let m): return "PostgreSQL connection error: \(m)"
        case .protocol(let m): return "PostgreSQL protocol error: \(m)"
        case .decoding(let column, let row, let m): return "cannot decode column \(column) of row \(row): \(m)"
        case .server(let state, let severity, let message, let detail, let hint, let position):
            var s = "\(severity) \(state): \(message)"
            if let detail { s += " (detail: \(detail))" }
            if let hint { s += " (hint: \(hint))" }
            if let position { s += " (at character \(position))" }
            return s
        }
    }

    /// Builds `.server` from a failed result, or `.connection` when libpq has no result fields
    /// (the connection was lost mid-statement).
    static func from(result: OpaquePointer?, connection: OpaquePointer?) -> PostgresError {
        func field(_ code: Int32) -> String? {
            guard let result, let p = PQresultErrorField(result, code) else { return nil }
            return String(cString: p)
        }
        if let state = field(Int32(UInt8(ascii: "C"))) {
            return .server(
                sqlState: state,
                severity: field(Int32(UInt8(ascii: "V"))) ?? field(Int32(UInt8(ascii: "S"))) ?? "ERROR",
                message: field(Int32(UInt8(ascii: "M"))) ?? "",
                detail: field(Int32(UInt8(ascii: "D"))),
                hint: field(Int32(UInt8(ascii: "H"))),
                position: field(Int32(UInt8(ascii: "P"))).flatMap { Int($0) })
        }
        return .connection(connectionMessage(connection))
    }

    static func connectionMessage(_ connection: OpaquePointer?) -> String {
        guard let connection, let p = PQerrorMessage(connection) else { return "unknown libpq error" }
        let text = String(cString: p).trimmingTrailingWhitespace()
        return text.isEmpty ? "unknown libpq error" : text
    }
}

extension String {
    func trimmingTrailingWhitespace() -> String {
        var s = Substring(self)
        while let last = s.last, last.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
