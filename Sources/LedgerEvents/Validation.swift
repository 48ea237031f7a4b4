/// Turning an `EventEnvelope` into a typed `LedgerEvent`: the *shape* rules of docs/EVENTS.md.
///
/// Only the contract is checked here (types, field sets, number formats, ranges that make a
/// value meaningless such as `epoch` 0 or a commission above 100%). Economic refusals (amount
/// zero, replicas below 3, unknown node, short balance, order of epochs and times) belong to the
/// rules engine (RULES §9), which reports them with the rule's name.

extension LedgerEvent {
    /// Validates an envelope field by field; the error names the event id (when valid), the
    /// field path and the reason.
    public init(validating envelope: EventEnvelope) throws(EventValidationError) {
        guard case .object(let members) = envelope.data else {
            let eventID: String? = isValidIdentifier(envelope.id) ? envelope.id : nil
            throw EventValidationError(
                eventID: eventID, field: "data",
                reason: "must be a JSON object, got \(envelope.data.kindDescription)")
        }
        try self.init(id: envelope.id, type: envelope.type, time: envelope.time, data: members.members)
    }

    /// The validation proper, shared by `init(validating:)` and `parse(line:)`.
    init(id rawID: String, type rawType: String, time rawTime: String, data: [JSONMember]) throws(EventValidationError) {
        guard isValidIdentifier(rawID) else {
            throw EventValidationError(eventID: nil, field: "id", reason: identifierReason(rawID))
        }
        let eventID: String? = rawID
        guard let type = EventType(rawValue: rawType) else {
            throw EventValidationError(
                eventID: eventID, field: "type",
                reason: "unknown event type \(quoted(rawType))")
        }
        let time: Timestamp
        do {
            time = try Timestamp.parse(rfc3339: rawTime)
        } catch {
            throw EventValidationError(eventID: eventID, field: "time", reason: "\(quoted(rawTime)) \(error.reason)")
        }
        let reader = FieldReader(members: data, eventID: eventID, path: "data")
        self.init(id: EventID(unchecked: rawID), time: time, payload: try EventPayload(type: type, data: reader))
    }

    /// Validates a *stored* event from its columns (id, type, time, the `data` object's JSON):
    /// exactly the checks `parse(line:)` makes of the envelope line those columns spell, without
    /// writing that line and parsing it back (the projections' hot path reads millions).
    ///
    /// The one check that differs in form: a stored time is already an instant, so instead of
    /// parsing its RFC 3339 spelling it must be one that spelling can express (years 0000–9999),
    /// as an appended event's always is.
    public static func parse(
        storedID rawID: String, type rawType: String, time: Timestamp,
        data: UnsafeBufferPointer<UInt8>
    ) throws(EventValidationError) -> LedgerEvent {
        guard isValidIdentifier(rawID) else {
            throw EventValidationError(eventID: nil, field: "id", reason: identifierReason(rawID))
        }
        guard let type = EventType(rawValue: rawType) else {
            throw EventValidationError(eventID: rawID, field: "type", reason: "unknown event type \(quoted(rawType))")
        }
        guard Timestamp.rfc3339Range.contains(time.microsecondsSinceEpoch) else {
            throw EventValidationError(
                eventID: rawID, field: "time",
                reason: "\(time.microsecondsSinceEpoch) µs since 1970 is outside years 0000–9999")
        }
        var parser = JSONParser(data)
        parser.skipWhitespace()
        guard parser.position < data.count, data[parser.position] == UInt8(ascii: "{") else {
            throw EventValidationError(eventID: rawID, field: "data", reason: "must be a JSON object")
        }
        let members: [JSONMember]
        do throws(JSONParseError) {
            members = try parser.parseObjectMembers().members
            parser.skipWhitespace()
            if parser.position < data.count { throw JSONParseError(.trailingCharacters, at: parser.position) }
        } catch {
            throw EventValidationError(eventID: rawID, field: "data", reason: "invalid JSON: \(error)", jsonError: error)
        }
        let reader = FieldReader(members: members, eventID: rawID, path: "data")
        return LedgerEvent(id: EventID(unchecked: rawID), time: time, payload: try EventPayload(type: type, data: reader))
    }

