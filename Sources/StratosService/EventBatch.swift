import EventStore
import LedgerEvents

/// A batch of events as received by `POST /v1/events`, parsed and validated against the event
/// contract (docs/EVENTS.md) before anything touches the log.
///
/// Two body formats, chosen by `Content-Type`: a JSON array of envelopes
/// (`application/json`; errors name the 0-based `index`) or JSON Lines
/// (`application/x-ndjson`; errors name the 1-based `line`, blank lines are skipped).
public struct EventBatch: Sendable {
    public enum Format: Sendable { case jsonArray, jsonLines }

    public var items: [EventToAppend]
    /// Where each item came from: its index in the array, or its line number.
    public var origins: [Int]
    public var format: Format

    /// Where in the body event `eventID` came from (the first occurrence), as a problem extension.
    func origin(of eventID: String?) -> (key: String, value: Int)? {
        guard let eventID, let i = items.firstIndex(where: { $0.event.id.rawValue == eventID }) else { return nil }
        return (format == .jsonArray ? "index" : "line", origins[i])
    }

    /// Parses `body`; throws a 400 `Problem` naming the event (id, index or line) and the field.
    public static func parse(_ body: [UInt8], format: Format) throws(Problem) -> EventBatch {
        var batch = EventBatch(items: [], origins: [], format: format)
        switch format {
        case .jsonArray:
            let value: JSONValue
            do { value = try JSONValue.parse(body) } catch {
                throw Problem(
                    "malformed-json", status: 400, title: "Malformed JSON",
                    detail: "the body is not valid JSON: \(error)", extensions: ["offset": .integer(error.offset)])
            }
            guard case .array(let elements) = value else {
                throw Problem(
                    "malformed-batch", status: 400, title: "Malformed batch",
                    detail: "an application/json body must be a JSON array of events (send one event as [event])")
            }
            batch.items.reserveCapacity(elements.count)
            for (index, element) in elements.enumerated() {
                do {
                    let envelope = try EventEnvelope(json: element)
                    batch.items.append(EventToAppend(try LedgerEvent(validating: envelope), clientMetadata: envelope.metadata))
                    batch.origins.append(index)
                } catch {
                    throw invalid(error, key: "index", at: index)
                }
            }
        case .jsonLines:
            var lineNumber = 0
            var start = 0
            while start <= body.count {
                let end = body[start...].firstIndex(of: UInt8(ascii: "\n")) ?? body.count
                lineNumber += 1
                var line = body[start..<end]
                if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                start = end + 1
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                do {
                    let envelope = try EventEnvelope.parse(line: line)
                    batch.items.append(EventToAppend(try LedgerEvent(validating: envelope), clientMetadata: envelope.metadata))
                    batch.origins.append(lineNumber)
                } catch {
                    throw invalid(error, key: "line", at: lineNumber)
                }
            }
        }
        guard !batch.items.isEmpty else {
            throw Problem("empty-batch", status: 400, title: "Empty batch", detail: "the body holds no event")
        }
        return batch
    }

    private static func invalid(_ error: EventValidationError, key: String, at position: Int) -> Problem {
        var ext: [String: JSONValue] = [key: .integer(position), "rule": .string("event-contract")]
        if let id = error.eventID { ext["eventId"] = .string(id) }
        if !error.field.isEmpty { ext["field"] = .string(error.field) }
        let place = key == "index" ? "event at index \(position)" : "line \(position)"
        let slug = error.jsonError == nil ? "invalid-event" : "malformed-json"
        return Problem(
            slug, status: 400, title: error.jsonError == nil ? "Invalid event" : "Malformed JSON",
            detail: "\(place): \(error)", extensions: ext)
    }
}
