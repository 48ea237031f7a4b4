import LedgerEvents
import PostgresClient

/// The append-only, hash-chained event log over one PostgreSQL connection.
///
/// Not thread-safe (it owns a `PostgresConnection`): use one `EventStore` per thread or wrap it
/// like `AsyncPostgresConnection`. Several stores, in several processes, may append to the
/// same database concurrently: the head-row lock orders them.
public final class EventStore {
    public let connection: PostgresConnection
    /// Every committed append notifies this channel with the new head position as payload.
    public static let notificationChannel = "stratos_event_log"

    public init(connection: PostgresConnection) { self.connection = connection }

    public convenience init(url: String) throws(PostgresError) {
        self.init(connection: try PostgresConnection(url: url))
    }

    /// The committed head (no lock taken).
    public func head() throws(PostgresError) -> LogHead {
        try Self.decodeHead(connection.query(StoreSQL.readHead))
    }

    /// A check the caller runs under the append lock, on the events the batch will really
    /// append (duplicates removed), before anything is written. Throwing aborts the batch.
    public typealias Validation = (_ head: LogHead, _ newEvents: [LedgerEvent]) throws(AppendError) -> Void

    /// Appends `events` atomically, in order.
    ///
    /// - idempotency: an event whose id is already in the log with the same canonical content
    ///   is skipped and reported in `duplicates`; with other content the batch is refused
    ///   (`idConflict`). A batch made only of duplicates is a no-op even when its expectations
    ///   no longer hold, so a client can safely retry after a lost answer.
    /// - `expectedPosition`: the head position the caller based its decision on.
    /// - `expectedStreamVersions`: stream → version before the batch (0: stream not yet used).
    /// - times must not go backwards; `validate` (e.g. the rules engine) sees the new events.
    ///
    /// When called inside an open transaction the append is a savepoint of it, and is only
    /// durable when the caller commits.
    @discardableResult
    public func append(_ items: [EventToAppend], metadata: AppendMetadata = AppendMetadata(),
                       expectedPosition: Int64? = nil, expectedStreamVersions: [String: Int64]? = nil,
                       validate: Validation? = nil) throws(AppendError) -> AppendResult {
        do {
            return try connection.transaction { c throws -> AppendResult in
                try self.appendLocked(items, metadata: metadata, expectedPosition: expectedPosition,
                                      expectedStreamVersions: expectedStreamVersions, validate: validate)
            }
        } catch let error as AppendError {
            throw error
        } catch let error as PostgresError {
            throw .database(error)
        } catch {
            throw .database(.protocol("\(error)"))
        }
    }

    /// `append` for plain events without client metadata.
    @discardableResult
    public func append(_ events: [LedgerEvent], metadata: AppendMetadata = AppendMetadata(),
                       expectedPosition: Int64? = nil,
                       expectedStreamVersions: [String: Int64]? = nil) throws(AppendError) -> AppendResult {
        try append(events.map { EventToAppend($0) }, metadata: metadata, expectedPosition: expectedPosition,
                   expectedStreamVersions: expectedStreamVersions, validate: nil)
    }

    private func appendLocked(_ items: [EventToAppend], metadata: AppendMetadata, expectedPosition: Int64?,
                              expectedStreamVersions: [String: Int64]?, validate: Validation?) throws -> AppendResult {
        let head = try Self.decodeHead(connection.query(StoreSQL.lockHead))

        // 1. Idempotency, decided under the lock so two appenders of one id cannot both pass.
        let canonical = items.map { $0.event.canonicalUTF8 }
        var duplicates: [(eventID: EventID, position: Int64)] = []
        var fresh: [Int] = [] // indices into items
        var firstInBatch: [String: Int] = [:]
        let existing = try existingEvents(ids: items.map(\.event.id.rawValue))
        for (i, item) in items.enumerated() {
            let id = item.event.id.rawValue
            if let stored = existing[id] {
                guard stored.canonical == canonical[i] else { throw AppendError.idConflict(eventID: id, existingPosition: stored.position) }
                duplicates.append((item.event.id, stored.position))
            } else if let earlier = firstInBatch[id] {
                guard canonical[earlier] == canonical[i] else { throw AppendError.idConflict(eventID: id, existingPosition: nil) }
            } else {
                firstInBatch[id] = i
                fresh.append(i)
            }
        }
        if fresh.isEmpty { return AppendResult(appended: [], duplicates: duplicates, head: head) }

        // 2. Expectations.
        if let expectedPosition, expectedPosition != head.position {
            throw AppendError.positionConflict(expected: expectedPosition, actual: head.position)
        }
        var previousTime = head.time
        for i in fresh {
            let event = items[i].event
            if let previousTime, event.time < previousTime {
                throw AppendError.timeWentBackwards(eventID: event.id.rawValue, time: event.time, previous: previousTime)
            }
            previousTime = event.time
        }
        let newEvents = fresh.map { items[$0].event }
        if let validate { try validate(head, newEvents) }

        var streams: [String] = []
        var seen = Set<String>()
        for e in newEvents where seen.insert(e.stream).inserted { streams.append(e.stream) }
        for s in (expectedStreamVersions ?? [:]).keys.sorted() where seen.insert(s).inserted { streams.append(s) }
        var versions = try streamVersions(streams)
        for (stream, expected) in (expectedStreamVersions ?? [:]).sorted(by: { $0.key < $1.key }) {
            let actual = versions[stream] ?? 0
            if actual != expected { throw AppendError.streamVersionConflict(stream: stream, expected: expected, actual: actual) }
        }

        // 3. Write: positions head+1…, hashes chained, all rows in one COPY.
        var position = head.position
        var hash = head.hash
        var appended: [(eventID: EventID, position: Int64)] = []
        appended.reserveCapacity(fresh.count)
        try connection.copyIn(StoreSQL.copyIn) { writer in
            var row: [UInt8] = []
            row.reserveCapacity(1024)
            for i in fresh {
                let item = items[i]
                position += 1
                hash = HashChain.next(previous: hash, position: position, canonicalEvent: canonical[i])
                let stream = item.event.stream
                let version = (versions[stream] ?? 0) + 1
                versions[stream] = version
                row.removeAll(keepingCapacity: true)
                Self.appendCopyRow(position: position, stream: stream, version: version, item: item,
                                   metadata: metadata, hash: hash, to: &row)
                try writer.write(row)
                appended.append((item.event.id, position))
            }
        }
        let last = newEvents[newEvents.count - 1].time
        try connection.query(StoreSQL.updateHead, [String(position), encodeByteaHex(hash), last.rfc3339])
        try connection.query(StoreSQL.notify, [Self.notificationChannel, String(position)])
        return AppendResult(appended: appended, duplicates: duplicates, head: LogHead(position: position, hash: hash, time: last))
    }

