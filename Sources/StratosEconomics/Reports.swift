import LedgerEvents

/// The balances of one account in an economy snapshot (docs/EVENTS.md).
public struct AccountBalances: Hashable, Sendable {
    public var wallet: Wei = .zero
    public var ozone: Noz = .zero
    /// Locked vesting entries.
    public var vesting: Wei = .zero
    /// Self-delegation plus delegations it made.
    public var bonded: Wei = .zero
    /// Undelegated amounts not yet released.
    public var unbonding: Wei = .zero
    /// Deposits held for the nodes it owns and not yet released.
    public var escrow: Wei = .zero
    public init() {}
}

/// One node in an economy snapshot (docs/EVENTS.md).
public struct NodeSnapshot: Hashable, Sendable {
    public var kind: NodeKind
    public var owner: AccountID
    public var status: NodeStatus
    /// What is escrowed for it now.
    public var deposit: Wei
    /// Its unsettled traffic contribution `C_i`.
    public var unsettled: Noz

    public init(kind: NodeKind, owner: AccountID, status: NodeStatus, deposit: Wei, unsettled: Noz) {
        self.kind = kind
        self.owner = owner
        self.status = status
        self.deposit = deposit
        self.unsettled = unsettled
    }
}

/// The economy snapshot of docs/EVENTS.md.
public struct EconomySnapshot: Hashable, Sendable {
    public var rules: String
    public var position: Int64
    public var lastClosedEpoch: Int64
    public var supply: Supply
    public var feeCollector: Wei
    /// Every account ever seen.
    public var accounts: [AccountID: AccountBalances]
    /// Every node ever seen.
    public var nodes: [NodeID: NodeSnapshot]

    /// The docs/EVENTS.md JSON: keys sorted (byte order), amounts as decimal strings, no whitespace.
    public func json() -> String {
        var w = JSONWriter()
        w.beginObject()
        w.key("accounts")
        w.beginObject()
        for id in accounts.keys.sorted() {
            let a = accounts[id]!
            w.key(id.rawValue)
            w.beginObject()
            w.field("bonded", a.bonded)
            w.field("escrow", a.escrow)
            w.field("ozone", a.ozone)
            w.field("unbonding", a.unbonding)
            w.field("vesting", a.vesting)
            w.field("wallet", a.wallet)
            w.endObject()
        }
        w.endObject()
        w.field("feeCollector", feeCollector)
        w.field("lastClosedEpoch", lastClosedEpoch)
        w.key("nodes")
        w.beginObject()
        for id in nodes.keys.sorted() {
            let n = nodes[id]!
            w.key(id.rawValue)
            w.beginObject()
            w.field("deposit", n.deposit)
            w.field("kind", n.kind.rawValue)
            w.field("owner", n.owner.rawValue)
            w.field("status", n.status.rawValue)
            w.field("unsettled", n.unsettled)
            w.endObject()
        }
        w.endObject()
        w.field("position", position)
        w.field("rules", rules)
        w.key("supply")
        w.beginObject()
        w.field("l", supply.l)
        w.field("mined", supply.mined)
        w.field("p", supply.p)
        w.field("s", supply.s)
        w.endObject()
        w.endObject()
        return w.output
    }
}

/// One settled node of an epoch, in settlement order.
public struct SettledNode: Hashable, Sendable {
    public var node: NodeID
    /// The contribution `Y_i` it settled.
    public var traffic: Noz
    public init(node: NodeID, traffic: Noz) {
        self.node = node
        self.traffic = traffic
    }
}

/// One reward of an epoch settlement (docs/EVENTS.md), i.e. one vesting entry created.
public struct SettlementReward: Hashable, Sendable {
    public var account: AccountID
    public var node: NodeID?
    public var validator: ValidatorID?
    public var role: RewardRole
    public var source: RewardSource
    public var amount: Wei
    public var matureEpoch: Int64
    /// The vesting entry that holds it.
    public var entry: VestingEntryID
    public init(
        account: AccountID, node: NodeID?, validator: ValidatorID?, role: RewardRole, source: RewardSource,
        amount: Wei, matureEpoch: Int64, entry: VestingEntryID
    ) {
        self.account = account
        self.node = node
        self.validator = validator
        self.role = role
        self.source = source
        self.amount = amount
        self.matureEpoch = matureEpoch
        self.entry = entry
    }
}

