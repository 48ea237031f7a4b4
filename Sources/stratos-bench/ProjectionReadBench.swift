// Read latency on the projection suite's long history (the `bench` preset, 2 million events,
// 4,320 epochs, vesting entries maturing from epoch 2,017 on): cold audits over HTTP, snapshots,
// and the recomputation of random epochs. The server runs in this process on a loopback port,
// as in production (the stratos_app role, the projection the suite just rebuilt).
import Foundation
import LedgerEvents
import StratosProjections
import StratosSimulator

extension ProjectionBench {
    static func longHistoryReads(url: String, queries: LedgerQueries, lastEpoch: Int64) async throws -> [BenchFigure] {
        var figures: [BenchFigure] = []
        func percentiles(_ what: String, _ values: [Double], target: String? = nil) {
            let sorted = values.sorted()
            let label = "\(what), \(values.count) samples, \(lastEpoch)-epoch history"
            figures.append(BenchFigure(suite: name, name: "\(label), p50", value: sorted[sorted.count / 2], unit: "ms", target: nil))
            figures.append(
                BenchFigure(
                    suite: name, name: "\(label), p99", value: sorted[min(sorted.count - 1, sorted.count * 99 / 100)],
                    unit: "ms", target: target))
        }
        // Distinct random epochs over the whole history (seeded: the same epochs every run).
        var rng = SplitMix64(seed: 2026)
        var seen = Set<Int64>()
        func epochs(_ count: Int) -> [Int64] {
            var out: [Int64] = []
            while out.count < count {
                let e = Int64.random(in: 2...lastEpoch, using: &rng)
                if seen.insert(e).inserted { out.append(e) }
            }
            return out
        }

        var recompute: [Double] = []
        for epoch in epochs(60) {
            let v = try queries.verify(epoch: epoch)
            precondition(v.matches, "verify \(epoch) failed: \(String(describing: v.firstDifference))")
            recompute.append(v.recomputeSeconds * 1000)
        }
        percentiles("recompute one epoch (verify), random epochs", recompute, target: "<= 200")

        let (port, task) = try await startBenchServer(url: url, writeToken: "bench-token")
        defer { task.cancel() }
        var audits: [String] = []
        for epoch in epochs(200) {
            if let node = try queries.settlement(epoch: epoch).report.settled.first?.node {
                audits.append("/v1/audit/nodes/\(node)?epoch=\(epoch)")
            }
        }
        percentiles("HTTP audit node, cold (distinct random epochs)", try await getLatencies(port: port, audits), target: "<= 50")
        percentiles(
            "HTTP audit epoch, cold (distinct random epochs)", try await getLatencies(port: port, epochs(200).map { "/v1/audit/epochs/\($0)" }),
            target: "<= 50")
        percentiles("HTTP snapshot at a random epoch", try await getLatencies(port: port, epochs(60).map { "/v1/snapshot?epoch=\($0)" }))
        return figures
    }
}
