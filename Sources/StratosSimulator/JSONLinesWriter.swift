import LedgerEvents

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes events as JSON Lines in their canonical encoding (`LedgerEvent.canonicalUTF8`), one
/// per line, through a fixed-size buffer to a file descriptor: memory stays flat however long
/// the history, and a 2,000,000-event file costs a few thousand `write` calls.
///
/// Optionally feeds every byte written to a SHA-256, so a caller can state the file's hash
/// without reading it back.
public final class JSONLinesWriter {
    public let fileDescriptor: Int32
    /// Names the destination in errors ("-" for standard output).
    public let path: String
    private let ownsDescriptor: Bool
    private var buffer: [UInt8]
    private let capacity: Int
    private var hasher: SHA256?
    public private(set) var bytesWritten: UInt64 = 0
    public private(set) var linesWritten: Int = 0

    /// Writes to an open descriptor (not closed by the writer).
    public init(fileDescriptor: Int32, path: String = "-", bufferSize: Int = 1 << 20, hashing: Bool = false) {
        self.fileDescriptor = fileDescriptor
        self.path = path
        self.ownsDescriptor = false
        self.capacity = bufferSize
        self.buffer = []
        buffer.reserveCapacity(bufferSize)
        hasher = hashing ? SHA256() : nil
    }

    /// Creates or truncates `path` and writes to it (closed by `close()`).
    public init(path: String, bufferSize: Int = 1 << 20, hashing: Bool = false) throws(SimulationOutputError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw SimulationOutputError(path: path, operation: "open", errno: errno) }
        self.fileDescriptor = fd
        self.path = path
        self.ownsDescriptor = true
        self.capacity = bufferSize
        self.buffer = []
        buffer.reserveCapacity(bufferSize)
        hasher = hashing ? SHA256() : nil
    }

    deinit {
        if ownsDescriptor { _ = closeDescriptor(fileDescriptor) }
    }

    public func write(_ event: LedgerEvent) throws(SimulationOutputError) {
        buffer.append(contentsOf: event.canonicalUTF8)
        buffer.append(UInt8(ascii: "\n"))
        linesWritten += 1
        if buffer.count >= capacity { try flush() }
    }

    /// Writes out what is buffered.
    public func flush() throws(SimulationOutputError) {
        guard !buffer.isEmpty else { return }
        hasher?.update(buffer)
        var offset = 0
        let total = buffer.count
        let fd = fileDescriptor
        let failure: Int32? = buffer.withUnsafeBytes { raw -> Int32? in
            while offset < total {
                let n = writeDescriptor(fd, raw.baseAddress! + offset, total - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += n
            }
            return nil
        }
        if let failure { throw SimulationOutputError(path: path, operation: "write", errno: failure) }
        bytesWritten += UInt64(total)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and, for a file the writer opened, closes it (fsync first, so a finished file is on disk).
    /// Returns the SHA-256 of everything written when hashing was asked for.
    @discardableResult
    public func finish() throws(SimulationOutputError) -> [UInt8]? {
        try flush()
        if ownsDescriptor, fsync(fileDescriptor) != 0, errno != EINVAL {
            throw SimulationOutputError(path: path, operation: "fsync", errno: errno)
        }
        return hasher?.finalize()
    }
}

// Free functions, so that the writer's own `write` method does not shadow the system call.
private func writeDescriptor(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int { write(fd, bytes, count) }
private func closeDescriptor(_ fd: Int32) -> Int32 { close(fd) }

/// An output failure, naming the file and the system error.
public struct SimulationOutputError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var operation: String
    public var errno: Int32
    public var description: String {
        "cannot \(operation) \(path == "-" ? "standard output" : path): \(String(cString: strerror(errno)))"
    }
}
