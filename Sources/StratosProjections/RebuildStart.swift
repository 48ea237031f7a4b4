import Foundation
import LedgerEvents
import PostgresClient
import StratosEconomics

/// How a rebuild began (`RebuildReport.start`, printed by `rebuild`).
public enum RebuildStart: Sendable, Hashable, CustomStringConvertible {
    /// An interrupted build with the same rules was continued from its own checkpoint.
    case resumed(position: Int64)
    /// Every event replayed from Genesis, and why the serving build was not taken over.
    case fromGenesis(reason: String)
    /// The serving build's rows through the close of `epoch` (log position `position`) were
    /// taken over (read through views, not copied), and only the log after it replayed. `firstDifferingEpoch` is N, the first epoch
    /// whose parameters differ (nil: none differs).
    case takenOver(from: String, epoch: Int64, position: Int64, firstDifferingEpoch: Int64?, seconds: Double)

    public var description: String {
        switch self {
        case .resumed(let position): "resumed an interrupted build from position \(position)"
        case .fromGenesis(let reason): "full replay from Genesis (\(reason))"
        case .takenOver(let from, let epoch, let position, let n, let seconds):
            "replayed only what changed: took over \(from) through the close of epoch \(epoch) (position \(position)) in "
                + String(format: "%.1f s", seconds)
                + (n.map { "; the rules differ from epoch \($0)" } ?? "; the rules' parameters equal the serving build's")
        }
    }
}

/// Where a take-over would start, or why there is none.
enum TakeOverPlan {
    case fromGenesis(String)
    case from(serving: ProjectionStatus, servingRules: RuleSet, n: Int64?, epoch: Int64, position: Int64, refused: Int64, logged: Int64)
}

extension Rebuilder {
    /// Starts the build `worker.schema` (which does not exist) under `rules`: from the serving
    /// build's state at the close of an epoch before the rules differ when it can (issue 15,
    /// item 4), else it leaves the schema to be created empty and replayed from Genesis.
    ///
    /// The take-over is one REPEATABLE READ transaction: create the schema and its tables, make
    /// its insert-only views read every row the log produced through the checkpoint's position
    /// from the serving schema beside its own (`overlay.*`: shared, not copied, so the cost does
    /// not grow with the history taken over), rebuild `balances` and `nodes` as they stood
    /// there, set the state row at that position. A crash mid-way leaves no schema (the next
    /// run decides again); once committed it is an ordinary build to resume: the worker loads
    /// the serving build's head at that position, is given the locked vesting entries it needs
    /// as it goes (not all of them first), and replays the rest under the new rules. The
    /// serving build cannot be dropped while this one reads it (`BuildCatalog.drop`).
    ///
    /// `run` calls it for a new build; public so that a test can interrupt what follows.
    public func takeOver(rules: RuleSet, into worker: ProjectionWorker) throws -> RebuildStart {
        if let existing = try worker.readState() { return .resumed(position: existing.lastPosition) }
        if fromGenesis { return .fromGenesis(reason: "--from-genesis") }
        let plan: TakeOverPlan
        do { plan = try takeOverPlan(worker.connection, rules: rules) } catch {
            return .fromGenesis(reason: "the serving build \(schemas.serving) cannot be read: \(error)")
        }
        guard case .from(let serving, let servingRules, let n, let epoch, let position, let refused, let logged) = plan else {
            if case .fromGenesis(let reason) = plan { return .fromGenesis(reason: reason) }
            preconditionFailure("unreachable")
        }
        let clock = ContinuousClock()
        let started = clock.now
        do {
            try worker.createIfMissing(rules: rules, checkpointEvery: checkpointEvery) { c in
                try self.copy(
                    c, into: worker.schema, rules: rules, servingRules: servingRules, epoch: epoch, position: position,
                    baseBuildID: serving.buildID)
                try c.query(
                    try sql.render("incremental.state_at", on: c, ["to": worker.schema]),
                    [String(position), String(epoch), String(logged - refused), String(refused)])
            }
        } catch {
            // Nothing was committed: the schema does not exist.
            return .fromGenesis(
                reason: "taking over \(schemas.serving) (\(serving.rules)) through epoch \(epoch) failed: \(error)")
        }
        return .takenOver(
            from: schemas.serving, epoch: epoch, position: position, firstDifferingEpoch: n,
            seconds: (clock.now - started).inSeconds)
    }

