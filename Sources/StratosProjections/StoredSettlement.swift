import LedgerEvents
import StratosEconomics

/// A settlement audit as stored in the projection (settlements + settled_nodes + the vesting
/// entries earned in the epoch), with the same JSON as `SettlementReport.json()` — a test holds
/// the two equal byte for byte — and a field-by-field comparison for `verify`.
public struct StoredSettlement: Sendable, Hashable {
    /// The report as the projection holds it: the engine's own type, so its JSON is written by
    /// the one writer of `SettlementReport.json()`.
    public var report: SettlementReport

    public init(_ report: SettlementReport) { self.report = report }

    /// The docs/EVENTS.md settlement JSON: keys sorted, amounts as decimal strings, no whitespace.
    public func json() -> String { report.json() }

    /// The first field (as a JSON path) where `recomputed` differs, with both values.
    public func firstDifference(from recomputed: SettlementReport) -> (field: String, stored: String, recomputed: String)? {
        let mine = report
        let other = recomputed
        // The field's name and the texts are made only for a difference: an audit compares
        // every field of every reward line, and equal ones are nearly all of them.
        func cmp<T: CustomStringConvertible & Equatable>(_ field: @autoclosure () -> String, _ a: T, _ b: T) -> (String, String, String)? {
            a == b ? nil : (field(), "\(a)", "\(b)")
        }
        let scalar: [(String, String, String)] = [
            ("rules", mine.rules, other.rules), ("epoch", "\(mine.epoch)", "\(other.epoch)"), ("T", "\(mine.T)", "\(other.T)"),
            ("Y", "\(mine.Y)", "\(other.Y)"),
        ]
        for (f, a, b) in scalar where a != b { return (f, a, b) }
        if mine.settled.count != other.settled.count { return ("settled.length", "\(mine.settled.count)", "\(other.settled.count)") }
        for (i, (a, b)) in zip(mine.settled, other.settled).enumerated() {
            if let d = cmp("settled[\(i)].node", a.node.rawValue, b.node.rawValue) { return d }
            if let d = cmp("settled[\(i)].traffic", a.traffic, b.traffic) { return d }
        }
        if let d = cmp("trafficReward", mine.trafficReward, other.trafficReward) { return d }
        if let d = cmp("miningReward", mine.miningReward, other.miningReward) { return d }
        if mine.rewards.count != other.rewards.count { return ("rewards.length", "\(mine.rewards.count)", "\(other.rewards.count)") }
        for (i, (a, b)) in zip(mine.rewards, other.rewards).enumerated() {
            if let d = cmp("rewards[\(i)].account", a.account.rawValue, b.account.rawValue) { return d }
            if let d = cmp("rewards[\(i)].node", a.node?.rawValue ?? "null", b.node?.rawValue ?? "null") { return d }
            if let d = cmp("rewards[\(i)].validator", a.validator?.rawValue ?? "null", b.validator?.rawValue ?? "null") { return d }
            if let d = cmp("rewards[\(i)].role", a.role.rawValue, b.role.rawValue) { return d }
            if let d = cmp("rewards[\(i)].source", a.source.rawValue, b.source.rawValue) { return d }
            if let d = cmp("rewards[\(i)].amount", a.amount, b.amount) { return d }
            if let d = cmp("rewards[\(i)].matureEpoch", a.matureEpoch, b.matureEpoch) { return d }
        }
        if let d = cmp("dust.traffic", mine.trafficDust, other.trafficDust) { return d }
        if let d = cmp("dust.mining", mine.miningDust, other.miningDust) { return d }
        return nil
    }
}
