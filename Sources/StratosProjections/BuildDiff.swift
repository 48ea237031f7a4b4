import Foundation
import LedgerEvents
import PostgresClient

/// What `builds diff` compares: a node or an account (at most one), and an epoch range.
public struct BuildDiffFilter: Sendable, Hashable {
    public var node: String?
    public var account: String?
    public var fromEpoch: Int64?
    public var toEpoch: Int64?

    public init(node: String? = nil, account: String? = nil, fromEpoch: Int64? = nil, toEpoch: Int64? = nil) {
        self.node = node
        self.account = account
        self.fromEpoch = fromEpoch
        self.toEpoch = toEpoch
    }

    /// Refuses a node and an account together, an epoch < 1 and an empty range.
    public func validate() throws(BuildError) {
        if node != nil && account != nil { throw .refused("give --node or --account, not both") }
        for (name, e) in [("from", fromEpoch), ("to", toEpoch)] {
            if let e, e < 1 { throw .refused("\(name) must be an epoch number ≥ 1, got \(e)") }
        }
        if let f = fromEpoch, let t = toEpoch, f > t { throw .refused("the range is empty: from = \(f) is after to = \(t)") }
    }

    var json: JSONValue {
        .object([
            "node": node.map { .string($0) } ?? .null, "account": account.map { .string($0) } ?? .null,
            "fromEpoch": fromEpoch.map { .integer($0) } ?? .null, "toEpoch": toEpoch.map { .integer($0) } ?? .null,
        ])
    }
}

/// What differs between two builds A and B (`builds diff A B`, `rebuild --diff` with A the
/// serving build and B the rebuilt one, `GET /v1/builds/{a}/diff/{b}`): per account, node and
/// epoch the amounts that differ, with both values and B − A; the rewards per role and source;
/// network totals; and the events refused by one build and not the other, each way.
/// Amounts are decimal strings of base units (wei, noz for Ozone); a difference may be negative.
public struct BuildDiff: Sendable {
    /// One differing field: A's value, B's and B − A (nil for a field that is not an amount:
    /// a node's status).
    public struct Change: Sendable, Hashable {
        public var field: String
        public var a: String
        public var b: String
        public var difference: String?
    }
    public struct Keyed<Key: Sendable & Hashable>: Sendable, Hashable {
        public var key: Key
        public var changes: [Change]
    }
    public struct Total: Sendable, Hashable {
        public var name: String
        public var a: String
        public var b: String
        public var difference: String
    }
    public struct RewardTotal: Sendable, Hashable {
        public var role: String
        public var source: String
        public var a: String
        public var b: String
        public var difference: String
    }

    public var a: BuildInfo
    public var b: BuildInfo
    public var filter: BuildDiffFilter
    public var accounts: [Keyed<String>] = []
    public var nodes: [Keyed<String>] = []
    public var epochs: [Keyed<Int64>] = []
    public var rewardTotals: [RewardTotal] = []
    public var totals: [Total] = []
    /// Events each build refused in the range (the `exceptions` rows), and those refused by
    /// one and not by the other (by log position).
    public var refusedByA: Int64 = 0
    public var refusedByB: Int64 = 0
    public var refusedOnlyByA: [ProjectionException] = []
    public var refusedOnlyByB: [ProjectionException] = []

    /// What a field's values count (the fields are those of `diff.*` in Projections/queries.sql):
    /// STOS in wei, Ozone in noz, or neither (a node's status, and any field added later until
    /// it is listed here), so that a reader shows each value in its unit without guessing.
    public enum Unit: Sendable, Hashable {
        case wei, noz, other
    }

    /// The unit of a change's `field`, a total's `name` (reward totals are all in wei).
    public static func unit(of field: String) -> Unit {
        switch field {
        case "wallet", "escrow", "bonded", "unbonding", "vesting", "rewards", "deposit", "trafficReward", "miningReward", "s", "p",
            "trafficRewards", "miningRewards":
            .wei
        case "ozone", "Y", "l", "ozoneBought": .noz
        default: .other
        }
    }

    public var isEmpty: Bool {
        accounts.isEmpty && nodes.isEmpty && epochs.isEmpty && refusedOnlyByA.isEmpty && refusedOnlyByB.isEmpty
            && rewardTotals.allSatisfy { $0.a == $0.b } && totals.allSatisfy { $0.a == $0.b }
    }

