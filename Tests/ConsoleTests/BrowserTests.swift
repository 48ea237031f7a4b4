import EventStore
import Foundation
import LedgerEvents
import LoopbackHTTP
import PostgresClient
import PostgresTestSupport
import StratosConsole
import StratosEconomics
import StratosProjections
import StratosReports
import StratosService
import StratosSimulator
import Synchronization
import XCTest

/// The console in a real headless Chromium, over a real service on a simulated history in a real
/// PostgreSQL: each page type loads, its `data-wei`/`data-noz` values are the JSON API's, every
/// link on it answers 200, and no request of the browser fails. Screenshots go to
/// `demo-output/console/`.
final class BrowserTests: XCTestCase {
    /// An account id made to break a careless page: quotes, angle brackets, an ampersand.
    static let hostileAccount = "st1<i>\"x'&y"

    func testEveryPageTypeInChromium() throws {
        guard let chromium = Chromium.find() else {
            throw XCTSkip("chromium is not installed (apt-get install chromium): the console's browser test is skipped")
        }
        let h = try ConsoleHarness()
        defer { h.stop() }
        let api = h.client

        // Pick what to look at from the API itself.
        let snapshot = try api.json("/v1/snapshot")
        let lastEpoch = try XCTUnwrap(snapshot["lastClosedEpoch"]?.int)
        let top = try api.json("/v1/nodes/top?limit=1")
        let node = try XCTUnwrap(top["nodes"]?.array?.first?["node"]?.string)
        let nodeLastEpoch = try XCTUnwrap(top["nodes"]?.array?.first?["lastEpoch"]?.int)
        let owner = try XCTUnwrap(snapshot["nodes"]?[node]?["owner"]?.string)
        let head = try h.head()

        var checked = Set<String>()
        func load(_ name: String, _ path: String, expectStatus: Int = 200, screenshot widths: [Int] = []) throws -> Page {
            let before = try h.failedRequests()
            let page = try chromium.load("http://127.0.0.1:\(h.port)\(path)")
            XCTAssertTrue(page.dom.contains("</html>"), "\(path): no document\n\(page.log)")
            XCTAssertFalse(page.log.contains("Refused to"), "\(path): the page broke its Content-Security-Policy:\n\(page.log)")
            XCTAssertFalse(page.log.contains("Failed to load resource"), "\(path): a request failed:\n\(page.log)")
            let after = try h.failedRequests()
            XCTAssertEqual(after - before, expectStatus == 200 ? 0 : 1, "\(path): the browser's requests that failed, by the server's metrics")
            for width in widths {
                try chromium.screenshot(
                    "http://127.0.0.1:\(h.port)\(path)", to: "\(h.screenshots)/\(name)-\(width).png", width: width,
                    height: width < 500 ? 2400 : 1800)
            }
            // Every link on the page answers 200 (each once over the whole test; a fragment is
            // the browser's, not sent).
            for link in page.links.map({ String($0.prefix { $0 != "#" }) }) where link.hasPrefix("/") && checked.insert(link).inserted {
                let r = try api.get(link)
                XCTAssertEqual(r.status, 200, "\(path) links to \(link), which answers \(r.status): \(r.text.prefix(300))")
            }
            // Every stylesheet and icon it references answers 200.
            for asset in page.assets {
                XCTAssertEqual(try api.get(asset).status, 200, "\(path) references \(asset)")
            }
            return page
        }

        // Overview: the supply after the last close and the top nodes' totals are the API's.
        let overview = try load("overview", "/", screenshot: [1280])
        XCTAssertTrue(overview.dom.contains("Supply after the close of epoch \(lastEpoch)"))
        let supply = try XCTUnwrap(api.json("/v1/ozone?from=\(lastEpoch)&to=\(lastEpoch)")["points"]?.array?.first)
        for key in ["s", "p", "mined"] {
            XCTAssertTrue(overview.wei.contains(try XCTUnwrap(supply[key]?.string)), "overview shows \(key)")
        }
        XCTAssertTrue(overview.noz.contains(try XCTUnwrap(supply["l"]?.string)), "overview shows l")
        let day = "from=\(max(1, lastEpoch - 143))&to=\(lastEpoch)"
        for n in try api.json("/v1/nodes/top?\(day)&limit=10")["nodes"]?.array ?? [] {
            XCTAssertTrue(overview.wei.contains(try XCTUnwrap(n["total"]?.string)), "overview shows the total of \(n["node"]?.string ?? "?")")
        }

        // An epoch: every reward line, R, M and the dust, in the API's order.
        let settlement = try api.json("/v1/epochs/\(lastEpoch)/settlement")
        let epochPage = try load("epoch", "/epochs/\(lastEpoch)", screenshot: [1280])
        // The first page of reward lines (100 a page), then the rest on page 2.
        let rewards = (settlement["rewards"]?.array ?? []).prefix(100).compactMap { $0["amount"]?.string }
        XCTAssertFalse(rewards.isEmpty)
        XCTAssertTrue(isSubsequence(rewards, of: epochPage.wei), "the epoch page lists the API's reward lines in order")
        for key in ["trafficReward", "miningReward"] {
            XCTAssertTrue(epochPage.wei.contains(try XCTUnwrap(settlement[key]?.string)), "epoch page shows \(key)")
        }
        XCTAssertTrue(epochPage.noz.contains(try XCTUnwrap(settlement["T"]?.string)))
        XCTAssertTrue(epochPage.noz.contains(try XCTUnwrap(settlement["Y"]?.string)))
        let recompute = try load("epoch-recompute", "/epochs/\(lastEpoch)/recompute")
        let audit = try api.json("/v1/audit/epochs/\(lastEpoch)")
        XCTAssertEqual(audit["matchesProjection"]?.bool, true)
        XCTAssertTrue(recompute.dom.contains("recomputation = stored settlement"))
        XCTAssertTrue(recompute.wei.contains(try XCTUnwrap(audit["settlement"]?["trafficReward"]?.string)))

        // A node: its rewards (newest first) and the audit of its last epoch.
        let nodePage = try load("node", "/nodes/\(node)", screenshot: [1280, 390])
        try chromium.screenshot("http://127.0.0.1:\(h.port)/nodes/\(node)", to: "\(h.screenshots)/node-tall-1280.png", width: 1280, height: 3000)
        let nodeRewards = try api.json("/v1/nodes/\(node)/rewards")
        XCTAssertTrue(nodePage.wei.contains(try XCTUnwrap(nodeRewards["total"]?.string)))
        let amounts = (nodeRewards["rewards"]?.array ?? []).reversed().prefix(100).compactMap { $0["amount"]?.string }
        XCTAssertTrue(isSubsequence(Array(amounts), of: nodePage.wei), "the node page lists the API's rewards")
        let nodeAudit = try api.json("/v1/audit/nodes/\(node)?epoch=\(nodeLastEpoch)")
        XCTAssertTrue(nodePage.wei.contains(try XCTUnwrap(nodeAudit["total"]?.string)), "the node page shows the audit's total")
        for w in nodeAudit["rewards"]?.array ?? [] {
            XCTAssertTrue(nodePage.wei.contains(try XCTUnwrap(w["amount"]?.string)))
        }
        XCTAssertTrue(nodePage.dom.contains("R = floor((s + p) × Y / (l + Y))"), "the derivation of `audit node` is on the page")
        // The derivation runs beside the page's other reads: an epoch not closed yet is said so.
        let future = try api.get("/nodes/\(node)?epoch=\(lastEpoch + 5)")
        XCTAssertEqual(future.status, 200)
        XCTAssertTrue(future.text.contains("epoch \(lastEpoch + 5) is not closed yet"), future.text)
        XCTAssertTrue(future.text.contains(try XCTUnwrap(nodeRewards["total"]?.string)))

        // An account: its balances.
        let accountPage = try load("account", "/accounts/\(owner)", screenshot: [1280])
        let account = try api.json("/v1/accounts/\(owner)")
        for key in ["wallet", "vesting", "bonded", "unbonding", "escrow"] {
            XCTAssertTrue(accountPage.wei.contains(try XCTUnwrap(account[key]?.string)), "account page shows \(key)")
        }
        XCTAssertTrue(accountPage.noz.contains(try XCTUnwrap(account["ozone"]?.string)))
        // Its stake rewards of the last day are the API's (the day before is a link away).
        let firstOfDay = max(1, lastEpoch - 143)
        XCTAssertTrue(accountPage.dom.contains("epochs \(firstOfDay)–\(lastEpoch), newest first"))
        let dayRewards = (try api.json("/v1/stake/\(owner)")["asRecipient"]?.array ?? []).filter { ($0["epoch"]?.int ?? 0) >= firstOfDay }
        for r in dayRewards {
            XCTAssertTrue(accountPage.wei.contains(try XCTUnwrap(r["amount"]?.string)), "account page shows the stake reward \(r)")
        }
        if firstOfDay > 1 { XCTAssertTrue(accountPage.links.contains { $0.contains("stake=2") }, "a link to the day before") }

        // The hostile account: escaped on the page, and its links work.
        let encoded = Self.hostileAccount.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let hostile = try load("account-hostile", "/accounts/\(encoded)")
        XCTAssertTrue(hostile.dom.contains("Account st1&lt;i&gt;\"x'&amp;y"), hostile.dom.prefix(2000).description)
        XCTAssertFalse(hostile.dom.contains("<i>\"x"), "the id became markup")
        let hostileAPI = try api.json("/v1/accounts/\(encoded)")
        XCTAssertTrue(hostile.wei.contains(try XCTUnwrap(hostileAPI["wallet"]?.string)))

        // The log.
        let events = try load("events", "/events", screenshot: [1280])
        XCTAssertTrue(events.links.contains("/events/1"))
        _ = try load("events-filtered", "/events?type=EpochClosed")
        let event = try load("event", "/events/\(head)", screenshot: [390])
        XCTAssertTrue(event.dom.contains("verifies"), "the event's link of the chain is checked")

        // Not found: a page that says what.
        let missing = try load("not-found", "/nodes/no-such-node", expectStatus: 404)
        XCTAssertTrue(missing.dom.contains("node no-such-node has never been seen"), missing.dom)
        XCTAssertEqual(try api.get("/nodes/no-such-node").status, 404)
        XCTAssertEqual(try api.get("/epochs/\(lastEpoch + 1000)").status, 404)
        XCTAssertEqual(try api.get("/accounts/nobody-at-all").status, 404)
        XCTAssertEqual(try api.get("/events/\(head + 1)").status, 404)

        // The builds and a diff between two: the history rebuilt under other rules beside the
        // serving build (not switched in), compared on the page and by the API.
        let rebuilder = try Rebuilder(url: h.database.url, checkpointEvery: 1, batchSize: 1_000)
        XCTAssertFalse(try rebuilder.run(rules: .paperV1EffectiveS, diff: false, switchOver: false, name: "eff").switched)
        let builds = try api.json("/v1/builds").array ?? []
        let serving = try XCTUnwrap(builds.first { $0["serving"]?.bool == true }?["name"]?.string)
        XCTAssertEqual(Set(builds.compactMap { $0["name"]?.string }), [serving, "eff"])
        let buildsPage = try load("builds", "/builds", screenshot: [1280])
        let diffPath = "/builds/\(serving)/diff/eff"
        XCTAssertTrue(buildsPage.links.contains(diffPath), "the builds page links to the diff with the serving build")
        XCTAssertTrue(buildsPage.dom.contains("action=\"/builds/diff\""), "and has the form choosing two")

        /// The page's amounts are the API's for the same diff: every `data-wei`/`data-noz`, in
        /// the page's order (totals, rewards per role and source, then the first page of the
        /// accounts, nodes and epochs that differ), and it weighs under 200 KB.
        func checkDiff(_ name: String, _ path: String, api query: String, screenshot widths: [Int] = []) throws -> Page {
            let page = try load(name, path, screenshot: widths)
            let json = try api.json("/v1\(diffPath)\(query)")
            var wei: [String] = []
            var noz: [String] = []
            func add(_ field: String, _ o: JSONValue, _ unit: BuildDiff.Unit? = nil) {
                let values = ["a", "b", "difference"].compactMap { o[$0]?.string }
                switch unit ?? BuildDiff.unit(of: field) {
                case .wei: wei += values
                case .noz: noz += values
                case .other: break
                }
            }
            for t in json["totals"]?.array ?? [] { add(t["name"]?.string ?? "", t) }
            for t in json["rewardTotals"]?.array ?? [] { add("", t, .wei) }
            for section in ["accounts", "nodes", "epochs"] {
                for item in (json[section]?.array ?? []).prefix(BuildDiffPage.pageSize) {
                    for c in item["changes"]?.array ?? [] { add(c["field"]?.string ?? "", c) }
                }
            }
            XCTAssertFalse(wei.isEmpty)
            XCTAssertEqual(page.wei, wei, "\(path): the page's data-wei are the API's")
            XCTAssertEqual(page.noz, noz, "\(path): the page's data-noz are the API's")
            XCTAssertLessThan(try api.get(path).body.count, 200_000, "\(path) weighs under 200 KB")
            return page
        }
        let diff = try checkDiff("builds-diff", diffPath, api: "", screenshot: [1280, 390])
        try chromium.screenshot("http://127.0.0.1:\(h.port)\(diffPath)", to: "\(h.screenshots)/builds-diff-tall-1280.png", width: 1280, height: 5000)
        try chromium.screenshot("http://127.0.0.1:\(h.port)\(diffPath)", to: "\(h.screenshots)/builds-diff-tall-390.png", width: 390, height: 9000)
        let diffJSON = try api.json("/v1\(diffPath)")
        XCTAssertFalse(diffJSON["epochs"]?.array?.isEmpty ?? true, "the rule sets differ on this history")
        XCTAssertTrue(diff.dom.contains("Epochs that differ: \(diffJSON["epochs"]?.array?.count ?? -1)"), diff.dom)
        XCTAssertTrue(diff.dom.contains(try XCTUnwrap(builds.first { $0["name"]?.string == "eff" }?["rulesSha256"]?.string)))
        XCTAssertTrue(diff.links.contains("/epochs/\(try XCTUnwrap(diffJSON["epochs"]?.array?.first?["epoch"]?.int))"))
        if (diffJSON["accounts"]?.array?.count ?? 0) > BuildDiffPage.pageSize {
            XCTAssertTrue(diff.dom.contains("more on the next pages"), "the accounts are paged")
            _ = try load("builds-diff-accounts-2", diffPath + "?accounts=2")
        }
        // Through the builds page's form (a GET that redirects to the diff's URL): one node, to epoch 20.
        let diffNode = try XCTUnwrap(diffJSON["nodes"]?.array?.first?["node"]?.string)
        let filtered = try checkDiff(
            "builds-diff-node", "/builds/diff?a=\(serving)&b=eff&node=\(diffNode)&account=&from=&to=20", api: "?node=\(diffNode)&to=20")
        XCTAssertTrue(filtered.dom.contains("epochs 1–20"), filtered.dom)
        let moved = try api.get("/builds/diff?a=\(serving)&b=eff&node=\(diffNode)&account=&from=%20&to=20")
        XCTAssertEqual(moved.status, 303)
        XCTAssertEqual(moved.headers["location"], "\(diffPath)?node=\(diffNode)&to=20")
        // Refused as the API refuses, as a page: an unknown build 404, bad parameters 400.
        let unknown = try load("builds-diff-unknown", "/builds/\(serving)/diff/nonesuch", expectStatus: 404)
        XCTAssertTrue(unknown.dom.contains("there is no build nonesuch"), unknown.dom)
        for bad in ["/builds/bad%20name/diff/eff", "\(diffPath)?from=5&to=2", "\(diffPath)?node=\(diffNode)&account=\(owner)", "\(diffPath)?from=x"] {
            let page = try api.get(bad)
            let json = try api.get("/v1" + bad)
            XCTAssertEqual(page.status, 400, "\(bad): \(page.text.prefix(300))")
            XCTAssertEqual(page.status, json.status, bad)
            XCTAssertEqual(page.headers["content-type"], "text/html; charset=utf-8")
            let detail = try XCTUnwrap(try JSONValue.parse(json.body)["detail"]?.string)
            XCTAssertTrue(page.text.contains(HTML.escape(detail)), "\(bad): the API's detail \(detail)")
        }

        // Headers: the policy, HTML.
        let r = try api.get("/")
        XCTAssertEqual(r.headers["content-security-policy"].map { $0.contains("default-src 'none'") }, true, "\(r.headers)")
        XCTAssertEqual(r.headers["content-type"], "text/html; charset=utf-8")
    }

