import Foundation
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
        s +=
            committedEvents == 0
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

/// Imports a JSON Lines file of events (docs/EVENTS.md envelopes) through a `LedgerWriter`.
///
/// - Streams: the reader holds one chunk of the file, the importer one batch of events
///   (`batchSize`), so memory does not grow with the file.
/// - Atomic by default: the whole file is one transaction, so a bad line appends nothing.
///   With `commitEvery: N` it commits every N events instead (for files too big for one
///   transaction); a failure then keeps the committed part, and re-running the same file
///   skips it, because ids make appends idempotent.
/// - Each batch is written with one COPY, prepared while the one before it is inserted.
public struct Importer<Rules: LedgerRules> {
    public var writer: LedgerWriter<Rules>
    public var metadata: AppendMetadata
    public var batchSize: Int
    public var commitEvery: Int?
    public var progress: ((ImportProgress) -> Void)?

    public init(
        writer: LedgerWriter<Rules>, metadata: AppendMetadata = AppendMetadata(appendedBy: "stratos-ledger import"),
        batchSize: Int = 5000, commitEvery: Int? = nil, progress: ((ImportProgress) -> Void)? = nil
    ) {
        self.writer = writer
        self.metadata = metadata
        self.batchSize = max(1, batchSize)
        self.commitEvery = commitEvery
        self.progress = progress
    }

    public func run(_ reader: JSONLinesReader) throws(ImportError) -> ImportSummary {
        let start = ContinuousClock.now
        var lines = 0
        var bytesRead = 0
        var appended: Int64 = 0
        var duplicates: Int64 = 0
        var committed: Int64 = 0
        var sinceCommit = 0
        // The log's head before the import, and the last event this import appended with its
        // line: an error about "the log's last event" may be about an earlier line of the file.
        let startHead = writer.position
        var lastAppended: (position: Int64, line: Int)?

        // Reading and validating JSON runs on its own thread, one batch ahead of the appends, so
        // the CPU work of parsing overlaps the database's work on the previous batch. At most
        // `ParsePipeline.depth` batches are in flight: memory stays bounded.
        let pipeline = ParsePipeline(reader: reader, batchSize: commitEvery.map { min($0, batchSize) } ?? batchSize)
        pipeline.start()
        defer { pipeline.cancelAndWait() }

        func seconds() -> Double {
            let d = ContinuousClock.now - start
            return d.inSeconds
        }
        /// Counts a batch's outcome and reports progress.
        func record(_ r: AppendResult, of batch: ParsedBatch) {
            appended += Int64(r.appended.count)
            duplicates += Int64(r.duplicates.count)
            if let last = r.appended.last, let line = batch.line(of: last.eventID.rawValue) {
                lastAppended = (last.position, line)
            }
            progress?(
                ImportProgress(
                    lines: lines, appended: appended, duplicates: duplicates,
                    bytesRead: bytesRead, seconds: seconds()))
        }
        /// A refusal of `batch` in the terms of the file.
        func refusal(_ error: AppendError, _ batch: ParsedBatch) -> ImportError {
            Self.importError(error, batch: batch, startHead: startHead, lastAppended: lastAppended, committed: committed)
        }

        // Each transaction locks the head once; then every batch is prepared (rules check, hash
        // chain, COPY rows) while the one before it is still being inserted, against the head
        // that one leaves, and sent as soon as it is written (LedgerWriter.prepare/send/receive,
        // docs/EVENT-STORE.md). A batch this path cannot decide (duplicates, a refusal, a time
        // going backwards) is appended with `append`, which decides it exactly and names the
        // event; the batch prepared after it is then prepared again.
        do {
            var more = true
            while more {
                sinceCommit = 0
                try writer.transaction { _ in
                    var head: LogHead
                    do { head = try writer.lockHead() } catch {
                        throw ImportError(lineNumber: nil, eventID: nil, message: "\(error)", committedEvents: committed)
                    }
                    var queued: (batch: ParsedBatch, sent: LedgerWriter<Rules>.QueuedBatch, prepared: LedgerWriter<Rules>.PreparedBatch)?
                    // Whether to prepare a batch before the one queued is known written: not
                    // after a batch that was not (a re-import is all duplicates: every batch
                    // would be prepared twice).
                    var speculate = true
                    /// Reads the queued batch's outcome, appending it exactly when it was not
                    /// written; returns whether it was written as prepared.
                    func settle() throws(ImportError) -> Bool {
                        guard let q = queued else { return true }
                        queued = nil
                        do {
                            if let r = try writer.receive(q.sent) {
                                head = r.head
                                record(r, of: q.batch)
                                return true
                            }
                            let r = try writer.append(q.batch.events, metadata: metadata)
                            head = r.head
                            record(r, of: q.batch)
                            return false
                        } catch { throw refusal(error, q.batch) }
                    }
                    while more && sinceCommit < (commitEvery ?? Int.max) {
                        guard let batch = try pipeline.next() else {
                            more = false
                            break
                        }
                        lines = batch.lastLineCount
                        bytesRead = batch.bytesRead
                        if batch.events.isEmpty { continue }
                        sinceCommit += batch.events.count
                        do {
                            var prepared =
                                queued == nil || speculate
                                ? try writer.prepare(batch.events, metadata: metadata, after: queued?.prepared, head: head) : nil
                            if queued != nil {
                                speculate = try settle()
                                if !speculate { prepared = nil }
                                if prepared == nil {
                                    prepared = try writer.prepare(batch.events, metadata: metadata, after: nil, head: head)
                                }
                            }
                            if let prepared {
                                queued = (batch, try writer.send(prepared), prepared)
                            } else {
                                let r = try writer.append(batch.events, metadata: metadata)
                                head = r.head
                                record(r, of: batch)
                            }
                        } catch let error as AppendError {
                            throw refusal(error, batch)
                        }
                    }
                    _ = try settle()
                }
                committed = appended
            }
        } catch let error as ImportError {
            var e = error
            e.committedEvents = committed
            throw e
        } catch {
            throw ImportError(lineNumber: nil, eventID: nil, message: "\(error)", committedEvents: committed)
        }
        let head = (try? writer.store.head().position) ?? writer.position
        return ImportSummary(
            lines: lines, appended: appended, duplicates: duplicates, bytesRead: bytesRead,
            seconds: seconds(), head: head)
    }

