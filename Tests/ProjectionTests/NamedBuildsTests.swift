import Foundation
import LedgerEvents
import PostgresClient
import PostgresTestSupport
import StratosEconomics
import StratosProjections
import XCTest

/// Named builds, the switch history and diffs between any two builds (issue 15, items 2 and 3),
/// through the CLI on a real PostgreSQL.
final class NamedBuildsTests: ProjectionTestCase {
    func ledger(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try runLedger(arguments, databaseURL: database.url)
        XCTAssertEqual(r.status, 0, "\(arguments.joined(separator: " ")): \(r.stderr)", file: file, line: line)
        return r.stdout
    }

    func refused(_ arguments: [String]) throws -> String {
        let r = try runLedger(arguments, databaseURL: database.url)
        XCTAssertNotEqual(r.status, 0, "\(arguments.joined(separator: " ")) should fail: \(r.stdout)")
        return r.stderr
    }

    func listed() throws -> [JSONValue] {
        guard case .array(let items) = try JSONValue.parse(try ledger(["builds", "--format", "json"]).utf8) else {
            XCTFail("builds --format json is not an array")
            return []
        }
        return items
    }

    func serving() throws -> String? {
        try listed().first { $0["serving"] == .bool(true) }?["name"]?.stringValue
    }

    /// The rules each listed build's schema really holds, read through the queries: every build
    /// stays readable whatever was switched or dropped.
    func readable() throws -> [String: String] {
        var out: [String: String] = [:]
        for b in try listed() {
            let schema = try XCTUnwrap(b["schema"]?.stringValue)
            out[try XCTUnwrap(b["name"]?.stringValue)] = try LedgerQueries(connection: database.connect(), schema: schema, sql: sql).health().rules
        }
        return out
    }

