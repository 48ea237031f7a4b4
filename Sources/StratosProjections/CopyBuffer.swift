import LedgerEvents
import PostgresClient

/// Rows in PostgreSQL's binary COPY format, built in memory for one batch and sent with one
/// `COPY … FROM STDIN (FORMAT binary)` (`send`, which adds the signature and the trailer).
///
/// Per row: the field count (int16), then per field its length (int32, -1 for NULL) and its
/// bytes in the column type's binary form: bigint and integer big-endian, text as UTF-8 bytes,
/// numeric as base-10000 digits (`amount`). The writer must match each table's column types
/// exactly (queries.sql names them next to each COPY); PostgreSQL refuses a mismatch.
///
/// Why binary: the rebuild is bounded by what the server spends per byte. Text COPY scans every
/// byte twice for delimiters and escapes (the journal's transfer lines, hundreds of MB on the bench
/// history, were most of that) and parses every amount from decimal; binary fields are copied by
/// length, text needs no escaping, and an amount arrives in numeric's own digits.
struct CopyBuffer {
    var bytes: [UInt8] = []
    private(set) var rows = 0
    /// Offsets of the open row's field count and of the open `beginField` length (-1: none).
    private var rowStart = -1
    private var fieldCount: UInt16 = 0
    private var openField = -1

    var isEmpty: Bool { rows == 0 }

    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        rows = 0
        rowStart = -1
        fieldCount = 0
        openField = -1
    }

    /// The 11-byte signature, flags and header extension length of a binary COPY stream.
    static let header: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00] + [0, 0, 0, 0] + [0, 0, 0, 0]
    /// The field count -1 that ends it.
    static let trailer: [UInt8] = [0xFF, 0xFF]

    /// Sends the rows as one binary COPY stream.
    func send(to w: CopyWriter) throws {
        precondition(rowStart < 0, "a COPY row was left open")
        try w.write(Self.header)
        try w.write(bytes)
        try w.write(Self.trailer)
    }

    /// Appends one field: its length, then `valueBytes` bytes written by `fill`, with the row's
    /// field count placeholder first when the field opens a row; one append of a stack buffer
    /// (fields are a few bytes each, millions per rebuild: small appends were a tenth of it).
    @inline(__always) private mutating func field(
        length: Int32, valueBytes: Int = 0,
        _ fill: (UnsafeMutableRawPointer) -> Void = { _ in }
    ) {
        closeField()
        var scratch: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &scratch) { raw in
            let p = raw.baseAddress!
            var o = 0
            if rowStart < 0 {
                rowStart = bytes.count
                o = 2
            } // the count, filled in by endRow
            p.storeBytes(of: UInt32(bitPattern: length).bigEndian, toByteOffset: o, as: UInt32.self)
            o += 4
            fill(p + o)
            bytes.append(contentsOf: UnsafeRawBufferPointer(start: p, count: o + valueBytes))
        }
        fieldCount += 1
    }

    mutating func text(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            field(length: Int32(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }
    mutating func text(_ s: String?) {
        if let s { text(s) } else { null() }
    }
    mutating func null() { field(length: -1) }
    /// A bigint column.
    mutating func int(_ v: Int64) {
        field(length: 8, valueBytes: 8) { $0.storeBytes(of: v.bigEndian, as: Int64.self) }
    }
    /// An integer (int4) column.
    mutating func int32(_ v: Int32) {
        field(length: 4, valueBytes: 4) { $0.storeBytes(of: v.bigEndian, as: Int32.self) }
    }
    /// A bytea column.
    mutating func bytea(_ value: [UInt8]) {
        field(length: Int32(value.count))
        bytes.append(contentsOf: value)
    }
    /// A text column holding a decimal integer.
    mutating func decimalText(_ v: UInt128) {
        beginField()
        appendDecimal(v)
    }

    /// A numeric column: numeric's binary form is the count of base-10000 digits, the weight
    /// (of the first digit: groups before the point - 1), the sign, the display scale, then the
    /// digits most significant first. Integers only (scale 0); no trailing zero digits, as
    /// numeric keeps them.
    mutating func amount(_ v: UInt128) {
        var groups: (UInt64, UInt64, UInt64) = (0, 0, 0) // 12 × UInt16 ≥ 39 digits
        withUnsafeMutableBytes(of: &groups) { raw in
            let g = raw.bindMemory(to: UInt16.self)
            var count = 0
            var rest = v
            // Least significant first, 16 decimal digits (four groups) per UInt128 division.
            while rest > UInt128(UInt64.max) {
                let (q, r) = rest.quotientAndRemainder(dividingBy: 10_000_000_000_000_000)
                var low = UInt64(r)
                for _ in 0..<4 {
                    g[count] = UInt16(low % 10_000)
                    low /= 10_000
                    count += 1
                }
                rest = q
            }
            var low = UInt64(rest)
            while low > 0 {
                g[count] = UInt16(low % 10_000)
                low /= 10_000
                count += 1
            }
            var trailingZeros = 0
            while trailingZeros < count && g[trailingZeros] == 0 { trailingZeros += 1 }
            let digits = count - trailingZeros
            field(length: Int32(8 + 2 * digits), valueBytes: 8 + 2 * digits) { p in
                p.storeBytes(of: UInt16(digits).bigEndian, as: UInt16.self)
                p.storeBytes(of: Int16(count == 0 ? 0 : count - 1).bigEndian, toByteOffset: 2, as: Int16.self) // weight
                p.storeBytes(of: UInt32(0), toByteOffset: 4, as: UInt32.self) // sign (positive), display scale (0)
                for k in 0..<digits {
                    p.storeBytes(of: g[count - 1 - k].bigEndian, toByteOffset: 8 + 2 * k, as: UInt16.self)
                }
            }
        }
    }

    /// Starts a text field whose bytes the caller appends itself (no escaping: binary COPY has
    /// none); its length is filled in by the next field or `endRow`.
    mutating func beginField() {
        field(length: 0)
        openField = bytes.count - 4
    }

    @inline(__always) private mutating func closeField() {
        guard openField >= 0 else { return }
        let length = UInt32(bytes.count - openField - 4).bigEndian
        withUnsafeBytes(of: length) { b in for k in 0..<4 { bytes[openField + k] = b[k] } }
        openField = -1
    }

    mutating func endRow() {
        precondition(rowStart >= 0, "a COPY row without fields")
        closeField()
        let count = fieldCount.bigEndian
        withUnsafeBytes(of: count) { b in
            bytes[rowStart] = b[0]
            bytes[rowStart + 1] = b[1]
        }
        rows += 1
        rowStart = -1
        fieldCount = 0
    }

    /// Appends raw bytes to the open `beginField` field.
    mutating func appendRaw(_ s: String) {
        var s = s
        s.withUTF8 { bytes.append(contentsOf: $0) }
    }

    mutating func appendDecimal(_ v: UInt128) {
        if v <= UInt128(UInt64.max) {
            appendDecimal64(UInt64(v), minimumDigits: 1)
            return
        }
        let (high, low) = v.quotientAndRemainder(dividingBy: 10_000_000_000_000_000_000)
        appendDecimal(high)
        appendDecimal64(UInt64(low), minimumDigits: 19) // low is the last 19 digits, zeros included
    }

    /// `v` in decimal, left-padded with zeros to `minimumDigits` (at most 20): two digits per
    /// division from a table, right to left into a stack buffer, then one append. The journal's
    /// amounts and vesting ids are written this way, millions per rebuild.
    private mutating func appendDecimal64(_ v: UInt64, minimumDigits: Int) {
        if v < 10 && minimumDigits <= 1 {
            bytes.append(0x30 + UInt8(v))
            return
        }
        var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &tmp) { buf in
            Self.digitPairs.withUnsafeBufferPointer { pairs in
                var x = v
                var i = 24
                while x >= 100 {
                    let r = Int(x % 100)
                    x /= 100
                    i -= 2
                    buf[i] = pairs[2 * r]
                    buf[i + 1] = pairs[2 * r + 1]
                }
                if x >= 10 {
                    i -= 2
                    buf[i] = pairs[2 * Int(x)]
                    buf[i + 1] = pairs[2 * Int(x) + 1]
                } else if x > 0 || i == 24 {
                    i -= 1
                    buf[i] = 0x30 + UInt8(x)
                }
                while 24 - i < minimumDigits {
                    i -= 1
                    buf[i] = 0x30
                }
                bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[i..<24]))
            }
        }
    }

    /// "00", "01", ..., "99".
    private static let digitPairs: [UInt8] = {
        var pairs: [UInt8] = []
        for n in 0..<100 as Range<UInt8> {
            pairs.append(0x30 + n / 10)
            pairs.append(0x30 + n % 10)
        }
        return pairs
    }()
}

