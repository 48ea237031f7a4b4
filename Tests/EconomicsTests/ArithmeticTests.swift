import XCTest

@testable import StratosEconomics

final class ArithmeticTests: XCTestCase {
    func testWideMultiplyDivide() {
        // (s + p) × Y ≈ 10^27 wei × 10^18 noz = 10^45, beyond 128 bits; the quotient fits.
        let sp: UInt128 = 1_000_000_000 * 1_000_000_000_000_000_000 + 7
        let y: UInt128 = 1_000_000_000 * 1_000_000_000 + 3
        let l: UInt128 = 3 * 1_000_000_000 * 1_000_000_000 + 11
        let q = mulDivFloor(sp, y, l)!
        // Check q = floor(sp × y / l) exactly: q × l ≤ sp × y < (q + 1) × l, in 256 bits.
        func wide(_ a: UInt128, _ b: UInt128) -> (UInt128, UInt128) { a.multipliedFullWidth(by: b) }
        let product = wide(sp, y)
        let low = wide(q, l)
        let high = wide(q + 1, l)
        XCTAssertTrue(low <= product && product < high)
        XCTAssertEqual(mulDivCeil(sp, y, l), q + 1)
        XCTAssertEqual(mulDivCeil(10, 10, 4), 25)
        XCTAssertEqual(mulDivCeil(10, 10, 3), 34)
        XCTAssertEqual(mulDivFloor(10, 10, 3), 33)
        XCTAssertNil(mulDivFloor(1, 1, 0))
        XCTAssertNil(mulDivFloor(.max, .max, 1))
        XCTAssertEqual(mulDivFloor(.max, .max, .max), .max)
        XCTAssertNil(mulDivCeil(.max, .max, .max - 1))
    }
}
