/// RFC 3339 times in UTC, parsed and formatted with integer calendar math (proleptic Gregorian,
/// Howard Hinnant's days-from-civil), so the result never depends on a locale, a time-zone
/// database or floating point.
///
/// Accepted: `YYYY-MM-DDTHH:MM:SS[.f…]` followed by `Z` or `+00:00` (`T` and `Z` also in lower
/// case, as RFC 3339 §5.6 allows). Refused: any other offset (the log is kept in UTC and an
/// offset would make two spellings of one instant), leap seconds (`:60`, which PostgreSQL's
/// `timestamptz` cannot keep), more than six fractional digits (we store microseconds and refuse
/// rather than round), out-of-range fields (month 13, 30 February, hour 24).

/// Why a time was refused.
public struct RFC3339Error: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

extension Timestamp {
    /// nil unless `text` is an RFC 3339 time in UTC with at most six fractional digits.
    public init?(rfc3339 text: some StringProtocol) {
        guard let t = try? Timestamp.parse(rfc3339: text) else { return nil }
        self = t
    }

    /// Parses an RFC 3339 UTC time, saying why it was refused.
    public static func parse(rfc3339 text: some StringProtocol) throws(RFC3339Error) -> Timestamp {
        var s = String(text)
        return try s.withUTF8 { b in
            Result { () throws(RFC3339Error) in try parse(rfc3339Bytes: b) }
        }.get()
    }

    static func parse(rfc3339Bytes b: UnsafeBufferPointer<UInt8>) throws(RFC3339Error) -> Timestamp {
        let shape = "must be an RFC 3339 time in UTC like 2026-01-01T00:10:00Z"
        guard b.count >= 20 else { throw RFC3339Error(shape) }
        func digits(_ at: Int, _ count: Int) throws(RFC3339Error) -> Int64 {
            var v: Int64 = 0
            for i in at..<at + count {
                let d = b[i] &- 0x30
                guard d < 10 else { throw RFC3339Error(shape) }
                v = v * 10 + Int64(d)
            }
            return v
        }
        func expect(_ at: Int, _ chars: UInt8...) throws(RFC3339Error) {
            guard chars.contains(b[at]) else { throw RFC3339Error(shape) }
        }
        let year = try digits(0, 4)
        try expect(4, UInt8(ascii: "-"))
        let month = try digits(5, 2)
        try expect(7, UInt8(ascii: "-"))
        let day = try digits(8, 2)
        try expect(10, UInt8(ascii: "T"), UInt8(ascii: "t"))
        let hour = try digits(11, 2)
        try expect(13, UInt8(ascii: ":"))
        let minute = try digits(14, 2)
        try expect(16, UInt8(ascii: ":"))
        let second = try digits(17, 2)
        var i = 19
        var micros: Int64 = 0
        if b[i] == UInt8(ascii: ".") {
            i += 1
            let fracStart = i
            while i < b.count && b[i] &- 0x30 < 10 { i += 1 }
            let count = i - fracStart
            guard count >= 1 else { throw RFC3339Error(shape) }
            guard count <= 6 else {
                throw RFC3339Error("has \(count) fractional digits; at most 6 (microseconds) are kept, so it is refused rather than rounded")
            }
            micros = try digits(fracStart, count)
            for _ in count..<6 { micros *= 10 }
        }
        guard i < b.count else { throw RFC3339Error(shape) }
        switch b[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard b.count - i == 6, b[i + 3] == UInt8(ascii: ":"),
                (try? digits(i + 1, 2)) != nil, (try? digits(i + 4, 2)) != nil
            else { throw RFC3339Error(shape) }
            let offset = String(decoding: UnsafeBufferPointer(rebasing: b[i..<i + 6]), as: UTF8.self)
            guard offset == "+00:00" else {
                throw RFC3339Error("has offset \(offset); times must be in UTC (Z or +00:00)")
            }
            i += 6
        default:
            throw RFC3339Error(shape)
        }
        guard i == b.count else { throw RFC3339Error(shape) }
        guard month >= 1 && month <= 12 else { throw RFC3339Error("month \(month) is out of range") }
        guard day >= 1 && day <= daysInMonth(year: year, month: month) else {
            throw RFC3339Error("day \(day) does not exist in \(year)-\(month < 10 ? "0" : "")\(month)")
        }
        guard hour <= 23 else { throw RFC3339Error("hour \(hour) is out of range") }
        guard minute <= 59 else { throw RFC3339Error("minute \(minute) is out of range") }
        guard second <= 59 else { throw RFC3339Error("second \(second) is out of range (leap seconds are not kept)") }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second
        return Timestamp(microsecondsSinceEpoch: seconds * 1_000_000 + micros)
    }