/// Reads rows of PostgreSQL's binary COPY format as `copyOut` hands them over: the server sends
/// one row per message, the signature and header before the first row (in its message or one of
/// their own) and the trailer (field count -1) last. Every row must have `fieldCount` fields.
struct BinaryCopyReader {
    let fieldCount: Int
    private var sawHeader = false
    private(set) var finished = false
    private var fields: [UnsafeRawBufferPointer?] = []

    init(fieldCount: Int) { self.fieldCount = fieldCount }

    /// Calls `body` with the fields of each row in `chunk` (nil for NULL); the buffers are only
    /// valid during the call.
    mutating func rows(
        in chunk: UnsafeRawBufferPointer,
        _ body: ([UnsafeRawBufferPointer?]) throws -> Void
    ) throws {
        var o = 0
        func corrupt(_ what: String) -> ProjectionError { .corrupt("binary COPY stream: \(what)") }
        func int16() throws -> Int {
            guard o + 2 <= chunk.count else { throw corrupt("a row is cut short") }
            defer { o += 2 }
            return Int(Int16(bigEndian: chunk.loadUnaligned(fromByteOffset: o, as: Int16.self)))
        }
        func int32() throws -> Int {
            guard o + 4 <= chunk.count else { throw corrupt("a row is cut short") }
            defer { o += 4 }
            return Int(Int32(bigEndian: chunk.loadUnaligned(fromByteOffset: o, as: Int32.self)))
        }
        if !sawHeader {
            let signature = CopyBuffer.header.prefix(11)
            guard chunk.count >= 19, chunk.prefix(11).elementsEqual(signature) else { throw corrupt("no PGCOPY signature") }
            o = 15
            o += try int32() // header extension
            sawHeader = true
        }
        while o < chunk.count {
            guard !finished else { throw corrupt("data after the trailer") }
            let count = try int16()
            if count == -1 {
                finished = true
                continue
            }
            guard count == fieldCount else { throw corrupt("a row of \(count) fields, expected \(fieldCount)") }
            fields.removeAll(keepingCapacity: true)
            for _ in 0..<count {
                let length = try int32()
                if length < 0 {
                    fields.append(nil)
                    continue
                }
                guard o + length <= chunk.count else { throw corrupt("a field is cut short") }
                fields.append(UnsafeRawBufferPointer(rebasing: chunk[o..<(o + length)]))
                o += length
            }
            try body(fields)
        }
    }
}
