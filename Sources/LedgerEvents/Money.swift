/// Exact money. Every STOS amount is an integer number of wei (10^18 per STOS) and every
/// Ozone amount an integer number of noz (10^9 per OZ). The two are distinct types so that
/// adding wei to noz does not compile.
///
/// Storage is `UInt128`: 2^128 − 1 wei is about 3.4 × 10^20 STOS, some ten trillion times the
/// 39,000,000 STOS mining cap, so no real balance comes near it. An event whose amount does not
/// fit is refused at the boundary ("amount out of range") rather than wrapped; products that can
/// exceed 128 bits ((s + p) × Y reaches 10^45) are computed in the economics module with wider
/// intermediates and floored once.

public struct Wei: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt128
    @inlinable public init(_ rawValue: UInt128) { self.rawValue = rawValue }
    public static let zero = Wei(0)
    /// 1 STOS = 10^18 wei.
    public static let perSTOS: UInt128 = 1_000_000_000_000_000_000
    @inlinable public static func stos(_ whole: UInt128) -> Wei { Wei(whole * perSTOS) }
    @inlinable public static func < (a: Wei, b: Wei) -> Bool { a.rawValue < b.rawValue }
    /// Decimal digits only (no sign, no exponent, no fraction); leading zeros are accepted.
    public init?(decimal text: some StringProtocol) {
        guard let v = parseDecimalUInt128(text) else { return nil }
        rawValue = v
    }
    public var description: String { String(rawValue) }
    @inlinable public var isZero: Bool { rawValue == 0 }
}

public struct Noz: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt128
    @inlinable public init(_ rawValue: UInt128) { self.rawValue = rawValue }
    public static let zero = Noz(0)
    /// 1 OZ = 10^9 noz.
    public static let perOZ: UInt128 = 1_000_000_000
    @inlinable public static func oz(_ whole: UInt128) -> Noz { Noz(whole * perOZ) }
    @inlinable public static func < (a: Noz, b: Noz) -> Bool { a.rawValue < b.rawValue }
    public init?(decimal text: some StringProtocol) {
        guard let v = parseDecimalUInt128(text) else { return nil }
        rawValue = v
    }
    public var description: String { String(rawValue) }
    @inlinable public var isZero: Bool { rawValue == 0 }
}

/// Parses a non-empty string of ASCII decimal digits into a `UInt128`; nil when it is empty,
/// holds anything but digits, or does not fit in 128 bits. Inlinable: every amount of every
/// event and every read goes through it, and unspecialized it walks the text through the
/// generic `StringProtocol` witnesses, several times slower.
@inlinable
public func parseDecimalUInt128(_ text: some StringProtocol) -> UInt128? {
    parseDecimalUInt128(utf8: text.utf8)
}

/// `parseDecimalUInt128` of the UTF-8 bytes themselves (a result column, a JSON token),
/// without making a `String` first.
@inlinable
public func parseDecimalUInt128(utf8 bytes: some Sequence<UInt8>) -> UInt128? {
    var value: UInt128 = 0
    var sawDigit = false
    for byte in bytes {
        guard byte >= 0x30 && byte <= 0x39 else { return nil }
        sawDigit = true
        let (m, o1) = value.multipliedReportingOverflow(by: 10)
        let (a, o2) = m.addingReportingOverflow(UInt128(byte - 0x30))
        if o1 || o2 { return nil }
        value = a
    }
    return sawDigit ? value : nil
}

// MARK: Checked arithmetic
//
// Sums and differences of one unit only: wei + noz does not compile. Overflow and a negative
// result trap (Swift's checked integer arithmetic), as a balance that wraps would be a bug, not
// a value; the rules refuse out-of-range events before they reach these (`maxTotalWei`). Products
// and quotients of the formulas go through the raw `UInt128` (and wider) values explicitly.

extension Wei {
    @inlinable public static func + (a: Wei, b: Wei) -> Wei { Wei(a.rawValue + b.rawValue) }
    @inlinable public static func - (a: Wei, b: Wei) -> Wei { Wei(a.rawValue - b.rawValue) }
    @inlinable public static func += (a: inout Wei, b: Wei) { a.rawValue += b.rawValue }
    @inlinable public static func -= (a: inout Wei, b: Wei) { a.rawValue -= b.rawValue }
}

extension Noz {
    @inlinable public static func + (a: Noz, b: Noz) -> Noz { Noz(a.rawValue + b.rawValue) }
    @inlinable public static func - (a: Noz, b: Noz) -> Noz { Noz(a.rawValue - b.rawValue) }
    @inlinable public static func += (a: inout Noz, b: Noz) { a.rawValue += b.rawValue }
    @inlinable public static func -= (a: inout Noz, b: Noz) { a.rawValue -= b.rawValue }
}
