import LedgerEvents
import PostgresClient

/// Why a stored row could not be turned back into a `StoredEvent`.
public struct StoredEventDecodingError: Error, CustomStringConvertible {
    public var position: Int64?
    public var reason: String
    public var description: String { "event log position \(position.map(String.init) ?? "?"): \(reason)" }
}

extension EventStore {
    /// Up to `limit` events from `position` on (inclusive), in position order. Committed events
    /// only, and never with a hole: see docs/EVENT-STORE.md.
    public func read(from position: Int64, limit: Int) throws -> [StoredEvent] {
        try Self.decodeStoredEvents(connection.query(StoreSQL.readRange, binding: position, limit))
    }

    /// The rows of a query selecting `StoreSQL.columns`.
    static func decodeStoredEvents(_ r: PostgresResult) throws -> [StoredEvent] {
        try r.expectColumns(10, statement: "log.read_range")
        var out: [StoredEvent] = []
        out.reserveCapacity(r.rowCount)
        for row in 0..<r.rowCount {
            out.append(try decodeStoredEvent((0..<10).map { c in r.withValueBytes(row, c) { $0.map { Array($0) } } }))
        }
        return out
    }

    /// The events of `stream` with `after < position <= through`, in order.
    ///
    /// Why not a position range filtered by stream: that scans every event of the range. A
    /// stream's versions and positions grow together, so the version bounds are found by binary
    /// search on the (stream, stream_version) key — O(log n) point reads — and only the events
    /// returned are read, however long the stream or the range.
    public func read(stream: String, after: Int64, through: Int64) throws -> [StoredEvent] {
        guard after < through else { return [] }
        let last = try connection.query(StoreSQL.streamLastVersion, binding: stream).int64(0, 0)
        /// The greatest version whose position is ≤ `position` (0: none).
        func version(atOrBefore position: Int64, below upper: Int64) throws -> Int64 {
            var low: Int64 = 0
            var high = upper // invariant: pos(low) ≤ position (pos(0) = −∞), pos(high + 1) > position
            while low < high {
                let mid = (low + high + 1) / 2
                let r = try connection.query(StoreSQL.streamVersionPosition, binding: stream, mid)
                guard r.rowCount == 1 else {
                    throw StoredEventDecodingError(position: nil, reason: "stream \(stream) has no version \(mid) (versions have a hole)")
                }
                if try r.int64(0, 0) <= position { low = mid } else { high = mid - 1 }
            }
            return low
        }
        let upper = try version(atOrBefore: through, below: last)
        let lower = try version(atOrBefore: after, below: upper)
        guard lower < upper else { return [] }
        return try Self.decodeStoredEvents(connection.query(StoreSQL.readStreamVersions, binding: stream, lower, upper))
    }

    /// Streams every event with `from <= position <= through` to `body`, in order, through a
    /// single `COPY … TO STDOUT`: one row is decoded at a time, so memory does not grow with
    /// the log. Throwing from `body` stops the replay.
    @discardableResult
    public func replay(
        from position: Int64 = 1, through last: Int64 = Int64.max,
        _ body: (StoredEvent) throws -> Void
    ) throws -> Int64 {
        try connection.query(StoreSQL.setReplayBounds, binding: String(position), String(last))
        return try connection.copyOut(StoreSQL.copyOutRange) { chunk in
            try body(try Self.decodeStoredEvent(parseCopyTextRow(chunk)))
        }
    }

    static func decodeStoredEvent(_ f: [[UInt8]?]) throws(StoredEventDecodingError) -> StoredEvent {
        func text(_ i: Int) -> String? { f[i].map { String(decoding: $0, as: UTF8.self) } }
        let position = text(0).flatMap { Int64($0) }
        func fail(_ reason: String) -> StoredEventDecodingError { StoredEventDecodingError(position: position, reason: reason) }
        guard f.count == 10 else { throw fail("expected 10 columns, got \(f.count)") }
        guard let position, let stream = text(1), let version = text(2).flatMap({ Int64($0) }),
            let id = text(3), let type = text(4), let time = text(5).flatMap({ Int64($0) }),
            let dataBytes = f[6], let metaBytes = f[7], let appendedAt = text(8).flatMap({ Int64($0) }),
            let hashText = f[9]
        else { throw fail("a column is NULL or malformed") }
        let data: JSONValue
        let metadata: JSONValue
        do {
            data = try JSONValue.parse(dataBytes)
            metadata = try JSONValue.parse(metaBytes)
        } catch { throw fail("stored JSON does not parse: \(error)") }
        guard let hash = hashText.withUnsafeBytes({ decodeByteaHex($0) }) else { throw fail("hash is not bytea hex") }
        return StoredEvent(
            position: position, stream: stream, streamVersion: version, eventID: id, type: type,
            time: Timestamp(microsecondsSinceEpoch: time), data: data, metadata: metadata,
            appendedAt: Timestamp(microsecondsSinceEpoch: appendedAt), hash: hash)
    }
}

/// What a list of events shows of each: where it is and what it is, without its data.
public struct EventHeader: Sendable, Hashable {
    public var position: Int64
    public var stream: String
    public var streamVersion: Int64
    public var eventID: String
    public var type: String
    public var time: Timestamp

    public init(position: Int64, stream: String, streamVersion: Int64, eventID: String, type: String, time: Timestamp) {
        self.position = position
        self.stream = stream
        self.streamVersion = streamVersion
        self.eventID = eventID
        self.type = type
        self.time = time
    }
}

extension EventStore {
    /// The headers of at most `limit` events with `after < position <= through`, of `type` and
    /// in `stream` when given, in order. The filter runs in PostgreSQL over that window of the
    /// primary key: the caller bounds the window (the log has no index on type).
    public func headers(
        after: Int64, through: Int64, type: String? = nil, stream: String? = nil, limit: Int
    ) throws -> [EventHeader] {
        guard after < through, limit > 0 else { return [] }
        let r = try connection.query(StoreSQL.headersInWindow, binding: after, through, type, stream, limit)
        try r.expectColumns(6, statement: "log.headers_in_window")
        return try (0..<r.rowCount).map { i in
            EventHeader(
                position: try r.int64(i, 0), stream: try r.string(i, 1), streamVersion: try r.int64(i, 2), eventID: try r.string(i, 3),
                type: try r.string(i, 4), time: Timestamp(microsecondsSinceEpoch: try r.int64(i, 5)))
        }
    }

    /// The log position of the event with id `eventID`, nil when there is none (the console's
    /// search box looks event ids up this way).
    public func position(ofEventID eventID: String) throws(PostgresError) -> Int64? {
        let r = try connection.query(StoreSQL.existingIDs, binding: PostgresTextArray([eventID]))
        guard r.rowCount > 0 else { return nil }
        return try r.int64(0, 1)
    }
}
