import CLibPQ

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One libpq connection in blocking mode.
///
/// Threading model: a `PostgresConnection` is a plain, non-`Sendable` class. libpq allows a
/// `PGconn` to be used from any thread but never from two at once, so one connection belongs
/// to one thread (or one serial queue) at a time. Every call blocks the calling thread until
/// the server answers; from Swift concurrency use `AsyncPostgresConnection`, which runs the
/// blocking calls on a dedicated thread instead of a cooperative-pool thread.
public final class PostgresConnection {
    let handle: OpaquePointer

    /// Sends cancel requests for the statement running on `handle` (thread-safe, see `cancel()`).
    private let cancelHandle: OpaquePointer?
    /// What this session was set up with.
    public let settings: SessionSettings

    /// Opens a connection from a `postgresql://` URL (multi-host ones included:
    /// `postgresql://h1:p1,h2:p2/db?target_session_attrs=read-write` reaches whichever host
    /// answers and is primary) or a libpq `key=value` conninfo string, and applies `settings`.
    /// `database`, when given, replaces the database named in `url`.
    public init(url: String, database: String? = nil, settings: SessionSettings = SessionSettings()) throws(PostgresError) {
        // PQconnectdbParams with expand_dbname: keywords before the first "dbname" are defaults
        // the URL may override; the URL's own fields come next; a later "dbname" is a plain
        // database name, and later keywords override the URL.
        var keywords: [String] = []
        var values: [String] = []
        for (k, v) in settings.connectionDefaults {
            keywords.append(k)
            values.append(v)
        }
        keywords.append("dbname")
        values.append(url)
        if let database {
            keywords.append("dbname")
            values.append(database)
        }
        keywords.append("application_name")
        values.append(settings.applicationName)
        let conn: OpaquePointer? = withCStringArray(keywords) { k in
            withCStringArray(values) { v in PQconnectdbParams(k, v, 1) }
        }
        guard let conn else { throw .connection("libpq could not allocate a connection") }
        guard PQstatus(conn) == CONNECTION_OK else {
            let message = PostgresError.connectionMessage(conn)
            PQfinish(conn)
            throw .connection(message)
        }
        handle = conn
        cancelHandle = PQgetCancel(conn)
        self.settings = settings
        // Notices (e.g. "relation already exists, skipping") would otherwise go to stderr.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        let parameters = settings.sessionParameters(serverVersion: Int(PQserverVersion(conn)))
        if !parameters.isEmpty {
            let calls = parameters.indices.map { "set_config($\($0 * 2 + 1), $\($0 * 2 + 2), false)" }
            try query("SELECT " + calls.joined(separator: ", "), parameters.flatMap { [$0.0, $0.1] })
        }
    }

    deinit {
        if let cancelHandle { PQfreeCancel(cancelHandle) }
        if let collectedAnswer { PQclear(collectedAnswer) }
        PQfinish(handle)
    }

    /// True while the connection is usable.
    public var isOK: Bool { PQstatus(handle) == CONNECTION_OK }
    /// The backend's process id (for `pg_terminate_backend`, logs).
    public var backendPID: Int32 { PQbackendPID(handle) }
    /// e.g. 150018 for 15.18.
    public var serverVersion: Int { Int(PQserverVersion(handle)) }
    /// True inside BEGIN … COMMIT (idle-in-transaction, active or failed).
    public var isInTransaction: Bool {
        let s = PQtransactionStatus(handle)
        return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE
    }

    // MARK: Statements

