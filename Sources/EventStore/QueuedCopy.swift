import LedgerEvents
import PostgresClient

/// Appends of many batches inside the caller's transaction, each batch one COPY whose rows are
/// computed before it is sent and whose outcome is read later (the importer's path).
///
/// Why: with one blocking COPY per batch the client and the server took turns — the client
/// computed a batch's hash chain and rows while the server waited for them, then waited while
/// the server inserted them — and on two cores the server stood idle about a third of an
/// import. Here the rows of batch k+1 are computed (against the head batch k will leave) while
/// the server inserts batch k, and sent the moment it has (docs/EVENT-STORE.md, "Import").
///
/// The exact path stays the judge: whenever this path cannot decide a batch (an id already in
/// the log or twice in the batch, a time going backwards, a refusal by `validate`, a stream
/// version it would have to look up while a COPY is queued) it writes nothing of it, and the
/// caller appends that batch with `append`, which decides it under the lock as always.
extension EventStore {
    /// A batch whose rows were computed against a presumed head, not yet sent.
    public struct PreparedCopy {
        /// The rows of `log.copy_in_binary`, in COPY binary format (header and trailer included).
        let rows: [UInt8]
        /// Stream versions after the batch (what the next batch is computed against).
        let versionsAfter: [String: Int64]
        /// The head the batch was computed against.
        public let base: LogHead
        /// What the batch gets if it is written.
        public let result: AppendResult
        /// The time of its last event (the head's time after it).
        let lastTime: Timestamp
    }

    /// A prepared batch sent as a COPY under a savepoint, its outcome not yet read.
    public struct QueuedCopy {
        let prepared: PreparedCopy
        let savepoint: String
    }

    /// Locks the head for the rest of the caller's transaction and returns it: the batches that
    /// follow are computed against it and the heads they leave, which nothing else can move.
    public func lockHeadInTransaction() throws(AppendError) -> LogHead {
        precondition(connection.isInTransaction, "the head is locked until the caller's transaction ends")
        committedHead = nil // inside a transaction nothing is committed yet
        do { return try Self.decodeHead(connection.query(StoreSQL.lockHead)) } catch { throw .database(error) }
    }

    /// The rows of `items` at `head`+1… with the hash chain continued from `head`, the stream
    /// versions continued from `versions` (the previous prepared batch's), or from what this
    /// store knows at `head`, and `validate` run on them. Nil when this path cannot decide the
    /// batch (see the extension's documentation); throws `validate`'s database and corrupt-log
    /// errors and those of a stream-version lookup.
    ///
    /// While a COPY is queued, the rows are interleaved with sending more of it.
    public func prepareCopy(
        _ items: [EventToAppend], metadata: AppendMetadata, after head: LogHead,
        versions known: [String: Int64]? = nil, validate: Validation? = nil
    ) throws(AppendError) -> PreparedCopy? {
        guard !items.isEmpty, Self.timeStaysInOrder(items.lazy.map(\.event), after: head) else { return nil }
        var versions: [String: Int64]
        if let known {
            versions = known
        } else if let cache = streamVersionCache, cache.position == head.position, cache.hash == head.hash {
            versions = cache.versions
        } else {
            versions = [:]
        }
        var missing: Set<String> = []
        for item in items where versions[item.event.stream] == nil { missing.insert(item.event.stream) }
        if !missing.isEmpty {
            if connection.copyQueued { return nil }
            do {
                let rows = try connection.query(StoreSQL.streamVersions, binding: PostgresTextArray(Array(missing)))
                    .decodeAll(as: String.self, Int64.self, statement: "log.stream_versions")
                for (stream, version) in rows { versions[stream] = version }
            } catch { throw .database(error) }
        }
        guard try Self.validatesAgainstPresumedHead(validate, head, items.map(\.event)) else { return nil }

        // Ids twice in the batch or already in the log are left to the unique index: the COPY
        // then fails, and the caller has the exact path decide the batch.
        var rows: [UInt8] = Self.binaryCopyHeader
        rows.reserveCapacity(items.count * 400)
        var position = head.position
        var hash = head.hash
        var appended: [(eventID: EventID, position: Int64)] = []
        appended.reserveCapacity(items.count)
        let sharedMetadata = Array(Self.metadataJSON(metadata, client: [:]).utf8)
        for (k, item) in items.enumerated() {
            let canonical = item.event.canonicalUTF8
            position += 1
            hash = HashChain.next(previous: hash, position: position, canonicalEvent: canonical)
            let stream = item.event.stream
            let version = versions[stream, default: 0] + 1
            versions[stream] = version
            Self.appendBinaryCopyRow(
                position: position, stream: stream, version: version, event: item.event, canonical: canonical,
                metadata: item.clientMetadata.isEmpty
                    ? sharedMetadata : Array(Self.metadataJSON(metadata, client: item.clientMetadata).utf8),
                hash: hash, to: &rows)
            appended.append((item.event.id, position))
            if k & 255 == 255 { connection.pushQueuedCopy() }
        }
        rows.append(contentsOf: [0xFF, 0xFF]) // the trailer: a field count of -1
        if versions.count > Self.streamVersionCacheLimit { versions = [:] }
        let last = items[items.count - 1].event.time
        return PreparedCopy(
            rows: rows, versionsAfter: versions, base: head,
            result: AppendResult(
                appended: appended, duplicates: [], head: LogHead(position: position, hash: hash, time: last)),
            lastTime: last)
    }