/// The audit of one epoch settlement (docs/EVENTS.md "Epoch settlement").
public struct SettlementReport: Hashable, Sendable {
    public var rules: String
    public var epoch: Int64
    /// Σ C_i before settlement.
    public var T: Noz
    /// The settled sum.
    public var Y: Noz
    /// In settlement order (C_i descending, ties by node id ascending).
    public var settled: [SettledNode]
    /// R.
    public var trafficReward: Wei
    /// M.
    public var miningReward: Wei
    /// Every vesting entry created, in creation order; entries of amount 0 are left out.
    public var rewards: [SettlementReward]
    /// R − traffic credited (stays in `p`).
    public var trafficDust: Wei
    /// M − mining credited (stays in the mining pool).
    public var miningDust: Wei

    public init(
        rules: String, epoch: Int64, T: Noz, Y: Noz, settled: [SettledNode], trafficReward: Wei,
        miningReward: Wei, rewards: [SettlementReward], trafficDust: Wei, miningDust: Wei
    ) {
        self.rules = rules
        self.epoch = epoch
        self.T = T
        self.Y = Y
        self.settled = settled
        self.trafficReward = trafficReward
        self.miningReward = miningReward
        self.rewards = rewards
        self.trafficDust = trafficDust
        self.miningDust = miningDust
    }

    /// The docs/EVENTS.md JSON: keys sorted (byte order), amounts as decimal strings, no whitespace.
    /// (`rules` is added to the docs/EVENTS.md fields; the spec allows more fields.)
    public func json() -> String {
        var w = JSONWriter()
        w.beginObject()
        w.field("T", T)
        w.field("Y", Y)
        w.key("dust")
        w.beginObject()
        w.field("mining", miningDust)
        w.field("traffic", trafficDust)
        w.endObject()
        w.field("epoch", epoch)
        w.field("miningReward", miningReward)
        w.key("rewards")
        w.beginArray()
        for r in rewards {
            w.beginObject()
            w.field("account", r.account.rawValue)
            w.field("amount", r.amount)
            w.field("matureEpoch", r.matureEpoch)
            w.field("node", r.node?.rawValue)
            w.field("role", r.role.rawValue)
            w.field("source", r.source.rawValue)
            w.field("validator", r.validator?.rawValue)
            w.endObject()
        }
        w.endArray()
        w.field("rules", rules)
        w.key("settled")
        w.beginArray()
        for s in settled {
            w.beginObject()
            w.field("node", s.node.rawValue)
            w.field("traffic", s.traffic)
            w.endObject()
        }
        w.endArray()
        w.field("trafficReward", trafficReward)
        w.endObject()
        return w.output
    }
}

/// A minimal deterministic JSON writer (no whitespace; callers write keys in sorted order).
struct JSONWriter {
    private(set) var output = ""
    private var needsComma = false

    mutating func beginObject() {
        separate()
        output += "{"
        needsComma = false
    }
    mutating func endObject() {
        output += "}"
        needsComma = true
    }
    mutating func beginArray() {
        separate()
        output += "["
        needsComma = false
    }
    mutating func endArray() {
        output += "]"
        needsComma = true
    }
    mutating func key(_ k: String) {
        separate()
        appendString(k)
        output += ":"
        needsComma = false
    }
    mutating func field(_ k: String, _ s: String?) {
        key(k)
        if let s { appendString(s) } else { output += "null" }
        needsComma = true
    }
    mutating func field(_ k: String, _ v: Int64) {
        key(k)
        output += String(v)
        needsComma = true
    }
    mutating func field(_ k: String, _ w: Wei) { field(k, w.description) }
    mutating func field(_ k: String, _ n: Noz) { field(k, n.description) }

    private mutating func separate() { if needsComma { output += "," } }

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
