#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why a JSON Lines input could not be read.
public enum JSONLinesReaderError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A line longer than `maximumLineLength` bytes (without its line break).
    case lineTooLong(lineNumber: Int, limit: Int)
    /// `read(2)` failed.
    case readFailed(errno: Int32, lineNumber: Int)
    /// `open(2)` failed.
    case openFailed(path: String, errno: Int32)

    public var description: String {
        switch self {
        case .lineTooLong(let line, let limit): "line \(line): longer than \(limit) bytes"
        case .readFailed(let e, let line): "read error after line \(line): \(String(cString: strerror(e)))"
        case .openFailed(let path, let e): "cannot open \(path): \(String(cString: strerror(e)))"
        }
    }
}

/// Reads a JSON Lines file (or stdin) line by line in bounded memory: the file is read in
/// chunks with `read(2)`, and at most one chunk plus one line is held at a time, whatever the
/// file size. Blank lines (empty or only spaces/tabs) are skipped but counted, so line numbers
/// match an editor's; a `\r` before the `\n` is dropped.
public final class JSONLinesReader {
    /// Longest accepted line (1 MiB): an event is a few hundred bytes, and the bound keeps a
    /// file without line breaks from filling memory.
    public let maximumLineLength: Int
    private let descriptor: Int32
    private let ownsDescriptor: Bool
    private let chunkSize: Int
    private var buffer: UnsafeMutableBufferPointer<UInt8>
    private var start = 0 // first unconsumed byte
    private var end = 0 // one past the last byte read
    private var scanned = 0 // bytes in start..<scanned known to hold no newline
    private var atEOF = false
    private var lineNumber = 0
    /// Bytes read from the input so far (for a progress bar).
    public private(set) var bytesRead: Int = 0

    /// Reads from an open descriptor (e.g. `STDIN_FILENO`); the reader does not close it.
    public init(fileDescriptor: Int32, chunkSize: Int = 1 << 20, maximumLineLength: Int = 1 << 20) {
        precondition(chunkSize > 0 && maximumLineLength > 0)
        self.descriptor = fileDescriptor
        self.ownsDescriptor = false
        self.chunkSize = chunkSize
        self.maximumLineLength = maximumLineLength
        // Room for one maximal line (+ CR LF) and one chunk after it.
        buffer = .allocate(capacity: maximumLineLength + 2 + chunkSize)
    }

    /// Opens a file for reading; the reader closes it when it is released.
    public init(path: String, chunkSize: Int = 1 << 20, maximumLineLength: Int = 1 << 20) throws(JSONLinesReaderError) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .openFailed(path: path, errno: errno) }
        self.descriptor = fd
        self.ownsDescriptor = true
        self.chunkSize = chunkSize
        self.maximumLineLength = maximumLineLength
        buffer = .allocate(capacity: maximumLineLength + 2 + chunkSize)
    }

    deinit {
        buffer.deallocate()
        if ownsDescriptor { close(descriptor) }
    }

    /// The next non-blank line (without its line break), with its 1-based line number; nil at
    /// the end of the input.
    public func next() throws(JSONLinesReaderError) -> (lineNumber: Int, bytes: [UInt8])? {
        while true {
            guard let (lineStart, lineEnd) = try nextRawLine() else { return nil }
            lineNumber += 1
            var e = lineEnd
            if e > lineStart && buffer[e - 1] == 0x0D { e -= 1 }
            if e - lineStart > maximumLineLength { throw .lineTooLong(lineNumber: lineNumber, limit: maximumLineLength) }
            var blank = true
            for i in lineStart..<e where buffer[i] != 0x20 && buffer[i] != 0x09 {
                blank = false
                break
            }
            if blank { continue }
            return (lineNumber, Array(UnsafeBufferPointer(rebasing: buffer[lineStart..<e])))
        }
    }

    /// Finds the next line in the buffer, reading more as needed. Returns its byte range
    /// (newline excluded) and consumes it.
    private func nextRawLine() throws(JSONLinesReaderError) -> (Int, Int)? {
        while true {
            if let newline = findNewline() {
                let range = (start, newline)
                start = newline + 1
                scanned = start
                return range
            }
            // No newline yet: the pending line may not grow past the limit (+1 for a CR).
            if end - start > maximumLineLength + 1 {
                throw .lineTooLong(lineNumber: lineNumber + 1, limit: maximumLineLength)
            }
            if atEOF {
                guard start < end else { return nil }
                let range = (start, end)
                start = end
                scanned = end
                return range
            }
            try fill()
        }
    }

    private func findNewline() -> Int? {
        guard scanned < end, let base = buffer.baseAddress else { return nil }
        if let p = memchr(base + scanned, 0x0A, end - scanned) {
            return base.distance(to: p.assumingMemoryBound(to: UInt8.self))
        }
        scanned = end
        return nil
    }

    /// Moves the pending bytes to the front and reads up to one chunk after them.
    private func fill() throws(JSONLinesReaderError) {
        if start > 0 {
            let pending = end - start
            if pending > 0, let base = buffer.baseAddress {
                memmove(base, base + start, pending)
            }
            scanned -= start
            end = pending
            start = 0
        }
        let room = min(chunkSize, buffer.count - end)
        precondition(room > 0, "the line-length check keeps room for one chunk")
        while true {
            let n = read(descriptor, buffer.baseAddress! + end, room)
            if n < 0 {
                if errno == EINTR { continue }
                throw .readFailed(errno: errno, lineNumber: lineNumber)
            }
            if n == 0 { atEOF = true }
            end += n
            bytesRead += n
            return
        }
    }
}
