import LedgerEvents
import PostgresClient
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why an import stopped. Names the line and event; says what was kept.
public struct ImportError: Error, CustomStringConvertible {
    public var lineNumber: Int?
    public var eventID: String?
    public var message: String
    /// Events durably appended before the failure (0 in single-transaction mode).
    public var committedEvents: Int64

    public var description: String {
        var where_ = ""
        if let lineNumber { where_ += "line \(lineNumber): " }
        var s = where_ + message
        s += committedEvents == 0
            ? " (nothing was appended)"
            : " (\(committedEvents) events before it were committed; nothing after)"
        return s
    }
}

public struct ImportProgress: Sendable {
    public var lines: Int
    public var appended: Int64
    public var duplicates: Int64
    public var bytesRead: Int
    public var seconds: Double
}

public struct ImportSummary: Sendable, CustomStringConvertible {
    public var lines: Int
    public var appended: Int64
    public var duplicates: Int64
    public var bytesRead: Int
    public var seconds: Double
    public var head: Int64
    public var description: String {
        let rate = seconds > 0 ? Double(appended + duplicates) / seconds : 0
        return "imported \(appended) events, \(duplicates) already present, from \(lines) lines "
            + "(\(bytesRead) bytes) in \(String(format2(seconds))) s (\(Int(rate)) events/s); log head \(head)"
    }
}

private func format2(_ x: Double) -> String {
    let hundredths = Int((x * 100).rounded())
    let frac = hundredths % 100
    return "\(hundredths / 100).\(frac < 10 ? "0" : "")\(frac)"
}

/// Imports a JSON Lines file of events (EVENTS.md envelopes) through a `LedgerWriter`.
///
/// - Streams: the reader holds one chunk of the file, the importer one batch of events
///   (`batchSize`), so memory does not grow with the file.
/// - Atomic by default: the whole file is one transaction, so a bad line appends nothing.
///   With `commitEvery: N` it commits every N events instead (for files too big for one
///   transaction); a failure then keeps the committed part, and re-running the same file
///   skips it, because ids make appends idempotent.
/// - Each batch is written with one COPY.
public struct Importer<Rules: LedgerRules> {
    public var writer: LedgerWriter<Rules>
    public var metadata: AppendMetadata
    public var batchSize: Int
    public var commitEvery: Int?
    public var progress: ((ImportProgress) -> Void)?

    public init(writer: LedgerWriter<Rules>, metadata: AppendMetadata = AppendMetadata(appendedBy: "stratos-ledger import"),
                batchSize: Int = 5000, commitEvery: Int? = nil, progress: ((ImportProgress) -> Void)? = nil) {
        self.writer = writer; self.metadata = metadata; self.batchSize = max(1, batchSize)
        self.commitEvery = commitEvery; self.progress = progress
    }

    public func run(_ reader: JSONLinesReader) throws(ImportError) -> ImportSummary {
        let start = ContinuousClock.now
        var lines = 0
        var appended: Int64 = 0, duplicates: Int64 = 0, committed: Int64 = 0
        var batch: [EventToAppend] = []
        var batchLines: [String: Int] = [:]
        var sinceCommit = 0
        let chunk = commitEvery.map { min($0, batchSize) } ?? batchSize
        var lastLine = 0

        func seconds() -> Double {
            let d = ContinuousClock.now - start
            return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        }
        func report() {
            progress?(ImportProgress(lines: lines, appended: appended, duplicates: duplicates,
                                     bytesRead: reader.bytesRead, seconds: seconds()))
        }
        func flush() throws {
            guard !batch.isEmpty else { return }
            do {
                let r = try writer.append(batch, metadata: metadata)
                appended += Int64(r.appended.count)
                duplicates += Int64(r.duplicates.count)
            } catch {
                let line = error.eventID.flatMap { batchLines[$0] }
                throw ImportError(lineNumber: line, eventID: error.eventID, message: "\(error)", committedEvents: committed)
            }
            sinceCommit += batch.count
            batch.removeAll(keepingCapacity: true)
            batchLines.removeAll(keepingCapacity: true)
            report()
        }
        /// Reads and validates the next batch; false at the end of the input.
        func fill() throws -> Bool {
            while batch.count < chunk {
                let next: (lineNumber: Int, bytes: [UInt8])?
                do { next = try reader.next() } catch {
                    throw ImportError(lineNumber: lastLine + 1, eventID: nil, message: "\(error)", committedEvents: committed)
                }
                guard let (lineNumber, bytes) = next else { return false }
                lastLine = lineNumber
                lines += 1
                do {
                    let envelope = try EventEnvelope.parse(line: bytes)
                    let event = try LedgerEvent(validating: envelope)
                    if batchLines[event.id.rawValue] == nil { batchLines[event.id.rawValue] = lineNumber }
                    batch.append(EventToAppend(event, clientMetadata: envelope.metadata))
                } catch {
                    throw ImportError(lineNumber: lineNumber, eventID: error.eventID, message: "\(error)", committedEvents: committed)
                }
            }
            return true
        }

        do {
            if let commitEvery {
                var more = true
                while more {
                    sinceCommit = 0
                    try writer.transaction { _ in
                        while more && sinceCommit < commitEvery {
                            more = try fill()
                            try flush()
                        }
                    }
                    committed = appended
                }
            } else {
                try writer.transaction { _ in
                    var more = true
                    while more {
                        more = try fill()
                        try flush()
                    }
                }
                committed = appended
            }
        } catch let error as ImportError {
            var e = error
            e.committedEvents = committed
            throw e
        } catch let error as PostgresError {
            throw ImportError(lineNumber: nil, eventID: nil, message: "\(error)", committedEvents: committed)
        } catch {
            throw ImportError(lineNumber: nil, eventID: nil, message: "\(error)", committedEvents: committed)
        }
        let head = (try? writer.store.head().position) ?? writer.position
        return ImportSummary(lines: lines, appended: appended, duplicates: duplicates, bytesRead: reader.bytesRead,
                             seconds: seconds(), head: head)
    }
}
