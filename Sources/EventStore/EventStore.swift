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

    /// See `currentStreamVersions`.
    var streamVersionCache: (position: Int64, hash: [UInt8], versions: [String: Int64])?

    public init(connection: PostgresConnection) { self.connection = connection }

    /// Reads the event store's statements (`Schema/statements/store.sql`) now, so that a missing
    /// or broken file is a clear error at start-up (the CLI, the service and the migrator call
    /// it) rather than a failed precondition at the first append.
    public static func loadStatements() throws { _ = try StoreSQL.load() }

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
    public func append(
        _ items: [EventToAppend], metadata: AppendMetadata = AppendMetadata(),
        expectedPosition: Int64? = nil, expectedStreamVersions: [String: Int64]? = nil,
        validate: Validation? = nil
    ) throws(AppendError) -> AppendResult {
        let topLevel = !connection.isInTransaction
        lockedHead = committedHead // what a failure before the lock leaves known
        do {
            if topLevel, let head = committedHead, !items.isEmpty,
                let result = try appendInOneStatement(
                    items, metadata: metadata, presumedHead: head, expectedPosition: expectedPosition,
                    expectedStreamVersions: expectedStreamVersions, validate: validate)
            {
                committedHead = result.head
                return result
            }
            lockedHead = nil
            let result = try connection.transaction { c throws -> AppendResult in
                try self.appendLocked(
                    items, metadata: metadata, expectedPosition: expectedPosition,
                    expectedStreamVersions: expectedStreamVersions, validate: validate)
            }
            // Inside a caller's transaction nothing is committed yet (it may still roll back).
            committedHead = topLevel ? result.head : nil
            return result
        } catch let error as AppendError {
            committedHead = topLevel ? lockedHead : nil
            throw error
        } catch let error as PostgresError {
            committedHead = topLevel && !error.isConnectionLoss ? lockedHead : nil
            throw .database(error)
        } catch {
            committedHead = nil
            throw .database(.protocol("\(error)"))
        }
    }

    /// The head as this store last saw it committed: after its own top-level append, or as it
    /// found it under the lock (a refused append leaves it there). nil: not known, e.g. after
    /// an append inside a caller's transaction, which may still roll back. What the one-statement
    /// append presumes; the server checks it (position and hash) before writing anything.
    var committedHead: LogHead?
    /// The head `appendLocked` found under the lock, in the append under way.
    private var lockedHead: LogHead?

    /// The append in one round trip (`event_log_append`, Schema/0006): the rows are computed
    /// against `presumedHead` (positions, hash chain, time order, `validate`) and sent as one
    /// prepared statement outside any transaction, which is then its own transaction: lock,
    /// insert, move the head, notify and commit in one round trip.
    ///
    /// Returns nil, having written nothing, whenever the exact path must decide: an id twice in
    /// the batch or already in the log (23505), a head that moved, an expectation that does not
    /// hold against the presumed head, a refusal by `validate` (the presumed head may be stale:
    /// refusals are decided under the lock). Throws the rest; a connection lost while the
    /// statement ran is `commitOutcomeUnknown` (it commits by itself), one found closed before it
    /// was sent a plain connection error (nothing was written: retry on a fresh connection).
    private func appendInOneStatement(
        _ items: [EventToAppend], metadata: AppendMetadata, presumedHead head: LogHead,
        expectedPosition: Int64?, expectedStreamVersions: [String: Int64]?, validate: Validation?
    ) throws -> AppendResult? {
        guard
            let statement = try oneStatement(
                items, metadata: metadata, presumedHead: head, expectedPosition: expectedPosition,
                expectedStreamVersions: expectedStreamVersions, validate: validate)
        else { return nil }
        let answer: Result<PostgresResult, PostgresError> = Result { () throws(PostgresError) in
            try connection.queryPrepared(StoreSQL.appendInOneStatement, statement.parameters)
        }
        return try decide(answer, of: statement)
    }

    /// `event_log_append`'s parameters for a batch computed against a presumed head, and the
    /// result the batch gets if the server finds that head.
    struct OneStatement {
        var parameters: [PostgresParameter]
        var result: AppendResult
    }

    /// Whether `events` keep the log's time order after `head`. The paths that compute against a
    /// presumed head (one statement, queued COPY) leave a batch that does not to the locked
    /// path, which names the event.
    static func timeStaysInOrder(_ events: some Sequence<LedgerEvent>, after head: LogHead) -> Bool {
        var previousTime = head.time
        for event in events {
            if let previousTime, event.time < previousTime { return false }
            previousTime = event.time
        }
        return true
    }

    /// Runs `validate` against a presumed head: false when it refuses (the presumed head may
    /// be stale, so refusals are decided under the lock); its database and corrupt-log errors
    /// are thrown.
    static func validatesAgainstPresumedHead(
        _ validate: Validation?, _ head: LogHead, _ events: [LedgerEvent]
    ) throws(AppendError) -> Bool {
        guard let validate else { return true }
        do throws(AppendError) { try validate(head, events) } catch {
            switch error {
            case .database, .corruptLog: throw error
            default: return false
            }
        }
        return true
    }

    /// The one-statement append's parameters (see `appendInOneStatement`); nil when the exact
    /// path must decide. Throws a plain connection error when the connection it is about to be
    /// sent on was found closed (nothing was written: the caller may retry on a fresh one).
    private func oneStatement(
        _ items: [EventToAppend], metadata: AppendMetadata, presumedHead head: LogHead,
        expectedPosition: Int64?, expectedStreamVersions: [String: Int64]?, validate: Validation?
    ) throws -> OneStatement? {
        if let expectedPosition, expectedPosition != head.position { return nil }
        let events = items.map(\.event)
        guard Set(events.map(\.id.rawValue)).count == events.count else { return nil }
        guard Self.timeStaysInOrder(events, after: head), try Self.validatesAgainstPresumedHead(validate, head, events) else { return nil }

        // The rows as one JSON array (jsonb_to_recordset): the canonical data object as is.
        var rows: [UInt8] = [UInt8(ascii: "[")]
        rows.reserveCapacity(512 * items.count)
        var position = head.position
        var hash = head.hash
        var appended: [(eventID: EventID, position: Int64)] = []
        appended.reserveCapacity(items.count)
        let sharedMetadata = Self.metadataJSON(metadata, client: [:])
        for (k, item) in items.enumerated() {
            let canonical = item.event.canonicalUTF8
            position += 1
            hash = HashChain.next(previous: hash, position: position, canonicalEvent: canonical)
            let layout = Self.canonicalLayout(canonical)
            if k > 0 { rows.append(UInt8(ascii: ",")) }
            rows.append(contentsOf: #"{"stream":"#.utf8)
            rows.append(contentsOf: JSONValue.string(item.event.stream).canonicalUTF8)
            rows.append(contentsOf: #","id":"#.utf8)
            rows.append(contentsOf: JSONValue.string(item.event.id.rawValue).canonicalUTF8)
            rows.append(contentsOf: #","type":"#.utf8)
            rows.append(contentsOf: JSONValue.string(item.event.type.rawValue).canonicalUTF8)
            rows.append(contentsOf: #","time":""#.utf8)
            rows.append(contentsOf: canonical[layout.time])
            rows.append(contentsOf: #"","data":"#.utf8)
            rows.append(contentsOf: canonical[layout.data])
            rows.append(contentsOf: #","metadata":"#.utf8)
            rows.append(
                contentsOf: (item.clientMetadata.isEmpty ? sharedMetadata : Self.metadataJSON(metadata, client: item.clientMetadata)).utf8)
            rows.append(contentsOf: #","hash":""#.utf8)
            Self.appendHex(hash, to: &rows)
            rows.append(contentsOf: #""}"#.utf8)
            appended.append((item.event.id, position))
        }
        rows.append(UInt8(ascii: "]"))
        let expected = (expectedStreamVersions ?? [:]).sorted { $0.key < $1.key }
        let last = events[events.count - 1].time
        let parameters: [PostgresParameter] = [
            head.position.postgresParameter, .bytea(head.hash), .text(String(decoding: rows, as: UTF8.self)),
            expectedStreamVersions == nil ? .text(nil) : PostgresTextArray(expected.map(\.key)).postgresParameter,
            expectedStreamVersions == nil ? .text(nil) : .text("{" + expected.map { String($0.value) }.joined(separator: ",") + "}"),
            position.postgresParameter, .bytea(hash), .text(last.rfc3339), .text(Self.notificationChannel),
        ]
        guard connection.isStillOpen else {
            throw PostgresError.connection("the connection was found closed before the append was sent; nothing was written")
        }
        return OneStatement(
            parameters: parameters,
            result: AppendResult(appended: appended, duplicates: [], head: LogHead(position: position, hash: hash, time: last)))
    }

    /// What `event_log_append` answered: the batch's result when it appended; nil when it wrote
    /// nothing and the exact path must decide (a head that moved, a stale expectation, an id
    /// already logged); throws the rest, a connection lost while it ran as `commitOutcomeUnknown`.
    private func decide(_ answer: Result<PostgresResult, PostgresError>, of statement: OneStatement) throws -> AppendResult? {
        let status: String
        switch answer.flatMap({ r in Result { () throws(PostgresError) in try r.string(0, 0) } }) {
        case .success(let s): status = s
        case .failure(let error):
            if error.isUniqueViolation { return nil }
            if error.isConnectionLoss { throw PostgresError.commitOutcomeUnknown(error.message) }
            throw error
        }
        switch status {
        case "appended":
            // Stream versions were assigned by the server: what this store remembers is stale.
            streamVersionCache = nil
            return statement.result
        case "head-moved", "stream-version-conflict":
            return nil
        default:
            throw PostgresError.protocol("event_log_append answered \(status)")
        }
    }

    // MARK: An append in flight

    /// A one-statement append sent and not yet answered (`sendAppend`, `receiveAppend`).
    public struct SentAppend {
        fileprivate let statement: OneStatement
        /// What the batch gets if the server finds the presumed head: its positions and the head
        /// after it (against which the next batch may be computed before this one commits).
        public var presumedResult: AppendResult { statement.result }
    }

    /// Sends `items` as one `event_log_append` computed against `presumedHead` — which may be a
    /// head not committed yet, the one an append still in flight on this connection will
    /// leave — and returns without waiting for the answer (`receiveAppend` reads it;
    /// `connection.socket` becomes readable as it arrives; `connection.answerProgress()` says
    /// `.complete` once it is whole).
    ///
    /// Why: while one commit flushes, the next is already queued on the connection, and the
    /// server runs it the moment the first commits, without waiting for a round trip
    /// (docs/EVENT-STORE.md, "The next commit queued behind the one in flight"). The server
    /// checks the presumed head under the lock as always: if the append before it did not
    /// commit, this one writes nothing and answers `head-moved`.
    ///
    /// Returns nil, having sent nothing, when the one-statement path cannot decide the batch
    /// (see `appendInOneStatement`) or the caller has a transaction open. Throws
    /// `validate`'s database and corrupt-log errors, and a plain connection error, having sent
    /// nothing, when the connection is found closed.
    public func sendAppend(
        _ items: [EventToAppend], metadata: AppendMetadata = AppendMetadata(), presumedHead head: LogHead,
        expectedStreamVersions: [String: Int64]? = nil, validate: Validation? = nil
    ) throws(AppendError) -> SentAppend? {
        // A statement in flight shows as a transaction under way; one of the caller's own may
        // not be open.
        guard !items.isEmpty, connection.pendingAnswers > 0 || !connection.isInTransaction else { return nil }
        do {
            guard
                let statement = try oneStatement(
                    items, metadata: metadata, presumedHead: head, expectedPosition: nil,
                    expectedStreamVersions: expectedStreamVersions, validate: validate)
            else { return nil }
            committedHead = nil // known again once the answer is read
            try connection.sendPrepared(StoreSQL.appendInOneStatement, statement.parameters)
            return SentAppend(statement: statement)
        } catch let error as AppendError {
            throw error
        } catch let error as PostgresError {
            committedHead = nil
            throw .database(error)
        } catch {
            throw .database(.protocol("\(error)"))
        }
    }

    /// The outcome of a `sendAppend`, waiting for it if need be: its result when it appended;
    /// nil when it wrote nothing because the exact path must decide (a head that moved — the
    /// append before it did not commit, or another writer appended —, a stale expectation, an
    /// id already logged). Throws the rest; a connection lost while it ran is
    /// `commitOutcomeUnknown`.
    public func receiveAppend(_ sent: SentAppend) throws(AppendError) -> AppendResult? {
        let answer: Result<PostgresResult, PostgresError> = Result { () throws(PostgresError) in try connection.receiveAnswer() }
        committedHead = nil
        do {
            let result = try decide(answer, of: sent.statement)
            committedHead = result?.head
            return result
        } catch let error as PostgresError {
            throw .database(error)
        } catch {
            throw .database(.protocol("\(error)"))
        }
    }

    /// The head this store presumes committed for its next one-statement append (nil: it takes
    /// the locked path first). A writer with appends on two connections tells each store the
    /// head the other committed; the server checks it (position and hash) all the same.
    public var presumedHead: LogHead? {
        get { committedHead }
        set { committedHead = newValue }
    }

    static func appendHex(_ bytes: [UInt8], to out: inout [UInt8]) {
        let digits: StaticString = "0123456789abcdef"
        for b in bytes {
            out.append(digits.utf8Start[Int(b >> 4)])
            out.append(digits.utf8Start[Int(b & 15)])
        }
    }

    /// `append` for plain events without client metadata.
    @discardableResult
    public func append(
        _ events: [LedgerEvent], metadata: AppendMetadata = AppendMetadata(),
        expectedPosition: Int64? = nil,
        expectedStreamVersions: [String: Int64]? = nil
    ) throws(AppendError) -> AppendResult {
        try append(
            events.map { EventToAppend($0) }, metadata: metadata, expectedPosition: expectedPosition,
            expectedStreamVersions: expectedStreamVersions, validate: nil)
    }

    private func appendLocked(
        _ items: [EventToAppend], metadata: AppendMetadata, expectedPosition: Int64?,
        expectedStreamVersions: [String: Int64]?, validate: Validation?
    ) throws -> AppendResult {
        let head = try Self.decodeHead(connection.query(StoreSQL.lockHead))
        lockedHead = head
        let canonical = items.map { $0.event.canonicalUTF8 }
        let ids = Set(items.map(\.event.id.rawValue))

        // Fast path: assume no event of the batch is in the log yet (the common case: new events,
        // bulk imports) and let the UNIQUE(event_id) index check that during the COPY, instead of
        // probing every id first. If the assumption fails (a duplicate, or an expectation that a
        // duplicate-only retry may legitimately miss), the savepoint is rolled back and the batch
        // goes through the exact path below.
        if ids.count == items.count {
            do {
                return try connection.transaction { _ in
                    try self.write(
                        head: head, items: items, fresh: Array(items.indices), duplicates: [], canonical: canonical,
                        metadata: metadata, expectedPosition: expectedPosition,
                        expectedStreamVersions: expectedStreamVersions, validate: validate)
                }
            } catch let error as PostgresError where error.isUniqueViolation {
                streamVersionCache = nil
            } catch AppendError.positionConflict, AppendError.streamVersionConflict, AppendError.timeWentBackwards {
            }
        }

        // Exact path: idempotency decided under the lock, so two appenders of one id cannot both pass.
        var duplicates: [(eventID: EventID, position: Int64)] = []
        var fresh: [Int] = [] // indices into items
        var firstInBatch: [String: Int] = [:]
        let existing = try existingEvents(ids: Array(ids))
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
        return try write(
            head: head, items: items, fresh: fresh, duplicates: duplicates, canonical: canonical,
            metadata: metadata, expectedPosition: expectedPosition,
            expectedStreamVersions: expectedStreamVersions, validate: validate)
    }

    /// Checks expectations and time order, writes `items[fresh]` at head+1… with one COPY, runs
    /// `validate`, and moves the head. Runs under the head lock.
    private func write(
        head: LogHead, items: [EventToAppend], fresh: [Int], duplicates: [(eventID: EventID, position: Int64)],
        canonical: [[UInt8]], metadata: AppendMetadata, expectedPosition: Int64?,
        expectedStreamVersions: [String: Int64]?, validate: Validation?
    ) throws -> AppendResult {
        if let expectedPosition, expectedPosition != head.position {
            throw AppendError.positionConflict(expected: expectedPosition, actual: head.position)
        }
        var previousTime = head.time
        var previousID: String? = nil // nil: the log's last event
        for i in fresh {
            let event = items[i].event
            if let previousTime, event.time < previousTime {
                throw AppendError.timeWentBackwards(
                    eventID: event.id.rawValue, time: event.time, previous: previousTime,
                    previousInBatch: previousID, headPosition: head.position)
            }
            previousTime = event.time
            previousID = event.id.rawValue
        }

        let streams = fresh.map { items[$0].event.stream }
        var versions = try currentStreamVersions(Set(streams).union((expectedStreamVersions ?? [:]).keys), head: head)
        for (stream, expected) in (expectedStreamVersions ?? [:]).sorted(by: { $0.key < $1.key }) {
            let actual = versions[stream] ?? 0
            if actual != expected { throw AppendError.streamVersionConflict(stream: stream, expected: expected, actual: actual) }
        }

        // Positions head+1…, hashes chained, all rows in one COPY.
        var position = head.position
        var hash = head.hash
        var appended: [(eventID: EventID, position: Int64)] = []
        appended.reserveCapacity(fresh.count)
        let sharedMetadata = Self.copyField(Self.metadataJSON(metadata, client: [:]))
        try connection.copyIn(StoreSQL.copyIn) { writer in
            var row: [UInt8] = []
            row.reserveCapacity(1024)
            for (k, i) in fresh.enumerated() {
                let item = items[i]
                position += 1
                hash = HashChain.next(previous: hash, position: position, canonicalEvent: canonical[i])
                let stream = streams[k]
                let version = (versions[stream] ?? 0) + 1
                versions[stream] = version
                row.removeAll(keepingCapacity: true)
                Self.appendCopyRow(
                    position: position, stream: stream, version: version, event: item.event,
                    canonical: canonical[i],
                    metadataField: item.clientMetadata.isEmpty
                        ? sharedMetadata : Self.copyField(Self.metadataJSON(metadata, client: item.clientMetadata)),
                    hash: hash, to: &row)
                try writer.write(row)
                appended.append((item.event.id, position))
            }
        }
        let newEvents = fresh.map { items[$0].event }
        if let validate { try validate(head, newEvents) }

        let last = newEvents[newEvents.count - 1].time
        try connection.query(
            StoreSQL.updateHeadAndNotify, binding: position, encodeByteaHex(hash), last.rfc3339,
            Self.notificationChannel)
        let newHead = LogHead(position: position, hash: hash, time: last)
        if versions.count > Self.streamVersionCacheLimit { versions = [:] }
        streamVersionCache = (newHead.position, newHead.hash, versions)
        return AppendResult(appended: appended, duplicates: duplicates, head: newHead)
    }

    /// Stream → version for `streams`. Versions of streams this store wrote or looked up are
    /// remembered, valid while the log head is exactly the one they were read at (position and
    /// hash): under the head lock nothing else can have moved them. Others are queried.
    private func currentStreamVersions(_ streams: Set<String>, head: LogHead) throws -> [String: Int64] {
        var known: [String: Int64] = [:]
        if let cache = streamVersionCache, cache.position == head.position, cache.hash == head.hash {
            known = cache.versions
        } else {
            streamVersionCache = nil
        }
        let missing = streams.filter { known[$0] == nil }
        if !missing.isEmpty {
            let rows = try connection.query(StoreSQL.streamVersions, binding: PostgresTextArray(Array(missing)))
                .decodeAll(as: String.self, Int64.self, statement: "log.stream_versions")
            for (stream, version) in rows { known[stream] = version }
        }
        return known
    }

    static let streamVersionCacheLimit = 1_000_000

    private func existingEvents(ids: [String]) throws -> [String: (position: Int64, canonical: [UInt8])] {
        let r = try connection.query(StoreSQL.existingIDs, binding: PostgresTextArray(ids))
        try r.expectColumns(5, statement: "log.existing_ids")
        var out: [String: (Int64, [UInt8])] = [:]
        for row in 0..<r.rowCount {
            let id = try r.string(row, 0)
            let position = try r.int64(row, 1)
            let data: JSONValue
            do { data = try JSONValue.parse(try r.string(row, 4)) } catch {
                throw AppendError.corruptLog(position: position, reason: "stored data is not JSON: \(error)")
            }
            let time = Timestamp(microsecondsSinceEpoch: try r.int64(row, 3))
            let canonical = JSONValue.object([
                "data": data, "id": .string(id), "time": .string(time.rfc3339),
                "type": .string(try r.string(row, 2)),
            ]).canonicalUTF8
            out[id] = (position, canonical)
        }
        return out
    }

    static func metadataJSON(_ metadata: AppendMetadata, client: [String: String]) -> String {
        var meta: [String: JSONValue] = ["appendedBy": .string(metadata.appendedBy)]
        if let c = metadata.correlationID { meta["correlationId"] = .string(c) }
        if let c = metadata.causationID { meta["causationId"] = .string(c) }
        if !client.isEmpty { meta["client"] = .object(client.mapValues { .string($0) }) }
        return JSONValue.object(meta).canonicalText
    }

    /// Where `data` and `time` sit inside a canonical event, so the COPY row can reuse those
    /// bytes instead of encoding them again. Keys are sorted, so the event starts with
    /// `{"data":`; the data object ends at the brace that closes it (strings skipped). `"time"`
    /// follows `"id"`, whose string escapes every quote, so the first `,"time":"` after the data
    /// is the key itself.
    static func canonicalLayout(_ canonical: [UInt8]) -> (data: Range<Int>, time: Range<Int>) {
        let prefix = Array(#"{"data":"#.utf8)
        precondition(canonical.starts(with: prefix), "a canonical event starts with its data")
        var depth = 0
        var inString = false
        var escaped = false
        var dataEnd = -1
        scan: for i in prefix.count..<canonical.count {
            let b = canonical[i]
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch b {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 {
                    dataEnd = i + 1
                    break scan
                }
            default: break
            }
        }
        precondition(dataEnd > 0, "unterminated data object in a canonical event")
        let key = Array(#","time":""#.utf8)
        var i = dataEnd
        while i + key.count <= canonical.count, !canonical[i..<(i + key.count)].elementsEqual(key) { i += 1 }
        precondition(i + key.count <= canonical.count, "a canonical event has a time")
        let timeStart = i + key.count
        var timeEnd = timeStart
        while canonical[timeEnd] != UInt8(ascii: "\"") { timeEnd += 1 }
        return (prefix.count..<dataEnd, timeStart..<timeEnd)
    }

    /// A text value as a field of COPY's text format (escaped once, for a value every row of a
    /// batch shares).
    static func copyField(_ value: String) -> [UInt8] {
        var out: [UInt8] = []
        appendCopyTextField(value, to: &out)
        return out
    }

    /// One row of `log.copy_in` in COPY text format; `metadataField` is the metadata JSON
    /// already escaped (`copyField`).
    static func appendCopyRow(
        position: Int64, stream: String, version: Int64, event: LedgerEvent, canonical: [UInt8],
        metadataField: [UInt8], hash: [UInt8], to row: inout [UInt8]
    ) {
        let tab = UInt8(ascii: "\t")
        row.append(contentsOf: String(position).utf8)
        row.append(tab)
        appendCopyTextField(stream, to: &row)
        row.append(tab)
        row.append(contentsOf: String(version).utf8)
        row.append(tab)
        appendCopyTextField(event.id.rawValue, to: &row)
        row.append(tab)
        row.append(contentsOf: event.type.rawValue.utf8)
        row.append(tab)
        let layout = canonicalLayout(canonical)
        row.append(contentsOf: canonical[layout.time])
        row.append(tab)
        appendCopyTextField(bytes: canonical[layout.data], to: &row)
        row.append(tab)
        row.append(contentsOf: metadataField)
        row.append(tab)
        // bytea hex input `\x…`, its backslash doubled for COPY.
        row.append(UInt8(ascii: "\\"))
        row.append(UInt8(ascii: "\\"))
        row.append(UInt8(ascii: "x"))
        let digits: StaticString = "0123456789abcdef"
        for b in hash {
            row.append(digits.utf8Start[Int(b >> 4)])
            row.append(digits.utf8Start[Int(b & 15)])
        }
        row.append(UInt8(ascii: "\n"))
    }

    static func decodeHead(_ r: PostgresResult) throws(PostgresError) -> LogHead {
        guard r.rowCount == 1 else { throw .protocol("event_log_head must hold exactly one row, has \(r.rowCount)") }
        let (position, hash, time) = try r.decode(row: 0, as: Int64.self, [UInt8].self, Int64?.self, statement: "head.read")
        return LogHead(position: position, hash: hash, time: time.map { Timestamp(microsecondsSinceEpoch: $0) })
    }
}
