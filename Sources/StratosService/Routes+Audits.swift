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

/// `GET /v1/audit/…`: a node's reward or an epoch's settlement recomputed from history (`Auditor`).
extension StratosServer {
    func addAuditRoutes(_ routes: RouteGroup) {
        routes.get("/audit/nodes/:id") { request, context in
            let id = try Self.identifier(context, "id", NodeID.init)
            guard let text = request.uri.queryParameters.get("epoch") else {
                throw Problem.badParameter("epoch", "the audit of a node needs ?epoch=N")
            }
            let epoch = try Self.epochValue(text, "epoch")
            return try await self.audit(request) { auditor in .json(try auditor.auditNode(id, epoch: epoch).json()) }
        }
        routes.get("/audit/epochs/:epoch") { request, context in
            let epoch = try Self.epochParameter(context, "epoch")
            return try await self.audit(request) { auditor in
                let r = try auditor.recompute(epoch: epoch)
                return .json(Self.epochAuditJSON(r))
            }
        }
    }

    /// The machine form of `audit epoch`: the recomputed report and the check.
    public static func epochAuditJSON(_ r: EpochRecomputation) -> JSONValue {
        let report = (try? JSONValue.parse(r.report.json())) ?? .null
        return .object([
            "epoch": .integer(r.epoch),
            "settlement": report,
            "matchesProjection": r.matchesProjection.map { .bool($0) } ?? .null,
            "replayedFrom": .object(["epoch": .integer(r.replayedFrom.epoch), "position": .integer(r.replayedFrom.position)]),
            "replayedEvents": .integer(r.replayedEvents),
            "closePosition": .integer(r.closeEvent.position),
        ])
    }
}
