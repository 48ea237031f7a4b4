// stratos-bench: the benchmark program. It prints figures; it never fails a build.
// Each area has its own file here defining a `BenchSuite`; `suites` lists them in run order.
// Usage: stratos-bench [SUITE ...] [--quick] [--json FILE] [--markdown FILE] [--list]
import Foundation

/// One measured figure, e.g. ("append", "1,000-event batches", 123456, "events/s", target ">= 100000").
struct BenchFigure: Codable, Sendable {
    var suite: String
    var name: String
    var value: Double // a measurement (time, rate, bytes), never money
    var unit: String
    var target: String?
}

protocol BenchSuite {
    static var name: String { get }
    /// Runs the suite and returns its figures. `databaseURL` is nil when no PostgreSQL is configured.
    static func run(databaseURL: String?) async throws -> [BenchFigure]
}

let suites: [any BenchSuite.Type] = [
    // Suites register here, one line each.
    EventsBench.self,
    SimulatorBench.self,
    EconomicsBench.self,
    AppendBench.self,
    AppendPeersSuite.self,
    ProjectionBench.self,
    RuleFixBench.self,
    HTTPBench.self,
    FaultsBench.self,
    ConsoleBench.self,
]

var selected = Set<String>()
var jsonPath: String?
var markdownPath: String?
var args = CommandLine.arguments.dropFirst()
while let arg = args.popFirst() {
    switch arg {
    case "--json": jsonPath = args.popFirst()
    case "--markdown": markdownPath = args.popFirst()
    case "--quick": break // read by BenchScale
    case "--list":
        for suite in suites { print(suite.name) }
        exit(0)
    default:
        guard suites.contains(where: { $0.name == arg }) else {
            FileHandle.standardError.write(Data("bench: unknown suite \(arg) (known: \(suites.map { $0.name }.joined(separator: ", ")))\n".utf8))
            exit(2)
        }
        selected.insert(arg)
    }
}
let databaseURL = ProcessInfo.processInfo.environment["DATABASE_URL"]
var report = BenchReport(machine: MachineDescription.current(databaseURL: databaseURL), suitesRun: [], suitesFailed: [:], figures: [])
FileHandle.standardError.write(
    Data(
        "bench: \(report.machine.cpuModel), \(report.machine.logicalCPUs) CPUs, \(report.machine.memoryGiB) GiB; \(report.machine.mode) sizes\n".utf8)
)
// `append-peers` is part of `append`: run alone only when named.
for suite in suites where selected.isEmpty ? suite.name != AppendPeersSuite.name : selected.contains(suite.name) {
    FileHandle.standardError.write(Data("bench: running \(suite.name)\n".utf8))
    let start = ContinuousClock.now
    do {
        let result = try await suite.run(databaseURL: databaseURL)
        for f in result { print("\(f.suite)\t\(f.name)\t\(f.value)\t\(f.unit)\t\(f.target ?? "")") }
        report.figures += result
        report.suitesRun.append(suite.name)
    } catch {
        FileHandle.standardError.write(Data("bench: \(suite.name) failed: \(error)\n".utf8))
        report.suitesFailed[suite.name] = "\(error)"
    }
    FileHandle.standardError.write(Data("bench: \(suite.name) took \(ContinuousClock.now - start)\n".utf8))
}
if let jsonPath {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(report).write(to: URL(fileURLWithPath: jsonPath))
}
if let markdownPath {
    try report.markdown.write(toFile: markdownPath, atomically: true, encoding: .utf8)
}
