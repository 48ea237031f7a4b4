import Foundation
import HTTPTypes
import Hummingbird
import LedgerEvents
import PostgresClient
import StratosProjections

/// `GET /v1/builds` and `GET /v1/builds/{a}/diff/{b}`: the projection builds kept side by side
/// and what differs between two of them, the same JSON as `stratos-ledger builds --format json`
/// and `builds diff A B --format json` (the same library code: `BuildCatalog`, `BuildDiff`).
/// `?build=NAME` on the other reads (`StratosServer.build`) reads a build that is not serving.
extension StratosServer {
    func addBuildRoutes(_ routes: RouteGroup) {
        routes.get("/builds") { request, _ in
            let catalog = BuildCatalog(schemas: ProjectionSchemas(serving: self.configuration.schema), sql: self.router.sql)
            let r = try await self.router.read(minPosition: try Self.minPosition(request)) { c in
                BuildInfo.json(try catalog.list(c))
            }
            return Reply.json(r.value).response(position: r.position)
        }
        routes.get("/builds/:a/diff/:b") { request, context in
            let r = try await self.buildDiff(request, a: context.parameters.get("a") ?? "", b: context.parameters.get("b") ?? "") { _, d in
                d.json
            }
            return Reply.json(r.value).response(position: r.position)
        }
    }

    /// What `GET /v1/builds/{a}/diff/{b}` computes for `request` (its query: `node`, `account`,
    /// `from`, `to`), checked and refused alike wherever it is asked (the API and the console's
    /// diff page): unknown builds are 404s, bad parameters 400s. `then` turns the diff into the
    /// answer in the same read snapshot (the console looks up which of its keys have a page).
    func buildDiff<T: Sendable>(
        _ request: Request, a rawA: String, b rawB: String, then: @escaping @Sendable (PostgresConnection, BuildDiff) throws -> T
    ) async throws -> ReadRouter.Positioned<T> {
        let a = try Self.buildName(rawA, "a")
        let b = try Self.buildName(rawB, "b")
        let q = request.uri.queryParameters
        let range = try Self.epochRange(request)
        var filter = BuildDiffFilter(
            node: try q.get("node").map { try Self.identifierValue($0, "node") { isValidIdentifier($0) ? $0 : nil } },
            account: try q.get("account").map { try Self.identifierValue($0, "account") { isValidIdentifier($0) ? $0 : nil } })
        if q.get("from") != nil { filter.fromEpoch = range.lowerBound }
        if q.get("to") != nil { filter.toEpoch = range.upperBound }
        if filter.node != nil && filter.account != nil { throw Problem.badParameter("account", "give ?node= or ?account=, not both") }
        let sql = self.router.sql
        let catalog = BuildCatalog(schemas: ProjectionSchemas(serving: self.configuration.schema), sql: sql)
        return try await self.router.read(minPosition: try Self.minPosition(request)) { [filter] c in
            func schema(_ name: String) throws -> String {
                do { return try catalog.resolve(c, name).schema } catch let e as BuildError { throw Problem.notFound("Build", e.description) }
            }
            return try then(c, try BuildDiff.compute(c, sql: sql, catalog: catalog, a: try schema(a), b: try schema(b), filter: filter))
        }
    }

    /// `?build=NAME`: read that build instead of the serving one (nil when absent).
    static func build(_ request: Request) throws -> String? {
        try request.uri.queryParameters.get("build").map { try buildName($0, "build") }
    }

    /// The streamed reads (journal, exports) read the serving build only: `?build=` there is
    /// refused rather than ignored.
    static func refuseBuild(_ request: Request) throws {
        if request.uri.queryParameters.get("build") != nil {
            throw Problem.badParameter("build", "?build= is not supported on \(request.uri.path): it reads the serving build")
        }
    }

    /// A build name from the request (percent-decoded, checked for the characters a name or a
    /// schema name may hold; whether it exists is the catalog's answer, a 404).
    static func buildName(_ raw: String, _ parameter: String) throws -> String {
        guard let name = raw.removingPercentEncoding, (1...128).contains(name.utf8.count),
            name.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D })
        else {
            throw Problem.badParameter(
                parameter, "\(parameter) must be a build name (letters, digits, '.', '_', '-', at most 128), got \"\(raw)\"")
        }
        return name
    }
}
