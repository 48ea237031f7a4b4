import CLibPQ

/// The rows of one statement, in libpq's text format, with typed accessors. A result asked for
/// in binary (`PostgresConnection.query(_:_:binaryResults:)`) is read with `bytea` and `string`
/// only: the other accessors refuse its columns.
///
/// Owns the `PGresult` and frees it on deinit. A `PGresult` is never modified after libpq
/// hands it over and libpq documents it as safe to read from any thread, hence `Sendable`.
public final class PostgresResult: @unchecked Sendable {
    let handle: OpaquePointer

    init(handle: OpaquePointer) { self.handle = handle }
    deinit { PQclear(handle) }

    public var rowCount: Int { Int(PQntuples(handle)) }
    public var columnCount: Int { Int(PQnfields(handle)) }
    public var columnNames: [String] { (0..<columnCount).map { String(cString: PQfname(handle, Int32($0))) } }
    /// Rows touched by INSERT/UPDATE/DELETE/COPY (`PQcmdTuples`), 0 when not applicable.
    public var affectedRows: Int64 { Int64(String(cString: PQcmdTuples(handle))) ?? 0 }

    /// The index of the column called `name`, or a decoding error naming it.
    public func column(_ name: String) throws(PostgresError) -> Int {
        // Exact (case-sensitive) match; PQfnumber would fold unquoted names to lower case.
        guard let index = (0..<columnCount).first(where: { String(cString: PQfname(handle, Int32($0))) == name }) else {
            throw .decoding(column: name, row: -1, message: "no such column (have \(columnNames))")
        }
        return index
    }

    public func isNull(_ row: Int, _ column: Int) -> Bool { PQgetisnull(handle, Int32(row), Int32(column)) != 0 }

    /// The raw text bytes of a value (valid while this result lives); nil for NULL.
    public func withValueBytes<T>(_ row: Int, _ column: Int, _ body: (UnsafeRawBufferPointer?) throws -> T) rethrows -> T {
        precondition(row >= 0 && row < rowCount && column >= 0 && column < columnCount, "result index out of range")
        if isNull(row, column) { return try body(nil) }
        let p = PQgetvalue(handle, Int32(row), Int32(column))!
        let n = Int(PQgetlength(handle, Int32(row), Int32(column)))
        return try body(UnsafeRawBufferPointer(start: p, count: n))
    }

    /// The value as text; nil for NULL.
    public func optionalString(_ row: Int, _ column: Int) -> String? {
        precondition(row >= 0 && row < rowCount && column >= 0 && column < columnCount, "result index out of range")
        if isNull(row, column) { return nil }
        return String(cString: PQgetvalue(handle, Int32(row), Int32(column)))
    }

    public func string(_ row: Int, _ column: Int) throws(PostgresError) -> String {
        guard let s = optionalString(row, column) else { throw nullError(row, column) }
        return s
    }

    /// Whether `column` came in binary (then only `bytea` and `string` read it).
    public func isBinary(_ column: Int) -> Bool { PQfformat(handle, Int32(column)) == 1 }

    private func requireText(_ row: Int, _ column: Int) throws(PostgresError) {
        if isBinary(column) { throw .decoding(column: name(of: column), row: row, message: "a binary result column: read it with bytea") }
    }

    public func int64(_ row: Int, _ column: Int) throws(PostgresError) -> Int64 {
        try requireText(row, column)
        let s = try string(row, column)
        guard let v = Int64(s) else { throw .decoding(column: name(of: column), row: row, message: "not an integer: \(s)") }
        return v
    }

    public func optionalInt64(_ row: Int, _ column: Int) throws(PostgresError) -> Int64? {
        isNull(row, column) ? nil : try int64(row, column)
    }

    public func bool(_ row: Int, _ column: Int) throws(PostgresError) -> Bool {
        try requireText(row, column)
        switch try string(row, column) {
        case "t": return true
        case "f": return false
        case let s: throw .decoding(column: name(of: column), row: row, message: "not a boolean: \(s)")
        }
    }

    /// A `bytea` value: its bytes as they came in a binary result, else decoded from the
    /// server's `\x…` hex output.
    public func bytea(_ row: Int, _ column: Int) throws(PostgresError) -> [UInt8] {
        let binary = isBinary(column)
        let decoded: [UInt8]? = withValueBytes(row, column) { raw in raw.flatMap { binary ? Array($0) : decodeByteaHex($0) } }
        guard let decoded else {
            if isNull(row, column) { throw nullError(row, column) }
            throw .decoding(column: name(of: column), row: row, message: "not bytea hex output (\\x…)")
        }
        return decoded
    }

    // By column name.
    public func string(_ row: Int, _ column: String) throws(PostgresError) -> String { try string(row, self.column(column)) }
    public func optionalString(_ row: Int, _ column: String) throws(PostgresError) -> String? { optionalString(row, try self.column(column)) }
    public func int64(_ row: Int, _ column: String) throws(PostgresError) -> Int64 { try int64(row, self.column(column)) }
    public func optionalInt64(_ row: Int, _ column: String) throws(PostgresError) -> Int64? { try optionalInt64(row, self.column(column)) }
    public func bool(_ row: Int, _ column: String) throws(PostgresError) -> Bool { try bool(row, self.column(column)) }
    public func bytea(_ row: Int, _ column: String) throws(PostgresError) -> [UInt8] { try bytea(row, self.column(column)) }

    private func name(of column: Int) -> String { String(cString: PQfname(handle, Int32(column))) }
    private func nullError(_ row: Int, _ column: Int) -> PostgresError {
        .decoding(column: name(of: column), row: row, message: "unexpected NULL")
    }
}

/// Decodes PostgreSQL's hex `bytea` text form (`\x` followed by pairs of hex digits).
public func decodeByteaHex(_ text: UnsafeRawBufferPointer) -> [UInt8]? {
    guard text.count >= 2, text[0] == UInt8(ascii: "\\"), text[1] == UInt8(ascii: "x"), text.count % 2 == 0 else { return nil }
    func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x61 + 10
        case 0x41...0x46: c - 0x41 + 10
        default: nil
        }
    }
    var out = [UInt8]()
    out.reserveCapacity((text.count - 2) / 2)
    var i = 2
    while i < text.count {
        guard let hi = nibble(text[i]), let lo = nibble(text[i + 1]) else { return nil }
        out.append(hi << 4 | lo)
        i += 2
    }
    return out
}

/// Encodes bytes as PostgreSQL's hex `bytea` input (`\x…`), for parameters and COPY.
///
/// Written straight into the string's storage: a writer checkpoint runs to a hundred MB or more,
/// and appending digit by digit to an array, then copying it into a string, took seconds of the
/// append that wrote one.
public func encodeByteaHex(_ bytes: [UInt8]) -> String {
    let count = 2 + 2 * bytes.count
    return String(unsafeUninitializedCapacity: count) { out in
        out[0] = UInt8(ascii: "\\")
        out[1] = UInt8(ascii: "x")
        let digits: StaticString = "0123456789abcdef"
        digits.withUTF8Buffer { hex in
            bytes.withUnsafeBufferPointer { source in
                var i = 2
                for b in source {
                    out[i] = hex[Int(b >> 4)]
                    out[i + 1] = hex[Int(b & 15)]
                    i += 2
                }
            }
        }
        return count
    }
}