    /// Compares the builds in schemas `a` and `b` (as `catalog` lists them) on connection `c`.
    /// Run it in one REPEATABLE READ transaction for a consistent answer (`Rebuilder.diff` and
    /// the service do); a switch that renames either schema meanwhile is detected (their build
    /// ids are read again at the end) and reported rather than mixed into the answer.
    public static func compute(
        _ c: PostgresConnection, sql: ProjectionSQL, catalog: BuildCatalog, a: String, b: String,
        filter: BuildDiffFilter = BuildDiffFilter()
    ) throws -> BuildDiff {
        try filter.validate()
        let builds = try catalog.list(c)
        guard let infoA = builds.first(where: { $0.schema == a }) else { throw BuildError.unknown(name: a, known: builds.map(\.name)) }
        guard let infoB = builds.first(where: { $0.schema == b }) else { throw BuildError.unknown(name: b, known: builds.map(\.name)) }
        var d = BuildDiff(a: infoA, b: infoB, filter: filter)
        let ids = ["a": a, "b": b]
        let from = filter.fromEpoch ?? 1
        let to = filter.toEpoch ?? Int64.max
        let parameters: [String?] = [String(from), String(to), filter.node, filter.account]
        let atClose: String? = filter.toEpoch == nil ? "false" : "true"

        func keyed<K>(_ name: String, _ parameters: [String?], _ key: (PostgresResult, Int) throws -> K) throws -> [Keyed<K>] {
            let r = try c.query(try sql.render(name, on: c, ids), parameters)
            var out: [Keyed<K>] = []
            for i in 0..<r.rowCount {
                let k = try key(r, i)
                let change = Change(field: try r.string(i, 1), a: try r.string(i, 2), b: try r.string(i, 3), difference: r.optionalString(i, 4))
                if let last = out.last, last.key == k {
                    out[out.count - 1].changes.append(change)
                } else {
                    out.append(Keyed(key: k, changes: [change]))
                }
            }
            return out
        }
        d.accounts = try keyed("diff.accounts", [String(to), filter.node, filter.account, atClose]) { try $0.string($1, 0) }
        d.nodes = try keyed("diff.nodes", parameters) { try $0.string($1, 0) }
        d.epochs = try keyed("diff.epochs", parameters) { try $0.int64($1, 0) }
        let rt = try c.query(try sql.render("diff.reward_totals", on: c, ids), parameters)
        for i in 0..<rt.rowCount {
            d.rewardTotals.append(
                RewardTotal(
                    role: try rt.string(i, 0), source: try rt.string(i, 1), a: try rt.string(i, 2), b: try rt.string(i, 3),
                    difference: try rt.string(i, 4)))
        }
        let t = try c.query(try sql.render("diff.totals", on: c, ids), binding: from, to, atClose)
        for i in 0..<t.rowCount {
            d.totals.append(Total(name: try t.string(i, 0), a: try t.string(i, 1), b: try t.string(i, 2), difference: try t.string(i, 3)))
        }
        let bounds = try c.query(try sql.render("diff.positions", on: c, ids), binding: from, to)
        let positions = [try bounds.string(0, 0), try bounds.string(0, 1)]
        d.refusedOnlyByA = try decodeExceptions(c.query(try sql.render("diff.refused_only", on: c, ["a": a, "b": b]), positions))
        d.refusedOnlyByB = try decodeExceptions(c.query(try sql.render("diff.refused_only", on: c, ["a": b, "b": a]), positions))
        d.refusedByA = try c.query(try sql.render("diff.refused_count", on: c, ["a": a]), positions).int64(0, 0)
        d.refusedByB = try c.query(try sql.render("diff.refused_count", on: c, ["a": b]), positions).int64(0, 0)

        let after = try catalog.list(c)
        guard after.first(where: { $0.schema == a })?.buildID == infoA.buildID, after.first(where: { $0.schema == b })?.buildID == infoB.buildID
        else {
            throw BuildError.refused("a switch renamed \(infoA.name) or \(infoB.name) while they were compared: run the diff again")
        }
        return d
    }