    /// Parses and validates one JSON line in a single step.
    /// This is the import hot path: it never builds the envelope's dictionaries.
    public static func parse(line: some Collection<UInt8>) throws(EventValidationError) -> LedgerEvent {
        let parts = try EnvelopeParts.parse(line: line)
        return try LedgerEvent(id: parts.id, type: parts.type, time: parts.time, data: parts.data)
    }

    /// A `String` convenience for `parse(line:)`.
    public static func parse(line: String) throws(EventValidationError) -> LedgerEvent {
        try parse(line: line.utf8)
    }
}

/// The data fields of each event type (optional ones included), in the order they are checked.
extension EventType {
    public var dataFields: [String] {
        switch self {
        case .genesis: ["ozoneLimit", "nodes"]
        case .funded, .withdrawn, .prepaid: ["account", "amount"]
        case .transferred: ["from", "to", "amount"]
        case .trafficServed: ["epoch", "node", "account", "kind", "bytes", "replicas", "records"]
        case .epochClosed: ["epoch"]
        case .resourceNodeActivated, .metaNodeRegistrationRequested: ["node", "owner", "deposit"]
        case .metaNodeVoted: ["node", "voter", "approve"]
        case .resourceNodeSuspended, .resourceNodeResumed, .nodeShutDown: ["node"]
        case .nodeDeactivated: ["node", "storedBytes"]
        case .validatorCreated: ["validator", "operator", "selfDelegation", "commissionBp"]
        case .delegated, .undelegated: ["delegator", "validator", "amount"]
        case .gasFeesCollected: ["amount"]
        }
    }
}

func identifierReason(_ text: String) -> String {
    "must be 1–128 printable ASCII characters without spaces, got \(quoted(text, limit: 40))"
}

