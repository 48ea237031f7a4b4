import EventStore
import Foundation
import LedgerEvents
import LoopbackHTTP
import StratosEconomics
import StratosReports
import StratosService
import StratosSimulator
import XCTest

/// End to end over HTTP: a real server on a loopback port, real PostgreSQL, real projections.
final class ServiceTests: XCTestCase {
    /// A deterministic simulated history and the economy it ends in.
    static func history(epochs: Int = 24, seed: UInt64 = 42) throws -> ([LedgerEvent], Economy) {
        var config = SimulationConfig.small
        config.epochs = epochs
        config.seed = seed
        var events: [LedgerEvent] = []
        let (_, economy) = try Simulator(config).runReturningEconomy { events.append($0) }
        return (events, economy)
    }

    func testEndToEnd() throws {
        let h = try ServiceHarness()
        defer { h.stop() }
        let api = try OpenAPIChecker()
        let (events, economy) = try Self.history()
        XCTAssertGreaterThan(events.count, 100)

        // Writes need the write token.
        var r = try h.post(Array(events.prefix(3)), headers: [])
        XCTAssertEqual(r.status, 401)
        api.check("POST", "/v1/events", r)
        r = try h.post(Array(events.prefix(3)), headers: [("Authorization", "Bearer not-the-token")])
        XCTAssertEqual(r.status, 401)
        XCTAssertEqual(try h.head(), 0)

        // Append: JSON arrays and JSON Lines, in batches.
        var expected: Int64 = 0
        for (i, start) in stride(from: 0, to: events.count, by: 97).enumerated() {
            let batch = Array(events[start..<min(start + 97, events.count)])
            r = try h.post(batch, jsonLines: i % 2 == 1)
            XCTAssertEqual(r.status, 201, r.text)
            api.check("POST", "/v1/events", r)
            let items = try r.json["events"]?.array ?? []
            XCTAssertEqual(items.count, batch.count)
            for (item, event) in zip(items, batch) {
                expected += 1
                XCTAssertEqual(item["id"]?.string, event.id.rawValue)
                XCTAssertEqual(item["position"]?.int, expected)
                XCTAssertEqual(item["status"]?.string, "appended")
            }
        }
        XCTAssertEqual(try h.head(), Int64(events.count))

        // Idempotent repeat: 200, every event a duplicate at its original position.
        r = try h.post(Array(events.prefix(10)))
        XCTAssertEqual(r.status, 200, r.text)
        api.check("POST", "/v1/events", r)
        XCTAssertEqual(try r.json["duplicates"]?.int, 10)
        XCTAssertEqual(try r.json["events"]?.array?.last?["position"]?.int, 10)

        try refusals(h, api, events: events)

        // Reads.
        try h.project()
        // Health comes from a probe made every second.
        try h.eventually(5, "the probe sees the projections at the head") { try h.get("/health").json["lag"]?.int == 0 }
        r = try h.get("/health")
        XCTAssertEqual(r.status, 200)
        api.check("GET", "/health", r)
        r = try h.get("/health/live")
        XCTAssertEqual(r.status, 200)
        api.check("GET", "/health/live", r)
        r = try h.get("/health/ready")
        XCTAssertEqual(r.status, 200, r.text)
        api.check("GET", "/health/ready", r)

        r = try h.get("/v1/snapshot")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.text, economy.snapshot().json(), "the served snapshot is the simulator's final economy")
        XCTAssertEqual(r.headers["x-stratos-position"], String(events.count), "the read says the position it reflects")
        api.check("GET", "/v1/snapshot", r)
        let lastClosed = economy.lastClosedEpoch
        XCTAssertGreaterThan(lastClosed, 10)
        for path in [
            "/v1/snapshot?epoch=5", "/v1/snapshot?position=50", "/v1/snapshot?epoch=\(lastClosed + 5)",
            "/v1/snapshot?epoch=abc", "/v1/snapshot?epoch=1&position=2", "/v1/snapshot?position=999999",
        ] {
            r = try h.get(path)
            api.check("GET", "/v1/snapshot", r)
        }
        XCTAssertEqual(try h.get("/v1/snapshot?epoch=\(lastClosed + 5)").status, 409)
        XCTAssertEqual(try h.get("/v1/snapshot?epoch=abc").status, 400)
        XCTAssertEqual(try h.get("/v1/snapshot?epoch=5").status, 200)

