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

/// Reading and checking the request's path and query parameters: each refusal is a 400 naming
/// the parameter.
extension StratosServer {
    /// The most nodes `GET /v1/nodes/top` lists at once.
    static let topNodesLimit = 1000
    static func epochProblem(_ epoch: Int64, _ model: ReadModel) throws -> Problem {
        let last = try model.lastClosedEpoch()
        return epoch > last
            ? Problem.epochNotClosed(epoch, lastClosed: last)
            : Problem.notFound("Epoch", "epoch \(epoch) is not in the projections yet")
    }

    static func epochValue(_ text: String, _ name: String) throws -> Int64 {
        guard let v = Int64(text), v >= 1 else { throw Problem.badParameter(name, "\(name) must be an epoch number ≥ 1, got \"\(text)\"") }
        return v
    }

    static func epochParameter(_ context: BasicRequestContext, _ name: String) throws -> Int64 {
        try epochValue(context.parameters.get(name) ?? "", name)
    }

    /// `?from=&to=` as a closed epoch range (defaults: 1 and the latest).
    static func epochRange(_ request: Request) throws -> ClosedRange<Int64> {
        let q = request.uri.queryParameters
        let from = try q.get("from").map { try epochValue($0, "from") } ?? 1
        let to = try q.get("to").map { try epochValue($0, "to") } ?? Int64.max
        guard from <= to else { throw Problem.badParameter("to", "the range is empty: from = \(from) is after to = \(to)") }
        return from...to
    }

    static func identifierValue<T>(_ raw: String, _ name: String, _ make: (String) -> T?) throws -> T {
        guard let decoded = raw.removingPercentEncoding, let v = make(decoded) else {
            throw Problem.badParameter(name, "\(name) must be 1–128 printable ASCII characters without spaces, got \"\(raw)\"")
        }
        return v
    }

    static func identifier<T>(_ context: BasicRequestContext, _ name: String, _ make: (String) -> T?) throws -> T {
        try identifierValue(context.parameters.get(name) ?? "", name, make)
    }
}