    /// Runs one statement with parameters passed out of band in text format (`$1`, `$2`, …):
    /// values never become part of the SQL text. `nil` is SQL NULL.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> PostgresResult {
        let raw: OpaquePointer? = withOptionalCStringArray(parameters) { values in
            PQexecParams(handle, sql, Int32(parameters.count), nil, values, nil, nil, 0)
        }
        return try checkResult(raw, expecting: [PGRES_COMMAND_OK, PGRES_TUPLES_OK])
    }

    /// Runs `sql` with parameters that may be `bytea` values sent in binary (`$1`, `$2`, … in
    /// order), and with `binaryResults` every result column in binary (for `bytea` and text
    /// columns: `PostgresResult` reads no other type in binary).
    ///
    /// Why: a large value (a writer checkpoint: a hundred MB or more) in hex text is twice its size on the
    /// wire and is encoded by one side and decoded by the other; in binary it is copied once each
    /// way.
    public func query(
        _ sql: String, _ parameters: [PostgresParameter],
        binaryResults: Bool = false
    ) throws(PostgresError) -> PostgresResult {
        try run(parameters) { count, values, lengths, formats in
            PQexecParams(handle, sql, count, nil, values, lengths, formats, binaryResults ? 1 : 0)
        }
    }

    /// Runs `sql` as a statement prepared on this connection: prepared (parsed and analysed)
    /// on first use, then only bound and executed, under a name of this connection's own.
    ///
    /// Why: a statement sent as text is parsed and planned again every time; for a small
    /// statement run per request (the one-statement append) that is a good part of the
    /// server's work. Parameters as in `query(_:_:binaryResults:)`.
    public func queryPrepared(_ sql: String, _ parameters: [PostgresParameter]) throws(PostgresError) -> PostgresResult {
        let name = try preparedName(sql, parameterCount: parameters.count)
        return try run(parameters) { count, values, lengths, formats in
            PQexecPrepared(handle, name, count, values, lengths, formats, 0)
        }
    }

    /// SQL text → the name it is prepared under on this connection.
    private var preparedStatements: [String: String] = [:]

    // MARK: Statements in flight (pipeline mode)

    /// Sends `sql` as a prepared statement (as `queryPrepared`), followed by a Sync, and returns
    /// without waiting for its answer, which `receiveAnswer()` reads. More statements may be
    /// sent before the first is answered: they queue on the connection (libpq's pipeline
    /// mode) and the server runs each as its own implicit transaction, the next the moment the
    /// one before it has committed. Answers are read in the order the statements were sent.
    /// Until every answer is read nothing but `sendPrepared` may be used on this connection.
    /// `socket` becomes readable when an answer (or the end of the connection) arrives, so one
    /// thread can wait for it and for other work at once (`poll`).
    ///
    /// Why: the appender sends the next commit while the one before it is still flushing, so
    /// that the server has it at hand when that one commits (docs/EVENT-STORE.md).
    ///
    /// Throws, having sent nothing the server will run, when the statement cannot be sent (a
    /// connection lost), or when it is not yet prepared here while answers are pending.
    public func sendPrepared(_ sql: String, _ parameters: [PostgresParameter]) throws(PostgresError) {
        let name: String
        if let known = preparedStatements[sql] {
            name = known
        } else {
            guard pendingAnswers == 0 else { throw .protocol("a statement cannot be prepared while answers are pending") }
            name = try preparedName(sql, parameterCount: parameters.count)
        }
        if PQpipelineStatus(handle) == PQ_PIPELINE_OFF {
            guard PQenterPipelineMode(handle) == 1 else { throw .connection(PostgresError.connectionMessage(handle)) }
        }
        let sent = bindParameters(parameters) { count, values, lengths, formats in
            PQsendQueryPrepared(handle, name, count, values, lengths, formats, 0)
        }
        // Without its Sync the statement neither commits nor runs to its end: nothing is
        // written if the Sync cannot be sent.
        guard sent == 1, PQpipelineSync(handle) == 1 else {
            if pendingAnswers == 0 { _ = PQexitPipelineMode(handle) }
            throw .connection(PostgresError.connectionMessage(handle))
        }
        pendingAnswers += 1
    }

    /// Statements sent by `sendPrepared` whose answers are not read yet.
    public private(set) var pendingAnswers = 0

    /// The connection's socket (-1 when closed), to `poll` for the answer of `sendPrepared`.
    public var socket: Int32 { PQsocket(handle) }

    /// How far the answer of the first statement pending has arrived.
    public enum AnswerProgress: Sendable {
        /// Nothing yet: the statement runs (or waits on a lock).
        case waiting
        /// Its result, not yet the end of its transaction: it commits.
        case resultArrived
        /// Whole (or the connection is gone): `receiveAnswer` returns without waiting.
        case complete
    }

    /// How far the answer of the first statement pending has arrived: reads what the socket
    /// holds, never waits.
    ///
    /// Complete means its result and the end of its transaction (its Sync): the statement
    /// commits after its result was sent, and a commit that fails (a backend ended during
    /// COMMIT, a deferred constraint) sends its error after that result.
    public func answerProgress() -> AnswerProgress {
        precondition(pendingAnswers > 0)
        if firstAnswerComplete { return .complete }
        guard PQconsumeInput(handle) == 1 else { return .complete }
        var nulls = 0
        while PQisBusy(handle) == 0 {
            guard let r = PQgetResult(handle) else {
                // One NULL ends the statement's results (its Sync follows); a second in a row
                // only comes from a connection that is gone.
                nulls += 1
                if nulls >= 2 || PQstatus(handle) != CONNECTION_OK { return .complete }
                continue
            }
            nulls = 0
            if PQresultStatus(r) == PGRES_PIPELINE_SYNC {
                PQclear(r)
                firstAnswerComplete = true
                return .complete
            }
            keepAnswer(r)
        }
        return collectedAnswer == nil ? .waiting : .resultArrived
    }

    /// The answer of the first statement pending, waiting for it if need be (libpq's blocking
    /// read: bounded by the session's statement timeout and its TCP keepalives and
    /// `tcp_user_timeout`, as every other statement). As `PQexec` does, an error anywhere in
    /// its transaction (its COMMIT's included) is the answer.
    public func receiveAnswer() throws(PostgresError) -> PostgresResult {
        precondition(pendingAnswers > 0)
        var nulls = 0
        while !firstAnswerComplete {
            guard let r = PQgetResult(handle) else {
                nulls += 1
                if nulls >= 2 || PQstatus(handle) != CONNECTION_OK { break }
                continue
            }
            nulls = 0
            if PQresultStatus(r) == PGRES_PIPELINE_SYNC {
                PQclear(r)
                break
            }
            keepAnswer(r)
        }
        let answer = collectedAnswer
        collectedAnswer = nil
        firstAnswerComplete = false
        pendingAnswers -= 1
        if pendingAnswers == 0, PQpipelineStatus(handle) != PQ_PIPELINE_OFF { _ = PQexitPipelineMode(handle) }
        return try checkResult(answer, expecting: [PGRES_COMMAND_OK, PGRES_TUPLES_OK])
    }

    /// Keeps the last result of the statement being read, an error in preference to anything.
    private func keepAnswer(_ r: OpaquePointer) {
        if let kept = collectedAnswer {
            let status = PQresultStatus(kept)
            if status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE {
                PQclear(r)
                return
            }
            PQclear(kept)
        }
        collectedAnswer = r
    }

    /// The first statement pending has been read to its Sync (by `answerProgress`).
    private var firstAnswerComplete = false
    /// Its result so far (see `keepAnswer`).
    private var collectedAnswer: OpaquePointer?

    /// The name `sql` is prepared under on this connection, preparing it on first use.
    private func preparedName(_ sql: String, parameterCount: Int) throws(PostgresError) -> String {
        if let known = preparedStatements[sql] { return known }
        let name = "stratos_prepared_\(preparedStatements.count + 1)"
        let raw = PQprepare(handle, name, sql, Int32(parameterCount), nil)
        _ = try checkResult(raw, expecting: [PGRES_COMMAND_OK])
        preparedStatements[sql] = name
        return name
    }

    /// Whether the connection is still open, found without sending anything: reads what the
    /// server may have sent meanwhile (a backend terminated while idle sends its FATAL error
    /// and closes the socket), without waiting.
    ///
    /// Why: a statement that commits by itself (outside BEGIN … COMMIT) leaves its outcome
    /// unknown when its connection is lost while it runs. A connection found closed before the
    /// statement is sent has written nothing, and the caller may simply retry on a fresh one.
    public var isStillOpen: Bool {
        // One read takes what the server sent (its FATAL error); only the next one sees the
        // end of the stream. On an open connection each is one recv() that finds nothing.
        for _ in 0..<2 where PQstatus(handle) == CONNECTION_OK { _ = PQconsumeInput(handle) }
        return PQstatus(handle) == CONNECTION_OK
    }

    /// Binds `parameters` (each value pinned while `exec` runs) and checks the result.
    private func run(
        _ parameters: [PostgresParameter],
        _ exec: (Int32, [UnsafePointer<CChar>?], [Int32], [Int32]) -> OpaquePointer?
    ) throws(PostgresError) -> PostgresResult {
        try checkResult(bindParameters(parameters, exec), expecting: [PGRES_COMMAND_OK, PGRES_TUPLES_OK])
    }

    /// Calls `exec` with `parameters` as libpq's arrays, each value pinned while it runs.
    private func bindParameters<R>(
        _ parameters: [PostgresParameter],
        _ exec: (Int32, [UnsafePointer<CChar>?], [Int32], [Int32]) -> R
    ) -> R {
        let count = parameters.count
        var values: [UnsafePointer<CChar>?] = []
        var lengths: [Int32] = []
        var formats: [Int32] = []
        values.reserveCapacity(count)
        lengths.reserveCapacity(count)
        formats.reserveCapacity(count)
        // Each value is pinned by the closure that appends it, for as long as the calls nested
        // in it (the rest of the values, then PQexecParams) run.
        func bind(_ i: Int) -> R {
            guard i < count else { return exec(Int32(count), values, lengths, formats) }
            switch parameters[i] {
            case .text(nil):
                values.append(nil)
                lengths.append(0)
                formats.append(0)
                return bind(i + 1)
            case .text(let text?):
                return text.withCString { c in
                    values.append(c)
                    lengths.append(0)
                    formats.append(0)
                    return bind(i + 1)
                }
            case .bytea(let bytes):
                // libpq needs an address even for an empty value.
                return (bytes.isEmpty ? [0] : bytes).withUnsafeBufferPointer { buffer in
                    values.append(UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self))
                    lengths.append(Int32(bytes.count))
                    formats.append(1)
                    return bind(i + 1)
                }
            }
        }
        return bind(0)
    }

    /// Runs a parameter-less script, which may hold several statements (migrations).
    /// A script without its own BEGIN/COMMIT runs as one implicit transaction.
    @discardableResult
    public func execute(_ sql: String) throws(PostgresError) -> PostgresResult {
        try checkResult(PQexec(handle, sql), expecting: [PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY])
    }

    public enum IsolationLevel: String, Sendable {
        case readCommitted = "READ COMMITTED"
        case repeatableRead = "REPEATABLE READ"
        case serializable = "SERIALIZABLE"
    }

    /// Runs `body` inside BEGIN … COMMIT; any error thrown by `body` (or by COMMIT) rolls the
    /// transaction back and is rethrown unchanged. Nested calls use a SAVEPOINT.
    public func transaction<T>(
        isolation: IsolationLevel? = nil, readOnly: Bool = false,
        _ body: (PostgresConnection) throws -> T
    ) throws -> T {
        if isInTransaction {
            let name = "stratos_sp_\(savepointCounter)"
            savepointCounter += 1
            try execute("SAVEPOINT \(name)")
            do {
                let value = try body(self)
                try execute("RELEASE SAVEPOINT \(name)")
                return value
            } catch {
                _ = try? execute("ROLLBACK TO SAVEPOINT \(name)")
                throw error
            }
        }
        try execute((isolation.map { "BEGIN ISOLATION LEVEL \($0.rawValue)" } ?? "BEGIN") + (readOnly ? " READ ONLY" : ""))
        let value: T
        do {
            value = try body(self)
        } catch {
            if isInTransaction { _ = try? execute("ROLLBACK") }
            throw error
        }
        try commit()
        return value
    }

    /// COMMIT. A connection lost while COMMIT was under way leaves its outcome unknown: the
    /// server may have committed before it went away. That is `commitOutcomeUnknown`, never a
    /// plain connection error, so that no caller retries it as if nothing had been written.
    public func commit() throws(PostgresError) {
        do {
            try execute("COMMIT")
        } catch {
            if error.isConnectionLoss { throw .commitOutcomeUnknown(error.message) }
            if isInTransaction { _ = try? execute("ROLLBACK") }
            throw error
        }
    }
    private var savepointCounter = 0

    /// Whether a COPY sent by `sendQueuedCopy` awaits `receiveQueuedCopy` (the connection can
    /// run nothing else meanwhile).
    public internal(set) var copyQueued = false

    /// Opens a savepoint inside the caller's transaction and returns its name, for a step whose
    /// outcome is read later than the closure of `transaction` would allow (a queued COPY).
    public func savepoint() throws(PostgresError) -> String {
        precondition(isInTransaction, "a savepoint needs a transaction")
        let name = "stratos_sp_\(savepointCounter)"
        savepointCounter += 1
        try execute("SAVEPOINT \(name)")
        return name
    }

    /// Keeps what was done since `savepoint()` (it becomes part of the enclosing transaction).
    public func releaseSavepoint(_ name: String) throws(PostgresError) {
        try execute("RELEASE SAVEPOINT \(name)")
    }

    /// Undoes what was done since `savepoint()` and closes it; the enclosing transaction goes on.
    public func rollbackToSavepoint(_ name: String) throws(PostgresError) {
        try execute("ROLLBACK TO SAVEPOINT \(name)")
        try execute("RELEASE SAVEPOINT \(name)")
    }

    /// Sets a session parameter (`set_config(name, value, false)`), e.g. a longer
    /// `statement_timeout` for one long export; `withSessionParameter` restores it after.
    public func setSessionParameter(_ name: String, _ value: String) throws(PostgresError) {
        try query("SELECT set_config($1, $2, false)", [name, value])
    }

    /// Runs `body` with session parameter `name` set to `value`, then back to what it was.
    /// Inside a transaction the setting is local to it (`set_config(…, true)`) and ends with it.
    public func withSessionParameter<T>(_ name: String, _ value: String, _ body: () throws -> T) throws -> T {
        if isInTransaction {
            try query("SELECT set_config($1, $2, true)", [name, value])
            return try body()
        }
        let previous = try query("SELECT current_setting($1)", [name]).string(0, 0)
        try setSessionParameter(name, value)
        defer { if isOK && !isInTransaction { try? setSessionParameter(name, previous) } }
        return try body()
    }

    // MARK: Identifiers

    /// Quotes an identifier (schema, table, database, channel name) with `PQescapeIdentifier`,
    /// for the few statements that cannot take a parameter there (CREATE DATABASE, LISTEN).
    /// Never use it for values: values go in parameters.
    public func escapeIdentifier(_ identifier: String) throws(PostgresError) -> String {
        let utf8 = Array(identifier.utf8)
        let escaped = utf8.withUnsafeBufferPointer { buf in
            buf.withMemoryRebound(to: CChar.self) { PQescapeIdentifier(handle, $0.baseAddress, $0.count) }
        }
        guard let escaped else { throw .protocol("cannot escape identifier: \(PostgresError.connectionMessage(handle))") }
        defer { PQfreemem(escaped) }
        return String(cString: escaped)
    }

    // MARK: Cancel

    /// Asks the server to cancel the statement running on this connection, if any. Safe to call
    /// from any thread while another thread waits in a call on this connection (libpq's
    /// `PQcancel` opens a separate connection for the request): that call then fails with
    /// 57014 (`isQueryCanceled`) and an open transaction is left in the failed state, to be
    /// rolled back. Returns false when the request could not be sent.
    @discardableResult
    public func cancel() -> Bool {
        guard let cancelHandle else { return false }
        var buffer = [CChar](repeating: 0, count: 256)
        return PQcancel(cancelHandle, &buffer, Int32(buffer.count)) == 1
    }

    // MARK: Internals

    /// Statements (and COPY starts) this connection has sent and had answered: each is a round
    /// trip to the server. For profiles and for the tests that pin an append's round trips.
    public private(set) var roundTrips = 0

    func checkResult(_ raw: OpaquePointer?, expecting: [ExecStatusType]) throws(PostgresError) -> PostgresResult {
        roundTrips += 1
        guard let raw else { throw .connection(PostgresError.connectionMessage(handle)) }
        let status = PQresultStatus(raw)
        if expecting.contains(status) { return PostgresResult(handle: raw) }
        defer { PQclear(raw) }
        if status == PGRES_FATAL_ERROR || status == PGRES_NONFATAL_ERROR || status == PGRES_BAD_RESPONSE {
            throw PostgresError.from(result: raw, connection: handle)
        }
        let got = String(cString: PQresStatus(status))
        // A COPY started where none was expected: leave the connection usable.
        if status == PGRES_COPY_IN {
            _ = PQputCopyEnd(handle, "unexpected COPY")
            drainResults()
        }
        if status == PGRES_COPY_OUT {
            cancel()
            drainCopyOut()
            drainResults()
        }
        throw .protocol("unexpected result status \(got)")
    }

    /// Reads and discards results until libpq has none left (ends a command cleanly).
    func drainResults() {
        while let r = PQgetResult(handle) { PQclear(r) }
    }

    func drainCopyOut() {
        var buffer: UnsafeMutablePointer<CChar>?
        while true {
            let n = PQgetCopyData(handle, &buffer, 0)
            if let b = buffer {
                PQfreemem(b)
                buffer = nil
            }
            if n < 0 { break }
        }
    }
}

