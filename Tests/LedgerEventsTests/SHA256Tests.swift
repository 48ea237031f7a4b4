import StratosSimulator
import XCTest

@testable import LedgerEvents

final class SHA256Tests: XCTestCase {
    func hex(_ bytes: [UInt8]) -> String { SHA256.hex(bytes) }

    /// FIPS 180-4 / NIST example vectors.
    func testFIPSVectors() {
        XCTAssertEqual(hex(SHA256.hash("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(hex(SHA256.hash("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(
            hex(SHA256.hash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(
            hex(SHA256.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        XCTAssertEqual(
            hex(SHA256.hash("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu")),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
    }

    /// Feeding the same bytes in pieces of any size gives the same digest (block boundaries,
    /// the 55/56/64-byte padding edges).
    func testIncrementalUpdatesMatchOneShot() {
        var rng = SplitMix64(seed: 7)
        for length in [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000] {
            let message = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let expected = SHA256.hash(message)
            for piece in [1, 3, 63, 64, 100] {
                var h = SHA256()
                var i = 0
                while i < message.count {
                    h.update(message[i..<min(i + piece, message.count)])
                    i += piece
                }
                XCTAssertEqual(h.finalize(), expected, "length \(length), pieces of \(piece)")
            }
        }
    }
}

/// The simulator's seeded generator, for every test of this target (one implementation, tested against published outputs in SimulatorTests).
typealias SplitMix64 = StratosSimulator.SplitMix64