    /// `needle`'s elements appear in `haystack` in the same order (other values may sit between).
    func isSubsequence(_ needle: [String], of haystack: [String]) -> Bool {
        var i = needle.startIndex
        for v in haystack where i < needle.endIndex && v == needle[i] { i += 1 }
        return i == needle.endIndex
    }
}

/// What the browser made of one page.
struct Page {
    var dom: String
    var log: String

    private func values(_ attribute: String) -> [String] {
        let regex = try! NSRegularExpression(pattern: "\(attribute)=\"(-?[0-9]+)\"")
        let ns = dom as NSString
        return regex.matches(in: dom, range: NSRange(location: 0, length: ns.length)).map { ns.substring(with: $0.range(at: 1)) }
    }
    var wei: [String] { values("data-wei") }
    var noz: [String] { values("data-noz") }

    private func urls(_ pattern: String) -> [String] {
        let regex = try! NSRegularExpression(pattern: pattern)
        let ns = dom as NSString
        return regex.matches(in: dom, range: NSRange(location: 0, length: ns.length)).map {
            ns.substring(with: $0.range(at: 1)).replacingOccurrences(of: "&amp;", with: "&")
        }
    }
    /// The links of the page (`<a href>`).
    var links: [String] { urls("<a href=\"([^\"]*)\"") }
    /// What the page loads (`<link href>`).
    var assets: [String] { urls("<link [^>]*href=\"([^\"]*)\"") }
}

