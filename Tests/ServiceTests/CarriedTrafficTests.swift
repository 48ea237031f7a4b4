import EventStore
import LedgerEvents
import PostgresClient
import PostgresTestSupport
import StratosEconomics
import StratosProjections
import StratosSimulator
import XCTest

@testable import StratosReports
@testable import StratosService

/// A node audit lists the traffic events that built the contribution settled at the epoch,
/// including what the node carried from earlier epochs (read from its stream, not replayed).
/// The reference is a replay from Genesis through the engine.
final class CarriedTrafficTests: XCTestCase {
    func testNodeAuditsListExactlyTheTrafficThatFedTheSettlement() throws {
        let database = try TestDatabase.create(prefix: "carry")
        defer { try? database.drop() }
        let owner = try database.connect()
        try Migrator.load().migrate(owner)
        var config = SimulationConfig()
        config.seed = 21
        config.epochs = 120
        config.users = 8
        config.resourceNodes = 8
        config.trafficPerEpoch = 6
        var events: [LedgerEvent] = []
        _ = try Simulator(config).run { events.append($0) }
        try EventStore(connection: owner).append(events)
        let worker = try ProjectionWorker(url: database.url, schema: "projection")
        try worker.createIfMissing(rules: .paperV1, checkpointEvery: 1)
        try worker.catchUp()
        try worker.ensureIndexed()

        // The reference: per node, the traffic since its last settlement, as the engine applied it.
        var economy = Economy(rules: .paperV1)
        var pending: [NodeID: [(position: Int64, charge: UInt128)]] = [:]
        var expected: [(epoch: Int64, node: NodeID, traffic: [(position: Int64, charge: UInt128)])] = []
        for (i, event) in events.enumerated() {
            let applied = try economy.apply(event)
            for case .trafficRecorded(_, let node, _, _, let charge) in applied.effects {
                pending[node, default: []].append((Int64(i + 1), charge.rawValue))
            }
            if let s = applied.settlement {
                for settled in s.settled {
                    expected.append((s.epoch, settled.node, pending[settled.node] ?? []))
                    pending[settled.node] = []
                }
            }
        }
        let auditor = Auditor(
            connection: try database.connect(),
            readModel: try ProjectionReadModels().readModel(on: try database.connect()))
        var carried = 0
        for (epoch, node, traffic) in expected where epoch > 1 {
            let r = try auditor.recompute(epoch: epoch, node: node)
            XCTAssertEqual(r.matchesProjection, true)
            let listed = r.trackedTraffic.map { ($0.position, $0.charge?.rawValue ?? 0) }
            XCTAssertEqual(listed.map(\.0), traffic.map(\.position), "epoch \(epoch) node \(node)")
            XCTAssertEqual(listed.map(\.1), traffic.map(\.charge), "epoch \(epoch) node \(node)")
            if traffic.contains(where: { $0.position < r.replayedFrom.position }) { carried += 1 }
        }
        XCTAssertGreaterThan(carried, 5, "the history should have contributions carried over epochs")
    }
}