    /// The user's sequence of the issue, then names, switches, switch-backs and drops in a few
    /// orders: `--switch-back` always serves the build that served before (a rebuild under the
    /// rules already serving replaces it in that history), and dropping any build leaves the
    /// others intact and listed under their names.
    func testNamesStayWithTheirBuildsAndSwitchBackFollowsTheHistory() throws {
        try append(try Self.history(epochs: 40, seed: 3))
        try project(checkpointEvery: 10).unlock()
        XCTAssertEqual(try listed().map { $0["name"]?.stringValue }, ["projection"], "a build made by project: its schema's name")

        // The issue's sequence: effective-s twice, then back.
        _ = try ledger(["rebuild", "--rules", "paper-v1-effective-s", "--checkpoint-every", "10"])
        _ = try ledger(["rebuild", "--rules", "paper-v1-effective-s", "--checkpoint-every", "10"])
        XCTAssertEqual(try serving(), "paper-v1-effective-s-2")
        let back = try runLedger(["rebuild", "--switch-back"], databaseURL: database.url)
        XCTAssertEqual(back.status, 0, back.stderr)
        XCTAssertTrue(back.stderr.contains("paper-v1 is serving again"), back.stderr)
        XCTAssertEqual(try serving(), "paper-v1", "the original build, named after its rules at the first switch")
        XCTAssertEqual(
            try readable(),
            ["paper-v1": "paper-v1", "paper-v1-effective-s": "paper-v1-effective-s", "paper-v1-effective-s-2": "paper-v1-effective-s"])
        // Back again: the build that served before paper-v1.
        _ = try ledger(["rebuild", "--switch-back"])
        XCTAssertEqual(try serving(), "paper-v1-effective-s-2")

        // --as: a chosen name, checked.
        XCTAssertTrue(try refused(["rebuild", "--rules", "paper-v1", "--as", "bad name"]).contains("' ' is not allowed"))
        XCTAssertTrue(try refused(["rebuild", "--rules", "paper-v1", "--as", "projection_x"]).contains("reserved"))
        XCTAssertTrue(try refused(["rebuild", "--rules", "paper-v1", "--as", String(repeating: "x", count: 65)]).contains("1–64 characters"))
        let taken = try refused(["rebuild", "--rules", "paper-v1", "--as", "paper-v1", "--checkpoint-every", "10"])
        XCTAssertTrue(taken.contains("build name 'paper-v1' is taken"), taken)
        _ = try ledger(["rebuild", "--rules", "paper-v1", "--as", "fix-a", "--checkpoint-every", "10"])
        XCTAssertEqual(try serving(), "fix-a")

        // builds switch by name; switch-back returns to the one that served before it.
        _ = try ledger(["builds", "switch", "paper-v1-effective-s"])
        XCTAssertEqual(try serving(), "paper-v1-effective-s")
        XCTAssertEqual(
            try LedgerQueries(connection: database.connect(), sql: sql).health().rules, "paper-v1-effective-s", "the serving schema holds it")
        _ = try ledger(["rebuild", "--switch-back"])
        XCTAssertEqual(try serving(), "fix-a")
        _ = try ledger(["rebuild", "--switch-back"])
        XCTAssertEqual(try serving(), "paper-v1-effective-s")

        // Dropping the build that served before: switch-back goes to the one before it; nothing
        // else moves or breaks.
        _ = try ledger(["builds", "drop", "fix-a"])
        var remaining = try readable()
        XCTAssertEqual(Set(remaining.keys), ["paper-v1", "paper-v1-effective-s", "paper-v1-effective-s-2"])
        _ = try ledger(["rebuild", "--switch-back"])
        XCTAssertEqual(try serving(), "paper-v1-effective-s-2", "fix-a is gone; the one that served before it")
        _ = try ledger(["builds", "drop", "paper-v1"])
        _ = try ledger(["builds", "drop", "paper-v1-effective-s"])
        remaining = try readable()
        XCTAssertEqual(remaining, ["paper-v1-effective-s-2": "paper-v1-effective-s"])
        XCTAssertTrue(try refused(["rebuild", "--switch-back"]).contains("no build served before paper-v1-effective-s-2"))
        XCTAssertTrue(try refused(["builds", "drop", "paper-v1-effective-s-2"]).contains("serving build"))
        XCTAssertTrue(try refused(["builds", "switch", "nonesuch"]).contains("there is no build nonesuch"))

        // --no-switch: the build waits under its name in _next; it cannot be switched to by hand.
        _ = try ledger(["rebuild", "--rules", "paper-v1", "--as", "candidate", "--no-switch", "--checkpoint-every", "10"])
        let candidate = try XCTUnwrap(try listed().first { $0["name"]?.stringValue == "candidate" })
        XCTAssertEqual(candidate["schema"]?.stringValue, "projection_next")
        XCTAssertEqual(candidate["status"]?.stringValue, "building")
        XCTAssertTrue(try refused(["builds", "switch", "candidate"]).contains("unfinished rebuild"))
        // Resuming it keeps its name; its rebuild switches it in.
        _ = try ledger(["rebuild", "--rules", "paper-v1", "--checkpoint-every", "10"])
        XCTAssertEqual(try serving(), "candidate")
        _ = try ledger(["rebuild", "--switch-back"])
        XCTAssertEqual(try serving(), "paper-v1-effective-s-2")

        // A finished --no-switch build is not dropped by a rebuild under other rules: it is kept.
        _ = try ledger(["rebuild", "--rules", "paper-v1", "--as", "waiting", "--no-switch", "--checkpoint-every", "10"])
        _ = try ledger(["rebuild", "--rules", "paper-v1-effective-s", "--as", "other", "--checkpoint-every", "10"])
        XCTAssertEqual(try serving(), "other")
        let waiting = try XCTUnwrap(try listed().first { $0["name"]?.stringValue == "waiting" })
        XCTAssertTrue(waiting["schema"]?.stringValue?.hasPrefix("projection_kept_") ?? false, "\(waiting)")
        XCTAssertEqual(try readable()["waiting"], "paper-v1")
        _ = try ledger(["builds", "switch", "waiting"])
        XCTAssertEqual(try serving(), "waiting")
        XCTAssertEqual(try LedgerQueries(connection: database.connect(), sql: sql).health().rules, "paper-v1")
    }

    /// A schema made before names and the switch history were recorded (no such columns) is
    /// listed under its schema name, and named from its rules at the next switch; a database
    /// switched before the history existed switches back to `_previous`.
    func testSchemasFromBeforeNamesAreNamedAtTheNextSwitch() throws {
        try append(try Self.history(epochs: 30, seed: 4))
        try project(checkpointEvery: 10).unlock()
        _ = try ledger(["rebuild", "--rules", "paper-v1-effective-s", "--checkpoint-every", "10"])
        let c = try database.connect()
        for schema in ["projection", "projection_previous"] {
            _ = try c.execute("ALTER TABLE \(schema).projection_state DROP COLUMN build_name, DROP COLUMN served_until")
        }
        XCTAssertEqual(try listed().map { $0["name"]?.stringValue }, ["projection", "projection_previous"])
        XCTAssertEqual(try listed().map { $0["servedUntil"] }, [.null, .null])
        _ = try ledger(["rebuild", "--switch-back"])
        XCTAssertEqual(try serving(), "paper-v1")
        XCTAssertEqual(Set(try listed().compactMap { $0["name"]?.stringValue }), ["paper-v1", "paper-v1-effective-s"])
        _ = try ledger(["rebuild", "--switch-back"])
        XCTAssertEqual(try serving(), "paper-v1-effective-s")
    }

