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
/// Why not the store's `replay`: this is the projections' hot path (target 200,000 events/s end
/// to end). Each row's columns are turned back into one envelope line and handed to
/// `LedgerEvent.parse(line:)`, the validating parser's fast path (member lists, no dictionaries),
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
    func read(_ connection: PostgresConnection, from: Int64, through: Int64,
              _ body: (LoggedEvent) throws -> Bool) throws {
        guard from <= through else { return }
        try connection.query(sql("log.bounds"), [String(from), String(through)])
        var fields: [[UInt8]?] = []
        var line: [UInt8] = []
        var stopped = false
        var expected = from
        try connection.copyOut(sql("log.copy")) { chunk in
            if stopped { return }
            parseCopyTextRow(chunk, into: &fields)
            guard fields.count == 5, let p = fields[0], let position = Int64(String(decoding: p, as: UTF8.self)),
                  let id = fields[1], let type = fields[2], let t = fields[3],
                  let micros = Int64(String(decoding: t, as: UTF8.self)), let data = fields[4] else {
                throw ProjectionError.corrupt("event_log row after position \(expected - 1) is malformed")
            }
            guard position == expected else {
                throw ProjectionError.corrupt("event_log has a gap: expected position \(expected), got \(position)")
            }
            expected += 1
            line.removeAll(keepingCapacity: true)
            line.append(contentsOf: #"{"id":"#.utf8)
            appendJSONString(id, to: &line)
            line.append(contentsOf: #","type":"#.utf8)
            appendJSONString(type, to: &line)
            line.append(contentsOf: #","time":""#.utf8)
            line.append(contentsOf: Timestamp(microsecondsSinceEpoch: micros).rfc3339.utf8)
            line.append(contentsOf: #"","data":"#.utf8)
            line.append(contentsOf: data)
            line.append(UInt8(ascii: "}"))
            let event = Result { () throws(EventValidationError) in try LedgerEvent.parse(line: line) }
            let logged = LoggedEvent(position: position, eventID: String(decoding: id, as: UTF8.self),
                                     type: String(decoding: type, as: UTF8.self), event: event)
            if try !body(logged) { stopped = true }
        }
    }

    private func appendJSONString(_ bytes: [UInt8], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in bytes {
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(0x5C); out.append(b)
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 15)]])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
