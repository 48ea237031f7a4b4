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
    mutating func signedAmount(_ v: UInt128, negative: Bool) {
        separate()
        if negative { bytes.append(UInt8(ascii: "-")) }
        appendDecimal(v)
    }
    mutating func endRow() { bytes.append(0x0A); rows += 1; atRowStart = true }

    /// Appends raw bytes as a field (the caller has escaped them).
    mutating func raw(_ b: [UInt8]) { separate(); bytes.append(contentsOf: b) }

    mutating func appendEscaped(_ s: String) {
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
        if v <= UInt128(UInt64.max) { appendDecimal64(UInt64(v)); return }
        let (high, low) = v.quotientAndRemainder(dividingBy: 10_000_000_000_000_000_000)
        appendDecimal(high)
        // low has exactly 19 digits, zero-padded.
        var digits = [UInt8](repeating: 0x30, count: 19)
        var x = UInt64(low)
        var i = 18
        while x > 0 { digits[i] = 0x30 + UInt8(x % 10); x /= 10; i -= 1 }
        bytes.append(contentsOf: digits)
    }

    private mutating func appendDecimal64(_ v: UInt64) {
        if v < 10 { bytes.append(0x30 + UInt8(v)); return }
        var tmp: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                  UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        var x = v
        withUnsafeMutableBytes(of: &tmp) { buf in
            while x > 0 { buf[n] = 0x30 + UInt8(x % 10); x /= 10; n += 1 }
            for i in stride(from: n - 1, through: 0, by: -1) { bytes.append(buf[i]) }
        }
    }
}

/// A PostgreSQL array literal built inside a COPY text field: `{"a","b",NULL}` / `{-5,5}`.
struct CopyArray {
    var bytes: [UInt8] = [UInt8(ascii: "{")]
    private var empty = true

    @inline(__always) private mutating func separate() {
        if empty { empty = false } else { bytes.append(UInt8(ascii: ",")) }
    }
    /// A quoted element: `"` and `\` are backslash-escaped for the array syntax, and every
    /// backslash is doubled again for the COPY text format.
    mutating func text(_ s: String) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): bytes.append(0x5C); bytes.append(0x5C); bytes.append(b)
            case 0x5C: bytes.append(contentsOf: [0x5C, 0x5C, 0x5C, 0x5C])
            case 0x09: bytes.append(0x5C); bytes.append(UInt8(ascii: "t"))
            case 0x0A: bytes.append(0x5C); bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(0x5C); bytes.append(UInt8(ascii: "r"))
            default: bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
    mutating func text(_ s: String?) {
        if let s { text(s) } else { separate(); bytes.append(contentsOf: Array("NULL".utf8)) }
    }
    /// A bare (unquoted) element, e.g. a number or a known keyword.
    mutating func bare(_ s: StaticString) {
        separate()
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }
    mutating func signed(_ v: UInt128, negative: Bool) {
        separate()
        var b = CopyBuffer()
        if negative { bytes.append(UInt8(ascii: "-")) }
        b.appendDecimal(v)
        bytes.append(contentsOf: b.bytes)
    }
    mutating func finish() -> [UInt8] { bytes.append(UInt8(ascii: "}")); return bytes }
}
