import HTTPTypes
import Hummingbird

/// Registers the routes, by group, and remembers each full path's methods, so that a known path
/// asked with another method is answered 405 with `Allow` (RFC 9110 15.5.6) instead of
/// Hummingbird's 404, which cannot tell "no such path" from "not with this method". Unknown
/// paths stay 404.
final class RouteTable {
    typealias Handler = @Sendable (Request, BasicRequestContext) async throws -> Response
    let router: Router<BasicRequestContext>
    /// Full path → its methods, in registration order.
    private var methods: [(path: String, methods: [HTTPRequest.Method])] = []

    /// The methods a client may try on any path; the others are unknown methods (404).
    static let standardMethods: [HTTPRequest.Method] = [.get, .head, .post, .put, .patch, .delete, .options]

    init(router: Router<BasicRequestContext>) { self.router = router }

    /// A group of routes under `prefix` ("" for the root), behind `middleware` if given (it
    /// runs for the group's routes only, after the router's own middleware).
    func group(_ prefix: String, middleware: (any MiddlewareProtocol<Request, Response, BasicRequestContext>)? = nil) -> RouteGroup {
        let group: RouterGroup<BasicRequestContext> = router.group(RouterPath(prefix))
        if let middleware { group.add(middleware: middleware) }
        return RouteGroup(table: self, group: group, prefix: prefix)
    }

    fileprivate func record(_ method: HTTPRequest.Method, _ path: String) {
        if let i = methods.firstIndex(where: { $0.path == path }) {
            methods[i].methods.append(method)
        } else {
            methods.append((path, [method]))
        }
    }

    /// Adds, on every registered path, a 405 responder for each standard method it lacks. They
    /// sit on the root router, outside every group's middleware: a wrong method is a 405 for
    /// anyone, token or not.
    func refuseOtherMethods() {
        for (path, allowed) in methods {
            let allow = allowed.map(\.rawValue).joined(separator: ", ")
            for method in Self.standardMethods where !allowed.contains(method) {
                router.on(RouterPath(path), method: method) { request, _ -> Response in
                    throw Problem.methodNotAllowed(request.method.rawValue, request.uri.path, allow: allow)
                }
            }
        }
    }
}

/// The routes of one area, registered on a Hummingbird `RouterGroup` and recorded, by their
/// full path, in the `RouteTable`.
struct RouteGroup {
    fileprivate let table: RouteTable
    fileprivate let group: RouterGroup<BasicRequestContext>
    let prefix: String

    func get(_ path: String, _ handler: @escaping RouteTable.Handler) { add(.get, path, handler) }
    func post(_ path: String, _ handler: @escaping RouteTable.Handler) { add(.post, path, handler) }

    private func add(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping RouteTable.Handler) {
        group.on(RouterPath(path), method: method, use: handler)
        table.record(method, prefix + path)
    }
}
