/// Reading the event envelope of EVENTS.md from one JSON line, and the error every refusal of
/// the event contract is reported with.

/// Why an event (or its line) was refused: which event, which field, and why.
///
/// `field` is a path into the envelope: `id`, `time`, `data.amount`, `data.nodes[2].deposit`,
/// `metadata.correlationId`; it is empty when the line is not even a JSON object.
public struct EventValidationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The event's id when it has a valid one, so the error can name the event.
    public var eventID: String?
    public var field: String
    public var reason: String
    /// For malformed JSON: the parser's error (its offset is a byte offset into the line).
    public var jsonError: JSONParseError?

    public init(eventID: String?, field: String, reason: String, jsonError: JSONParseError? = nil) {
        self.eventID = eventID; self.field = field; self.reason = reason; self.jsonError = jsonError
    }

    /// e.g. `event "tx-1": data.amount: must be a string of decimal digits, got a JSON number`.
    public var description: String {
        let who = eventID.map { "event \"\($0)\"" } ?? "event"
        return field.isEmpty ? "\(who): \(reason)" : "\(who): \(field): \(reason)"
    }
}

extension JSONValue {
    /// How a value is named in error messages ("got a JSON number").
    var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a JSON boolean"
        case .number: "a JSON number"
        case .string: "a JSON string"
        case .array: "a JSON array"
        case .object: "a JSON object"
        }
    }
}

extension EventEnvelope {
    /// The top-level keys an event line may have.
    static let topLevelKeys: Set<String> = ["id", "type", "time", "data", "metadata"]

    /// Parses one line of a JSON Lines event file: a JSON object with `id`, `type`, `time`
    /// (strings), `data` (an object) and optionally `metadata` (an object of strings), and no
    /// other key. The contents of `id`, `type`, `time` and `data` are checked by
    /// `LedgerEvent(validating:)`.
    public static func parse(line: some Collection<UInt8>) throws(EventValidationError) -> EventEnvelope {
        let value: JSONValue
        do {
            value = try JSONValue.parse(line)
        } catch {
            throw EventValidationError(eventID: nil, field: "", reason: "invalid JSON: \(error)", jsonError: error)
        }
        return try EventEnvelope(json: value)
    }

    /// A `String` convenience for `parse(line:)`.
    public static func parse(line: String) throws(EventValidationError) -> EventEnvelope {
        try parse(line: line.utf8)
    }

    /// Reads the envelope out of an already parsed JSON value.
    public init(json value: JSONValue) throws(EventValidationError) {
        guard case .object(let members) = value else {
            throw EventValidationError(eventID: nil, field: "",
                                       reason: "an event must be a JSON object, got \(value.kindDescription)")
        }
        // Name the event in every later error if it has a usable id.
        var eventID: String?
        if case .string(let id)? = members["id"], isValidIdentifier(id) { eventID = id }

        if members.count > 4 || members.keys.contains(where: { !Self.topLevelKeys.contains($0) }) {
            let unknown = members.keys.filter { !Self.topLevelKeys.contains($0) }
            if let first = unknown.min(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                throw EventValidationError(eventID: eventID, field: first,
                                           reason: "unknown field (an event has id, type, time, data and optionally metadata)")
            }
        }
        func string(_ key: String) throws(EventValidationError) -> String {
            switch members[key] {
            case .string(let s)?: return s
            case nil: throw EventValidationError(eventID: eventID, field: key, reason: "missing")
            case let other?:
                throw EventValidationError(eventID: eventID, field: key,
                                           reason: "must be a JSON string, got \(other.kindDescription)")
            }
        }
        let id = try string("id")
        let type = try string("type")
        let time = try string("time")
        let data: JSONValue
        switch members["data"] {
        case nil: throw EventValidationError(eventID: eventID, field: "data", reason: "missing")
        case .object?: data = members["data"]!
        case let other?:
            throw EventValidationError(eventID: eventID, field: "data",
                                       reason: "must be a JSON object, got \(other.kindDescription)")
        }
        var metadata: [String: String] = [:]
        switch members["metadata"] {
        case nil: break
        case .object(let entries)?:
            for key in entries.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                guard case .string(let s) = entries[key]! else {
                    throw EventValidationError(eventID: eventID, field: "metadata.\(key)",
                                               reason: "must be a JSON string, got \(entries[key]!.kindDescription)")
                }
                metadata[key] = s
            }
        case let other?:
            throw EventValidationError(eventID: eventID, field: "metadata",
                                       reason: "must be a JSON object of strings, got \(other.kindDescription)")
        }
        self.init(id: id, type: type, time: time, data: data, metadata: metadata)
    }
}
