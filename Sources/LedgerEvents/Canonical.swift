/// The canonical JSON encoding: one byte sequence per event, used for the hash chain, for
/// storing `data` and for the simulator's output.
///
/// Definition (the same for typed events and for `JSONValue.canonicalText`):
/// - no whitespace anywhere;
/// - object keys sorted by their UTF-8 bytes (unsigned byte order), at every level;
/// - strings: `"` → `\"`, `\` → `\\`, U+0008 → `\b`, U+0009 → `\t`, U+000A → `\n`,
///   U+000C → `\f`, U+000D → `\r`, every other U+0000…U+001F → `\u00xx` (lower-case hex);
///   everything else, `/`, U+007F and all non-ASCII characters included, as raw UTF-8
///   (the same output as ECMAScript's `JSON.stringify` for these strings);
/// - numbers: as their literal text (typed events only ever hold integers, written as bare
///   decimal digits with an optional `-`, which PostgreSQL jsonb keeps unchanged);
/// - amounts and sizes: strings of decimal digits without leading zeros (`"0"` for zero);
/// - a typed event's optional fields (`replicas`, `records`) are omitted when absent;
/// - time: `Timestamp.rfc3339` (`YYYY-MM-DDTHH:MM:SS[.ffffff]Z`, trailing zeros trimmed).
///
/// A typed event encodes as `{"data":{…},"id":"…","time":"…","type":"…"}`.

struct CanonicalWriter {
    var bytes: [UInt8] = []

    /// Typical events encode to 150–300 bytes; one allocation covers them.
    init(capacity: Int = 384) { bytes.reserveCapacity(capacity) }