/// Debian's headless Chromium, run as a process per page.
struct Chromium {
    let path: String
    let profile: String

    static func find() -> Chromium? {
        let candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return nil }
        let profile = NSTemporaryDirectory() + "console-chromium-\(UInt32.random(in: 0...UInt32.max))"
        return Chromium(path: path, profile: profile)
    }

    private var common: [String] {
        [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars",
            "--user-data-dir=\(profile)", "--enable-logging=stderr", "--v=0",
        ]
    }

    func load(_ url: String) throws -> Page {
        let (out, err) = try run(common + ["--dump-dom", url])
        return Page(dom: out, log: err)
    }

    func screenshot(_ url: String, to file: String, width: Int, height: Int) throws {
        _ = try run(common + ["--screenshot=\(file)", "--window-size=\(width),\(height)", url])
        XCTAssertTrue(FileManager.default.fileExists(atPath: file), "no screenshot at \(file)")
    }

    /// Runs Chromium for at most 60 s; its output and log go through files (no pipe to drain).
    private func run(_ arguments: [String]) throws -> (String, String) {
        let base = NSTemporaryDirectory() + "console-chromium-run-\(UInt32.random(in: 0...UInt32.max))"
        FileManager.default.createFile(atPath: base + ".out", contents: nil)
        FileManager.default.createFile(atPath: base + ".err", contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: base + ".out")
            try? FileManager.default.removeItem(atPath: base + ".err")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        p.standardOutput = FileHandle(forWritingAtPath: base + ".out")
        p.standardError = FileHandle(forWritingAtPath: base + ".err")
        try p.run()
        let deadline = Date().addingTimeInterval(60)
        while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if p.isRunning {
            p.terminate()
            throw LoopbackHTTPClient.Failure(description: "chromium did not finish within 60 s: \(arguments.last ?? "")")
        }
        let out = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
        return (out, err)
    }
}

