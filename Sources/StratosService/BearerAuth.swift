import Foundation
import Hummingbird

/// Bearer-token authorisation of a route group: writes need `Authorization: Bearer <write
/// token>` (and are refused with 403 when the server has none); reads need the read token, or
/// the write token, when a read token is configured, and are open otherwise.
///
/// Why a middleware on the group: a route added to the group cannot forget its check, and a
/// handler holds no authorisation code.
struct BearerAuthMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext

    enum Access: Sendable { case read, write }

    struct Tokens: Sendable {
        var write: String?
        var read: String?
    }

    let access: Access
    let tokens: Tokens

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try authorize(request)
        return try await next(request, context)
    }

    func authorize(_ request: Request) throws(Problem) { try authorize(request.headers) }

    func authorize(_ headers: HTTPFields) throws(Problem) {
        let presented: String? = headers[.authorization].flatMap { value in
            let parts = value.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].utf8.elementsEqual("bearer".utf8, by: asciiCaseInsensitive) else { return nil }
            return String(trimmedBlanks(parts[1]))
        }
        switch access {
        case .write:
            guard let token = tokens.write, !token.isEmpty else {
                throw Problem(
                    "writes-disabled", status: 403, title: "Writes are disabled",
                    detail: "this server was started without a write token (--write-token or STRATOS_WRITE_TOKEN)")
            }
            guard let presented else { throw Problem.unauthorized("appending events needs Authorization: Bearer <write token>") }
            guard constantTimeEqual(presented, token) else { throw Problem.unauthorized("the bearer token is not the write token") }
        case .read:
            guard let token = tokens.read, !token.isEmpty else { return }
            guard let presented else { throw Problem.unauthorized("reads need Authorization: Bearer <read token>") }
            let ok =
                constantTimeEqual(presented, token)
                || (tokens.write.map { !$0.isEmpty && constantTimeEqual(presented, $0) } ?? false)
            guard ok else { throw Problem.unauthorized("the bearer token is not a read token") }
        }
    }
}

/// Compares two secrets in time that depends only on their lengths, not on where they differ.
public func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8)
    let y = Array(b.utf8)
    var diff = UInt8(x.count == y.count ? 0 : 1)
    for i in 0..<max(x.count, y.count) {
        diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
    }
    return diff == 0
}

/// `text` without leading and trailing spaces and tabs.
///
/// Why not Foundation's `trimmingCharacters(in:)`: it goes through NSString, and in the append
/// path (the bearer token, the content type) it was ~2 % of the service's CPU per single-event
/// request in a profile (docs/EVENT-STORE.md).
func trimmedBlanks(_ text: Substring) -> Substring {
    let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
    let start = text.drop(while: isBlank)
    guard let last = start.lastIndex(where: { !isBlank($0) }) else { return start[start.startIndex..<start.startIndex] }
    return start[...last]
}

/// Whether two ASCII bytes are equal ignoring case (header tokens such as `Bearer`).
func asciiCaseInsensitive(_ a: UInt8, _ b: UInt8) -> Bool {
    func lower(_ c: UInt8) -> UInt8 { (c >= 65 && c <= 90) ? c + 32 : c }
    return lower(a) == lower(b)
}
