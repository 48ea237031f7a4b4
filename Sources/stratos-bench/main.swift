// stratos-bench: the benchmark program. It prints figures; it never fails a build.
// Each area has its own file here defining a `BenchSuite`; `suites` lists them in run order.
// Usage: stratos-bench [SUITE ...] [--json FILE] [--markdown FILE]
import Foundation

/// One measured figure, e.g. ("append", "1,000-event batches", 123456, "events/s", target ">= 100000").
struct BenchFigure: Codable, Sendable {
    var suite: String
    var name: String
    var value: Double      // a measurement (time, rate, bytes), never money
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
    ProjectionBench.self,
    HTTPBench.self,
]

var selected = Set<String>()
var jsonPath: String?
var markdownPath: String?
var args = CommandLine.arguments.dropFirst()
while let arg = args.popFirst() {
    switch arg {
    case "--json": jsonPath = args.popFirst()
    case "--markdown": markdownPath = args.popFirst()
    default: selected.insert(arg)
    }
}
let databaseURL = ProcessInfo.processInfo.environment["DATABASE_URL"]
var figures: [BenchFigure] = []
for suite in suites where selected.isEmpty || selected.contains(suite.name) {
    FileHandle.standardError.write(Data("bench: running \(suite.name)\n".utf8))
    do {
        let result = try await suite.run(databaseURL: databaseURL)
        for f in result { print("\(f.suite)\t\(f.name)\t\(f.value)\t\(f.unit)\t\(f.target ?? "")") }
        figures += result
    } catch {
        FileHandle.standardError.write(Data("bench: \(suite.name) failed: \(error)\n".utf8))
    }
}
if let jsonPath {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(figures).write(to: URL(fileURLWithPath: jsonPath))
}
if let markdownPath {
    var md = "| suite | figure | value | unit | target |\n|---|---|---:|---|---|\n"
    for f in figures { md += "| \(f.suite) | \(f.name) | \(String(format: "%.1f", f.value)) | \(f.unit) | \(f.target ?? "") |\n" }
    try md.write(toFile: markdownPath, atomically: true, encoding: .utf8)
}