        r = try h.get("/v1/epochs/5/settlement")
        XCTAssertEqual(r.status, 200)
        api.check("GET", "/v1/epochs/{epoch}/settlement", r)
        let settlement5 = try r.json
        r = try h.get("/v1/epochs/\(lastClosed + 1)/settlement")
        XCTAssertEqual(r.status, 409)
        XCTAssertEqual(r.headers["content-type"], "application/problem+json")
        api.check("GET", "/v1/epochs/{epoch}/settlement", r)
        r = try h.get("/v1/epochs/0/settlement")
        XCTAssertEqual(r.status, 400)
        api.check("GET", "/v1/epochs/{epoch}/settlement", r)

        let snapshot = economy.snapshot()
        let someAccount = snapshot.accounts.keys.sorted().first!
        r = try h.get("/v1/accounts/\(someAccount)")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(try r.json["wallet"]?.string, snapshot.accounts[someAccount]!.wallet.description)
        api.check("GET", "/v1/accounts/{id}", r)
        r = try h.get("/v1/accounts/st1nobody")
        XCTAssertEqual(r.status, 404)
        api.check("GET", "/v1/accounts/{id}", r)
        r = try h.get("/v1/accounts/\(someAccount)/vesting")
        XCTAssertEqual(r.status, 200)
        api.check("GET", "/v1/accounts/{id}/vesting", r)
        api.check("GET", "/v1/accounts/{id}/vesting", try h.get("/v1/accounts/st1nobody/vesting"))

        let settledNode = try XCTUnwrap(settlement5["settled"]?.array?.first?["node"]?.string)
        r = try h.get("/v1/nodes/\(settledNode)/rewards?from=1&to=\(lastClosed)")
        XCTAssertEqual(r.status, 200)
        api.check("GET", "/v1/nodes/{id}/rewards", r)
        for path in ["/v1/nodes/stsds1nobody/rewards", "/v1/nodes/\(settledNode)/rewards?from=9&to=3"] {
            api.check("GET", "/v1/nodes/{id}/rewards", try h.get(path))
        }
        try topNodes(h, api, lastClosed: lastClosed)

        r = try h.get("/v1/ozone?from=1&to=5")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(try r.json["points"]?.array?.count, 5)
        api.check("GET", "/v1/ozone", r)
        api.check("GET", "/v1/ozone", try h.get("/v1/ozone?from=x"))

        let validator = try XCTUnwrap(
            events.lazy.compactMap { e -> String? in
                if case .validatorCreated(let v, _, _, _) = e.payload { return v.rawValue }
                return nil
            }.first)
        r = try h.get("/v1/stake/\(validator)")
        XCTAssertEqual(r.status, 200)
        XCTAssertFalse(try r.json["asValidator"]?.array?.isEmpty ?? true)
        api.check("GET", "/v1/stake/{id}", r)
        api.check("GET", "/v1/stake/{id}", try h.get("/v1/stake/stvaloper1nobody"))

