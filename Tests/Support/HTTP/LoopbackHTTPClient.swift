#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A minimal blocking HTTP/1.1 client for the service's own tests and benchmark, on loopback.
///
/// Why not AsyncHTTPClient or URLSession: the former takes minutes to build, the latter adds
/// libcurl's overhead to every measured request. This one keeps one connection alive, sends
/// `Content-Length` bodies and reads `Content-Length` or chunked responses. It is not a general
/// client (no TLS, no redirects, no proxies) and is not thread-safe: one per thread.
public final class LoopbackHTTPClient {
    public struct Response: Sendable {
        public var status: Int
        /// Header names lower-cased.
        public var headers: [String: String]
        public var body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    public let host: String
    public let port: Int
    private var fd: Int32 = -1
    private var buffer: [UInt8] = []
    private var start = 0
    /// What one `recv` reads into, allocated once: a fresh 64 KiB array per read was most of
    /// this client's CPU per small response in the append benchmark.
    private var scratch = [UInt8](repeating: 0, count: 64 << 10)

    /// How long one read from the socket may wait.
    public let timeoutSeconds: Int

    public init(host: String = "127.0.0.1", port: Int, timeoutSeconds: Int = 60) {
        self.host = host
        self.port = port
        self.timeoutSeconds = timeoutSeconds
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Sends one request and reads the whole response (reconnecting once if the kept-alive
    /// connection was closed by the server).
    public func request(_ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []) throws -> Response {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nContent-Length: \(body.count)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        let bytes = Array(head.utf8) + body
        for attempt in 0..<2 {
            do {
                if fd < 0 { try connect() }
                try send(bytes)
                return try readResponse(hasBody: method != "HEAD")
            } catch {
                disconnect()
                if attempt == 1 { throw error }
            }
        }
        throw Failure(description: "unreachable")
    }

    /// Sends `bytes` as they are (a hand-made request: chunked, malformed, …) and reads the
    /// response, on a fresh connection.
    public func exchange(raw bytes: [UInt8]) throws -> Response {
        disconnect()
        try connect()
        defer { disconnect() }
        // A server may answer (413) and close before the whole body is sent: read its answer anyway.
        do { try send(bytes) } catch {}
        return try readResponse(hasBody: true)
    }

    /// Sends `bytes` (several requests at once: HTTP/1.1 pipelining) on a fresh connection and
    /// reads `count` responses, in the order they come.
    public func pipelined(raw bytes: [UInt8], count: Int) throws -> [Response] {
        disconnect()
        try connect()
        defer { disconnect() }
        try send(bytes)
        return try (0..<count).map { _ in try readResponse(hasBody: true) }
    }

    public func get(_ path: String, headers: [(String, String)] = []) throws -> Response {
        try request("GET", path, headers: headers)
    }

    private func connect() throws {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard s >= 0 else { throw Failure(description: "socket() failed: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(s, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        // No read waits forever: a server that stops answering fails the request after `timeout`.
        var limit = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            close(s)
            throw Failure(description: "bad IPv4 address \(host)")
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            close(s)
            throw Failure(description: "connect to \(host):\(port) failed: errno \(errno)")
        }
        fd = s
        buffer.removeAll(keepingCapacity: true)
        start = 0
    }

    private func disconnect() {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    private func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "send failed: errno \(errno)") }
            sent += n
        }
    }

    /// Reads more bytes into the buffer; throws at end of stream.
    private func fill() throws {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        let n = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw Failure(description: n == 0 ? "connection closed by the server" : "recv failed: errno \(errno)") }
        buffer.append(contentsOf: scratch[0..<n])
    }

    private func readLine() throws -> String {
        while true {
            if let i = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                var end = i
                if end > start && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = String(decoding: buffer[start..<end], as: UTF8.self)
                start = i + 1
                return line
            }
            try fill()
        }
    }

    private func readBytes(_ count: Int) throws -> [UInt8] {
        while buffer.count - start < count { try fill() }
        let out = Array(buffer[start..<(start + count)])
        start += count
        return out
    }

    /// `hasBody` is false for the answer to HEAD, whose headers describe a body that is not sent.
    private func readResponse(hasBody: Bool) throws -> Response {
        let statusLine = try readLine()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else { throw Failure(description: "bad status line \(statusLine)") }
        var headers: [String: String] = [:]
        while true {
            let line = try readLine()
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: " \t")
        }
        var body: [UInt8] = []
        if hasBody, headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            while true {
                let sizeLine = try readLine()
                guard let size = Int(sizeLine.split(separator: ";")[0], radix: 16) else {
                    throw Failure(description: "bad chunk size \(sizeLine)")
                }
                if size == 0 {
                    while try !readLine().isEmpty {}
                    break
                }
                body += try readBytes(size)
                _ = try readLine()
            }
        } else if hasBody, let length = headers["content-length"].flatMap({ Int($0) }) {
            body = try readBytes(length)
        }
        if headers["connection"]?.lowercased() == "close" { disconnect() }
        return Response(status: status, headers: headers, body: body)
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = self
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
