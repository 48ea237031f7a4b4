import CLibPQ

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Streams rows into a `COPY … FROM STDIN`. Bytes are gathered into a 64 KiB buffer and handed
/// to libpq (`PQputCopyData`) a buffer at a time, so writing one short row costs no library call.
public final class CopyWriter {
    let connection: PostgresConnection
    var buffer: [UInt8] = []
    static let flushThreshold = 64 * 1024
    public private(set) var bytesWritten: Int64 = 0

    init(connection: PostgresConnection) {
        self.connection = connection
        buffer.reserveCapacity(Self.flushThreshold + 4096)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws(PostgresError) {
        buffer.append(contentsOf: bytes)
        bytesWritten += Int64(bytes.count)
        if buffer.count >= Self.flushThreshold { try flush() }
    }
    public func write(_ bytes: [UInt8]) throws(PostgresError) {
        buffer.append(contentsOf: bytes)
        bytesWritten += Int64(bytes.count)
        if buffer.count >= Self.flushThreshold { try flush() }
    }
    public func write(_ text: String) throws(PostgresError) {
        buffer.append(contentsOf: text.utf8)
        bytesWritten += Int64(text.utf8.count)
        if buffer.count >= Self.flushThreshold { try flush() }
    }

    func flush() throws(PostgresError) {
        guard !buffer.isEmpty else { return }
        let status = buffer.withUnsafeBytes { raw in
            PQputCopyData(connection.handle, raw.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(raw.count))
        }
        buffer.removeAll(keepingCapacity: true)
        guard status == 1 else { throw .connection(PostgresError.connectionMessage(connection.handle)) }
    }
}

extension PostgresConnection {
    /// Runs `COPY … FROM STDIN` and lets `body` write the data (text or CSV format, as the
    /// statement says). If `body` throws, the COPY is aborted (nothing is copied) and the error
    /// rethrown. Returns the number of rows the server copied.
    @discardableResult
    public func copyIn(_ sql: String, _ body: (CopyWriter) throws -> Void) throws -> Int64 {
        _ = try checkCopyStart(PQexec(handle, sql), expecting: PGRES_COPY_IN)
        let writer = CopyWriter(connection: self)
        do {
            try body(writer)
            try writer.flush()
        } catch {
            _ = PQputCopyEnd(handle, "COPY aborted by the client: \(error)")
            drainResults()
            throw error
        }
        guard PQputCopyEnd(handle, nil) == 1 else {
            let message = PostgresError.connectionMessage(handle)
            drainResults()
            throw PostgresError.connection(message)
        }
        return try finishCopy()
    }

