/// Opaque identifiers of docs/EVENTS.md: 1–128 printable ASCII characters without spaces.
/// Distinct types so that a node id cannot be passed where an account is expected.

public protocol LedgerIdentifier: Hashable, Comparable, Sendable, CustomStringConvertible {
    var rawValue: String { get }
    init(unchecked rawValue: String)
}

extension LedgerIdentifier {
    /// nil unless `text` is a valid identifier (see `isValidIdentifier`).
    public init?(_ text: String) {
        guard isValidIdentifier(text) else { return nil }
        self.init(unchecked: text)
    }
    public var description: String { rawValue }
    /// Byte order (the spec's tie-break order for settlement).
    public static func < (a: Self, b: Self) -> Bool {
        a.rawValue.utf8.lexicographicallyPrecedes(b.rawValue.utf8)
    }
}

/// 1–128 printable ASCII characters (0x21…0x7E), so no spaces or control characters.
public func isValidIdentifier(_ text: String) -> Bool {
    var text = text
    return text.withUTF8 { bytes in
        guard !bytes.isEmpty, bytes.count <= 128 else { return false }
        for b in bytes where b &- 0x21 > 0x7E - 0x21 { return false }
        return true
    }
}

public struct AccountID: LedgerIdentifier {
    public let rawValue: String
    public init(unchecked rawValue: String) { self.rawValue = rawValue }
}
public struct NodeID: LedgerIdentifier {
    public let rawValue: String
    public init(unchecked rawValue: String) { self.rawValue = rawValue }
}
public struct ValidatorID: LedgerIdentifier {
    public let rawValue: String
    public init(unchecked rawValue: String) { self.rawValue = rawValue }
}
/// The client's idempotency key of an event.
public struct EventID: LedgerIdentifier {
    public let rawValue: String
    public init(unchecked rawValue: String) { self.rawValue = rawValue }
}
