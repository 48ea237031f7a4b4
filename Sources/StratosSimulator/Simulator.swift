import LedgerEvents
import StratosEconomics

/// A deterministic generator of realistic, valid Stratos network histories (docs/EVENTS.md events).
///
/// Validity is by construction: every proposed event is applied to a real `Economy` and
/// emitted only if it is accepted, so a history from `run` imports without a refusal under
/// `paper-v1`. The generator keeps a small shadow of what it needs to propose sensible events
/// (wallets of users, who is active, who delegated what); where it needs a figure only the
/// rules can give (the Ozone a prepay bought), it asks the economy.
///
/// Determinism: one xoshiro256** stream seeded from `config.seed`, integer draws only, no
/// dictionary or set iteration, no clock. The same configuration writes the same bytes.
///
/// ```swift
/// let summary = try Simulator(.small).run { event in try writer.write(event) }
/// ```
public struct Simulator: Sendable {
    public let config: SimulationConfig

    public init(_ config: SimulationConfig) throws(SimulationConfigError) {
        try config.validate()
        self.config = config
    }

    /// Generates the history event by event, in log order, calling `emit` for each accepted
    /// event (memory stays bounded by the network's size, not the history's length).
    /// Errors thrown by `emit` stop the run and are rethrown.
    @discardableResult
    public func run(emit: (LedgerEvent) throws -> Void) throws -> SimulationSummary {
        let generator = Generator(config: config)
        try generator.run(emit: emit)
        return generator.summary
    }

    /// Generates into an `Economy` too, and returns it with the summary (for tests that check
    /// the end state, and for benchmarks that want a populated economy).
    public func runReturningEconomy(emit: (LedgerEvent) throws -> Void) throws -> (SimulationSummary, Economy) {
        let generator = Generator(config: config)
        try generator.run(emit: emit)
        return (generator.summary, generator.economy)
    }
}

/// A run that cannot produce a valid history.
public enum SimulationError: Error, CustomStringConvertible, Sendable {
    /// The economy refused the generated `Genesis`, so no later event could be valid.
    case genesisRefused(String)
    public var description: String {
        switch self {
        case .genesisRefused(let reason): "the rules refused the simulated Genesis: \(reason)"
        }
    }
}

/// What a run produced.
public struct SimulationSummary: Sendable, Hashable, CustomStringConvertible {
    /// Events emitted, in total and by type.
    public var eventsWritten: Int = 0
    public var countsByType: [EventType: Int] = [:]
    /// Proposals the economy refused (not emitted). Zero unless the generator's shadow of the
    /// state has drifted from the rules; the tests hold it at zero.
    public var refused: Int = 0
    /// The first few refusals, for diagnosis.
    public var refusalSamples: [String] = []
    public var lastClosedEpoch: Int64 = 0

    public func count(_ type: EventType) -> Int { countsByType[type] ?? 0 }

    public var description: String {
        var lines = ["\(eventsWritten) events, epochs 1–\(lastClosedEpoch) closed"]
        for type in EventType.allCases where count(type) > 0 {
            lines.append("  \(type.rawValue): \(count(type))")
        }
        if refused > 0 { lines.append("  refused proposals (not written): \(refused)") }
        return lines.joined(separator: "\n")
    }
}
