import EventStore
import Foundation
import LedgerEvents
import LoopbackHTTP
import PostgresClient
import StratosEconomics
import StratosProjections
import StratosService
import XCTest

extension ServiceTests {
    /// The build routes in the end-to-end run (one build: the serving one).
    func buildRoutes(_ h: ServiceHarness, _ api: OpenAPIChecker) throws {
        var r = try h.get("/v1/builds")
        XCTAssertEqual(r.status, 200, r.text)
        api.check("GET", "/v1/builds", r)
        XCTAssertEqual(try r.json.array?.map { $0["schema"]?.string }, ["projection"])
        r = try h.get("/v1/builds/projection/diff/projection?from=2&to=4")
        XCTAssertEqual(r.status, 200, r.text)
        api.check("GET", "/v1/builds/{a}/diff/{b}", r)
        XCTAssertEqual(try r.json["epochs"]?.array?.count, 0, "a build does not differ from itself")
        for path in [
            "/v1/builds/projection/diff/nonesuch", "/v1/builds/projection/diff/projection?from=5&to=2", "/v1/builds/bad%20name/diff/projection",
        ] {
            api.check("GET", "/v1/builds/{a}/diff/{b}", try h.get(path))
        }
        XCTAssertEqual(try h.get("/v1/builds/projection/diff/nonesuch").status, 404)
        r = try h.get("/v1/snapshot?build=nonesuch")
        XCTAssertEqual(r.status, 404)
        XCTAssertTrue(try r.json["detail"]?.string?.contains("there is no build nonesuch") ?? false, r.text)
        api.check("GET", "/v1/snapshot", r)
    }
}

/// `GET /v1/builds`, `GET /v1/builds/{a}/diff/{b}` and `?build=NAME` with two builds side by side,
/// against the library (the CLI prints the same JSON: `BuildInfo.json`, `BuildDiff.json`).
final class BuildsRouteTests: XCTestCase {
    func testBuildsDiffsAndReadsOfANonServingBuild() throws {
        let h = try ServiceHarness()
        defer { h.stop() }
        let (events, _) = try ServiceTests.history(epochs: 30, seed: 9)
        for start in stride(from: 0, to: events.count, by: 500) {
            let r = try h.post(Array(events[start..<min(start + 500, events.count)]))
            XCTAssertEqual(r.status, 201, r.text)
        }
        try h.project()
        let paperV1Snapshot = try h.get("/v1/snapshot").text
        let rebuilder = try Rebuilder(url: h.database.url, checkpointEvery: 1, batchSize: 1_000)
        let report = try rebuilder.run(rules: .paperV1EffectiveS, diff: false, name: "eff")
        XCTAssertTrue(report.switched)

        // The listing: the CLI's JSON, byte for byte.
        var r = try h.get("/v1/builds")
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertEqual(r.text, BuildInfo.json(try rebuilder.builds()).canonicalText)
        XCTAssertEqual(try r.json.array?.map { $0["name"]?.string }, ["eff", "paper-v1"])

        // The serving build is eff; ?build=paper-v1 reads the other one, with its position.
        r = try h.get("/v1/snapshot")
        XCTAssertEqual(r.text, ServiceTests.replay(events, rules: .paperV1EffectiveS))
        XCTAssertNotEqual(r.text, paperV1Snapshot, "the rule sets differ on this history")
        r = try h.get("/v1/snapshot?build=paper-v1")
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertEqual(r.text, paperV1Snapshot)
        XCTAssertEqual(r.headers["x-stratos-position"], String(events.count))
        XCTAssertEqual(try h.get("/v1/snapshot?build=projection_previous").text, paperV1Snapshot, "by its schema too")
        for path in ["/v1/epochs/5/settlement", "/v1/ozone?from=1&to=10", "/v1/nodes/top?from=1&to=20&limit=3", "/v1/audit/epochs/7"] {
            let sep = path.contains("?") ? "&" : "?"
            let other = try h.get(path + sep + "build=paper-v1")
            XCTAssertEqual(other.status, 200, "\(path): \(other.text)")
            let q = try LedgerQueries(connection: try h.database.connect(), schema: "projection_previous")
            if path.hasPrefix("/v1/epochs/5") { XCTAssertEqual(other.text, try q.settlement(epoch: 5).json()) }
        }
        XCTAssertEqual(try h.get("/v1/audit/epochs/7?build=paper-v1").json["matchesProjection"]?.bool, true)
        XCTAssertEqual(try h.get("/v1/audit/epochs/7").json["matchesProjection"]?.bool, true, "the cache kept the builds apart")
        XCTAssertEqual(try h.get("/v1/snapshot?build=nonesuch").status, 404)
        XCTAssertEqual(try h.get("/v1/snapshot?build=a%20b").status, 400)
        XCTAssertEqual(try h.get("/v1/journal?build=paper-v1").status, 400, "refused, not ignored")

        // The diff: the library's JSON, with the same filters.
        for (query, filter) in [
            ("", BuildDiffFilter()), ("?from=3&to=12", BuildDiffFilter(fromEpoch: 3, toEpoch: 12)),
        ] {
            r = try h.get("/v1/builds/paper-v1/diff/eff" + query)
            XCTAssertEqual(r.status, 200, r.text)
            XCTAssertEqual(r.text, try rebuilder.diff("paper-v1", "eff", filter: filter).json.canonicalText)
            XCTAssertFalse(try r.json["epochs"]?.array?.isEmpty ?? true, "the rule sets differ on this history")
        }
        let node = try XCTUnwrap(try h.get("/v1/builds/paper-v1/diff/eff").json["nodes"]?.array?.first?["node"]?.string)
        r = try h.get("/v1/builds/paper-v1/diff/eff?node=\(node)&to=20")
        XCTAssertEqual(r.text, try rebuilder.diff("paper-v1", "eff", filter: BuildDiffFilter(node: node, toEpoch: 20)).json.canonicalText)
        XCTAssertEqual(try h.get("/v1/builds/paper-v1/diff/eff?node=\(node)&account=st1x").status, 400)
        r = try h.get("/v1/builds/paper-v1/diff/nonesuch")
        XCTAssertEqual(r.status, 404)
        XCTAssertTrue(try r.json["detail"]?.string?.contains("nonesuch") ?? false, r.text)

        // An audit cached under the serving build's rules is not served after a switch to a
        // build under other rules: the cache is keyed by the rule set.
        let epoch = try XCTUnwrap(
            (1...30).last { e in
                try h.get("/v1/epochs/\(e)/settlement").text != h.get("/v1/epochs/\(e)/settlement?build=paper-v1").text
            }, "the rule sets settle some epoch differently")
        XCTAssertEqual(try h.get("/v1/audit/epochs/\(epoch)").json["matchesProjection"]?.bool, true)
        _ = try rebuilder.switchBack()
        XCTAssertEqual(
            try h.get("/v1/audit/epochs/\(epoch)").json["matchesProjection"]?.bool, true,
            "epoch \(epoch) recomputed under the rules now serving, not taken from the cache")
    }
}

extension ServiceTests {
    /// The snapshot JSON of an in-memory replay under `rules`.
    static func replay(_ events: [LedgerEvent], rules: RuleSet) -> String {
        var e = Economy(rules: rules)
        for event in events { _ = try? e.apply(event) }
        return e.snapshot().json()
    }
}