/// A string quoted for an error message, cut after `limit` characters.
func quoted(_ text: String, limit: Int = 40) -> String {
    var s = text
    if s.count > limit { s = String(s.prefix(limit)) + "…" }
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += "\\u{\(String(scalar.value, radix: 16))}"
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

/// Reads typed fields out of a JSON object, producing errors with full field paths.
struct FieldReader {
    let members: [JSONMember]
    let eventID: String?
    let path: String

    func fail(_ key: String, _ reason: String) -> EventValidationError {
        EventValidationError(eventID: eventID, field: "\(path).\(key)", reason: reason)
    }

    /// Refuses any member not in `allowed` (the first in byte order, so the message is stable).
    func onlyFields(_ allowed: [String], of what: String) throws(EventValidationError) {
        var unknown: String?
        for m in members where !allowed.contains(m.key) {
            if unknown == nil || m.key.utf8.lexicographicallyPrecedes(unknown!.utf8) { unknown = m.key }
        }
        if let unknown {
            throw fail(unknown, "unknown field for \(what) (expected \(allowed.joined(separator: ", ")))")
        }
    }

    func required(_ key: String) throws(EventValidationError) -> JSONValue {
        guard let value = members[key] else { throw fail(key, "missing") }
        return value
    }

    func identifier<ID: LedgerIdentifier>(_ key: String, as _: ID.Type = ID.self) throws(EventValidationError) -> ID {
        guard case .string(let text) = try required(key) else {
            throw fail(key, "must be a JSON string, got \(members[key]!.kindDescription)")
        }
        guard isValidIdentifier(text) else { throw fail(key, identifierReason(text)) }
        return ID(unchecked: text)
    }

    /// An amount or size: a JSON string of decimal digits that fits in 128 bits.
    func amount(_ key: String) throws(EventValidationError) -> UInt128 {
        try amount(key, value: required(key))
    }

    func optionalAmount(_ key: String) throws(EventValidationError) -> UInt128? {
        guard let value = members[key] else { return nil }
        return try amount(key, value: value)
    }

    func amount(_ key: String, value: JSONValue) throws(EventValidationError) -> UInt128 {
        let shape = "must be a string of decimal digits"
        guard case .string(let text) = value else { throw fail(key, "\(shape), got \(value.kindDescription)") }
        if let v = parseDecimalUInt128(text) { return v }
        if text.isEmpty { throw fail(key, "\(shape), got an empty string") }
        if text.utf8.allSatisfy({ $0 &- 0x30 < 10 }) {
            throw fail(key, "\(quoted(text)) is out of range (at most 2^128 − 1)")
        }
        throw fail(key, "\(shape), got \(quoted(text))")
    }

    /// A JSON integer (`-?(0|[1-9][0-9]*)`, no fraction or exponent) within Int64.
    func integer(_ key: String) throws(EventValidationError) -> Int64 {
        try integer(key, value: required(key))
    }

    func optionalInteger(_ key: String) throws(EventValidationError) -> Int64? {
        guard let value = members[key] else { return nil }
        return try integer(key, value: value)
    }

    func integer(_ key: String, value: JSONValue) throws(EventValidationError) -> Int64 {
        guard case .number(let literal) = value else {
            throw fail(key, "must be a JSON integer, got \(value.kindDescription)")
        }
        guard literal.utf8.allSatisfy({ $0 &- 0x30 < 10 || $0 == UInt8(ascii: "-") }) else {
            throw fail(key, "must be a JSON integer, got \(literal)")
        }
        guard let v = Int64(literal) else { throw fail(key, "\(literal) is out of range") }
        return v
    }

    func bool(_ key: String) throws(EventValidationError) -> Bool {
        guard case .bool(let b) = try required(key) else {
            throw fail(key, "must be true or false, got \(members[key]!.kindDescription)")
        }
        return b
    }

    func enumeration<E: RawRepresentable & CaseIterable>(_ key: String, as _: E.Type) throws(EventValidationError) -> E
    where E.RawValue == String {
        func allowed() -> String { E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: " or ") }
        let value = try required(key)
        guard case .string(let text) = value else {
            throw fail(key, "must be \(allowed()), got \(value.kindDescription)")
        }
        guard let v = E(rawValue: text) else { throw fail(key, "must be \(allowed()), got \(quoted(text))") }
        return v
    }
}

