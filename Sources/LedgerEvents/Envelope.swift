/// Reading the event envelope of docs/EVENTS.md from one JSON line, and the error every refusal of
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
        self.eventID = eventID
        self.field = field
        self.reason = reason
        self.jsonError = jsonError
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

extension [JSONMember] {
    @inline(__always) subscript(key: String) -> JSONValue? {
        for m in self where m.key == key { return m.value }
        return nil
    }
}

extension [String: JSONValue] {
    var members: [JSONMember] { map { JSONMember(key: $0.key, value: $0.value) } }
}

/// The envelope of one event with `data` kept as a member list: what both
/// `EventEnvelope.parse(line:)` and the hot path `LedgerEvent.parse(line:)` are built on.
struct EnvelopeParts {
    var id: String
    var type: String
    var time: String
    var data: [JSONMember]
    var metadata: [String: String]

    /// The top-level keys an event line may have.
    static let topLevelKeys = ["id", "type", "time", "data", "metadata"]

    static func parse(line: some Collection<UInt8>) throws(EventValidationError) -> EnvelopeParts {
        let result: Result<EnvelopeParts, EventValidationError>? = line.withContiguousStorageIfAvailable { buffer in
            Result { () throws(EventValidationError) in try parse(buffer: buffer) }
        }
        if let result { return try result.get() }
        let copy = Array(line)
        return try copy.withUnsafeBufferPointer { (buffer) throws(EventValidationError) in try parse(buffer: buffer) }
    }

    static func parse(buffer: UnsafeBufferPointer<UInt8>) throws(EventValidationError) -> EnvelopeParts {
        func invalidJSON(_ error: JSONParseError) -> EventValidationError {
            EventValidationError(eventID: nil, field: "", reason: "invalid JSON: \(error)", jsonError: error)
        }
        var parser = JSONParser(buffer)
        parser.skipWhitespace()
        guard parser.position < buffer.count, buffer[parser.position] == UInt8(ascii: "{") else {
            // Not an object: parse it anyway so that a syntax error is reported as such.
            let value: JSONValue
            do { value = try parser.parseDocument() } catch { throw invalidJSON(error) }
            throw EventValidationError(
                eventID: nil, field: "",
                reason: "an event must be a JSON object, got \(value.kindDescription)")
        }
        let members: [JSONMember]
        let data: [JSONMember]?
        do throws(JSONParseError) {
            (members, data) = try parser.parseObjectMembers(nestedKey: "data")
            parser.skipWhitespace()
            if parser.position < buffer.count { throw JSONParseError(.trailingCharacters, at: parser.position) }
        } catch {
            throw invalidJSON(error)
        }
        return try EnvelopeParts(members: members, data: data)
    }

    /// Checks the envelope's shape. `data` is the member list of the `data` object when the
    /// parser already produced it; otherwise it is taken from the `data` member.
    init(members: [JSONMember], data: [JSONMember]?) throws(EventValidationError) {
        // Name the event in every error below when it has a usable id.
        var eventID: String?
        if case .string(let id)? = members["id"], isValidIdentifier(id) { eventID = id }

        var unknown: String?
        for m in members where !Self.topLevelKeys.contains(m.key) {
            if unknown == nil || m.key.utf8.lexicographicallyPrecedes(unknown!.utf8) { unknown = m.key }
        }
        if let unknown {
            throw EventValidationError(
                eventID: eventID, field: unknown,
                reason: "unknown field (an event has id, type, time, data and optionally metadata)")
        }
        func string(_ key: String) throws(EventValidationError) -> String {
            switch members[key] {
            case .string(let s)?: return s
            case nil: throw EventValidationError(eventID: eventID, field: key, reason: "missing")
            case let other?:
                throw EventValidationError(
                    eventID: eventID, field: key,
                    reason: "must be a JSON string, got \(other.kindDescription)")
            }
        }
        id = try string("id")
        type = try string("type")
        time = try string("time")
        switch members["data"] {
        case nil: throw EventValidationError(eventID: eventID, field: "data", reason: "missing")
        case .object(let dict)?: self.data = data ?? dict.members
        case let other?:
            throw EventValidationError(
                eventID: eventID, field: "data",
                reason: "must be a JSON object, got \(other.kindDescription)")
        }
        metadata = [:]
        switch members["metadata"] {
        case nil: break
        case .object(let entries)?:
            for key in entries.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                guard case .string(let s) = entries[key]! else {
                    throw EventValidationError(
                        eventID: eventID, field: "metadata.\(key)",
                        reason: "must be a JSON string, got \(entries[key]!.kindDescription)")
                }
                metadata[key] = s
            }
        case let other?:
            throw EventValidationError(
                eventID: eventID, field: "metadata",
                reason: "must be a JSON object of strings, got \(other.kindDescription)")
        }
    }
}

extension EventEnvelope {
    /// Parses one line of a JSON Lines event file: a JSON object with `id`, `type`, `time`
    /// (strings), `data` (an object) and optionally `metadata` (an object of strings), and no
    /// other key. The contents of `id`, `type`, `time` and `data` are checked by
    /// `LedgerEvent(validating:)`.
    public static func parse(line: some Collection<UInt8>) throws(EventValidationError) -> EventEnvelope {
        EventEnvelope(try EnvelopeParts.parse(line: line))
    }

    /// A `String` convenience for `parse(line:)`.
    public static func parse(line: String) throws(EventValidationError) -> EventEnvelope {
        try parse(line: line.utf8)
    }

    /// Reads the envelope out of an already parsed JSON value (same rules as `parse(line:)`).
    public init(json value: JSONValue) throws(EventValidationError) {
        guard case .object(let members) = value else {
            throw EventValidationError(
                eventID: nil, field: "",
                reason: "an event must be a JSON object, got \(value.kindDescription)")
        }
        self.init(try EnvelopeParts(members: members.members, data: nil))
    }

    init(_ parts: EnvelopeParts) {
        var data: [String: JSONValue] = [:]
        for m in parts.data { data[m.key] = m.value }
        self.init(id: parts.id, type: parts.type, time: parts.time, data: .object(data), metadata: parts.metadata)
    }
}
