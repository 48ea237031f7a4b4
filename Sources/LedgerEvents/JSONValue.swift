/// A parsed JSON value that keeps numbers as their literal text, so nothing is ever routed
/// through floating point. Object member order is not significant (the canonical encoding
/// sorts keys); duplicate keys are a parse error.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// The number exactly as written, e.g. "12" or "1.5e3".
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// An integer as a JSON number, exactly (`.number` holds the number's text as written).
    public static func integer(_ value: some BinaryInteger) -> JSONValue { .number(String(value)) }
}

/// One event as received: the envelope of docs/EVENTS.md with `data` not yet validated.
public struct EventEnvelope: Sendable, Hashable {
    public var id: String
    public var type: String
    public var time: String
    public var data: JSONValue
    /// Optional client metadata (e.g. `correlationId`, `causationId`): string values only. Not part
    /// of the validated event, so not part of its canonical form or hash.
    public var metadata: [String: String]
    public init(id: String, type: String, time: String, data: JSONValue, metadata: [String: String] = [:]) {
        self.id = id
        self.type = type
        self.time = time
        self.data = data
        self.metadata = metadata
    }
}