    /// Sends a prepared batch as one COPY under a savepoint and returns without waiting for
    /// the server (`receiveCopy` reads the outcome). Its head must be the one the batch queued
    /// before it leaves, or the locked head when none is queued.
    public func sendCopy(_ prepared: PreparedCopy) throws(AppendError) -> QueuedCopy {
        do throws(PostgresError) {
            let savepoint = try connection.savepoint()
            do throws(PostgresError) { try connection.sendQueuedCopy(StoreSQL.copyInBinary, data: prepared.rows) } catch {
                _ = try? connection.rollbackToSavepoint(savepoint)
                throw error
            }
            return QueuedCopy(prepared: prepared, savepoint: savepoint)
        } catch { throw .database(error) }
    }

    /// The outcome of a queued batch: written (the head moved past it, the savepoint released),
    /// or nil when an id of it is already in the log or twice in it (rolled back to the
    /// savepoint: nothing of it is written, and the caller appends it with `append`). Throws
    /// the rest.
    public func receiveCopy(_ queued: QueuedCopy) throws(AppendError) -> AppendResult? {
        let head = queued.prepared.result.head
        do throws(PostgresError) {
            do throws(PostgresError) { try connection.receiveQueuedCopy() } catch {
                _ = try? connection.rollbackToSavepoint(queued.savepoint)
                if error.isUniqueViolation { return nil }
                throw error
            }
            try connection.query(
                StoreSQL.updateHeadAndNotify, binding: head.position, encodeByteaHex(head.hash), queued.prepared.lastTime.rfc3339,
                Self.notificationChannel)
            try connection.releaseSavepoint(queued.savepoint)
        } catch { throw .database(error) }
        streamVersionCache = (head.position, head.hash, queued.prepared.versionsAfter)
        return queued.prepared.result
    }

    /// COPY binary format's signature, flags (none) and header extension length (0).
    static let binaryCopyHeader: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00] + [UInt8](repeating: 0, count: 8)

    /// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01T00:00:00Z), the origin of a
    /// binary timestamptz.
    static let postgresEpochMicroseconds: Int64 = 946_684_800_000_000

    /// One row of `log.copy_in_binary`: nine fields, each its length and its bytes. Nothing is
    /// escaped and the server parses no numbers, time or hex; `data` is the canonical event's
    /// data object as it is, `metadata` its JSON (jsonb's binary form is a version byte, 1,
    /// then the JSON text).
    static func appendBinaryCopyRow(
        position: Int64, stream: String, version: Int64, event: LedgerEvent, canonical: [UInt8],
        metadata: [UInt8], hash: [UInt8], to row: inout [UInt8]
    ) {
        func int16(_ v: Int16) {
            row.append(UInt8(truncatingIfNeeded: v >> 8))
            row.append(UInt8(truncatingIfNeeded: v))
        }
        func int32(_ v: Int32) {
            withUnsafeBytes(of: v.bigEndian) { row.append(contentsOf: $0) }
        }
        func int64Field(_ v: Int64) {
            int32(8)
            withUnsafeBytes(of: v.bigEndian) { row.append(contentsOf: $0) }
        }
        func textField(_ s: String) {
            var s = s
            s.withUTF8 { utf8 in
                int32(Int32(utf8.count))
                row.append(contentsOf: utf8)
            }
        }
        func jsonbField(_ json: ArraySlice<UInt8>) {
            int32(Int32(json.count + 1))
            row.append(1)
            row.append(contentsOf: json)
        }
        int16(9)
        int64Field(position)
        textField(stream)
        int64Field(version)
        textField(event.id.rawValue)
        textField(event.type.rawValue)
        int64Field(event.time.microsecondsSinceEpoch - postgresEpochMicroseconds)
        jsonbField(canonical[canonicalLayout(canonical).data])
        jsonbField(metadata[...])
        int32(Int32(hash.count))
        row.append(contentsOf: hash)
    }
}