    /// The instants RFC 3339 can spell (four-digit years, 0000-01-01 to 9999-12-31), in
    /// microseconds since the epoch.
    public static let rfc3339Range: Range<Int64> =
        daysFromCivil(year: 0, month: 1, day: 1) * 86_400_000_000..<daysFromCivil(year: 10_000, month: 1, day: 1) * 86_400_000_000

    /// The canonical RFC 3339 form: `YYYY-MM-DDTHH:MM:SSZ`, or `YYYY-MM-DDTHH:MM:SS.fZ` with the
    /// microseconds' trailing zeros trimmed when the fraction is not zero. This is the spelling
    /// used in canonical events (and so in the hash chain).
    public var rfc3339: String {
        var out: [UInt8] = []
        out.reserveCapacity(27)
        appendRFC3339(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    func appendRFC3339(to out: inout [UInt8]) {
        let micros = microsecondsSinceEpoch
        let seconds = secondsSinceEpoch
        let fraction = micros - seconds * 1_000_000 // 0 ..< 1_000_000
        var days = seconds / 86_400
        var secondOfDay = seconds - days * 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        let (year, month, day) = civilFromDays(days)
        /// Appends `value` (≥ 0) in decimal, zero-padded to `width` digits.
        func put(_ value: Int64, width: Int) {
            var digits: (UInt64, UInt64, UInt64) = (0, 0, 0) // 24 bytes of room, no allocation
            withUnsafeMutableBytes(of: &digits) { raw in
                var v = value.magnitude
                var i = 24
                repeat {
                    i -= 1
                    raw[i] = UInt8(v % 10) + 0x30
                    v /= 10
                } while v > 0
                while 24 - i < width {
                    i -= 1
                    raw[i] = 0x30
                }
                if value < 0 { out.append(UInt8(ascii: "-")) }
                out.append(contentsOf: raw[i..<24])
            }
        }
        put(year, width: 4)
        out.append(UInt8(ascii: "-"))
        put(month, width: 2)
        out.append(UInt8(ascii: "-"))
        put(day, width: 2)
        out.append(UInt8(ascii: "T"))
        put(secondOfDay / 3_600, width: 2)
        out.append(UInt8(ascii: ":"))
        put(secondOfDay / 60 % 60, width: 2)
        out.append(UInt8(ascii: ":"))
        put(secondOfDay % 60, width: 2)
        if fraction != 0 {
            out.append(UInt8(ascii: "."))
            var f = fraction
            var width = 6
            while f % 10 == 0 {
                f /= 10
                width -= 1
            }
            put(f, width: width)
        }
        out.append(UInt8(ascii: "Z"))
    }
}

func isLeapYear(_ year: Int64) -> Bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

func daysInMonth(year: Int64, month: Int64) -> Int64 {
    switch month {
    case 2: isLeapYear(year) ? 29 : 28
    case 4, 6, 9, 11: 30
    default: 31
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant, "chrono-Compatible Low-Level
/// Date Algorithms").
func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yearOfEra = y - era * 400
    let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    return era * 146_097 + dayOfEra - 719_468
}

/// The inverse of `daysFromCivil`.
func civilFromDays(_ days: Int64) -> (year: Int64, month: Int64, day: Int64) {
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let dayOfEra = z - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let mp = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
}
