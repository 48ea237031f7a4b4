import XCTest

@testable import LedgerEvents

final class RFC3339Tests: XCTestCase {
    func micros(_ text: String) -> Int64? { Timestamp(rfc3339: text)?.microsecondsSinceEpoch }

    func testEpochAndKnownInstants() {
        XCTAssertEqual(micros("1970-01-01T00:00:00Z"), 0)
        XCTAssertEqual(micros("1970-01-01T00:00:01Z"), 1_000_000)
        XCTAssertEqual(micros("1969-12-31T23:59:59Z"), -1_000_000)
        XCTAssertEqual(micros("2000-01-01T00:00:00Z"), 946_684_800_000_000)
        XCTAssertEqual(micros("2026-01-01T00:10:00Z"), 1_767_226_200_000_000)
        XCTAssertEqual(micros("2038-01-19T03:14:08Z"), 2_147_483_648_000_000)
        XCTAssertEqual(micros("0000-01-01T00:00:00Z"), -62_167_219_200_000_000)
        XCTAssertEqual(micros("9999-12-31T23:59:59.999999Z"), 253_402_300_799_999_999)
    }

    func testOffsetsAndCase() {
        XCTAssertEqual(micros("2026-01-01T00:10:00+00:00"), micros("2026-01-01T00:10:00Z"))
        XCTAssertEqual(micros("2026-01-01t00:10:00z"), micros("2026-01-01T00:10:00Z"))
        for refused in ["2026-01-01T00:10:00+01:00", "2026-01-01T00:10:00-00:00", "2026-01-01T00:10:00-05:30"] {
            XCTAssertThrowsError(try Timestamp.parse(rfc3339: refused)) { error in
                XCTAssertTrue("\(error)".contains("UTC"), "\(error)")
            }
        }
    }

    func testFractions() throws {
        XCTAssertEqual(micros("1970-01-01T00:00:00.5Z"), 500_000)
        XCTAssertEqual(micros("1970-01-01T00:00:00.000001Z"), 1)
        XCTAssertEqual(micros("1970-01-01T00:00:00.123456Z"), 123_456)
        XCTAssertEqual(micros("1969-12-31T23:59:59.5Z"), -500_000)
        XCTAssertThrowsError(try Timestamp.parse(rfc3339: "1970-01-01T00:00:00.1234567Z")) { error in
            XCTAssertEqual(
                (error as? RFC3339Error)?.reason,
                "has 7 fractional digits; at most 6 (microseconds) are kept, so it is refused rather than rounded")
        }
        XCTAssertNil(micros("1970-01-01T00:00:00.Z"))
    }

    func testLeapYearsAndFieldRanges() {
        XCTAssertNotNil(micros("2024-02-29T00:00:00Z"))
        XCTAssertNotNil(micros("2000-02-29T00:00:00Z"))
        XCTAssertNil(micros("1900-02-29T00:00:00Z"))
        XCTAssertNil(micros("2025-02-29T00:00:00Z"))
        XCTAssertEqual(micros("2024-03-01T00:00:00Z")! - micros("2024-02-28T00:00:00Z")!, 2 * 86_400_000_000)
        XCTAssertEqual(micros("2025-03-01T00:00:00Z")! - micros("2025-02-28T00:00:00Z")!, 86_400_000_000)
        XCTAssertNil(micros("2025-04-31T00:00:00Z"))
        XCTAssertNil(micros("2025-13-01T00:00:00Z"))
        XCTAssertNil(micros("2025-00-01T00:00:00Z"))
        XCTAssertNil(micros("2025-01-00T00:00:00Z"))
        XCTAssertNil(micros("2025-01-01T24:00:00Z"))
        XCTAssertNil(micros("2025-01-01T00:60:00Z"))
        XCTAssertNil(micros("2016-12-31T23:59:60Z")) // leap second
    }

    func testMalformed() {
        for text in [
            "", "2025-01-01", "2025-01-01T00:00:00", "2025-01-01 00:00:00Z", "2025-1-01T00:00:00Z",
            "2025-01-01T00:00:00ZZ", "2025-01-01T00:00:00+0000", "+2025-01-01T00:00:00Z",
            "2025-01-01T00:00:00.Z", "２０２５-01-01T00:00:00Z", "2025-01-01T00:00:00 Z",
        ] {
            XCTAssertNil(micros(text), text)
        }
    }

    func testCanonicalFormatting() {
        func fmt(_ micros: Int64) -> String { Timestamp(microsecondsSinceEpoch: micros).rfc3339 }
        XCTAssertEqual(fmt(0), "1970-01-01T00:00:00Z")
        XCTAssertEqual(fmt(500_000), "1970-01-01T00:00:00.5Z")
        XCTAssertEqual(fmt(1), "1970-01-01T00:00:00.000001Z")
        XCTAssertEqual(fmt(120_000), "1970-01-01T00:00:00.12Z")
        XCTAssertEqual(fmt(-1), "1969-12-31T23:59:59.999999Z")
        XCTAssertEqual(fmt(-86_400_000_000), "1969-12-31T00:00:00Z")
        XCTAssertEqual(fmt(951_782_400_000_000), "2000-02-29T00:00:00Z")
        XCTAssertEqual(Timestamp(rfc3339: "2026-01-01T00:10:00.100+00:00")?.rfc3339, "2026-01-01T00:10:00.1Z")
    }

    /// Every day from 1600 to 2400 formats and parses back to itself, and consecutive days are
    /// 86,400 s apart (checks days-from-civil against its inverse across leap rules).
    func testRoundTripOverCenturies() {
        let start = daysFromCivil(year: 1600, month: 1, day: 1)
        let end = daysFromCivil(year: 2400, month: 12, day: 31)
        var previous: (Int64, Int64, Int64)?
        for day in start...end {
            let (y, m, d) = civilFromDays(day)
            XCTAssertEqual(daysFromCivil(year: y, month: m, day: d), day)
            if let (py, pm, pd) = previous {
                let next =
                    pd < daysInMonth(year: py, month: pm)
                    ? (py, pm, pd + 1)
                    : pm < 12 ? (py, pm + 1, 1) : (py + 1, 1, 1)
                XCTAssertTrue(next == (y, m, d), "after \(py)-\(pm)-\(pd) came \(y)-\(m)-\(d)")
            }
            previous = (y, m, d)
        }
        var rng = SplitMix64(seed: 1)
        for _ in 0..<2_000 {
            let t = Timestamp(microsecondsSinceEpoch: Int64(rng.next() % 253_402_300_800_000_000))
            XCTAssertEqual(Timestamp(rfc3339: t.rfc3339), t, t.rfc3339)
        }
    }
}
