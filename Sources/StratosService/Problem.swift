import LedgerEvents

/// An RFC 9457 problem: what every refusal of the service looks like on the wire
/// (`application/problem+json`).
///
/// Why one type: every user error — bad URL, bad parameter, unknown node, epoch not closed,
/// malformed JSON, refused event, bad token, body too large — must reach the client as a clear,
/// machine-readable message with the right status, and never as a stack trace. Handlers throw
/// `Problem`; the error middleware turns anything else into a generic 500 problem (details go
/// to the log only).
public struct Problem: Error, Sendable, CustomStringConvertible {
    /// A short stable slug; the `type` URI is `https://stratos-ledger.dev/problems/<slug>`.
    public var slug: String
    public var title: String
    /// The HTTP status code (`status` is the same as Hummingbird's `HTTPResponse.Status`).
    public var statusCode: Int
    public var detail: String
    /// Extension members (`eventId`, `index`, `line`, `rule`, `field`, `parameter`, ...).
    public var extensions: [String: JSONValue]
    /// The `Allow` header of a 405 (the methods the path accepts).
    public var allow: String?
    /// The `Retry-After` header (seconds) of a 503: when trying again makes sense.
    public var retryAfterSeconds: Int?

    public init(
        _ slug: String, status: Int, title: String, detail: String, extensions: [String: JSONValue] = [:],
        retryAfterSeconds: Int? = nil
    ) {
        self.slug = slug
        self.statusCode = status
        self.title = title
        self.detail = detail
        self.extensions = extensions
        self.retryAfterSeconds = retryAfterSeconds
    }

    public static let typeBase = "https://stratos-ledger.dev/problems/"
    public static let contentType = "application/problem+json"

    public var json: JSONValue {
        var o = extensions
        o["type"] = .string(Self.typeBase + slug)
        o["title"] = .string(title)
        o["status"] = .integer(statusCode)
        o["detail"] = .string(detail)
        return .object(o)
    }

    public var description: String { "\(statusCode) \(title): \(detail)" }

    // MARK: The service's problems

    public static func badParameter(_ name: String, _ detail: String) -> Problem {
        Problem(
            "bad-parameter", status: 400, title: "Bad request parameter", detail: detail,
            extensions: ["parameter": .string(name)])
    }
    public static func notFound(_ what: String, _ detail: String) -> Problem {
        Problem("not-found", status: 404, title: "\(what) not found", detail: detail)
    }
    public static func noRoute(_ method: String, _ path: String) -> Problem {
        Problem(
            "no-route", status: 404, title: "No such endpoint",
            detail: "\(method) \(path) is not an endpoint of this service (see docs/openapi.yaml)")
    }
    public static func methodNotAllowed(_ method: String, _ path: String, allow: String) -> Problem {
        var p = Problem(
            "method-not-allowed", status: 405, title: "Method not allowed",
            detail: "\(path) does not accept \(method); it accepts \(allow)")
        p.allow = allow
        return p
    }
    public static func epochNotClosed(_ epoch: Int64, lastClosed: Int64) -> Problem {
        Problem(
            "epoch-not-closed", status: 409, title: "Epoch not closed yet",
            detail: "epoch \(epoch) is not closed yet (the last closed epoch is \(lastClosed))",
            extensions: ["epoch": .integer(epoch), "lastClosedEpoch": .integer(lastClosed)])
    }
    public static func unauthorized(_ detail: String) -> Problem {
        Problem("unauthorized", status: 401, title: "Missing or bad bearer token", detail: detail)
    }
    public static func tooLarge(limit: Int) -> Problem {
        Problem(
            "body-too-large", status: 413, title: "Request body too large",
            detail: "the request body exceeds the limit of \(limit) bytes; split the batch",
            extensions: ["limit": .integer(limit)])
    }
    public static func unsupportedMediaType(_ got: String?) -> Problem {
        Problem(
            "unsupported-media-type", status: 415, title: "Unsupported media type",
            detail: "send events as application/json (an array) or application/x-ndjson (JSON Lines); got \(got ?? "no Content-Type")")
    }
    public static func unavailable(_ detail: String, retryAfterSeconds: Int = 1) -> Problem {
        Problem("unavailable", status: 503, title: "Service unavailable", detail: detail, retryAfterSeconds: retryAfterSeconds)
    }
    public static func internalError(requestID: String) -> Problem {
        Problem(
            "internal", status: 500, title: "Internal server error",
            detail: "the request failed inside the service; the log has the details under request \(requestID)",
            extensions: ["requestId": .string(requestID)])
    }
}
