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
    /// The connection was lost while COMMIT was under way: the transaction may or may not have
    /// committed. Only an idempotent retry (or a look at the data) can tell.
    case commitOutcomeUnknown(String)

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
    /// 55P03: a lock could not be had within `lock_timeout` (or NOWAIT).
    public var isLockNotAvailable: Bool { sqlState == "55P03" }

    /// The session is gone or about to be: libpq lost the connection, or the server ended it
    /// (class 08 connection exceptions; 57P01 admin shutdown, 57P02 crash shutdown, 57P03
    /// cannot connect now, as during a restart or a recovery). Reconnect; never reuse it.
    public var isConnectionLoss: Bool {
        switch self {
        case .connection, .commitOutcomeUnknown: return true
        case .protocol, .decoding: return false
        case .server(let state, _, _, _, _, _):
            return state.hasPrefix("08") || state == "57P01" || state == "57P02" || state == "57P03"
        }
    }

    /// Worth trying again (after a reconnect or a pause): a lost connection; a serialization
    /// failure or deadlock; a lock or statement timeout; too many connections (53300) or
    /// another resource shortage (class 53); a read-only transaction (25006: the host is a
    /// standby now, e.g. the old primary came back as one). Not transient: everything that
    /// would fail the same way again (a constraint, a syntax error, a missing table).
    public var isTransient: Bool {
        if isConnectionLoss { return true }
        guard let state = sqlState else { return false }
        return ["40001", "40P01", "55P03", "57014", "25006"].contains(state) || state.hasPrefix("53")
    }

    /// The server's primary message (or the connection/protocol message).
    public var message: String {
        switch self {
        case .connection(let m), .protocol(let m): m
        case .commitOutcomeUnknown(let m): "the connection was lost during COMMIT (\(m)): the transaction may or may not have committed"
        case .server(_, _, let m, _, _, _): m
        case .decoding(let column, let row, let m): "column \(column), row \(row): \(m)"
        }
    }

    public var description: String {
        switch self {
        case .connection(let m): return "PostgreSQL connection error: \(m)"
        case .commitOutcomeUnknown: return "PostgreSQL connection error: \(message)"
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
        // libpq's messages span lines ("…failed: Connection refused\n\tIs the server running…");
        // one line each keeps logs and problem details readable.
        let text = String(cString: p).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: " \t") }.filter { !$0.isEmpty }.joined(separator: " ")
        return text.isEmpty ? "unknown libpq error" : text
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> Substring {
        var s = self
        while let first = s.first, set.contains(first) { s = s.dropFirst() }
        while let last = s.last, set.contains(last) { s = s.dropLast() }
        return s
    }
}