/// Builds a `postgresql://` URL or conninfo pointing at another database of the same server.
public func connectionString(_ url: String, replacingDatabaseWith database: String) -> String {
    for scheme in ["postgresql://", "postgres://"] where url.hasPrefix(scheme) {
        let rest = url.dropFirst(scheme.count)
        let queryStart = rest.firstIndex(of: "?") ?? rest.endIndex
        let authorityEnd = rest[..<queryStart].firstIndex(of: "/") ?? queryStart
        let encoded = database.utf8.map { b -> String in
            let c = Character(Unicode.Scalar(b))
            return (c.isLetter || c.isNumber || "-_.~".contains(c)) && b < 0x80
                ? String(c) : "%" + String(b, radix: 16, uppercase: true).leftPadded(2)
        }.joined()
        return scheme + rest[..<authorityEnd] + "/" + encoded + rest[queryStart...]
    }
    var quoted = ""
    for c in database {
        if c == "\\" || c == "'" { quoted.append("\\") }
        quoted.append(c)
    }
    return url + " dbname='\(quoted)'"
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

// MARK: C string arrays

func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    var pointers: [UnsafePointer<CChar>?] = copies.map { UnsafePointer($0) }
    pointers.append(nil)
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

func withOptionalCStringArray<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    if strings.isEmpty { return body(nil) }
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0) } ?? nil }
    defer { copies.forEach { free($0) } }
    let pointers: [UnsafePointer<CChar>?] = copies.map { UnsafePointer($0) }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// A query parameter: text (the type's input form; nil is NULL) or a `bytea` value in binary.
public enum PostgresParameter: Sendable {
    case text(String?)
    case bytea([UInt8])
}
