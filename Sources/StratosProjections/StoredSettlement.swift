import LedgerEvents
import StratosEconomics

/// A settlement audit as stored in the projection (settlements + settled_nodes + the vesting
/// entries earned in the epoch), with the same JSON as `SettlementReport.json()` — a test holds
/// the two equal byte for byte — and a field-by-field comparison for `verify`.
public struct StoredSettlement: Sendable, Hashable {
    public struct Settled: Sendable, Hashable { public var node: NodeID; public var traffic: Noz }
    public struct Reward: Sendable, Hashable {
        public var account: AccountID
        public var node: NodeID?
        public var validator: ValidatorID?
        public var role: RewardRole
        public var source: RewardSource
        public var amount: Wei
        public var matureEpoch: Int64
    }
    public var rules: String
    public var epoch: Int64
    public var T: Noz
    public var Y: Noz
    public var settled: [Settled]
    public var trafficReward: Wei
    public var miningReward: Wei
    public var rewards: [Reward]
    public var trafficDust: Wei
    public var miningDust: Wei

    public init(_ r: SettlementReport) {
        self.init(rules: r.rules, epoch: r.epoch, T: r.T, Y: r.Y,
                  settled: r.settled.map { Settled(node: $0.node, traffic: $0.traffic) },
                  trafficReward: r.trafficReward, miningReward: r.miningReward,
                  rewards: r.rewards.map { Reward(account: $0.account, node: $0.node, validator: $0.validator, role: $0.role,
                                                  source: $0.source, amount: $0.amount, matureEpoch: $0.matureEpoch) },
                  trafficDust: r.trafficDust, miningDust: r.miningDust)
    }

    init(rules: String, epoch: Int64, T: Noz, Y: Noz, settled: [Settled], trafficReward: Wei, miningReward: Wei,
         rewards: [Reward], trafficDust: Wei, miningDust: Wei) {
        self.rules = rules; self.epoch = epoch; self.T = T; self.Y = Y; self.settled = settled
        self.trafficReward = trafficReward; self.miningReward = miningReward; self.rewards = rewards
        self.trafficDust = trafficDust; self.miningDust = miningDust
    }

    /// The first field (as a JSON path) where `recomputed` differs, with both values.
    public func firstDifference(from recomputed: SettlementReport) -> (field: String, stored: String, recomputed: String)? {
        let other = StoredSettlement(recomputed)
        func cmp(_ field: String, _ a: some CustomStringConvertible & Equatable, _ b: some CustomStringConvertible & Equatable)
            -> (String, String, String)? {
            "\(a)" == "\(b)" ? nil : (field, "\(a)", "\(b)")
        }
        let scalar: [(String, String, String)] = [
            ("rules", rules, other.rules), ("epoch", "\(epoch)", "\(other.epoch)"), ("T", "\(T)", "\(other.T)"),
            ("Y", "\(Y)", "\(other.Y)"),
        ]
        for (f, a, b) in scalar where a != b { return (f, a, b) }
        if settled.count != other.settled.count { return ("settled.length", "\(settled.count)", "\(other.settled.count)") }
        for (i, (a, b)) in zip(settled, other.settled).enumerated() {
            if let d = cmp("settled[\(i)].node", a.node.rawValue, b.node.rawValue) { return d }
            if let d = cmp("settled[\(i)].traffic", a.traffic, b.traffic) { return d }
        }
        if let d = cmp("trafficReward", trafficReward, other.trafficReward) { return d }
        if let d = cmp("miningReward", miningReward, other.miningReward) { return d }
        if rewards.count != other.rewards.count { return ("rewards.length", "\(rewards.count)", "\(other.rewards.count)") }
        for (i, (a, b)) in zip(rewards, other.rewards).enumerated() {
            if let d = cmp("rewards[\(i)].account", a.account.rawValue, b.account.rawValue) { return d }
            if let d = cmp("rewards[\(i)].node", a.node?.rawValue ?? "null", b.node?.rawValue ?? "null") { return d }
            if let d = cmp("rewards[\(i)].validator", a.validator?.rawValue ?? "null", b.validator?.rawValue ?? "null") { return d }
            if let d = cmp("rewards[\(i)].role", a.role.rawValue, b.role.rawValue) { return d }
            if let d = cmp("rewards[\(i)].source", a.source.rawValue, b.source.rawValue) { return d }
            if let d = cmp("rewards[\(i)].amount", a.amount, b.amount) { return d }
            if let d = cmp("rewards[\(i)].matureEpoch", a.matureEpoch, b.matureEpoch) { return d }
        }
        if let d = cmp("dust.traffic", trafficDust, other.trafficDust) { return d }
        if let d = cmp("dust.mining", miningDust, other.miningDust) { return d }
        return nil
    }

    /// The EVENTS.md settlement JSON: keys sorted, amounts as decimal strings, no whitespace.
    public func json() -> String {
        var w = JSONText()
        w.open("{")
        w.key("T"); w.string(T.description)
        w.key("Y"); w.string(Y.description)
        w.key("dust"); w.open("{")
        w.key("mining"); w.string(miningDust.description)
        w.key("traffic"); w.string(trafficDust.description)
        w.close("}")
        w.key("epoch"); w.raw(String(epoch))
        w.key("miningReward"); w.string(miningReward.description)
        w.key("rewards"); w.open("[")
        for r in rewards {
            w.element(); w.open("{")
            w.key("account"); w.string(r.account.rawValue)
            w.key("amount"); w.string(r.amount.description)
            w.key("matureEpoch"); w.raw(String(r.matureEpoch))
            w.key("node"); w.string(r.node?.rawValue)
            w.key("role"); w.string(r.role.rawValue)
            w.key("source"); w.string(r.source.rawValue)
            w.key("validator"); w.string(r.validator?.rawValue)
            w.close("}")
        }
        w.close("]")
        w.key("rules"); w.string(rules)
        w.key("settled"); w.open("[")
        for s in settled {
            w.element(); w.open("{")
            w.key("node"); w.string(s.node.rawValue)
            w.key("traffic"); w.string(s.traffic.description)
            w.close("}")
        }
        w.close("]")
        w.key("trafficReward"); w.string(trafficReward.description)
        w.close("}")
        return w.output
    }
}

/// A tiny JSON writer: callers write keys in order; commas are placed automatically.
struct JSONText {
    var output = ""
    private var first = true

    mutating func open(_ bracket: String) { output += bracket; first = true }
    mutating func close(_ bracket: String) { output += bracket; first = false }
    mutating func key(_ k: String) { comma(); appendString(k); output += ":"; first = true }
    mutating func element() { comma(); first = true }
    mutating func raw(_ s: String) { output += s; first = false }
    mutating func string(_ s: String?) {
        if let s { appendString(s) } else { output += "null" }
        first = false
    }
    private mutating func comma() { if !first { output += "," } }
    private mutating func appendString(_ s: String) {
        output += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    output.unicodeScalars.append(scalar)
                }
            }
        }
        output += "\""
    }
}
