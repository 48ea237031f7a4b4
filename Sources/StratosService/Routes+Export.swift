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

/// `GET /v1/export`: the double-entry journal as csv, ledger or beancount, streamed.
extension StratosServer {
    func addExportRoutes(_ routes: RouteGroup) {
        routes.get("/export") { request, _ in try await self.export(request) }
    }

    func export(_ request: Request) async throws -> Response {
        try Self.refuseBuild(request)
        let q = request.uri.queryParameters
        guard let f = q.get("format") else { throw Problem.badParameter("format", "give ?format=csv, ledger or beancount") }
        guard let format = ExportFormat(rawValue: f) else {
            throw Problem.badParameter("format", "unknown export format \"\(f)\": use csv, ledger or beancount")
        }
        let range = try Self.epochRange(request)
        let owner = try q.get("account").map { try Self.identifierValue($0, "account", AccountID.init) }
        let exportRequest = ExportRequest(format: format, from: range.lowerBound, to: range.upperBound, account: owner)
        let models = readModels
        let rules = configuration.rules
        // Everything that can be refused is checked before the first byte is sent.
        let minPosition = try Self.minPosition(request)
        let prepared: PreparedExport
        do {
            prepared = try await router.read(minPosition: minPosition) { c in
                try PreparedExport.prepare(exportRequest, rules: rules, model: try models.readModel(on: c))
            }.value
        } catch let refusal as ExportRefusal {
            switch refusal {
            case .unknownAccount: throw Problem.notFound("Account", refusal.description)
            case .epochNotClosed(let epoch, let last): throw Problem.epochNotClosed(epoch, lastClosed: last)
            case .epochNotProjected: throw Problem.notFound("Epoch", refusal.description)
            }
        }
        let name = "stratos-journal.\(format == .csv ? "csv" : format == .ledger ? "journal" : "beancount")"
        return try await streamed(
            request, contentType: format.contentType,
            headers: [.contentDisposition: "attachment; filename=\"\(name)\""]
        ) { c, emit in
            try prepared.write(model: try models.readModel(on: c), emit)
        }
    }
}
