import CLibPQ

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One `NOTIFY` received on a channel this connection listens to.
public struct PostgresNotification: Sendable, Hashable {
    public var channel: String
    public var payload: String
    /// The backend that sent it.
    public var senderPID: Int32
}

extension PostgresConnection {
    /// `LISTEN channel` (the name is quoted as an identifier).
    public func listen(_ channel: String) throws(PostgresError) {
        try execute("LISTEN \(try escapeIdentifier(channel))")
    }

    public func unlisten(_ channel: String) throws(PostgresError) {
        try execute("UNLISTEN \(try escapeIdentifier(channel))")
    }

    /// `pg_notify(channel, payload)`: delivered to listeners when the transaction commits.
    public func notify(_ channel: String, payload: String = "") throws(PostgresError) {
        try query("SELECT pg_notify($1, $2)", [channel, payload])
    }

    /// Waits up to `timeout` (forever when nil) for a notification and returns it, or nil on
    /// timeout. Blocks the calling thread in `poll()` on the connection's socket.
    public func waitForNotification(timeout: Duration?) throws(PostgresError) -> PostgresNotification? {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        while true {
            // Input may already be buffered from an earlier call.
            guard PQconsumeInput(handle) == 1 else { throw .connection(PostgresError.connectionMessage(handle)) }
            if let n = PQnotifies(handle) {
                defer { PQfreemem(n) }
                return PostgresNotification(
                    channel: String(cString: n.pointee.relname),
                    payload: String(cString: n.pointee.extra),
                    senderPID: n.pointee.be_pid)
            }
            var waitMilliseconds: Int32 = -1
            if let deadline {
                let left = deadline - ContinuousClock.now
                if left <= .zero { return nil }
                let (s, atto) = left.components
                waitMilliseconds = Int32(clamping: s * 1000 + atto / 1_000_000_000_000_000 + 1)
            }
            let socket = PQsocket(handle)
            guard socket >= 0 else { throw .connection("connection has no socket") }
            var fd = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let r = poll(&fd, 1, waitMilliseconds)
            if r < 0 && errno != EINTR { throw .connection("poll() failed: errno \(errno)") }
        }
    }
}