    /// A build's status is one of building, serving, previous (`BuildStatus`); a state row with
    /// anything else (the table's CHECK forbids it; a schema of a later version could hold one)
    /// is refused with an error naming the schema and the value, not listed as is.
    func testAStatusOutsideTheEnumIsAClearError() throws {
        try append(try Self.history(epochs: 10, seed: 5))
        try project(checkpointEvery: 10).unlock()
        let listedStatuses = try listed().map { $0["status"]?.stringValue }
        XCTAssertEqual(listedStatuses, [BuildStatus.serving.rawValue])
        let c = try database.connect()
        _ = try c.execute("ALTER TABLE projection.projection_state DROP CONSTRAINT projection_state_status_check")
        _ = try c.execute("UPDATE projection.projection_state SET status = 'half-built'")
        let stderr = try refused(["builds"])
        XCTAssertTrue(stderr.contains("projection") && stderr.contains("'half-built'"), stderr)
        XCTAssertTrue(stderr.contains("building, serving, previous"), stderr)
    }

    /// `builds diff A B`: per account, node and epoch the amounts that differ with both values and
    /// B − A; totals per role and source; refusals each way; the filters; `rebuild --diff` prints
    /// the same report.
    func testDiffBetweenAnyTwoBuilds() throws {
        let events = try Self.history(epochs: 60, seed: 5)
        try append(events)
        try project(checkpointEvery: 10).unlock()
        let rebuilt = try runLedger(
            ["rebuild", "--rules", "paper-v1-effective-s", "--as", "eff", "--diff", "--checkpoint-every", "10"], databaseURL: database.url)
        XCTAssertEqual(rebuilt.status, 0, rebuilt.stderr)
        XCTAssertTrue(rebuilt.stdout.hasPrefix("builds diff: A = projection (paper-v1) -> B = eff (paper-v1-effective-s)"), rebuilt.stdout)
        XCTAssertTrue(rebuilt.stdout.contains("refused events: 0 by A, 0 by B\n"), rebuilt.stdout)
        _ = try ledger(["rebuild", "--rules", "paper-v1", "--as", "again", "--checkpoint-every", "10"])

        func diff(_ arguments: [String]) throws -> JSONValue {
            try JSONValue.parse(try ledger(["builds", "diff"] + arguments + ["--format", "json"]).utf8)
        }
        func integer(_ v: JSONValue?) throws -> Decimal { try XCTUnwrap(v?.stringValue.flatMap { Decimal(string: $0) }, "\(String(describing: v))") }
        func checkChanges(_ d: JSONValue, _ section: String) throws -> [JSONValue] {
            let rows = d[section]?.arrayValue ?? []
            for row in rows {
                for change in row["changes"]?.arrayValue ?? [] {
                    XCTAssertNotEqual(change["a"], change["b"], "\(section): only what differs")
                    if change["field"]?.stringValue == "status" { continue }
                    XCTAssertEqual(try integer(change["b"]) - integer(change["a"]), try integer(change["difference"]), "\(section): b - a")
                }
            }
            return rows
        }

        // The same rules: nothing differs.
        let same = try diff(["paper-v1", "again"])
        for section in ["accounts", "nodes", "epochs"] { XCTAssertEqual(same[section]?.arrayValue?.count, 0, section) }
        XCTAssertTrue(same["rewardTotals"]?.arrayValue?.allSatisfy { $0["difference"]?.stringValue == "0" } ?? false)

        let d = try diff(["paper-v1", "eff"])
        XCTAssertEqual(d["a"]?["name"]?.stringValue, "paper-v1")
        XCTAssertEqual(d["b"]?["rules"]?.stringValue, "paper-v1-effective-s")
        let accounts = try checkChanges(d, "accounts")
        let epochs = try checkChanges(d, "epochs")
        _ = try checkChanges(d, "nodes")
        XCTAssertFalse(accounts.isEmpty)
        XCTAssertFalse(epochs.isEmpty)
        // The per-epoch differences add up to the totals' differences.
        func sum(_ field: String) throws -> Decimal {
            try epochs.flatMap { $0["changes"]?.arrayValue ?? [] }.filter { $0["field"]?.stringValue == field }
                .reduce(Decimal(0)) { $0 + (try integer($1["difference"])) }
        }
        let totals = d["totals"]?.arrayValue ?? []
        func total(_ name: String) throws -> Decimal { try integer(totals.first { $0["name"]?.stringValue == name }?["difference"]) }
        XCTAssertEqual(try sum("trafficReward"), try total("trafficRewards"))
        XCTAssertEqual(try sum("miningReward"), try total("miningRewards"))
        let rewardTotals = d["rewardTotals"]?.arrayValue ?? []
        XCTAssertFalse(rewardTotals.isEmpty)
        XCTAssertEqual(d["refused"]?["onlyA"]?.arrayValue?.count, 0)
        XCTAssertEqual(d["refused"]?["a"], .integer(0))

        // A diff against itself is empty, and the rebuild's own diff is this one.
        let mirrored = try diff(["eff", "paper-v1"])
        XCTAssertEqual(mirrored["accounts"]?.arrayValue?.count, accounts.count)

        // Filters: a node and an epoch range; an account.
        // A node whose rewards differ in epochs 10-40.
        let inRange = try diff(["paper-v1", "eff", "--from", "10", "--to", "40"])
        let node = try XCTUnwrap(
            inRange["nodes"]?.arrayValue?.first { $0["changes"]?.arrayValue?.contains { $0["field"]?.stringValue == "rewards" } ?? false }?[
                "node"]?.stringValue)
        let byNode = try diff(["paper-v1", "eff", "--node", node, "--from", "10", "--to", "40"])
        XCTAssertEqual(byNode["filter"]?["node"]?.stringValue, node)
        XCTAssertEqual(try checkChanges(byNode, "nodes").compactMap { $0["node"]?.stringValue }.allSatisfy { $0 == node }, true)
        for e in try checkChanges(byNode, "epochs") {
            XCTAssertTrue((10...40).contains(try XCTUnwrap(e["epoch"]?.intValue)), "only the range")
            XCTAssertEqual(e["changes"]?.arrayValue?.map { $0["field"]?.stringValue }, ["rewards"], "only the node's rewards per epoch")
        }
        // The node's per-epoch reward differences add up to its reward totals' (no gas fees: they
        // name no node), and to its own row's.
        let nodeEpochs = try checkChanges(byNode, "epochs")
        XCTAssertFalse(nodeEpochs.isEmpty)
        let perEpoch = try nodeEpochs.flatMap { $0["changes"]?.arrayValue ?? [] }.reduce(Decimal(0)) { $0 + (try integer($1["difference"])) }
        let perRole = try (byNode["rewardTotals"]?.arrayValue ?? []).reduce(Decimal(0)) { $0 + (try integer($1["difference"])) }
        XCTAssertEqual(perEpoch, perRole)
        XCTAssertFalse(byNode["rewardTotals"]?.arrayValue?.contains { $0["source"]?.stringValue == "gas-fee" } ?? true)
        let nodeRow = try checkChanges(byNode, "nodes").first?["changes"]?.arrayValue?.first { $0["field"]?.stringValue == "rewards" }
        XCTAssertEqual(try integer(nodeRow?["difference"]), perEpoch)
        XCTAssertTrue(
            epochs.allSatisfy { $0["changes"]?.arrayValue?.allSatisfy { $0["field"]?.stringValue != "rewards" } ?? false },
            "unfiltered: the settlement's fields, not the rewards")
        let account = try XCTUnwrap(accounts.first?["account"]?.stringValue)
        let byAccount = try diff(["paper-v1", "eff", "--account", account, "--to", "30"])
        XCTAssertTrue(try checkChanges(byAccount, "accounts").allSatisfy { $0["account"]?.stringValue == account })
        XCTAssertTrue(try refused(["builds", "diff", "paper-v1", "eff", "--node", node, "--account", account]).contains("not both"))
        XCTAssertTrue(try refused(["builds", "diff", "paper-v1", "nonesuch"]).contains("there is no build nonesuch"))

        // Refusals each way: an event only one build refused is listed on its side only.
        let c = try database.connect()
        let schemaOf = { (name: String) in try self.listed().first { $0["name"]?.stringValue == name }?["schema"]?.stringValue ?? "" }
        _ = try c.execute(
            "INSERT INTO \(try schemaOf("paper-v1")).exceptions VALUES (7, 'e7', 'Transfer', 'test-rule', 'only in A'), (9, 'e9', 'Transfer', 'test-rule', 'in both')"
        )
        _ = try c.execute(
            "INSERT INTO \(try schemaOf("eff")).exceptions VALUES (9, 'e9', 'Transfer', 'test-rule', 'in both'), (11, 'e11', 'Transfer', 'test-rule', 'only in B')"
        )
        let r = try diff(["paper-v1", "eff"])["refused"]
        XCTAssertEqual(r?["a"], .integer(2))
        XCTAssertEqual(r?["b"], .integer(2))
        XCTAssertEqual(r?["onlyA"]?.arrayValue?.map { $0["position"] }, [.integer(7)])
        XCTAssertEqual(r?["onlyB"]?.arrayValue?.map { $0["position"] }, [.integer(11)])
        let text = try ledger(["builds", "diff", "paper-v1", "eff"])
        XCTAssertTrue(text.contains("refused events: 2 by A, 2 by B\nrefused by A only: 1 differ\n  position 7 e7"), text)
    }
}

extension JSONValue {
    fileprivate subscript(_ key: String) -> JSONValue? {
        if case .object(let o) = self { o[key] } else { nil }
    }
    fileprivate var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    fileprivate var intValue: Int64? { if case .number(let n) = self { Int64(n) } else { nil } }
    fileprivate var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
}