    @inline(__always) mutating func raw(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// `"key":` for a key known to need no escaping. Writes a leading comma unless `first`.
    @inline(__always) mutating func key(_ key: StaticString, first: Bool = false) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        raw(key)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    mutating func string(_ text: String) {
        var text = text
        text.withUTF8 { string(utf8: $0) }
    }

    mutating func string(utf8: UnsafeBufferPointer<UInt8>) {
        bytes.append(UInt8(ascii: "\""))
        var runStart = 0
        for i in 0..<utf8.count {
            let b = utf8[i]
            guard b < 0x20 || b == 0x22 || b == 0x5C else { continue }
            if runStart < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i])) }
            runStart = i + 1
            bytes.append(UInt8(ascii: "\\"))
            switch b {
            case 0x22: bytes.append(0x22)
            case 0x5C: bytes.append(0x5C)
            case 0x08: bytes.append(UInt8(ascii: "b"))
            case 0x09: bytes.append(UInt8(ascii: "t"))
            case 0x0A: bytes.append(UInt8(ascii: "n"))
            case 0x0C: bytes.append(UInt8(ascii: "f"))
            case 0x0D: bytes.append(UInt8(ascii: "r"))
            default:
                let hex: StaticString = "0123456789abcdef"
                bytes.append(contentsOf: [
                    UInt8(ascii: "u"), 0x30, 0x30,
                    hex.utf8Start[Int(b >> 4)], hex.utf8Start[Int(b & 0xF)],
                ])
            }
        }
        if runStart < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count])) }
        bytes.append(UInt8(ascii: "\""))
    }

    /// An identifier. Printable ASCII may still contain `"` or `\`, so it is escaped like any string.
    @inline(__always) mutating func identifier(_ id: some LedgerIdentifier) { string(id.rawValue) }

    /// An amount or size as a quoted decimal string.
    mutating func amount(_ value: UInt128) {
        bytes.append(UInt8(ascii: "\""))
        decimal(value)
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func decimal(_ value: UInt128) {
        if value <= UInt128(UInt64.max) {
            decimal(UInt64(value))
            return
        }
        // Split into 19-digit chunks so the per-digit work is 64-bit.
        let chunk: UInt128 = 10_000_000_000_000_000_000
        let (high, low) = value.quotientAndRemainder(dividingBy: chunk)
        decimal(high)
        let lowDigits = UInt64(low)
        var buffer: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &buffer) { raw in
            var v = lowDigits
            for i in stride(from: 18, through: 0, by: -1) {
                raw[i] = UInt8(v % 10) + 0x30
                v /= 10
            }
            bytes.append(contentsOf: raw[0..<19])
        }
    }

    mutating func decimal(_ value: UInt64) {
        var buffer: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &buffer) { raw in
            var v = value
            var i = 20
            repeat {
                i -= 1
                raw[i] = UInt8(v % 10) + 0x30
                v /= 10
            } while v > 0
            bytes.append(contentsOf: raw[i..<20])
        }
    }

    mutating func integer(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        decimal(value.magnitude)
    }

    mutating func bool(_ value: Bool) {
        if value { raw("true") } else { raw("false") }
    }

    mutating func value(_ json: JSONValue) {
        switch json {
        case .null: raw("null")
        case .bool(let b): bool(b)
        case .number(let literal):
            var literal = literal
            literal.withUTF8 { bytes.append(contentsOf: $0) }
        case .string(let s): string(s)
        case .array(let elements):
            bytes.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                value(element)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let members):
            bytes.append(UInt8(ascii: "{"))
            let keys = members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (i, key) in keys.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                string(key)
                bytes.append(UInt8(ascii: ":"))
                value(members[key]!)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    /// The data object of a payload, keys already in byte order (checked by the tests against
    /// `JSONValue.canonicalText`).
    mutating func payload(_ payload: EventPayload) {
        bytes.append(UInt8(ascii: "{"))
        switch payload {
        case .genesis(let ozoneLimit, let nodes):
            key("nodes", first: true)
            bytes.append(UInt8(ascii: "["))
            for (i, node) in nodes.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                bytes.append(UInt8(ascii: "{"))
                key("deposit", first: true)
                amount(node.deposit.rawValue)
                key("kind")
                string(node.kind.rawValue)
                key("node")
                identifier(node.node)
                key("owner")
                identifier(node.owner)
                bytes.append(UInt8(ascii: "}"))
            }
            bytes.append(UInt8(ascii: "]"))
            key("ozoneLimit")
            amount(ozoneLimit.rawValue)
        case .funded(let account, let amountWei), .withdrawn(let account, let amountWei),
            .prepaid(let account, let amountWei):
            key("account", first: true)
            identifier(account)
            key("amount")
            amount(amountWei.rawValue)
        case .transferred(let from, let to, let amountWei):
            key("amount", first: true)
            amount(amountWei.rawValue)
            key("from")
            identifier(from)
            key("to")
            identifier(to)
        case .trafficServed(let record):
            key("account", first: true)
            identifier(record.account)
            key("bytes")
            amount(record.bytes)
            key("epoch")
            integer(record.epoch)
            key("kind")
            string(record.kind.rawValue)
            key("node")
            identifier(record.node)
            if let records = record.records {
                key("records")
                amount(records)
            }
            if let replicas = record.replicas {
                key("replicas")
                integer(replicas)
            }
        case .epochClosed(let epoch):
            key("epoch", first: true)
            integer(epoch)
        case .resourceNodeActivated(let node, let owner, let deposit),
            .metaNodeRegistrationRequested(let node, let owner, let deposit):
            key("deposit", first: true)
            amount(deposit.rawValue)
            key("node")
            identifier(node)
            key("owner")
            identifier(owner)
        case .metaNodeVoted(let node, let voter, let approve):
            key("approve", first: true)
            bool(approve)
            key("node")
            identifier(node)
            key("voter")
            identifier(voter)
        case .resourceNodeSuspended(let node), .resourceNodeResumed(let node), .nodeShutDown(let node):
            key("node", first: true)
            identifier(node)
        case .nodeDeactivated(let node, let storedBytes):
            key("node", first: true)
            identifier(node)
            key("storedBytes")
            amount(storedBytes)
        case .validatorCreated(let validator, let op, let selfDelegation, let commissionBp):
            key("commissionBp", first: true)
            integer(commissionBp)
            key("operator")
            identifier(op)
            key("selfDelegation")
            amount(selfDelegation.rawValue)
            key("validator")
            identifier(validator)
        case .delegated(let delegator, let validator, let amountWei),
            .undelegated(let delegator, let validator, let amountWei):
            key("amount", first: true)
            amount(amountWei.rawValue)
            key("delegator")
            identifier(delegator)
            key("validator")
            identifier(validator)
        case .gasFeesCollected(let amountWei):
            key("amount", first: true)
            amount(amountWei.rawValue)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    mutating func event(_ event: LedgerEvent) {
        raw("{\"data\":")
        payload(event.payload)
        key("id")
        identifier(event.id)
        key("time")
        bytes.append(UInt8(ascii: "\""))
        event.time.appendRFC3339(to: &bytes)
        bytes.append(UInt8(ascii: "\""))
        key("type")
        string(event.type.rawValue)
        bytes.append(UInt8(ascii: "}"))
    }
}

extension LedgerEvent {
    /// The canonical encoding of the whole event (see the top of Canonical.swift), as UTF-8.
    public var canonicalUTF8: [UInt8] {
        var w = CanonicalWriter()
        w.event(self)
        return w.bytes
    }

    /// The canonical encoding of the whole event, as text.
    public var canonicalJSON: String { String(decoding: canonicalUTF8, as: UTF8.self) }

    /// The canonical encoding of `data` alone (what the store keeps as the event's data).
    public var canonicalDataJSON: String {
        var w = CanonicalWriter(capacity: 192)
        w.payload(payload)
        return String(decoding: w.bytes, as: UTF8.self)
    }

    /// SHA-256 of `canonicalUTF8`: two events are the same content iff their hashes are equal.
    public var contentHash: [UInt8] { SHA256.hash(canonicalUTF8) }

    /// The event as an envelope (data in canonical form, no metadata).
    public var envelope: EventEnvelope { EventEnvelope(self) }

    /// `data` as a JSON value.
    public var dataJSON: JSONValue {
        var w = CanonicalWriter(capacity: 192)
        w.payload(payload)
        do {
            return try JSONValue.parse(w.bytes)
        } catch {
            preconditionFailure("the canonical writer produced invalid JSON (\(error)): a bug in CanonicalWriter")
        }
    }
}

extension EventEnvelope {
    /// The envelope of a validated event, with its canonical data and time.
    public init(_ event: LedgerEvent) {
        self.init(id: event.id.rawValue, type: event.type.rawValue, time: event.time.rfc3339, data: event.dataJSON)
    }
}

extension JSONValue {
    /// The canonical encoding of any JSON value (same rules as typed events), so that `data`
    /// read back from PostgreSQL `jsonb`, which reorders keys and adds spaces, re-canonicalizes
    /// to the bytes it was stored from. Numbers keep their literal text: jsonb keeps integer
    /// literals as written, which is all a typed event contains.
    public var canonicalText: String { String(decoding: canonicalUTF8, as: UTF8.self) }

    public var canonicalUTF8: [UInt8] {
        var w = CanonicalWriter()
        w.value(self)
        return w.bytes
    }
}
