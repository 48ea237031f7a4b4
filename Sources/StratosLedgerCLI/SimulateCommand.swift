import ArgumentParser
import LedgerEvents
import StratosSimulator

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `stratos-ledger simulate`: writes a deterministic, valid history (JSON Lines, canonical
/// encoding) for `import`. A thin shell over `StratosSimulator`.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Generate a realistic, valid network history as JSON Lines (same seed, same bytes).",
        discussion: """
            Starts from a preset (small: ~30 days of a small network, ~100,000 events; bench: \
            30 days of a busier one, over 2,000,000 events) and overrides what you pass. \
            Every event is checked against the paper-v1 rules before it is written, so the \
            file imports without a refusal. A summary goes to standard error.
            """
    )

    @Option(help: "Preset to start from: small or bench.")
    var preset: String = "small"

    @Option(help: "Seed of the random generator (same seed and options, same bytes).")
    var seed: UInt64?

    @Option(help: "Length of the history in days (144 epochs a day).")
    var days: Int?

    @Option(help: "Length of the history in epochs of 10 minutes (instead of --days).")
    var epochs: Int?

    @Option(help: "Number of users.")
    var users: Int?

    @Option(name: .customLong("resource-nodes"), help: "Number of resource nodes over the run.")
    var resourceNodes: Int?

    @Option(name: .customLong("meta-nodes"), help: "Number of meta nodes active at the end.")
    var metaNodes: Int?

    @Option(help: "Number of validators.")
    var validators: Int?

    @Option(help: "Number of delegators.")
    var delegators: Int?

    @Option(help: "Mean traffic records per epoch.")
    var traffic: Int?

    @Option(name: .customLong("genesis-time"), help: "Genesis time, RFC 3339 UTC (default 2026-01-01T00:00:00Z).")
    var genesisTime: String?

    @Option(name: [.short, .long], help: "Output file, or - for standard output.")
    var output: String = "-"

    @Flag(name: .customLong("sha256"), help: "Also print the SHA-256 of the output.")
    var printHash = false

    func validate() throws {
        if days != nil && epochs != nil { throw ValidationError("give --days or --epochs, not both") }
        if SimulationConfig.preset(named: preset) == nil {
            throw ValidationError("unknown preset '\(preset)' (small or bench)")
        }
        if let days, days < 1 { throw ValidationError("--days must be at least 1") }
    }

    func makeConfig() throws -> SimulationConfig {
        var config = SimulationConfig.preset(named: preset)!
        if let seed { config.seed = seed }
        if let days { config.epochs = days * 144 }
        if let epochs { config.epochs = epochs }
        if let users { config.users = users }
        if let resourceNodes { config.resourceNodes = resourceNodes }
        if let metaNodes { config.metaNodes = metaNodes }
        if let validators { config.validators = validators }
        if let delegators { config.delegators = delegators }
        if let traffic { config.trafficPerEpoch = traffic }
        if let genesisTime {
            do {
                config.genesisTime = try Timestamp.parse(rfc3339: genesisTime)
            } catch {
                throw ValidationError("--genesis-time '\(genesisTime)': \(error)")
            }
        }
        do {
            try config.validate()
        } catch {
            throw ValidationError(error.description)
        }
        return config
    }

    func run() throws {
        let config = try makeConfig()
        let simulator = try Simulator(config)
        let writer =
            output == "-"
            ? JSONLinesWriter(fileDescriptor: STDOUT_FILENO, path: "-", hashing: printHash)
            : try JSONLinesWriter(path: output, hashing: printHash)
        let clock = ContinuousClock()
        let start = clock.now
        let summary = try simulator.run { event in try writer.write(event) }
        let hash = try writer.finish()
        let elapsed = clock.now - start
        let seconds = elapsed.inSeconds
        var report = summary.description + "\n"
        report += "  \(writer.bytesWritten) bytes to \(output == "-" ? "standard output" : output)"
        report += " in \(Int(seconds * 1000)) ms (\(seconds > 0 ? Int(Double(summary.eventsWritten) / seconds) : 0) events/s)\n"
        if let hash { report += "  sha256 \(SHA256.hex(hash))\n" }
        for sample in summary.refusalSamples { report += "  refused: \(sample)\n" }
        writeToStandardError(report)
        if summary.refused > 0 {
            // The written history is still valid (refused proposals were not written), but a
            // refusal means the generator's picture of the state drifted: a bug to report.
            writeToStandardError("simulate: \(summary.refused) proposals were refused by the rules and left out\n")
        }
    }
}

private func writeToStandardError(_ text: String) {
    var bytes = Array(text.utf8)
    bytes.withUnsafeMutableBytes { raw in
        var offset = 0
        while offset < raw.count {
            let n = write(STDERR_FILENO, raw.baseAddress! + offset, raw.count - offset)
            if n <= 0 { return }
            offset += n
        }
    }
}
