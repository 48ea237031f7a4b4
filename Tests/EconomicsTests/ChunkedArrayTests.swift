import XCTest

@testable import StratosEconomics

/// `ChunkedArray` behaves as an array of values: a copy is independent of its original whatever
/// chunk a write lands in, across chunk boundaries, after a prefix is dropped.
final class ChunkedArrayTests: XCTestCase {
    func testItBehavesAsAnArrayOfValues() {
        let n = ChunkedArray<Int>.chunkSize * 3 + 5
        var chunked = ChunkedArray<Int>()
        var plain: [Int] = []
        for i in 0..<n {
            chunked.append(i)
            plain.append(i)
        }
        XCTAssertEqual(Array(chunked), plain)
        XCTAssertEqual(chunked.count, n)

        // A write to a copy, in every chunk, leaves the original as it was.
        let original = chunked
        var copy = chunked
        for i in stride(from: 0, to: n, by: 37) { copy[i] += 1_000 }
        copy.append(-1)
        XCTAssertEqual(Array(original), plain)
        XCTAssertEqual(chunked, original)
        XCTAssertNotEqual(copy, original)
        XCTAssertEqual(copy.count, n + 1)
        XCTAssertEqual(copy[37], 1_037)
        XCTAssertEqual(copy[n], -1)

        // Dropping a prefix re-chunks the rest.
        copy.removeFirst(ChunkedArray<Int>.chunkSize + 3)
        let dropped = ChunkedArray<Int>.chunkSize + 3
        XCTAssertEqual(
            Array(copy.prefix(3)),
            plain[dropped..<(dropped + 3)].map { $0 % 37 == 0 ? $0 + 1_000 : $0 })
        XCTAssertEqual(copy.count, n + 1 - ChunkedArray<Int>.chunkSize - 3)
        XCTAssertEqual(copy.last, -1)
        XCTAssertEqual(Array(ChunkedArray(plain)[5...7]), [5, 6, 7])
    }
}