    /// The JSON of `builds diff --format json` and `GET /v1/builds/{a}/diff/{b}`
    /// (docs/PROJECTIONS.md, "Diffs between builds").
    public var json: JSONValue {
        func changes(_ cs: [Change]) -> JSONValue {
            .array(
                cs.map { c in
                    .object([
                        "field": .string(c.field), "a": .string(c.a), "b": .string(c.b),
                        "difference": c.difference.map { .string($0) } ?? .null,
                    ])
                })
        }
        func refused(_ xs: [ProjectionException]) -> JSONValue {
            .array(
                xs.map { x in
                    .object([
                        "position": .integer(x.position), "id": .string(x.eventID), "type": .string(x.type), "rule": .string(x.rule),
                        "message": .string(x.message),
                    ])
                })
        }
        return .object([
            "a": a.json, "b": b.json, "filter": filter.json,
            "accounts": .array(accounts.map { .object(["account": .string($0.key), "changes": changes($0.changes)]) }),
            "nodes": .array(nodes.map { .object(["node": .string($0.key), "changes": changes($0.changes)]) }),
            "epochs": .array(epochs.map { .object(["epoch": .integer($0.key), "changes": changes($0.changes)]) }),
            "rewardTotals": .array(
                rewardTotals.map {
                    .object([
                        "role": .string($0.role), "source": .string($0.source), "a": .string($0.a), "b": .string($0.b),
                        "difference": .string($0.difference),
                    ])
                }),
            "totals": .array(
                totals.map { .object(["name": .string($0.name), "a": .string($0.a), "b": .string($0.b), "difference": .string($0.difference)]) }),
            "refused": .object([
                "a": .integer(refusedByA), "b": .integer(refusedByB), "onlyA": refused(refusedOnlyByA), "onlyB": refused(refusedOnlyByB),
            ]),
        ])
    }

    /// A human-readable report (the CLI prints it), at most `limit` lines per section.
    public func text(limit: Int = 50) -> String {
        var out = "builds diff: A = \(a.name) (\(a.rules)) -> B = \(b.name) (\(b.rules))\n"
        var scope: [String] = []
        if let n = filter.node { scope.append("node \(n)") }
        if let x = filter.account { scope.append("account \(x)") }
        if filter.fromEpoch != nil || filter.toEpoch != nil {
            scope.append("epochs \(filter.fromEpoch.map(String.init) ?? "1")–\(filter.toEpoch.map(String.init) ?? "last")")
        }
        if !scope.isEmpty { out += "only \(scope.joined(separator: ", "))\n" }
        func section<T>(_ title: String, _ items: [T], _ line: (T) -> String) {
            out += "\(title): \(items.count) differ\n"
            for item in items.prefix(limit) { out += "  " + line(item) + "\n" }
            if items.count > limit { out += "  … \(items.count - limit) more\n" }
        }
        func fields(_ cs: [Change]) -> String {
            cs.map { c in "\(c.field) \(c.a) -> \(c.b)" + (c.difference.map { " (\($0.hasPrefix("-") ? "" : "+")\($0))" } ?? "") }
                .joined(separator: ", ")
        }
        section("accounts", accounts) { "\($0.key): \(fields($0.changes))" }
        section("nodes", nodes) { "\($0.key): \(fields($0.changes))" }
        section("epochs", epochs) { "epoch \($0.key): \(fields($0.changes))" }
        out += "rewards per role and source (A -> B):\n"
        for r in rewardTotals {
            out += "  \(r.role) \(r.source): \(r.a) -> \(r.b)\(r.a == r.b ? "" : " (\(r.difference.hasPrefix("-") ? "" : "+")\(r.difference))")\n"
        }
        out += "totals (A -> B):\n"
        for t in totals { out += "  \(t.name): \(t.a) -> \(t.b)\(t.a == t.b ? "" : " (\(t.difference.hasPrefix("-") ? "" : "+")\(t.difference))")\n" }
        out += "refused events: \(refusedByA) by A, \(refusedByB) by B\n"
        func exception(_ x: ProjectionException) -> String { "position \(x.position) \(x.eventID) (\(x.type)) [\(x.rule)]: \(x.message)" }
        section("refused by A only", refusedOnlyByA, exception)
        section("refused by B only", refusedOnlyByB, exception)
        return out
    }
}

extension Rebuilder {
    /// `builds diff A B`: the two builds by name (`BuildCatalog.resolve`), compared in one
    /// read-only REPEATABLE READ transaction.
    public func diff(_ a: String, _ b: String, filter: BuildDiffFilter = BuildDiffFilter()) throws -> BuildDiff {
        let c = try PostgresConnection(url: url)
        return try c.transaction(isolation: .repeatableRead, readOnly: true) { c in
            try BuildDiff.compute(
                c, sql: sql, catalog: catalog, a: try catalog.resolve(c, a).schema, b: try catalog.resolve(c, b).schema, filter: filter)
        }
    }
}