    /// The refusal of a batch in the terms of the file: the line of the event it is about, and
    /// for conflicts and times going backwards, the line (or log position) it conflicts with.
    static func importError(
        _ error: AppendError, batch: ParsedBatch, startHead: Int64,
        lastAppended: (position: Int64, line: Int)?, committed: Int64
    ) -> ImportError {
        var line = error.eventID.flatMap { batch.line(of: $0) }
        var message = "\(error)"
        switch error {
        case .idConflict(let id, nil):
            // Twice in the batch with different content: name the later line, the one that
            // conflicts, and the first.
            let indices = batch.events.indices.filter { batch.events[$0].event.id.rawValue == id }
            if let first = indices.first {
                let canonical = batch.events[first].event.canonicalUTF8
                if let later = indices.dropFirst().first(where: { batch.events[$0].event.canonicalUTF8 != canonical }) {
                    line = batch.lines[later]
                    message =
                        "event \"\(id)\": the id was already used at line \(batch.lines[first]) of this file "
                        + "by an event with other content"
                }
            }
        case .idConflict(let id, let position?) where position > startHead:
            message =
                "event \"\(id)\": the id was already used by an earlier line of this file (appended at "
                + "position \(position)) by an event with other content"
        case .timeWentBackwards(let id, let time, let previous, let before, let head):
            let what: String
            if let before, let beforeLine = batch.line(of: before) {
                what = "the previous event in the file, \"\(before)\" at line \(beforeLine), is at \(previous.rfc3339)"
            } else if let lastAppended, lastAppended.position == head {
                what = "the previous event in the file, at line \(lastAppended.line), is at \(previous.rfc3339)"
            } else {
                what = "the log's last event, at position \(head), is at \(previous.rfc3339) (events are appended in time order)"
            }
            message = "event \"\(id)\": time \(time.rfc3339) goes backwards: \(what)"
        default: break
        }
        return ImportError(lineNumber: line, eventID: error.eventID, message: message, committedEvents: committed)
    }
}