    private func existingEvents(ids: [String]) throws -> [String: (position: Int64, canonical: [UInt8])] {
        let r = try connection.query(StoreSQL.existingIDs, [postgresArrayLiteral(ids)])
        var out: [String: (Int64, [UInt8])] = [:]
        for row in 0..<r.rowCount {
            let id = try r.string(row, 0)
            let position = try r.int64(row, 1)
            let data: JSONValue
            do { data = try JSONValue.parse(try r.string(row, 4)) } catch {
                throw AppendError.corruptLog(position: position, reason: "stored data is not JSON: \(error)")
            }
            let time = Timestamp(microsecondsSinceEpoch: try r.int64(row, 3))
            let canonical = JSONValue.object(["data": data, "id": .string(id), "time": .string(time.rfc3339),
                                              "type": .string(try r.string(row, 2))]).canonicalUTF8
            out[id] = (position, canonical)
        }
        return out
    }

    private func streamVersions(_ streams: [String]) throws -> [String: Int64] {
        guard !streams.isEmpty else { return [:] }
        let r = try connection.query(StoreSQL.streamVersions, [postgresArrayLiteral(streams)])
        var out: [String: Int64] = [:]
        for row in 0..<r.rowCount { out[try r.string(row, 0)] = try r.int64(row, 1) }
        return out
    }

    static func appendCopyRow(position: Int64, stream: String, version: Int64, item: EventToAppend,
                              metadata: AppendMetadata, hash: [UInt8], to row: inout [UInt8]) {
        let tab = UInt8(ascii: "\t")
        row.append(contentsOf: String(position).utf8); row.append(tab)
        appendCopyTextField(stream, to: &row); row.append(tab)
        row.append(contentsOf: String(version).utf8); row.append(tab)
        appendCopyTextField(item.event.id.rawValue, to: &row); row.append(tab)
        row.append(contentsOf: item.event.type.rawValue.utf8); row.append(tab)
        row.append(contentsOf: item.event.time.rfc3339.utf8); row.append(tab)
        appendCopyTextField(item.event.canonicalDataJSON, to: &row); row.append(tab)
        var meta: [String: JSONValue] = ["appendedBy": .string(metadata.appendedBy)]
        if let c = metadata.correlationID { meta["correlationId"] = .string(c) }
        if let c = metadata.causationID { meta["causationId"] = .string(c) }
        if !item.clientMetadata.isEmpty { meta["client"] = .object(item.clientMetadata.mapValues { .string($0) }) }
        appendCopyTextField(JSONValue.object(meta).canonicalText, to: &row); row.append(tab)
        // bytea hex input `\x…`, its backslash doubled for COPY.
        row.append(UInt8(ascii: "\\")); row.append(UInt8(ascii: "\\")); row.append(UInt8(ascii: "x"))
        let digits: StaticString = "0123456789abcdef"
        for b in hash { row.append(digits.utf8Start[Int(b >> 4)]); row.append(digits.utf8Start[Int(b & 15)]) }
        row.append(UInt8(ascii: "\n"))
    }

    static func decodeHead(_ r: PostgresResult) throws(PostgresError) -> LogHead {
        guard r.rowCount == 1 else { throw .protocol("event_log_head must hold exactly one row, has \(r.rowCount)") }
        return LogHead(position: try r.int64(0, 0), hash: try r.bytea(0, 1),
                       time: try r.optionalInt64(0, 2).map { Timestamp(microsecondsSinceEpoch: $0) })
    }
}
