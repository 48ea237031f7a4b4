import FaultDrill
import Foundation

/// `stratos-bench faults`: the fault drill (FaultDrill, docs/OPERATIONS.md) at a larger size, on
/// clusters of its own on 127.0.0.1 (DATABASE_URL is not used): rounds of PostgreSQL restarted,
/// the service killed with -9, and the primary killed with its standby promoted, under clients
/// appending one event per request.
enum FaultsBench: BenchSuite {
    static let name = "faults"

    static func run(databaseURL: String?) async throws -> [BenchFigure] {
        let binary = try ledgerBinary()
        var acknowledged = 0
        var lost = 0
        var duplicates = 0
        var misplaced = 0
        var injected = 0
        var ready: [FaultDrill.Fault: [Double]] = [:]
        var append: [FaultDrill.Fault: [Double]] = [:]
        var faultFree: [Double] = []
        var during: [Double] = []
        var allPassed = true
        let rounds = BenchScale.size(3, quick: 1)
        for round in 1...rounds {
            var c = FaultDrill.Configuration(binary: binary, directory: NSTemporaryDirectory() + "stratos-bench-faults-\(getpid())-\(round)")
            c.clients = BenchScale.size(8, quick: 4)
            c.steadySeconds = BenchScale.size(10, quick: 3)
            c.secondsBetweenFaults = BenchScale.size(8, quick: 3)
            c.log = { FileHandle.standardError.write(Data("faults: round \(round): \($0)\n".utf8)) }
            let r = try FaultDrill.run(c)
            FileHandle.standardError.write(Data("faults: round \(round):\n\(r.description)\n".utf8))
            acknowledged += r.acknowledged
            lost += r.lost
            duplicates += r.duplicates
            misplaced += r.misplaced
            injected += r.faults.count
            for f in r.faults {
                ready[f.fault, default: []].append(f.secondsToReady ?? .infinity)
                append[f.fault, default: []].append(f.secondsToAppend ?? .infinity)
            }
            faultFree.append(r.faultFreeRate)
            during.append(r.drillRate)
            allPassed = allPassed && r.passed
        }
        var figures = [
            BenchFigure(suite: name, name: "events acknowledged (\(rounds) drills)", value: Double(acknowledged), unit: "events", target: nil),
            BenchFigure(suite: name, name: "acknowledged but lost", value: Double(lost), unit: "events", target: "0"),
            BenchFigure(suite: name, name: "duplicates or misplaced", value: Double(duplicates + misplaced), unit: "events", target: "0"),
            BenchFigure(suite: name, name: "faults injected", value: Double(injected), unit: "faults", target: nil),
            BenchFigure(
                suite: name, name: "every check passed (gap-free, verify, projections = rebuild, ready, SIGTERM)",
                value: allPassed ? 1 : 0, unit: "bool", target: "1"),
        ]
        for fault in FaultDrill.Fault.allCases {
            let times = (ready[fault] ?? []).sorted()
            guard !times.isEmpty else { continue }
            let target = fault == .promoteStandby ? "<= 10" : "<= 5"
            figures.append(
                BenchFigure(
                    suite: name, name: "\(fault.rawValue): to ready, p50", value: times[times.count / 2],
                    unit: "s", target: target))
            figures.append(BenchFigure(suite: name, name: "\(fault.rawValue): to ready, max", value: times.last!, unit: "s", target: target))
            let appends = (append[fault] ?? []).sorted()
            figures.append(
                BenchFigure(
                    suite: name, name: "\(fault.rawValue): to the next acknowledged append, max",
                    value: appends.last ?? .infinity, unit: "s", target: nil))
        }
        let free = faultFree.reduce(0, +) / Double(faultFree.count)
        let drill = during.reduce(0, +) / Double(during.count)
        figures.append(BenchFigure(suite: name, name: "appends/s fault-free (1 event/request)", value: free, unit: "events/s", target: nil))
        figures.append(BenchFigure(suite: name, name: "appends/s during the drill", value: drill, unit: "events/s", target: nil))
        figures.append(
            BenchFigure(
                suite: name, name: "drill rate / fault-free rate", value: free > 0 ? drill / free : 0,
                unit: "ratio", target: ">= 0.5"))
        return figures
    }

    /// `stratos-ledger` beside this executable (built by scripts/bench.sh), or STRATOS_LEDGER_BIN.
    static func ledgerBinary() throws -> String {
        if let path = ProcessInfo.processInfo.environment["STRATOS_LEDGER_BIN"] { return path }
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let path = here.appendingPathComponent("stratos-ledger").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw BenchError("no stratos-ledger at \(path): build it (swift build -c release --product stratos-ledger) or set STRATOS_LEDGER_BIN")
        }
        return path
    }
}
