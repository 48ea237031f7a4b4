import CLibPQ

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
