// `stratos-bench append-peers`: only the side-by-side part of the `append` suite
// (AppendPeersBench: Message DB and stratos-ledger, one event per commit), for repeated runs
// without the bulk import that follows it there.
import Foundation

enum AppendPeersSuite: BenchSuite {
    static let name = "append-peers"

    static func run(databaseURL: String?) async throws -> [BenchFigure] {
        guard let databaseURL else { throw BenchError("DATABASE_URL is not set") }
        var figures: [BenchFigure] = []
        try await AppendPeersBench.run(serverURL: databaseURL) { name, value, unit, target in
            figures.append(BenchFigure(suite: Self.name, name: name, value: value, unit: unit, target: target))
            FileHandle.standardError.write(Data("  \(name): \(value < 10 ? String(format: "%.2f", value) : String(Int(value))) \(unit)\n".utf8))
        }
        return figures
    }
}