/// A real server on a free loopback port over a fresh database holding a simulated history
/// (projected by a real worker), plus one account with a hostile id.
final class ConsoleHarness {
    let database: TestDatabase
    let port: Int
    let client: LoopbackHTTPClient
    let screenshots: String
    private let task: Task<Void, any Error>

    init() throws {
        database = try TestDatabase.create(prefix: "console")
        let owner = try database.connect()
        try Migrator.load().migrate(owner)
        var config = SimulationConfig.small
        config.epochs = 24
        config.seed = 42
        var events: [LedgerEvent] = []
        _ = try Simulator(config).run { events.append($0) }
        let last = try XCTUnwrap(events.last)
        events.append(
            LedgerEvent(
                id: try XCTUnwrap(EventID("console-hostile-funded")), time: last.time,
                payload: .funded(account: try XCTUnwrap(AccountID(BrowserTests.hostileAccount)), amount: Wei(1_000_000_000_000_000_001))))
        let store = EventStore(connection: owner)
        for start in stride(from: 0, to: events.count, by: 5_000) {
            try store.append(Array(events[start..<min(start + 5_000, events.count)]))
        }
        let worker = try ProjectionWorker(url: database.url, schema: "projection")
        try worker.createIfMissing(rules: .paperV1, checkpointEvery: 1)
        try worker.catchUp()

        let configuration = ServiceConfiguration(
            host: "127.0.0.1", port: 0, database: DatabaseConfiguration(url: database.url, role: "stratos_app"), readConnections: 4)
        let server = try StratosServer(configuration: configuration, readModels: try ProjectionReadModels())
        let bound = Mutex<Int?>(nil)
        let failure = Mutex<String?>(nil)
        task = Task.detached {
            do { try await server.run { port in bound.withLock { $0 = port } } } catch {
                failure.withLock { $0 = "\(error)" }
                throw error
            }
        }
        let deadline = Date().addingTimeInterval(30)
        while bound.withLock({ $0 }) == nil {
            if let f = failure.withLock({ $0 }) { throw LoopbackHTTPClient.Failure(description: "server failed to start: \(f)") }
            guard Date() < deadline else { throw LoopbackHTTPClient.Failure(description: "server did not start in 30 s") }
            Thread.sleep(forTimeInterval: 0.02)
        }
        port = bound.withLock { $0 }!
        client = LoopbackHTTPClient(port: port)
        // demo-output/ at the package root (gitignored).
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        screenshots = root.appendingPathComponent("demo-output/console").path
        try FileManager.default.createDirectory(atPath: screenshots, withIntermediateDirectories: true)
    }

    func stop() {
        task.cancel()
        try? database.drop()
    }

    func head() throws -> Int64 { try EventStore(connection: database.connect()).head().position }

    /// Requests the server answered with a 4xx or 5xx status so far, by its own metrics.
    func failedRequests() throws -> Int {
        let text = try client.get("/metrics").text
        var total = 0
        for line in text.split(separator: "\n") where line.hasPrefix("stratos_http_requests_total{") {
            guard let status = line.range(of: "status=\"")
            else { continue }
            let code = line[status.upperBound...].prefix(3)
            if code.first == "4" || code.first == "5" { total += Int(Double(line.split(separator: " ").last ?? "0") ?? 0) }
        }
        return total
    }
}

extension LoopbackHTTPClient {
    func json(_ path: String) throws -> JSONValue {
        let r = try get(path)
        guard r.status == 200 else { throw Failure(description: "\(path): \(r.status) \(r.text.prefix(300))") }
        return try JSONValue.parse(r.body)
    }
}

extension JSONValue {
    subscript(_ key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }
    var string: String? { if case .string(let s) = self { s } else { nil } }
    var int: Int64? { if case .number(let n) = self { Int64(n) } else { nil } }
    var array: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
}
