import StratosSimulator

/// The network the demo simulates.
public enum DemoSize: String, Sendable, CaseIterable {
    /// A few actors over 2 days (a few thousand events): for CI and tests.
    case tiny
    /// The simulator's `small` preset over 30 days (about 100,000 events): the README's demo.
    case small

    public var simulation: SimulationConfig {
        switch self {
        case .small: return .small
        case .tiny:
            // The tests' tiny network, with the small preset's length and seed, a little busier.
            var c = SimulationConfig.tiny(epochs: SimulationConfig.small.epochs, seed: SimulationConfig.small.seed)
            c.delegators = 5
            c.trafficPerEpoch = 6
            return c
        }
    }

    public var defaultDays: Int { self == .tiny ? 2 : 30 }
}

/// Where the demo's history lives.
public enum DemoDatabase: Sendable {
    /// The demo's own database `name` on the server at `serverURL` (the private cluster):
    /// created when missing, dropped and created again with `fresh`.
    case dedicated(serverURL: String, name: String)
    /// The database at `url` as it is (the user's `DATABASE_URL`): never dropped.
    case given(url: String)

    /// The name of the demo's database on the private cluster.
    public static let defaultName = "stratos_demo"
}

public struct DemoOptions: Sendable {
    public var size: DemoSize = .small
    /// Days of history (144 epochs each); nil: the size's default.
    public var days: Int?
    public var seed: UInt64 = 1
    /// Where the history file and the exported journals are written.
    public var outputDirectory: String = "demo-output"
    /// Start over: drop and create the dedicated database (refused for a given database).
    public var fresh = false
    /// How many nodes the reward table shows.
    public var topNodes = 5
    /// Rows of the price chart.
    public var chartHeight = 10
    /// The journals exported cover the last `exportDays` days (with opening balances before
    /// them); 0: the whole history. Why not everything by default: a month of the small network
    /// is hundreds of MB of journal text, which helps nobody's first look.
    public var exportDays = 1
    /// The port of the console URL the demo ends with (`serve --port`, `demo --serve`).
    public var consolePort = 8080
    /// How the report names the CLI in the commands it suggests.
    public var commandName = "stratos-ledger"

    public init(
        size: DemoSize = .small, days: Int? = nil, seed: UInt64 = 1, outputDirectory: String = "demo-output",
        fresh: Bool = false
    ) {
        self.size = size
        self.days = days
        self.seed = seed
        self.outputDirectory = outputDirectory
        self.fresh = fresh
    }

    public var effectiveDays: Int { days ?? size.defaultDays }

    public var simulation: SimulationConfig {
        var c = size.simulation
        c.seed = seed
        c.epochs = effectiveDays * 144
        return c
    }
}
