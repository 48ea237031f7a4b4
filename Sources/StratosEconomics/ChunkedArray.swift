/// An array stored in chunks of `chunkSize` elements, each chunk copied on write on its own.
///
/// Why: the service's writer checks every batch on a copy of the whole `Economy` and adopts the
/// copy once the store has written the batch (a refused batch leaves the state as it was). With
/// plain arrays, the first write to a copy of the account table copies all of it — thousands of
/// accounts (and millions of vesting entries at an epoch's close) for one `Funded`: that copy
/// was most of a single-event append's CPU in the writer. Here a copy shares every chunk, and a
/// write copies the table of chunk references and the one chunk it touches: O(n / chunkSize +
/// chunkSize) instead of O(n).
///
/// Reads cost one more indirection than an array's. Indices are `0..<count`, as an array's.
struct ChunkedArray<Element>: RandomAccessCollection, MutableCollection {
    static var chunkShift: Int { 7 }
    static var chunkSize: Int { 1 << chunkShift }

    private var chunks: [[Element]] = []
    private(set) var count = 0

    init() {}

    init<S: Sequence>(_ elements: S) where S.Element == Element {
        for e in elements { append(e) }
    }

    var startIndex: Int { 0 }
    var endIndex: Int { count }
    var isEmpty: Bool { count == 0 }

    subscript(position: Int) -> Element {
        get {
            precondition(position >= 0 && position < count, "index \(position) out of 0..<\(count)")
            return chunks[position >> Self.chunkShift][position & (Self.chunkSize - 1)]
        }
        _modify {
            precondition(position >= 0 && position < count, "index \(position) out of 0..<\(count)")
            yield &chunks[position >> Self.chunkShift][position & (Self.chunkSize - 1)]
        }
    }

    mutating func append(_ element: Element) {
        if count & (Self.chunkSize - 1) == 0 {
            var chunk: [Element] = []
            chunk.reserveCapacity(Self.chunkSize)
            chunks.append(chunk)
        }
        chunks[chunks.count - 1].append(element)
        count += 1
    }

    mutating func reserveCapacity(_ n: Int) {
        chunks.reserveCapacity((n + Self.chunkSize - 1) >> Self.chunkShift)
    }

    /// Drops the first `k` elements (O(n): the rest is re-chunked). Callers do it when the
    /// dropped prefix is at least half of the array, so it is amortised O(1) per element.
    mutating func removeFirst(_ k: Int) {
        precondition(k >= 0 && k <= count, "cannot remove \(k) of \(count) elements")
        guard k > 0 else { return }
        var rest = ChunkedArray()
        rest.reserveCapacity(count - k)
        for i in k..<count { rest.append(self[i]) }
        self = rest
    }
}

extension ChunkedArray: Equatable where Element: Equatable {
    static func == (a: Self, b: Self) -> Bool { a.elementsEqual(b) }
}

extension ChunkedArray: Sendable where Element: Sendable {}

extension ChunkedArray {
    mutating func append<S: Sequence>(contentsOf elements: S) where S.Element == Element {
        for e in elements { append(e) }
    }
}
