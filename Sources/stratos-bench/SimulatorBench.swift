import Foundation
import StratosSimulator

/// Generation speed of `StratosSimulator`: the `small` (demo) and `bench` presets, each event
/// validated by the economics engine and encoded canonically into a JSON Lines buffer that is
/// thrown away (so the figure is the generator's, not the disk's).
enum SimulatorBench: BenchSuite {
    static let name = "simulate"

    static func run(databaseURL: String?) async throws -> [BenchFigure] {
        var figures: [BenchFigure] = []
        var bench = SimulationConfig.bench
        bench.epochs = BenchScale.size(bench.epochs, quick: 144)
        for (preset, config) in [("small", SimulationConfig.small), ("bench", bench)] {
            let days = config.epochs / 144
            let label = "\(preset) preset, \(days) day\(days == 1 ? "" : "s")"
            let sink = try JSONLinesWriter(path: "/dev/null")
            let clock = ContinuousClock()
            let start = clock.now
            let summary = try Simulator(config).run { event in try sink.write(event) }
            try sink.finish()
            let elapsed = clock.now - start
            let seconds = elapsed.inSeconds
            figures.append(
                BenchFigure(
                    suite: name, name: "\(label): events generated", value: Double(summary.eventsWritten),
                    unit: "events", target: preset == "bench" ? ">= 2000000" : nil))
            figures.append(
                BenchFigure(
                    suite: name, name: "\(label): generation rate (validated + encoded)",
                    value: Double(summary.eventsWritten) / seconds, unit: "events/s",
                    target: ">= 200000"))
            figures.append(
                BenchFigure(
                    suite: name, name: "\(label): bytes per event", value: Double(sink.bytesWritten) / Double(summary.eventsWritten),
                    unit: "bytes", target: nil))
        }
        return figures
    }
}
