import LedgerEvents
import PostgresClient

/// One row of `event_log`, validated again into a typed event (or the reason it is not valid).
public struct LoggedEvent: Sendable {
    public let position: Int64
    public let eventID: String
    public let type: String
    public let event: Result<LedgerEvent, EventValidationError>
}

/// Reads `event_log` in position order through `COPY … TO STDOUT`, one bounded range at a time.
///
/// Why not the store's `replay`: this is the projections' hot path (its targets are in
/// docs/BENCHMARKS.md). Each row's columns go to `LedgerEvent.parse(storedID:type:time:data:)`, which makes
/// the checks an imported line gets (member lists, no dictionaries) without spelling the line,
/// so a stored event is re-validated exactly as an imported one is.
struct LogReader {
    let sql: ProjectionSQL

    /// The committed head position of the log.
    func head(_ connection: PostgresConnection) throws -> Int64 {
        let r = try connection.query(sql("log.head"))
        guard r.rowCount == 1 else { throw ProjectionError.corrupt("event_log_head has \(r.rowCount) rows") }
        return try r.int64(0, 0)
    }

    /// Calls `body` for every event with `from <= position <= through`, in order. `body`
    /// returns false to stop early (the rest of the range is still drained from the server).
    func read(
        _ connection: PostgresConnection, from: Int64, through: Int64,
        _ body: (LoggedEvent) throws -> Bool
    ) throws {
        guard from <= through else { return }
        try connection.query(sql("log.bounds"), binding: from, through)
        var fields: [[UInt8]?] = []
        var stopped = false
        var expected = from
        try connection.copyOut(sql("log.copy")) { chunk in
            if stopped { return }
            guard let row = LogRow(chunk) ?? LogRow(slow: chunk, fields: &fields) else {
                throw ProjectionError.corrupt("event_log row after position \(expected - 1) is malformed")
            }
            guard row.position == expected else {
                throw ProjectionError.corrupt("event_log has a gap: expected position \(expected), got \(row.position)")
            }
            expected += 1
            let id = String(decoding: row.id, as: UTF8.self)
            let type = String(decoding: row.type, as: UTF8.self)
            let event = row.data.withUnsafeBufferPointer { data in
                Result { () throws(EventValidationError) in
                    try LedgerEvent.parse(storedID: id, type: type, time: Timestamp(microsecondsSinceEpoch: row.micros), data: data)
                }
            }
            if try !body(LoggedEvent(position: row.position, eventID: id, type: type, event: event)) { stopped = true }
        }
    }
}

/// One `log.copy` row: position, event id, type, time (µs since the epoch), data.
///
/// Why not `parseCopyTextRow`: this runs for every event of a rebuild, and a row without a
/// backslash (COPY's only escape character) needs no unescaping, so its fields are read in
/// place, without an array per field. Rows with escapes take the general parser.
private struct LogRow {
    var position: Int64
    var id: ArraySlice<UInt8>
    var type: ArraySlice<UInt8>
    var micros: Int64
    var data: ArraySlice<UInt8>

    /// The fast path: nil when the row holds a backslash or is not five fields.
    init?(_ chunk: UnsafeRawBufferPointer) {
        var end = chunk.count
        if end > 0, chunk[end - 1] == 0x0A { end -= 1 }
        var tabs = (0, 0, 0, 0)
        var found = 0
        for i in 0..<end {
            let b = chunk[i]
            if b == 0x5C { return nil }
            if b == 0x09 {
                switch found {
                case 0: tabs.0 = i
                case 1: tabs.1 = i
                case 2: tabs.2 = i
                case 3: tabs.3 = i
                default: return nil
                }
                found += 1
            }
        }
        guard found == 4 else { return nil }
        let bytes = Array(UnsafeRawBufferPointer(rebasing: chunk[0..<end]))
        guard let position = Self.integer(bytes[0..<tabs.0]), let micros = Self.integer(bytes[(tabs.2 + 1)..<tabs.3]) else {
            return nil
        }
        self.init(
            position: position, id: bytes[(tabs.0 + 1)..<tabs.1], type: bytes[(tabs.1 + 1)..<tabs.2], micros: micros,
            data: bytes[(tabs.3 + 1)...])
    }

    /// The general path, through `parseCopyTextRow`.
    init?(slow chunk: UnsafeRawBufferPointer, fields: inout [[UInt8]?]) {
        parseCopyTextRow(chunk, into: &fields)
        guard fields.count == 5, let p = fields[0], let position = Self.integer(p[...]), let id = fields[1],
            let type = fields[2], let t = fields[3], let micros = Self.integer(t[...]), let data = fields[4]
        else {
            return nil
        }
        self.init(position: position, id: id[...], type: type[...], micros: micros, data: data[...])
    }

    private init(position: Int64, id: ArraySlice<UInt8>, type: ArraySlice<UInt8>, micros: Int64, data: ArraySlice<UInt8>) {
        self.position = position
        self.id = id
        self.type = type
        self.micros = micros
        self.data = data
    }

    /// A decimal integer, optionally negative (times before 1970); nil if not one.
    private static func integer(_ digits: ArraySlice<UInt8>) -> Int64? {
        var rest = digits[...]
        let negative = rest.first == UInt8(ascii: "-")
        if negative { rest = rest.dropFirst() }
        guard !rest.isEmpty, rest.count <= 18 else { return Int64(String(decoding: digits, as: UTF8.self)) }
        var v: Int64 = 0
        for b in rest {
            guard b &- 0x30 < 10 else { return nil }
            v = v * 10 + Int64(b &- 0x30)
        }
        return negative ? -v : v
    }
}
