import LedgerEvents
import PostgresClient

/// Who appends and why; stored in every appended event's `metadata` (not hashed).
public struct AppendMetadata: Sendable, Hashable {
    public var appendedBy: String
    public var correlationID: String?
    public var causationID: String?
    public init(appendedBy: String = "stratos-ledger", correlationID: String? = nil, causationID: String? = nil) {
        self.appendedBy = appendedBy
        self.correlationID = correlationID
        self.causationID = causationID
    }
}

/// An event to append with the client's own metadata (the envelope's `metadata` object).
public struct EventToAppend: Sendable, Hashable {
    public var event: LedgerEvent
    public var clientMetadata: [String: String]
    public init(_ event: LedgerEvent, clientMetadata: [String: String] = [:]) {
        self.event = event
        self.clientMetadata = clientMetadata
    }
}

/// The last position of the log, its hash and its event time.
public struct LogHead: Sendable, Hashable {
    public var position: Int64
    public var hash: [UInt8]
    public var time: Timestamp?
}

public struct AppendResult: Sendable {
    /// The events written, with their positions, in order.
    public var appended: [(eventID: EventID, position: Int64)]
    /// Events of the batch that were already in the log with the same content: not appended
    /// again (idempotent retry). The position is where the original is.
    public var duplicates: [(eventID: EventID, position: Int64)]
    /// The head after the append.
    public var head: LogHead
}

/// Why an append was refused. Whatever the case, the batch appended nothing.
public enum AppendError: Error, CustomStringConvertible {
    /// The id is already used by an event with other content (or twice in the batch).
    case idConflict(eventID: String, existingPosition: Int64?)
    /// The writer expected another head position (optimistic concurrency).
    case positionConflict(expected: Int64, actual: Int64)
    /// The writer expected another version of a stream.
    case streamVersionConflict(stream: String, expected: Int64, actual: Int64)
    /// Times never go backwards in log order. `previous` is the time of the event before it:
    /// the one before it in the batch (`previousInBatch`, its id), or else the log's last
    /// event, at `headPosition`.
    case timeWentBackwards(eventID: String, time: Timestamp, previous: Timestamp, previousInBatch: String?, headPosition: Int64)
    /// The rules engine refused the event.
    case ruleViolation(RuleViolation)
    /// An event already in the log cannot be read back or is refused by the rules on replay.
    case corruptLog(position: Int64, reason: String)
    case database(PostgresError)

    /// The event the error is about, if it is about one.
    public var eventID: String? {
        switch self {
        case .idConflict(let id, _), .timeWentBackwards(let id, _, _, _, _): id
        case .ruleViolation(let v): v.eventID.rawValue
        default: nil
        }
    }

    public var description: String {
        switch self {
        case .idConflict(let id, let position?):
            "event \"\(id)\": the id is already used at position \(position) by an event with other content"
        case .idConflict(let id, nil):
            "event \"\(id)\": the id appears twice in the batch with different content"
        case .positionConflict(let expected, let actual):
            "append conflict: expected the log at position \(expected), it is at \(actual)"
        case .streamVersionConflict(let stream, let expected, let actual):
            "append conflict: expected stream \(stream) at version \(expected), it is at \(actual)"
        case .timeWentBackwards(let id, let time, let previous, let before?, _):
            "event \"\(id)\": time \(time.rfc3339) goes backwards: the event before it in the batch, \"\(before)\", is at \(previous.rfc3339)"
        case .timeWentBackwards(let id, let time, let previous, nil, let head):
            "event \"\(id)\": time \(time.rfc3339) goes backwards: the log's last event (position \(head)) is at \(previous.rfc3339)"
        case .ruleViolation(let v): "\(v)"
        case .corruptLog(let position, let reason): "event log position \(position): \(reason)"
        case .database(let e): "\(e)"
        }
    }
}

/// One row of the log as stored.
public struct StoredEvent: Sendable {
    public var position: Int64
    public var stream: String
    public var streamVersion: Int64
    public var eventID: String
    public var type: String
    public var time: Timestamp
    public var data: JSONValue
    public var metadata: JSONValue
    public var appendedAt: Timestamp
    public var hash: [UInt8]

    /// The canonical event JSON recomputed from the stored columns (what the hash covers).
    public var canonicalUTF8: [UInt8] {
        JSONValue.object(["data": data, "id": .string(eventID), "time": .string(time.rfc3339), "type": .string(type)]).canonicalUTF8
    }

    /// The typed event, validated again (as on append).
    public func ledgerEvent() throws(EventValidationError) -> LedgerEvent {
        try LedgerEvent(validating: EventEnvelope(id: eventID, type: type, time: time.rfc3339, data: data))
    }

    /// The client metadata recorded with the event.
    public var clientMetadata: [String: String] {
        guard case .object(let m) = metadata, case .object(let client)? = m["client"] else { return [:] }
        return client.compactMapValues { if case .string(let s) = $0 { s } else { nil } }
    }
}