extension EventPayload {
    init(type: EventType, data: FieldReader) throws(EventValidationError) {
        try data.onlyFields(type.dataFields, of: type.rawValue)
        switch type {
        case .genesis:
            let ozoneLimit = Noz(try data.amount("ozoneLimit"))
            guard case .array(let items) = try data.required("nodes") else {
                throw data.fail("nodes", "must be a JSON array of nodes, got \(data.members["nodes"]!.kindDescription)")
            }
            guard !items.isEmpty else { throw data.fail("nodes", "must list at least one node") }
            var nodes: [GenesisNode] = []
            nodes.reserveCapacity(items.count)
            for (index, item) in items.enumerated() {
                let path = "\(data.path).nodes[\(index)]"
                guard case .object(let members) = item else {
                    throw EventValidationError(
                        eventID: data.eventID, field: path,
                        reason: "must be a JSON object, got \(item.kindDescription)")
                }
                let node = FieldReader(members: members.members, eventID: data.eventID, path: path)
                try node.onlyFields(["node", "kind", "owner", "deposit"], of: "a genesis node")
                nodes.append(
                    GenesisNode(
                        node: try node.identifier("node"),
                        kind: try node.enumeration("kind", as: NodeKind.self),
                        owner: try node.identifier("owner"),
                        deposit: Wei(try node.amount("deposit"))))
            }
            self = .genesis(ozoneLimit: ozoneLimit, nodes: nodes)
        case .funded:
            self = .funded(account: try data.identifier("account"), amount: Wei(try data.amount("amount")))
        case .withdrawn:
            self = .withdrawn(account: try data.identifier("account"), amount: Wei(try data.amount("amount")))
        case .prepaid:
            self = .prepaid(account: try data.identifier("account"), amount: Wei(try data.amount("amount")))
        case .transferred:
            self = .transferred(
                from: try data.identifier("from"), to: try data.identifier("to"),
                amount: Wei(try data.amount("amount")))
        case .trafficServed:
            let epoch = try Self.epoch(data)
            let node: NodeID = try data.identifier("node")
            let account: AccountID = try data.identifier("account")
            let kind = try data.enumeration("kind", as: TrafficKind.self)
            let bytes = try data.amount("bytes")
            let replicas = try data.optionalInteger("replicas")
            if replicas != nil && kind != .upload {
                throw data.fail("replicas", "only allowed when kind is \"upload\"")
            }
            let records = try data.optionalAmount("records")
            if records != nil && kind != .query {
                throw data.fail("records", "only allowed when kind is \"query\"")
            }
            self = .trafficServed(
                TrafficRecord(
                    epoch: epoch, node: node, account: account, kind: kind,
                    bytes: bytes, replicas: replicas, records: records))
        case .epochClosed:
            self = .epochClosed(epoch: try Self.epoch(data))
        case .resourceNodeActivated:
            self = .resourceNodeActivated(
                node: try data.identifier("node"), owner: try data.identifier("owner"),
                deposit: Wei(try data.amount("deposit")))
        case .metaNodeRegistrationRequested:
            self = .metaNodeRegistrationRequested(
                node: try data.identifier("node"), owner: try data.identifier("owner"),
                deposit: Wei(try data.amount("deposit")))
        case .metaNodeVoted:
            self = .metaNodeVoted(
                node: try data.identifier("node"), voter: try data.identifier("voter"),
                approve: try data.bool("approve"))
        case .resourceNodeSuspended:
            self = .resourceNodeSuspended(node: try data.identifier("node"))
        case .resourceNodeResumed:
            self = .resourceNodeResumed(node: try data.identifier("node"))
        case .nodeDeactivated:
            self = .nodeDeactivated(node: try data.identifier("node"), storedBytes: try data.amount("storedBytes"))
        case .nodeShutDown:
            self = .nodeShutDown(node: try data.identifier("node"))
        case .validatorCreated:
            let validator: ValidatorID = try data.identifier("validator")
            let op: AccountID = try data.identifier("operator")
            let selfDelegation = Wei(try data.amount("selfDelegation"))
            let commissionBp = try data.integer("commissionBp")
            guard commissionBp >= 0 && commissionBp <= 10_000 else {
                throw data.fail("commissionBp", "must be between 0 and 10000 basis points, got \(commissionBp)")
            }
            self = .validatorCreated(
                validator: validator, operator: op, selfDelegation: selfDelegation,
                commissionBp: commissionBp)
        case .delegated:
            self = .delegated(
                delegator: try data.identifier("delegator"), validator: try data.identifier("validator"),
                amount: Wei(try data.amount("amount")))
        case .undelegated:
            self = .undelegated(
                delegator: try data.identifier("delegator"), validator: try data.identifier("validator"),
                amount: Wei(try data.amount("amount")))
        case .gasFeesCollected:
            self = .gasFeesCollected(amount: Wei(try data.amount("amount")))
        }
    }

    static func epoch(_ data: FieldReader) throws(EventValidationError) -> Int64 {
        let epoch = try data.integer("epoch")
        guard epoch >= 1 else { throw data.fail("epoch", "must be ≥ 1 (epochs are numbered 1, 2, 3, …), got \(epoch)") }
        return epoch
    }
}
