import HTTPTypes
import Hummingbird
import NIOCore
import PostgresClient

/// Turns every error into problem+json and records each request's latency.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let metrics: ServiceMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response: Response
        do {
            response = try await next(request, context)
        } catch let problem as Problem {
            // 503s are logged where the outage is seen (appender, worker, probes), once per
            // outage; one line per refused request would bury them under a busy client's retries.
            if problem.statusCode >= 500 && problem.statusCode != 503 { context.logger.error("\(request.method) \(request.uri.path): \(problem)") }
            response = Self.response(problem)
        } catch let error as PoolError {
            let retry: Int
            switch error {
            case .exhausted: retry = 1
            case .unreachable(_, let after): retry = Appender.seconds(after)
            }
            response = Self.response(.unavailable("\(error)", retryAfterSeconds: retry))
        } catch let error as PostgresError where error.isTransient {
            context.logger.notice("\(request.method) \(request.uri.path): \(error)")
            let detail =
                error.isQueryCanceled
                ? "the query took longer than the service allows (statement timeout); narrow the request"
                : "PostgreSQL cannot answer now: \(error.message)"
            response = Self.response(.unavailable(detail, retryAfterSeconds: 1))
        } catch let error as HTTPError {
            let problem: Problem
            switch error.status.code {
            case 404: problem = .noRoute(request.method.rawValue, request.uri.path)
            case 413:
                problem = Problem(
                    "body-too-large", status: 413, title: "Request body too large", detail: error.body ?? "the request body is too large")
            default:
                problem = Problem(
                    "http", status: error.status.code, title: error.status.reasonPhrase, detail: error.body ?? error.status.reasonPhrase)
            }
            response = Self.response(problem)
        } catch {
            context.logger.error("\(request.method) \(request.uri.path) failed: \(String(reflecting: error))")
            response = Self.response(.internalError(requestID: context.id))
        }
        let d = ContinuousClock.now - start
        let seconds = d.inSeconds
        metrics.recordRequest(
            route: context.endpointPath ?? "unmatched", method: request.method.rawValue,
            status: response.status.code, seconds: seconds)
        return response
    }

    static func response(_ problem: Problem) -> Response {
        Response(
            status: problem.status, headers: problem.headerFields,
            body: ResponseBody(byteBuffer: ByteBuffer(string: problem.json.canonicalText)))
    }
}

extension Problem {
    /// `Content-Type`, and `Allow` or `Retry-After` when the problem has them.
    var headerFields: HTTPFields {
        var headers: HTTPFields = [.contentType: Problem.contentType]
        if let allow { headers[.allow] = allow }
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        return headers
    }
}

/// A `Problem` thrown anywhere under the router is its own response (Hummingbird's error
/// protocol); `ProblemMiddleware` answers it the same way and also records it.
extension Problem: HTTPResponseError {
    public var status: HTTPResponse.Status { HTTPResponse.Status(code: statusCode) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        ProblemMiddleware.response(self)
    }
}
