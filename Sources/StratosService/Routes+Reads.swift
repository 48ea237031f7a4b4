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

/// The reads of the projections: snapshot, settlements, accounts, nodes, Ozone, stake, journal.
/// Each runs in one read snapshot on a standby or the primary (`ReadRouter`).
extension StratosServer {
    func addReadRoutes(_ routes: RouteGroup) {
        routes.get("/snapshot") { request, _ in try await self.snapshot(request) }
        routes.get("/epochs/:epoch/settlement") { request, context in
            let epoch = try Self.epochParameter(context, "epoch")
            return try await self.read(request) { model in
                if let report = try model.settlement(epoch: epoch) { return .raw(report.json()) }
                throw try Self.epochProblem(epoch, model)
            }
        }
        routes.get("/accounts/:id") { request, context in
            let id = try Self.identifier(context, "id", AccountID.init)
            return try await self.read(request) { model in
                guard let v = try model.account(id) else { throw Problem.notFound("Account", "account \(id) has never been seen") }
                return .json(ReadJSON.account(id, v))
            }
        }
        routes.get("/accounts/:id/vesting") { request, context in
            let id = try Self.identifier(context, "id", AccountID.init)
            return try await self.read(request) { model in
                guard let v = try model.vesting(id) else { throw Problem.notFound("Account", "account \(id) has never been seen") }
                return .json(ReadJSON.vesting(v))
            }
        }
        routes.get("/nodes/:id/rewards") { request, context in
            let id = try Self.identifier(context, "id", NodeID.init)
            let range = try Self.epochRange(request)
            return try await self.read(request) { model in
                guard let v = try model.nodeRewards(id, epochs: range) else { throw Problem.notFound("Node", "node \(id) has never been seen") }
                return .json(ReadJSON.nodeRewards(id, epochs: range, v))
            }
        }
        routes.get("/nodes/top") { request, context in
            let range = try Self.epochRange(request)
            let limit =
                try request.uri.queryParameters.get("limit").map { text in
                    guard let v = Int(text), (1...Self.topNodesLimit).contains(v) else {
                        throw Problem.badParameter("limit", "limit must be an integer from 1 to \(Self.topNodesLimit), got \"\(text)\"")
                    }
                    return v
                } ?? 10
            return try await self.read(request) { model in
                .json(ReadJSON.topNodes(epochs: range, limit: limit, try model.topNodes(epochs: range, limit: limit)))
            }
        }
        routes.get("/ozone") { request, context in
            let range = try Self.epochRange(request)
            return try await self.read(request) { model in .json(ReadJSON.ozoneSeries(epochs: range, try model.ozoneSeries(epochs: range))) }
        }
        routes.get("/stake/:id") { request, context in
            guard let raw = context.parameters.get("id").flatMap({ $0.removingPercentEncoding }), isValidIdentifier(raw) else {
                throw Problem.badParameter("id", "the validator or delegator id must be 1–128 printable ASCII characters without spaces")
            }
            return try await self.read(request) { model in
                guard let v = try model.stake(raw) else {
                    throw Problem.notFound("Validator or delegator", "\(raw) is neither a validator nor a delegator")
                }
                return .json(ReadJSON.stake(v))
            }
        }
        routes.get("/journal") { request, _ in try await self.journal(request) }
    }

    func snapshot(_ request: Request) async throws -> Response {
        let q = request.uri.queryParameters
        let point: SnapshotPoint
        switch (q.get("epoch"), q.get("position")) {
        case (nil, nil): point = .latest
        case (let e?, nil): point = .epoch(try Self.epochValue(e, "epoch"))
        case (nil, let p?):
            guard let v = Int64(p), v >= 0 else { throw Problem.badParameter("position", "position must be an integer ≥ 0, got \"\(p)\"") }
            point = .position(v)
        default: throw Problem.badParameter("epoch", "give either ?epoch= or ?position=, not both")
        }
        return try await read(request) { model in
            if let s = try model.snapshot(point) { return .raw(s.json()) }
            switch point {
            case .epoch(let e): throw try Self.epochProblem(e, model)
            case .position(let p):
                let head = try model.projectedPosition()
                throw Problem.notFound("Position", "position \(p) is beyond the projected log (at position \(head))")
            case .latest: throw Problem.notFound("Snapshot", "the log is empty: append Genesis first")
            }
        }
    }

    func journal(_ request: Request) async throws -> Response {
        try Self.refuseBuild(request)
        let range = try Self.epochRange(request)
        let owner = try request.uri.queryParameters.get("account").map { try Self.identifierValue($0, "account", AccountID.init) }
        let models = readModels
        if let owner {
            _ = try await read(request) { model in
                guard try model.account(owner) != nil else { throw Problem.notFound("Account", "account \(owner) has never been seen") }
                return .raw("")
            }
        }
        return try await streamed(request, contentType: "application/x-ndjson") { c, emit in
            var buffer = ""
            try models.readModel(on: c).journal(epochs: range) { t in
                if let owner, !t.postings.contains(where: { $0.owner == owner }) { return }
                buffer += Self.journalLine(t) + "\n"
                if buffer.utf8.count >= PreparedExport.chunkBytes {
                    try emit(buffer)
                    buffer = ""
                }
            }
            if !buffer.isEmpty { try emit(buffer) }
        }
    }

    /// A chunked response whose body `produce` writes in a read snapshot (see `ChunkHandoff`);

    static func journalLine(_ t: JournalTransaction) -> String {
        JSONValue.object([
            "position": .integer(t.position), "id": .string(t.eventID.rawValue), "type": .string(t.type),
            "time": .string(t.time.rfc3339), "epoch": .integer(t.epoch),
            "postings": .array(
                t.postings.map { p in
                    .object([
                        "account": .string(p.account), "owner": p.owner.map { .string($0.rawValue) } ?? .null,
                        "commodity": .string(p.commodity.rawValue),
                        "amount": .string((p.negative ? "-" : "") + String(p.amount.baseUnits)), "reason": .string(p.reason),
                    ])
                }),
        ]).canonicalText
    }
}
