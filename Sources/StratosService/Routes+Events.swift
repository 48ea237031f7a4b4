import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import LedgerEvents
import NIOCore
import PostgresClient
import StratosEconomics
import StratosProjections
import StratosReports

/// `POST /v1/events`: appends, through the one writer of the process (`Appender`). Most appends
/// are answered on the event loop by `AppendChannelHandler`; this route answers the rest (a
/// request it leaves to the router: an `Expect` header, `Connection: close`, a request
/// pipelined behind another, any error found from the head) with the same answers.
extension StratosServer {
    func addEventRoutes(_ routes: RouteGroup) {
        routes.post("/events") { request, _ in try await self.appendEvents(request) }
    }

    func appendEvents(_ request: Request) async throws -> Response {
        var request = request
        let format = try Self.appendFormat(contentType: request.headers[.contentType])
        if let length = request.headers[.contentLength].flatMap(Int.init), length > configuration.maxBodyBytes {
            throw Problem.tooLarge(limit: configuration.maxBodyBytes)
        }
        let buffer: ByteBuffer
        do { buffer = try await request.collectBody(upTo: configuration.maxBodyBytes) } catch let e as HTTPError where e.status == .contentTooLarge {
            throw Problem.tooLarge(limit: configuration.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            // A chunked body has no Content-Length to refuse up front: it is refused here, once
            // it has grown past the limit.
            throw Problem.tooLarge(limit: configuration.maxBodyBytes)
        }
        let batch = try EventBatch.parse(Array(buffer.readableBytesView), format: format)
        let outcome: AppendOutcome
        do {
            outcome = try await appender.append(batch, metadata: AppendMetadata(appendedBy: "stratos-ledger serve"))
        } catch {
            metrics.recordRefusedBatch()
            throw error
        }
        metrics.recordAppend(appended: outcome.appended, duplicates: outcome.duplicates)
        return Reply.raw(String(decoding: outcome.canonicalUTF8, as: UTF8.self)).response(status: outcome.appended > 0 ? .created : .ok)
    }

    /// The body format `contentType` names; 415 for any other.
    static func appendFormat(contentType: String?) throws(Problem) -> EventBatch.Format {
        switch contentType?.split(separator: ";").first.map({ trimmedBlanks($0).lowercased() }) {
        case "application/json": .jsonArray
        case "application/x-ndjson", "application/jsonl", "application/jsonlines": .jsonLines
        default: throw Problem.unsupportedMediaType(contentType)
        }
    }
}