        r = try h.get("/v1/journal")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.headers["transfer-encoding"], "chunked")
        XCTAssertEqual(r.text.split(separator: "\n").count, events.count, "one journal line per event")
        api.check("GET", "/v1/journal", r)
        api.check("GET", "/v1/journal", try h.get("/v1/journal?account=st1nobody"))
        api.check("GET", "/v1/journal", try h.get("/v1/journal?from=0"))

        try audits(h, api, settledNode: settledNode, settlement: settlement5, lastClosed: lastClosed)
        try exports(h, api, lastClosed: lastClosed, account: someAccount)
        try buildRoutes(h, api)

        r = try h.get("/metrics")
        XCTAssertEqual(r.status, 200)
        XCTAssertTrue(r.text.contains("stratos_events_appended_total \(events.count)"), r.text)
        XCTAssertTrue(r.text.contains("stratos_projection_lag_events 0"))
        XCTAssertTrue(r.text.contains("stratos_http_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/snapshot\",le=\"+Inf\"}"))
        api.check("GET", "/metrics", r)

        // Unknown routes are problems too.
        r = try h.get("/v1/nope")
        XCTAssertEqual(r.status, 404)
        XCTAssertEqual(r.headers["content-type"], "application/problem+json")

        XCTAssertEqual(api.documentedOperations.subtracting(api.exercised), [], "every documented operation was exercised")
    }

    /// `stratos_append_commits_total` counts commits that wrote events: not refused requests,
    /// nor requests made only of duplicates.
    func testAppendCommitsCountOnlyCommitsThatCommitted() throws {
        let h = try ServiceHarness()
        defer { h.stop() }
        let (events, _) = try Self.history(epochs: 2)
        func metric(_ name: String) throws -> String? {
            try h.get("/metrics").text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.map { String($0.dropFirst(name.count + 1)) }
        }
        XCTAssertEqual(try h.post(Array(events.prefix(10))).status, 201)
        XCTAssertEqual(try metric("stratos_append_commits_total"), "1")
        XCTAssertEqual(try h.post(Array(events.prefix(10))).status, 200, "duplicates only")
        let conflicting = try LedgerEvent(
            validating: EventEnvelope(
                id: events[5].id.rawValue, type: "Funded", time: events[9].time.rfc3339,
                data: .object(["account": .string("st1x"), "amount": .string("1")])))
        XCTAssertEqual(try h.post([conflicting]).status, 409)
        let bad = try LedgerEvent(
            validating: EventEnvelope(
                id: "bad-withdraw", type: "Withdrawn", time: events[9].time.rfc3339,
                data: .object(["account": .string("st1late"), "amount": .string("999999")])))
        XCTAssertEqual(try h.post([bad]).status, 422)
        XCTAssertEqual(try metric("stratos_append_commits_total"), "1", "refused and duplicate-only requests commit nothing")
        XCTAssertEqual(try metric("stratos_append_refused_total"), "2")
        XCTAssertEqual(try metric("stratos_append_requests_total"), "2")
        XCTAssertEqual(try h.post(Array(events[10..<20])).status, 201)
        XCTAssertEqual(try metric("stratos_append_commits_total"), "2")
    }

    /// Refused batches change nothing and answer with a problem naming the event and the rule.
    func refusals(_ h: ServiceHarness, _ api: OpenAPIChecker, events: [LedgerEvent]) throws {
        let head = try h.head()
        let last = events.last!
        let good = try LedgerEvent(
            validating: EventEnvelope(
                id: "ok-late-\(head)", type: "Funded", time: last.time.rfc3339,
                data: .object(["account": .string("st1late"), "amount": .string("5")])))
        let bad = try LedgerEvent(
            validating: EventEnvelope(
                id: "bad-withdraw-\(head)", type: "Withdrawn", time: last.time.rfc3339,
                data: .object(["account": .string("st1late"), "amount": .string("999999")])))
        var r = try h.post([good, bad])
        XCTAssertEqual(r.status, 422, r.text)
        XCTAssertEqual(r.headers["content-type"], "application/problem+json")
        XCTAssertEqual(try r.json["eventId"]?.string, bad.id.rawValue)
        XCTAssertEqual(try r.json["index"]?.int, 1)
        XCTAssertNotNil(try r.json["rule"]?.string)
        api.check("POST", "/v1/events", r)
        r = try h.post([good, bad], jsonLines: true)
        XCTAssertEqual(try r.json["line"]?.int, 2)

        // Same id, other content.
        let conflicting = try LedgerEvent(
            validating: EventEnvelope(
                id: events[5].id.rawValue, type: "Funded", time: last.time.rfc3339,
                data: .object(["account": .string("st1x"), "amount": .string("1")])))
        r = try h.post([conflicting])
        XCTAssertEqual(r.status, 409, r.text)
        api.check("POST", "/v1/events", r)

        // Contract violations: a JSON number for an amount, malformed JSON, wrong media type, empty.
        let numberAmount = Array(#"[{"id":"n1","type":"Funded","time":"2026-02-01T00:00:00Z","data":{"account":"st1a","amount":5}}]"#.utf8)
        r = try h.postRaw(numberAmount, contentType: "application/json")
        XCTAssertEqual(r.status, 400)
        XCTAssertEqual(try r.json["field"]?.string, "data.amount")
        XCTAssertEqual(try r.json["index"]?.int, 0)
        api.check("POST", "/v1/events", r)
        r = try h.postRaw(Array("[{\"id\": ".utf8), contentType: "application/json")
        XCTAssertEqual(r.status, 400)
        api.check("POST", "/v1/events", r)
        r = try h.postRaw(Array("x".utf8), contentType: "text/plain")
        XCTAssertEqual(r.status, 415)
        api.check("POST", "/v1/events", r)
        r = try h.postRaw(Array("[]".utf8), contentType: "application/json")
        XCTAssertEqual(r.status, 400)
        XCTAssertEqual(try h.head(), head, "refused batches appended nothing")
    }

    /// The ranking equals the one computed from every settlement report's reward rows, and each
    /// node's total equals its own rewards endpoint.
    func topNodes(_ h: ServiceHarness, _ api: OpenAPIChecker, lastClosed: Int64) throws {
        let from: Int64 = 3
        let to = lastClosed - 2
        var expected: [String: UInt128] = [:]
        for epoch in from...to {
            for row in try h.get("/v1/epochs/\(epoch)/settlement").json["rewards"]?.array ?? [] {
                guard let node = row["node"]?.string else { continue }
                expected[node, default: 0] += UInt128(row["amount"]?.string ?? "")!
            }
        }
        let ranking = expected.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        XCTAssertGreaterThan(ranking.count, 3)

        var r = try h.get("/v1/nodes/top?from=\(from)&to=\(to)&limit=1000")
        XCTAssertEqual(r.status, 200, r.text)
        api.check("GET", "/v1/nodes/top", r)
        let all = try r.json["nodes"]?.array ?? []
        XCTAssertEqual(all.map { $0["node"]?.string ?? "" }, ranking.map(\.key))
        XCTAssertEqual(all.map { $0["total"]?.string ?? "" }, ranking.map { String($0.value) })
        XCTAssertEqual(all.map { $0["rank"]?.int ?? 0 }, Array(1...Int64(all.count)))
        for n in all {
            let byRole = n["byRole"]?.entries ?? []
            XCTAssertEqual(
                String(byRole.reduce(UInt128(0)) { $0 + UInt128($1.1["amount"]?.string ?? "")! }), n["total"]?.string,
                "the roles add up to the total")
        }
        for n in all.prefix(3) {
            let node = n["node"]?.string ?? ""
            let own = try h.get("/v1/nodes/\(node)/rewards?from=\(from)&to=\(to)").json
            XCTAssertEqual(own["total"]?.string, n["total"]?.string, node)
            XCTAssertEqual(n["lastEpoch"]?.int, own["rewards"]?.array?.compactMap { $0["epoch"]?.int }.max(), node)
        }

        r = try h.get("/v1/nodes/top?from=\(from)&to=\(to)&limit=2")
        XCTAssertEqual(try r.json["nodes"]?.array?.map { $0["node"]?.string ?? "" }, Array(ranking.prefix(2).map(\.key)))
        api.check("GET", "/v1/nodes/top", r)
        XCTAssertEqual(try h.get("/v1/nodes/top").json["nodes"]?.array?.count, 10, "10 by default")
        for path in ["/v1/nodes/top?limit=0", "/v1/nodes/top?limit=1001", "/v1/nodes/top?limit=x", "/v1/nodes/top?from=5&to=2"] {
            r = try h.get(path)
            XCTAssertEqual(r.status, 400, path)
            api.check("GET", "/v1/nodes/top", r)
        }
        r = try h.get("/v1/nodes/top?from=\(lastClosed + 10)")
        XCTAssertEqual(try r.json["nodes"]?.array?.count, 0, "no rewards after the last close")
    }

    func audits(_ h: ServiceHarness, _ api: OpenAPIChecker, settledNode: String, settlement: JSONValue, lastClosed: Int64) throws {
        var r = try h.get("/v1/audit/nodes/\(settledNode)?epoch=5")
        XCTAssertEqual(r.status, 200, r.text)
        api.check("GET", "/v1/audit/nodes/{id}", r)
        let audit = try r.json
        XCTAssertEqual(audit["consistent"]?.bool, true, "the derivation agrees with the engine")
        XCTAssertEqual(audit["matchesProjection"]?.bool, true)
        XCTAssertEqual(audit["rank"]?.int, 1)
        // Its rewards are exactly the settlement rows of that node.
        let rows = (settlement["rewards"]?.array ?? []).filter { $0["node"]?.string == settledNode }
        let auditRows = audit["rewards"]?.array ?? []
        XCTAssertEqual(rows.count, auditRows.count)
        XCTAssertFalse(rows.isEmpty)
        for (a, b) in zip(rows, auditRows) {
            XCTAssertEqual(a["amount"]?.string, b["amount"]?.string)
            XCTAssertEqual(a["role"]?.string, b["role"]?.string)
            XCTAssertEqual(a["source"]?.string, b["source"]?.string)
        }
        let fed = audit["events"]?.array ?? []
        XCTAssertEqual(fed.last?["type"]?.string, "EpochClosed")
        XCTAssertTrue(fed.dropLast().allSatisfy { $0["type"]?.string == "TrafficServed" })
        let charged = fed.dropLast().reduce(UInt128(0)) { $0 + UInt128($1["charge"]?.string ?? "0")! }
        XCTAssertEqual(String(charged), audit["settledTraffic"]?.string, "the listed traffic adds up to the settled contribution")

        for path in [
            "/v1/audit/nodes/\(settledNode)", "/v1/audit/nodes/\(settledNode)?epoch=\(lastClosed + 3)",
            "/v1/audit/nodes/stsds1nobody?epoch=3",
        ] {
            r = try h.get(path)
            XCTAssertEqual(r.headers["content-type"], "application/problem+json", path)
            api.check("GET", "/v1/audit/nodes/{id}", r)
        }
        for epoch in [1, 5, Int(lastClosed)] {
            r = try h.get("/v1/audit/epochs/\(epoch)")
            XCTAssertEqual(r.status, 200, r.text)
            XCTAssertEqual(try r.json["matchesProjection"]?.bool, true)
            api.check("GET", "/v1/audit/epochs/{epoch}", r)
        }
        r = try h.get("/v1/audit/epochs/\(lastClosed + 1)")
        XCTAssertEqual(r.status, 409)
        api.check("GET", "/v1/audit/epochs/{epoch}", r)
    }

    func exports(_ h: ServiceHarness, _ api: OpenAPIChecker, lastClosed: Int64, account: AccountID) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stratos-export-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var skipped: [String] = []
        for query in ["", "&from=7&to=\(lastClosed)", "&account=\(account)", "&from=7&account=\(account)"] {
            for format in ExportFormat.allCases {
                let r = try h.get("/v1/export?format=\(format.rawValue)\(query)")
                XCTAssertEqual(r.status, 200, r.text)
                api.check("GET", "/v1/export", r)
                let file = dir.appendingPathComponent("export.\(format.rawValue)")
                try Data(r.body).write(to: file)
                switch format {
                case .csv:
                    let lines = r.text.split(separator: "\n")
                    XCTAssertTrue(lines.first?.hasPrefix("position,event_id") ?? false)
                    // Every transaction balances per commodity in base units.
                    var sums: [String: Int] = [:]
                    for line in lines.dropFirst() {
                        let f = line.split(separator: ",", omittingEmptySubsequences: false)
                        let key = "\(f[0])/\(f[8])"
                        let amount = String(f[10])
                        sums[key, default: 0] += amount.hasPrefix("-") ? -amount.count : amount.count // cheap shape check
                    }
                    XCTAssertFalse(sums.isEmpty)
                case .ledger:
                    if let (status, out) = try runTool("hledger", ["-f", file.path, "check"]) {
                        XCTAssertEqual(status, 0, "hledger check \(query): \(out)")
                        let (s2, bal) = try runTool("hledger", ["-f", file.path, "balance", "--no-total"])!
                        XCTAssertEqual(s2, 0, bal)
                    } else {
                        skipped.append("hledger")
                    }
                    if let (status, out) = try runTool("ledger", ["-f", file.path, "balance"]) {
                        XCTAssertEqual(status, 0, "ledger balance \(query): \(out)")
                        XCTAssertFalse(out.contains("rror"), out)
                    } else {
                        skipped.append("ledger")
                    }
                case .beancount:
                    if let (status, out) = try runTool("bean-check", [file.path]) {
                        XCTAssertEqual(status, 0, "bean-check \(query): \(out)")
                    } else {
                        skipped.append("bean-check")
                    }
                }
            }
        }
        for path in [
            "/v1/export", "/v1/export?format=xls", "/v1/export?format=csv&from=\(lastClosed + 4)",
            "/v1/export?format=csv&account=st1nobody",
        ] {
            let r = try h.get(path)
            XCTAssertEqual(r.headers["content-type"], "application/problem+json", path)
            api.check("GET", "/v1/export", r)
        }
        if !skipped.isEmpty {
            print("ServiceTests: skipped the real-tool checks of \(Set(skipped).sorted().joined(separator: ", ")) (not installed)")
        }
    }

    /// Every documented path asked with a method it does not document: 405, `Allow` naming the
    /// documented methods, a problem+json body. Unknown paths stay 404 whatever the method.
    func testWrongMethod() throws {
        let h = try ServiceHarness()
        defer { h.stop() }
        let api = try OpenAPIChecker()
        let documented = api.documentedMethods
        XCTAssertGreaterThan(documented.count, 10)
        for (template, methods) in documented.sorted(by: { $0.key < $1.key }) {
            let path = template.replacingOccurrences(of: "{epoch}", with: "3").replacingOccurrences(of: "{id}", with: "st1someone")
                .replacingOccurrences(of: "{a}", with: "projection").replacingOccurrences(of: "{b}", with: "projection")
            XCTAssertFalse(path.contains("{"), "a path parameter of \(template) has no sample value")
            for method in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] where !methods.contains(method) {
                let r = try h.client.request(method, path, headers: h.auth)
                XCTAssertEqual(r.status, 405, "\(method) \(path): \(r.text)")
                XCTAssertEqual(
                    r.headers["allow"].map { Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) },
                    methods, "\(method) \(path)")
                XCTAssertEqual(r.headers["content-type"], "application/problem+json", "\(method) \(path)")
                if method != "HEAD" {
                    XCTAssertEqual(try r.json["status"]?.int, 405)
                    XCTAssertEqual(try r.json["type"]?.string, "https://stratos-ledger.dev/problems/method-not-allowed")
                }
            }
        }
        for method in ["GET", "POST", "DELETE"] {
            let r = try h.client.request(method, "/v1/nope", headers: h.auth)
            XCTAssertEqual(r.status, 404, "\(method) /v1/nope")
            XCTAssertEqual(r.headers["content-type"], "application/problem+json")
        }
        XCTAssertEqual(try h.head(), 0, "nothing was appended")
    }

    /// Reads can be token-protected; the body size is limited.
    func testReadTokenAndBodyLimit() throws {
        let h = try ServiceHarness(readToken: "read-secret", maxBodyBytes: 4096)
        defer { h.stop() }
        XCTAssertEqual(try h.get("/v1/snapshot").status, 401)
        XCTAssertEqual(try h.get("/v1/snapshot", headers: [("Authorization", "Bearer wrong")]).status, 401)
        XCTAssertNotEqual(try h.get("/v1/snapshot", headers: [("Authorization", "Bearer read-secret")]).status, 401)
        XCTAssertEqual(try h.get("/health").status, 200, "health stays open")
        // The console follows the same rule, answering its refusals as HTML pages.
        let page = try h.get("/")
        XCTAssertEqual(page.status, 401)
        XCTAssertEqual(page.headers["content-type"], "text/html; charset=utf-8")
        XCTAssertTrue(page.text.contains("reads need Authorization: Bearer"), page.text)
        XCTAssertEqual(try h.get("/console.css").status, 401)
        XCTAssertEqual(try h.get("/", headers: [("Authorization", "Bearer read-secret")]).status, 200)
        let (events, _) = try Self.history(epochs: 3)
        let r = try h.post(Array(events.prefix(200)))
        XCTAssertEqual(r.status, 413, r.text)
        XCTAssertEqual(r.headers["content-type"], "application/problem+json")
        XCTAssertEqual(try h.head(), 0)
    }

    /// Concurrent writers are serialised into one gap-free log (group commit).
    func testConcurrentAppends() throws {
        let h = try ServiceHarness()
        defer { h.stop() }
        let (events, economy) = try Self.history(epochs: 6)
        // Genesis and everything up to the first close, in order, then the rest concurrently as
        // the same batches repeated by several clients: idempotency keeps exactly one copy.
        let first = events.firstIndex { if case .epochClosed = $0.payload { true } else { false } }!
        XCTAssertEqual(try h.post(Array(events[...first])).status, 201)
        let rest = Array(events[(first + 1)...])
        let port = h.port
        let auth = h.auth
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            let client = LoopbackHTTPClient(port: port)
            for start in stride(from: 0, to: rest.count, by: 50) {
                let batch = rest[start..<min(start + 50, rest.count)]
                let body =
                    Array("[".utf8) + batch.enumerated().flatMap { ($0.offset > 0 ? Array(",".utf8) : []) + $0.element.canonicalUTF8 }
                    + Array("]".utf8)
                _ = try? client.request("POST", "/v1/events", headers: auth + [("Content-Type", "application/json")], body: body)
            }
            _ = worker
        }
        XCTAssertEqual(try h.head(), Int64(events.count))
        try h.project()
        XCTAssertEqual(try h.get("/v1/snapshot").text, economy.snapshot().json())
    }
}
