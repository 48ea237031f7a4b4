import LedgerEvents

/// Rows in PostgreSQL's COPY text format, built in memory for one batch and sent with one COPY.
/// Fields are tab-separated, rows end with a newline, NULL is `\N`; text is escaped.
struct CopyBuffer {
    var bytes: [UInt8] = []
    private(set) var rows = 0
    private var atRowStart = true

    var isEmpty: Bool { rows == 0 }

    mutating func removeAll() { bytes.removeAll(keepingCapacity: true); rows = 0; atRowStart = true }

    @inline(__always) private mutating func separate() {
        if atRowStart { atRowStart = false } else { bytes.append(0x09) }
    }

    mutating func text(_ s: String) {
        separate()
        appendEscaped(s)
    }
    mutating func text(_ s: String?) {
        if let s { text(s) } else { null() }
    }
    mutating func null() { separate(); bytes.append(0x5C); bytes.append(UInt8(ascii: "N")) }
    mutating func int(_ v: Int64) { separate(); appendDecimal(v) }
    mutating func amount(_ v: UInt128) { separate(); appendDecimal(v) }
    mutating func endRow() { bytes.append(0x0A); rows += 1; atRowStart = true }

    /// Starts a field whose bytes the caller appends itself (escaped for COPY).
    mutating func beginField() { separate() }

    mutating func appendEscaped(_ s: String) {
        // Identifiers and codes are native UTF-8 and seldom hold a character to escape: append
        // them in one copy when they do not.
        let done: Bool? = s.utf8.withContiguousStorageIfAvailable { utf8 in
            for b in utf8 where b == 0x5C || b == 0x09 || b == 0x0A || b == 0x0D { return false }
            bytes.append(contentsOf: utf8)
            return true
        }
        if done == true { return }
        for b in s.utf8 {
            switch b {
            case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
            case 0x09: bytes.append(0x5C); bytes.append(UInt8(ascii: "t"))
            case 0x0A: bytes.append(0x5C); bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(0x5C); bytes.append(UInt8(ascii: "r"))
            default: bytes.append(b)
            }
        }
    }

    mutating func appendDecimal(_ v: Int64) {
        if v < 0 { bytes.append(UInt8(ascii: "-")); appendDecimal(UInt128(v.magnitude)) } else { appendDecimal(UInt128(v)) }
    }

    mutating func appendDecimal(_ v: UInt128) {
        if v <= UInt128(UInt64.max) { appendDecimal64(UInt64(v), minimumDigits: 1); return }
        let (high, low) = v.quotientAndRemainder(dividingBy: 10_000_000_000_000_000_000)
        appendDecimal(high)
        appendDecimal64(UInt64(low), minimumDigits: 19) // low is the last 19 digits, zeros included
    }

    /// `v` in decimal, left-padded with zeros to `minimumDigits` (at most 20): two digits per
    /// division from a table, right to left into a stack buffer, then one append. Amounts are
    /// the bulk of every projection row, so this is one of the rebuild's hottest loops.
    private mutating func appendDecimal64(_ v: UInt64, minimumDigits: Int) {
        if v < 10 && minimumDigits <= 1 { bytes.append(0x30 + UInt8(v)); return }
        var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &tmp) { buf in
            Self.digitPairs.withUnsafeBufferPointer { pairs in
                var x = v
                var i = 24
                while x >= 100 {
                    let r = Int(x % 100); x /= 100
                    i -= 2; buf[i] = pairs[2 * r]; buf[i + 1] = pairs[2 * r + 1]
                }
                if x >= 10 {
                    i -= 2; buf[i] = pairs[2 * Int(x)]; buf[i + 1] = pairs[2 * Int(x) + 1]
                } else if x > 0 || i == 24 {
                    i -= 1; buf[i] = 0x30 + UInt8(x)
                }
                while 24 - i < minimumDigits { i -= 1; buf[i] = 0x30 }
                bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[i..<24]))
            }
        }
    }

    /// "00", "01", ..., "99".
    private static let digitPairs: [UInt8] = {
        var pairs: [UInt8] = []
        for n in 0..<100 as Range<UInt8> { pairs.append(0x30 + n / 10); pairs.append(0x30 + n % 10) }
        return pairs
    }()
}
