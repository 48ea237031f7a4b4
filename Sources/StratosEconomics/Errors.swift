import LedgerEvents

/// A broken invariant of RULES §8. Never expected: it means a bug in the engine (or a corrupt
/// checkpoint), so callers should stop and report rather than continue.
public struct InvariantViolation: Error, Sendable, Hashable, CustomStringConvertible {
    /// `stos-conservation`, `ozone-conservation`, `ozone-limit-positive`, `index`, ...
    public let invariant: String
    public let message: String
    public init(invariant: String, message: String) {
        self.invariant = invariant
        self.message = message
    }
    public var description: String { "invariant \(invariant) broken: \(message)" }
}

/// A checkpoint that cannot be decoded.
public struct CheckpointError: Error, Sendable, Hashable, CustomStringConvertible {
    public let message: String
    /// Byte offset where decoding failed.
    public let offset: Int
    public init(message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }
    public var description: String { "bad economy checkpoint at byte \(offset): \(message)" }
}
