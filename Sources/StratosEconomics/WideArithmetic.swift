/// Exact integer arithmetic wider than 128 bits, without allocation.
///
/// RULES §1: intermediate products exceed 128 bits ((s + p) × Y reaches 10^45), every formula is
/// evaluated exactly and floored once. All formulas of the rules are of the shape
/// `floor(a × b / d)` with a result that fits 128 bits, so a 256-bit product and a 256-by-128-bit
/// division are all that is needed. STOS amounts are bounded by `Economy.maxTotalWei` (2^112), so
/// the three-factor products of the validator rule are computed as (pool × bp) × stake, with
/// pool × bp < 2^126 fitting 128 bits.
@usableFromInline
struct UInt256: Hashable, Sendable {
    @usableFromInline var high: UInt128
    @usableFromInline var low: UInt128

    @inlinable init(high: UInt128, low: UInt128) {
        self.high = high
        self.low = low
    }

    /// The exact product of two 128-bit numbers.
    @inlinable static func product(_ a: UInt128, _ b: UInt128) -> UInt256 {
        // Fast path: both operands below 2^64 (very common for bp splits and small amounts).
        if a >> 64 == 0 && b >> 64 == 0 {
            return UInt256(high: 0, low: a &* b)
        }
        let (h, l) = a.multipliedFullWidth(by: b)
        return UInt256(high: h, low: l)
    }

    /// (quotient, remainder) of self / d, or nil if d = 0 or the quotient does not fit 128 bits.
    @inlinable func dividedFitting(by d: UInt128) -> (quotient: UInt128, remainder: UInt128)? {
        guard d != 0, high < d else { return nil }
        if high == 0 { return (low / d, low % d) }
        return d.dividingFullWidth((high, low))
    }
}

/// floor(a × b / d); nil if d = 0 or the result does not fit 128 bits.
@inlinable func mulDivFloor(_ a: UInt128, _ b: UInt128, _ d: UInt128) -> UInt128? {
    UInt256.product(a, b).dividedFitting(by: d)?.quotient
}

/// ceil(a × b / d); nil if d = 0 or the result does not fit 128 bits.
@inlinable func mulDivCeil(_ a: UInt128, _ b: UInt128, _ d: UInt128) -> UInt128? {
    guard let (q, r) = UInt256.product(a, b).dividedFitting(by: d) else { return nil }
    if r == 0 { return q }
    return q == .max ? nil : q + 1
}

/// floor(a × b / d) for results the rules guarantee to fit (a share of a smaller amount).
@inlinable func share(_ a: UInt128, _ b: UInt128, _ d: UInt128) -> UInt128 {
    guard let q = mulDivFloor(a, b, d) else { preconditionFailure("share \(a) × \(b) / \(d) out of range") }
    return q
}
