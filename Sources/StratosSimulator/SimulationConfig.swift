import LedgerEvents

/// What to simulate. Every field has a sane default; `small` and `bench` are the two presets
/// the demo and the benchmarks use. A configuration plus its seed fixes the output bytes.
public struct SimulationConfig: Sendable, Hashable {
    /// Seeds the xoshiro256** generator; the same seed (and configuration) writes the same bytes.
    public var seed: UInt64 = 1
    /// Number of epochs to run and close (144 epochs = 1 day).
    public var epochs: Int = 30 * 144
    /// Users who fund, transfer, prepay and consume traffic (heavy-tailed activity).
    public var users: Int = 20
    /// Resource nodes over the whole run: about a third at genesis, the rest join later.
    public var resourceNodes: Int = 12
    /// Meta nodes that end up active: most at genesis, the rest voted in. One more candidate
    /// is voted down when at least one meta node exists to vote.
    public var metaNodes: Int = 3
    public var validators: Int = 4
    public var delegators: Int = 30
    /// Mean traffic records per epoch (the busiest hour runs at about 1.5× this, the quietest
    /// at about 0.4×). Other events (prepays, transfers, lifecycle) come on top.
    public var trafficPerEpoch: Int = 20
    /// The time of `Genesis`; epoch e closes at `genesisTime + e × 10 minutes`.
    public var genesisTime: Timestamp = Timestamp(microsecondsSinceEpoch: 1_767_225_600_000_000) // 2026-01-01T00:00:00Z

    public init() {}

    /// The demo's network: about 30 days, a few dozen actors, ~100,000 events.
    public static var small: SimulationConfig { SimulationConfig() }

    /// A tiny network (6 users, 5 resource nodes, 2 meta nodes, 2 validators, 3 delegators, two
    /// traffic events an epoch) over `epochs` epochs: every kind of event in a few thousand, for
    /// tests.
    public static func tiny(epochs: Int, seed: UInt64) -> SimulationConfig {
        var c = SimulationConfig()
        c.seed = seed
        c.epochs = epochs
        c.users = 6
        c.resourceNodes = 5
        c.metaNodes = 2
        c.validators = 2
        c.delegators = 3
        c.trafficPerEpoch = 2
        return c
    }

    /// The benchmarks' history: 30 days of a busier network, over 2,000,000 events.
    public static var bench: SimulationConfig {
        var c = SimulationConfig()
        c.users = 500
        c.resourceNodes = 60
        c.metaNodes = 7
        c.validators = 21
        c.delegators = 300
        c.trafficPerEpoch = 460
        return c
    }

    /// A preset by name (`small`, `bench`), or nil.
    public static func preset(named name: String) -> SimulationConfig? {
        switch name {
        case "small": .small
        case "bench": .bench
        default: nil
        }
    }

    /// Refuses configurations that cannot produce a valid history, naming the field.
    public func validate() throws(SimulationConfigError) {
        if epochs < 1 { throw .invalid(field: "epochs", value: epochs, rule: "must be at least 1") }
        if users < 1 { throw .invalid(field: "users", value: users, rule: "must be at least 1") }
        if resourceNodes < 1 {
            throw .invalid(
                field: "resourceNodes", value: resourceNodes,
                rule: "must be at least 1 (traffic needs an active resource node)")
        }
        if metaNodes < 0 { throw .invalid(field: "metaNodes", value: metaNodes, rule: "must not be negative") }
        if validators < 0 { throw .invalid(field: "validators", value: validators, rule: "must not be negative") }
        if delegators < 0 { throw .invalid(field: "delegators", value: delegators, rule: "must not be negative") }
        if delegators > 0 && validators == 0 {
            throw .invalid(field: "delegators", value: delegators, rule: "needs at least one validator to delegate to")
        }
        if trafficPerEpoch < 0 {
            throw .invalid(field: "trafficPerEpoch", value: trafficPerEpoch, rule: "must not be negative")
        }
        for (field, value) in [
            ("users", users), ("resourceNodes", resourceNodes), ("metaNodes", metaNodes),
            ("validators", validators), ("delegators", delegators),
        ] where value > 1_000_000 {
            throw .invalid(field: field, value: value, rule: "must be at most 1,000,000")
        }
        if trafficPerEpoch > 1_000_000 {
            throw .invalid(field: "trafficPerEpoch", value: trafficPerEpoch, rule: "must be at most 1,000,000")
        }
        if epochs > 100_000_000 { throw .invalid(field: "epochs", value: epochs, rule: "must be at most 100,000,000") }
    }
}

public enum SimulationConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    case invalid(field: String, value: Int, rule: String)
    public var description: String {
        switch self {
        case .invalid(let field, let value, let rule): "simulation option \(field) = \(value): \(rule)"
        }
    }
}
