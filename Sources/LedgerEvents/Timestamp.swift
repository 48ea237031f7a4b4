/// An instant, in whole microseconds since 1970-01-01T00:00:00Z (UTC).
///
/// Microseconds because that is PostgreSQL's `timestamptz` resolution: a time that survives a
/// round trip through the database unchanged is the only kind a hash chain can be verified over.
/// RFC 3339 input with more than six fractional digits is refused rather than rounded.
public struct Timestamp: Hashable, Comparable, Sendable {
    public var microsecondsSinceEpoch: Int64
    public init(microsecondsSinceEpoch: Int64) { self.microsecondsSinceEpoch = microsecondsSinceEpoch }
    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.microsecondsSinceEpoch < b.microsecondsSinceEpoch }
    public var secondsSinceEpoch: Int64 {
        microsecondsSinceEpoch >= 0
            ? microsecondsSinceEpoch / 1_000_000
            : -((-microsecondsSinceEpoch + 999_999) / 1_000_000)
    }
}