    /// Whether the serving build can be taken over for `rules`, and from where.
    func takeOverPlan(_ c: PostgresConnection, rules: RuleSet) throws -> TakeOverPlan {
        let from = schemas.serving
        guard try c.query(sql("schema.exists"), binding: from).rowCount > 0,
            let serving = try ProjectionStatus.decode(c.query(try sql.render("state.select_in", on: c, ["schema": from])))
        else { return .fromGenesis("there is no serving build \(from) to take over") }
        guard serving.layout == ProjectionSQL.layout, serving.textHashUnchanged else {
            return .fromGenesis(
                "the serving build \(from) has an older layout (\(serving.layout), this code writes \(ProjectionSQL.layout)) or keys on another text hash"
            )
        }
        let servingRules = try serving.ruleSet()
        let n = servingRules.firstEpochWithOtherParameters(than: rules)
        let through = n.map { $0 - 1 } ?? serving.lastEpoch
        if let n, n <= 1 {
            return .fromGenesis("the rules differ from the serving build's (\(servingRules.name)) from epoch \(n): nothing to take over")
        }
        guard through >= 1 else { return .fromGenesis("the serving build \(from) has closed no epoch yet") }
        guard checkpointEvery % serving.checkpointEvery == 0 else {
            return .fromGenesis(
                "the serving build keeps a checkpoint every \(serving.checkpointEvery) epochs, this build every \(checkpointEvery): its heads are not all there"
            )
        }
        let start = try c.query(
            try sql.render("incremental.start", on: c, ["from": from]), [String(through), String(checkpointEvery)])
        guard start.rowCount > 0 else {
            return .fromGenesis(
                "the serving build \(from) has no checkpoint at an epoch ≤ \(through)"
                    + (n == nil ? "" : " (the rules differ from epoch \(n!))"))
        }
        let epoch = try start.int64(0, 0)
        let prefix = Economy.checkpointHeadPrefix(rulesName: servingRules.name)
        let foreign = try c.query(
            try sql.render("incremental.heads_not_prefixed", on: c, ["from": from]),
            [.text(String(epoch)), .text(String(checkpointEvery)), .bytea(prefix)])
        guard try foreign.int64(0, 0) == 0 else {
            return .fromGenesis("\(try foreign.int64(0, 0)) checkpoint heads of \(from) are not of its rule set \(servingRules.name)")
        }
        return .from(
            serving: serving, servingRules: servingRules, n: n, epoch: epoch, position: try start.int64(0, 1),
            refused: try start.int64(0, 2), logged: try start.int64(0, 3))
    }

    /// The take-over, inside the transaction that created `to` (see `takeOver`): the insert-only
    /// views of `to` read the serving build's rows through `position` (epoch `epoch`) beside its
    /// own (`overlay.*`: nothing copied), and `balances` and `nodes` are rebuilt as they stood
    /// at `position`.
    private func copy(
        _ c: PostgresConnection, into to: String, rules: RuleSet, servingRules: RuleSet, epoch: Int64, position: Int64,
        baseBuildID: String
    ) throws {
        try c.execute(sql("incremental.no_jit"))
        let ids = ["from": schemas.serving, "to": to]
        let p = String(position)
        let e = String(epoch)
        try c.execute(try sql.render("overlay.record", on: c, ids))
        try c.query(
            try sql.render("overlay.insert", on: c, ids),
            [
                .text(baseBuildID), .text(p), .text(e), .text(String(checkpointEvery)),
                .bytea(Economy.checkpointHeadPrefix(rulesName: servingRules.name)),
                .bytea(Economy.checkpointHeadPrefix(rulesName: rules.name)),
            ])
        try c.execute(try sql.render("overlay.views", on: c, ids))
        try c.query(try sql.render("incremental.copy_balances", on: c, ids), binding: p, e)
        try c.query(try sql.render("incremental.copy_nodes", on: c, ids), binding: p)

        // Nodes changed after the position: their state there is the checkpoint's (few rows:
        // one per node, not per event).
        let changed = try c.query(try sql.render("incremental.nodes_changed_after", on: c, ids), binding: p)
        guard changed.rowCount > 0 else { return }
        let loader = EconomyLoader(sql: sql, reader: LogReader(sql: sql))
        try c.query(sql("search_path.set"), binding: c.escapeIdentifier(schemas.serving) + ", public")
        let start = try loader.checkpoint(c, atOrBeforePosition: position, rules: servingRules)
        try c.query(sql("search_path.set"), binding: c.escapeIdentifier(to) + ", public")
        guard start.position == position else {
            throw ProjectionError.corrupt("the checkpoint of epoch \(epoch) of \(schemas.serving) is not at position \(position)")
        }
        let nodes = start.economy.snapshot().nodes
        for i in 0..<changed.rowCount {
            let id = try changed.string(i, 0)
            // Not in the economy there: first seen after the position, no row yet.
            guard let node = nodes[NodeID(unchecked: id)] else { continue }
            let last = try c.query(try sql.render("incremental.node_last_change", on: c, ids), binding: id, p, e)
            var changedAt = try last.int64(0, 0)
            if node.kind == .meta, node.status != .pending {
                let vote = try c.query(try sql.render("incremental.node_last_vote", on: c, ids), binding: id, p)
                if vote.rowCount > 0 { changedAt = max(changedAt, try vote.int64(0, 0)) }
            }
            try c.query(
                try sql.render("incremental.insert_node", on: c, ids),
                [
                    id, try changed.string(i, 1), try changed.string(i, 2), node.status.rawValue,
                    String(node.deposit.rawValue), String(node.unsettled.rawValue), String(changedAt),
                ])
        }
    }
}
