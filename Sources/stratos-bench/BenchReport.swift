// The run's options (full or --quick sizes), the machine it ran on, and the two outputs
// (Markdown table, JSON). Figures are measurements (times, rates, bytes), never money.
import Foundation
import PostgresClient

/// Full or quick sizes. Every suite picks its history sizes through `size(_:quick:)`, and names
/// them in its figures, so a table always says what it measured.
enum BenchScale {
    /// `--quick`: small histories, for a smoke run of every suite in a minute or two.
    static let quick = CommandLine.arguments.contains("--quick")

    static func size<T>(_ full: T, quick small: T) -> T { quick ? small : full }
}

/// Where the figures were measured.
struct MachineDescription: Codable, Sendable {
    var cpuModel: String
    var logicalCPUs: Int
    var memoryGiB: Double
    var os: String
    var swiftVersion: String
    var buildConfiguration: String
    var postgresVersion: String?
    var commit: String?
    var date: String
    var mode: String

    static func current(databaseURL: String?) -> MachineDescription {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model =
            cpuinfo.split(separator: "\n")
            .first { $0.hasPrefix("model name") }
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }
            .map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
        let meminfo = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
        let memKiB =
            meminfo.split(separator: "\n").first { $0.hasPrefix("MemTotal:") }
            .flatMap { $0.split(separator: " ").compactMap { Double($0) }.first } ?? 0
        let osRelease = (try? String(contentsOfFile: "/etc/os-release", encoding: .utf8)) ?? ""
        let os =
            osRelease.split(separator: "\n").first { $0.hasPrefix("PRETTY_NAME=") }
            .map { $0.dropFirst("PRETTY_NAME=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
            ?? ProcessInfo.processInfo.operatingSystemVersionString
        let env = ProcessInfo.processInfo.environment
        var postgres: String?
        if let databaseURL, let c = try? PostgresConnection(url: databaseURL),
            let r = try? c.query("SHOW server_version"), let v = try? r.string(0, 0)
        {
            postgres = "PostgreSQL " + v
        }
        let formatter = ISO8601DateFormatter()
        #if DEBUG
            let configuration = "debug"
        #else
            let configuration = "release"
        #endif
        return MachineDescription(
            cpuModel: model, logicalCPUs: ProcessInfo.processInfo.activeProcessorCount,
            memoryGiB: (memKiB / 1_048_576 * 10).rounded() / 10, os: os,
            swiftVersion: env["STRATOS_BENCH_SWIFT_VERSION"] ?? compilerVersion, buildConfiguration: configuration,
            postgresVersion: postgres, commit: env["STRATOS_BENCH_COMMIT"], date: formatter.string(from: Date()),
            mode: BenchScale.quick ? "quick" : "full")
    }

    /// The compiler that built this binary, when `swift --version` was not passed in.
    private static var compilerVersion: String {
        #if compiler(>=6.3)
            "Swift 6.3 or later"
        #elseif compiler(>=6.2)
            "Swift 6.2"
        #elseif compiler(>=6.1)
            "Swift 6.1"
        #else
            "Swift 6.0"
        #endif
    }

    var markdown: String {
        var rows = [
            ("CPU", "\(cpuModel), \(logicalCPUs) logical CPUs (nproc)"),
            ("Memory", "\(memoryGiB) GiB"),
            ("OS", os),
            ("Swift", swiftVersion + " (\(buildConfiguration) build)"),
        ]
        if let postgresVersion { rows.append(("Database", postgresVersion)) }
        if let commit { rows.append(("Commit", commit)) }
        rows.append(("Date", date))
        rows.append(("Sizes", mode == "quick" ? "quick (--quick: small histories; not comparable with full runs)" : "full"))
        return "| machine | |\n|---|---|\n" + rows.map { "| \($0.0) | \($0.1) |" }.joined(separator: "\n") + "\n"
    }
}

/// What `--json` writes.
struct BenchReport: Codable, Sendable {
    var machine: MachineDescription
    var suitesRun: [String]
    var suitesFailed: [String: String]
    var figures: [BenchFigure]

    var markdown: String {
        var md = "## Machine\n\n" + machine.markdown + "\n## Figures\n\n"
        md += "| suite | figure | value | unit | target |\n|---|---|---:|---|---|\n"
        for f in figures {
            md += "| \(f.suite) | \(f.name) | \(Self.format(f.value)) | \(f.unit) | \(f.target ?? "") |\n"
        }
        if !suitesFailed.isEmpty {
            md += "\nSuites that failed:\n\n"
            for (suite, error) in suitesFailed.sorted(by: { $0.key < $1.key }) { md += "- \(suite): \(error)\n" }
        }
        return md
    }

    /// Large values without decimals and with thousands separators; small ones with one decimal.
    static func format(_ value: Double) -> String {
        guard value.isFinite else { return "\(value)" }
        if abs(value) >= 1000 {
            let digits = String(Int64(value.rounded()))
            var out = ""
            for (i, c) in digits.enumerated() {
                if i > 0 && c != "-" && (digits.count - i) % 3 == 0 && out.last != "-" { out.append(",") }
                out.append(c)
            }
            return out
        }
        return String(format: abs(value) >= 10 ? "%.1f" : "%.2f", value)
    }
}
