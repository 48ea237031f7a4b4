import LedgerEvents
import PostgresClient
import StratosEconomics

/// Rebuilds an `Economy` at any point from the nearest stored epoch checkpoint plus a replay of
/// the events after it: a snapshot or one epoch's recomputation costs about one epoch of events
/// (with a checkpoint every epoch), not the whole history.
struct EconomyLoader {
    let sql: ProjectionSQL
    let reader: LogReader
    /// Events read per COPY while replaying towards a target that may stop early.
    var chunk: Int64 = 50_000

    struct Start {
        var economy: Economy
        /// The log position the economy reflects (0 for a fresh one).
        var position: Int64
    }

    /// The latest checkpoint at or before log position `position`, or a fresh economy.
    func checkpoint(_ c: PostgresConnection, atOrBeforePosition position: Int64, rules: RuleSet) throws -> Start {
        try decode(c.query(sql("checkpoint.latest_through_position"), [String(position)]), rules: rules)
    }

    /// The latest checkpoint of an epoch at or before `epoch`, or a fresh economy.
    func checkpoint(_ c: PostgresConnection, atOrBeforeEpoch epoch: Int64, rules: RuleSet) throws -> Start {
        try decode(c.query(sql("checkpoint.latest_through_epoch"), [String(epoch)]), rules: rules)
    }

    private func decode(_ r: PostgresResult, rules: RuleSet) throws -> Start {
        guard r.rowCount > 0 else { return Start(economy: Economy(rules: rules), position: 0) }
        let economy: Economy
        do { economy = try Economy(checkpoint: try r.bytea(0, 2)) } catch {
            throw ProjectionError.corrupt("economy checkpoint of epoch \(try r.int64(0, 0)): \(error)")
        }
        guard economy.rules == rules else {
            throw ProjectionError.corrupt("checkpoint of epoch \(try r.int64(0, 0)) is for rules \(economy.rules.name), not \(rules.name)")
        }
        return Start(economy: economy, position: try r.int64(0, 1))
    }

    /// Replays events after `start` through `last` (refused events are skipped, as the
    /// projection does), calling `observe` after each applied event; stops when it returns false.
    func replay(_ c: PostgresConnection, from start: inout Start, through last: Int64,
                observe: (AppliedEvent, Int64) throws -> Bool = { _, _ in true }) throws {
        var stop = false
        while !stop && start.position < last {
            let through = min(last, start.position + chunk)
            try reader.read(c, from: start.position + 1, through: through) { logged in
                start.position = logged.position
                guard case .success(let event) = logged.event, let applied = try? start.economy.apply(event) else { return true }
                if try !observe(applied, logged.position) { stop = true; return false }
                return true
            }
        }
    }
}