/// A batch of validated events with the line each id was first seen on.
struct ParsedBatch: Sendable {
    var events: [EventToAppend] = []
    /// The line of each event.
    var lines: [Int] = []
    /// The line `id` was first seen on in this batch. Searched for when needed (a refusal, and
    /// once per batch) rather than kept in a dictionary of every id, which cost the parsing
    /// thread a hash of every id.
    func line(of id: String) -> Int? {
        events.firstIndex { $0.event.id.rawValue == id }.map { lines[$0] }
    }
    /// Non-blank lines read so far, and bytes.
    var lastLineCount = 0
    var bytesRead = 0
}

/// The parsing thread of the importer and the bounded hand-over to the appending thread.
final class ParsePipeline: @unchecked Sendable {
    static let depth = 2
    private let reader: JSONLinesReader // only touched by the parsing thread
    private let batchSize: Int
    private let condition = NSCondition()
    private var queue: [ParsedBatch] = []
    private var finished = false
    private var failure: ImportError?
    private var cancelled = false
    private var running = false

    init(reader: JSONLinesReader, batchSize: Int) {
        self.reader = reader
        self.batchSize = batchSize
    }

    func start() {
        running = true
        let thread = Thread { [self] in produce() }
        thread.name = "stratos-import-parse"
        thread.start()
    }

    /// The next batch, nil at the end, or the parse error of the line that stopped reading.
    func next() throws(ImportError) -> ParsedBatch? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty && !finished { condition.wait() }
        if !queue.isEmpty {
            let batch = queue.removeFirst()
            condition.broadcast()
            return batch
        }
        if let failure { throw failure }
        return nil
    }

    /// Stops the parsing thread and waits for it, so the reader is no longer in use.
    func cancelAndWait() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        while running { condition.wait() }
        condition.unlock()
    }

    /// A reader error with its line named once (the reader's own description starts with it).
    static func readError(_ error: JSONLinesReaderError) -> ImportError {
        switch error {
        case .lineTooLong(let line, let limit):
            let size = limit % 1_048_576 == 0 ? " (\(limit / 1_048_576) MiB)" : ""
            return ImportError(
                lineNumber: line, eventID: nil,
                message: "the line is longer than \(limit) bytes\(size), the longest line import accepts",
                committedEvents: 0)
        case .readFailed, .openFailed:
            return ImportError(lineNumber: nil, eventID: nil, message: "\(error)", committedEvents: 0)
        }
    }

    private func produce() {
        var lines = 0
        var stop = false
        while !stop {
            var batch = ParsedBatch()
            batch.events.reserveCapacity(batchSize)
            var bad: ImportError?
            while batch.events.count < batchSize {
                let next: (lineNumber: Int, bytes: [UInt8])?
                do { next = try reader.next() } catch {
                    bad = Self.readError(error)
                    break
                }
                guard let (lineNumber, bytes) = next else {
                    stop = true
                    break
                }
                lines += 1
                do {
                    let envelope = try EventEnvelope.parse(line: bytes)
                    let event = try LedgerEvent(validating: envelope)
                    batch.events.append(EventToAppend(event, clientMetadata: envelope.metadata))
                    batch.lines.append(lineNumber)
                } catch {
                    bad = ImportError(lineNumber: lineNumber, eventID: error.eventID, message: "\(error)", committedEvents: 0)
                    break
                }
            }
            batch.lastLineCount = lines
            batch.bytesRead = reader.bytesRead
            condition.lock()
            while queue.count >= Self.depth && !cancelled { condition.wait() }
            if cancelled {
                stop = true
            } else if let bad {
                // A batch cut short by a bad line is not handed over: nothing of it is appended.
                failure = bad
                stop = true
            } else {
                queue.append(batch)
            }
            condition.broadcast()
            condition.unlock()
        }
        condition.lock()
        finished = true
        running = false
        condition.broadcast()
        condition.unlock()
    }
}