    /// Runs `COPY … TO STDOUT` and hands every chunk the server sends (one row each in text
    /// and CSV format) to `body`. The buffer is only valid during the call, so memory stays
    /// bounded whatever the table's size. If `body` throws, the server is asked to cancel and
    /// the error rethrown. Returns the number of rows copied.
    @discardableResult
    public func copyOut(_ sql: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Int64 {
        _ = try checkCopyStart(PQexec(handle, sql), expecting: PGRES_COPY_OUT)
        var chunk: UnsafeMutablePointer<CChar>?
        while true {
            let n = PQgetCopyData(handle, &chunk, 0)
            if n == -1 { break }
            if n == -2 {
                let message = PostgresError.connectionMessage(handle)
                drainResults()
                throw PostgresError.connection(message)
            }
            guard let data = chunk else { continue }
            do {
                try body(UnsafeRawBufferPointer(start: data, count: Int(n)))
            } catch {
                PQfreemem(data)
                cancel()
                drainCopyOut()
                drainResults()
                throw error
            }
            PQfreemem(data)
            chunk = nil
        }
        return try finishCopy()
    }

    /// Starts `COPY … FROM STDIN`, hands libpq all of `data` (whole rows, in the statement's
    /// format) and the end of the COPY, and returns without waiting for the server to take them:
    /// what the socket does not take now stays in libpq's buffer, sent by `pushQueuedCopy` and
    /// `receiveQueuedCopy`.
    ///
    /// Why: the importer computes the next batch's rows while the server is still inserting this
    /// one's (docs/EVENT-STORE.md, "Import"); with a blocking COPY the client could only either
    /// wait or compute, and the server stood idle while it computed.
    public func sendQueuedCopy(_ sql: String, data: [UInt8]) throws(PostgresError) {
        precondition(!copyQueued, "one queued COPY at a time")
        _ = try checkCopyStart(PQexec(handle, sql), expecting: PGRES_COPY_IN)
        guard PQsetnonblocking(handle, 1) == 0 else {
            _ = PQputCopyEnd(handle, "COPY aborted by the client: cannot queue")
            drainResults()
            throw .connection(PostgresError.connectionMessage(handle))
        }
        copyQueued = true
        // Non-blocking, libpq grows its buffer to hold what the socket does not take: 1 means
        // all of it is queued.
        let queued = data.withUnsafeBytes { raw in
            raw.isEmpty ? 1 : PQputCopyData(handle, raw.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(raw.count))
        }
        if queued != 1 || PQputCopyEnd(handle, nil) != 1 {
            let message = PostgresError.connectionMessage(handle)
            _ = try? receiveQueuedCopy()
            throw .connection(message)
        }
    }

    /// Sends as much of a queued COPY as the socket takes now; never waits.
    public func pushQueuedCopy() {
        if copyQueued { _ = PQflush(handle) }
    }

    /// The outcome of the COPY `sendQueuedCopy` queued: sends the rest, waits for the server
    /// and returns the rows copied, or throws its error (a unique violation, …). The connection
    /// is back in blocking mode after it, whatever the outcome.
    @discardableResult
    public func receiveQueuedCopy() throws(PostgresError) -> Int64 {
        precondition(copyQueued)
        copyQueued = false
        var failure: PostgresError?
        while true {
            let r = PQflush(handle)
            if r == 0 { break }
            if r < 0 {
                failure = .connection(PostgresError.connectionMessage(handle))
                break
            }
            // A second at most per wait; the loop as a whole is bounded as any blocking libpq
            // call on a session: by its TCP keepalives and `tcp_user_timeout` (a vanished
            // server fails the flush) and its statement timeout (the server ends the COPY).
            var fd = pollfd(fd: PQsocket(handle), events: Int16(POLLOUT | POLLIN), revents: 0)
            _ = poll(&fd, 1, 1000)
            // An error the server sent meanwhile is read here, so that it can keep reading.
            if fd.revents & Int16(POLLIN) != 0, PQconsumeInput(handle) == 0 {
                failure = .connection(PostgresError.connectionMessage(handle))
                break
            }
        }
        _ = PQsetnonblocking(handle, 0)
        if let failure {
            drainResults()
            throw failure
        }
        return try finishCopy()
    }

    private func checkCopyStart(_ raw: OpaquePointer?, expecting status: ExecStatusType) throws(PostgresError) {
        guard let raw else { throw .connection(PostgresError.connectionMessage(handle)) }
        if PQresultStatus(raw) == status {
            PQclear(raw)
            return
        }
        _ = try checkResult(raw, expecting: [status])
    }

    /// Collects the COPY's final result and checks it (constraint violations surface here).
    private func finishCopy() throws(PostgresError) -> Int64 {
        var failure: PostgresError?
        var rows: Int64 = 0
        while let r = PQgetResult(handle) {
            let status = PQresultStatus(r)
            if status == PGRES_COMMAND_OK {
                rows = Int64(String(cString: PQcmdTuples(r))) ?? 0
            } else if failure == nil {
                failure = PostgresError.from(result: r, connection: handle)
            }
            PQclear(r)
        }
        if let failure { throw failure }
        return rows
    }
}

/// Appends a value to a row of COPY text format, escaping backslash, tab, newline and
/// carriage return (the characters that format gives meaning to).
@inlinable
public func appendCopyTextField(_ value: some StringProtocol, to out: inout [UInt8]) {
    appendCopyTextField(bytes: value.utf8, to: &out)
}

/// `appendCopyTextField` for UTF-8 bytes.
@inlinable
public func appendCopyTextField(bytes value: some Sequence<UInt8>, to out: inout [UInt8]) {
    for b in value {
        switch b {
        case UInt8(ascii: "\\"):
            out.append(UInt8(ascii: "\\"))
            out.append(UInt8(ascii: "\\"))
        case UInt8(ascii: "\t"):
            out.append(UInt8(ascii: "\\"))
            out.append(UInt8(ascii: "t"))
        case UInt8(ascii: "\n"):
            out.append(UInt8(ascii: "\\"))
            out.append(UInt8(ascii: "n"))
        case UInt8(ascii: "\r"):
            out.append(UInt8(ascii: "\\"))
            out.append(UInt8(ascii: "r"))
        default: out.append(b)
        }
    }
}
