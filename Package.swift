// swift-tools-version:6.0
//
// stratos-ledger: an event-sourced accounting service for the Stratos token economy.
//
// The target graph mirrors the architecture:
//   CLibPQ            system library over Debian's libpq-dev
//   PostgresClient    a small, typed Swift layer over libpq (no ORM)
//   LedgerEvents      the event contract of docs/EVENTS.md: JSON, envelope, typed events, canonical hash
//   StratosEconomics  the pure rules engine (paper-v1 and friends); knows nothing of PostgreSQL
//   EventStore        the append-only, hash-chained event log, migrations, import (rules only through LedgerRules)
//   StratosProjections projection workers, checkpoints, rebuilds, journal; binds Economy to LedgerRules
//   StratosSimulator  deterministic generator of realistic histories
//   StratosReports    audits, journal exports and the read model: shared by the CLI, the demo, the service
//   StratosConsole    the auditor's console: HTML pages, amounts and SVG charts (pure rendering; no HTTP, no PostgreSQL)
//   StratosService    HTTP API (and the console's routes)
//   StratosDemo       the one-command demo (`stratos-ledger demo`), callable from tests
//   FaultDrill        primary + standby, the service as a process, faults injected, then checks
//   StratosLedgerCLI  the `stratos-ledger` executable
import PackageDescription

let package = Package(
    name: "stratos-ledger",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "stratos-ledger", targets: ["StratosLedgerCLI"]),
        .executable(name: "stratos-bench", targets: ["stratos-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .target(name: "PostgresClient", dependencies: ["CLibPQ"]),
        .target(name: "LedgerEvents"),
        .target(name: "StratosEconomics", dependencies: ["LedgerEvents"]),
        .target(name: "EventStore", dependencies: ["PostgresClient", "LedgerEvents"]),
        .target(name: "StratosProjections", dependencies: ["EventStore", "StratosEconomics", "PostgresClient", "LedgerEvents"]),
        .target(name: "StratosSimulator", dependencies: ["LedgerEvents", "StratosEconomics"]),
        .target(name: "StratosReports", dependencies: ["EventStore", "StratosProjections", "StratosEconomics", "PostgresClient", "LedgerEvents"]),
        .target(name: "StratosConsole", dependencies: ["LedgerEvents", "StratosEconomics"]),
        .target(
            name: "StratosService",
            dependencies: [
                "EventStore", "StratosProjections", "StratosEconomics", "StratosReports", "StratosConsole", "PostgresClient", "LedgerEvents",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ]),
        .target(
            name: "StratosDemo",
            dependencies: [
                "EventStore", "StratosProjections", "StratosSimulator", "StratosReports", "StratosService", "LedgerEvents", "PostgresClient",
                "StratosEconomics",
            ]),
        .target(
            name: "FaultDrill",
            dependencies: [
                "EventStore", "StratosProjections", "StratosSimulator", "StratosService", "StratosDemo", "LoopbackHTTP", "LedgerEvents",
                "PostgresClient", "StratosEconomics",
            ]),
        .executableTarget(
            name: "StratosLedgerCLI",
            dependencies: [
                "EventStore", "StratosProjections", "StratosSimulator", "StratosReports", "StratosService", "StratosDemo", "LedgerEvents",
                "PostgresClient", "StratosEconomics",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "stratos-bench",
            dependencies: [
                "EventStore", "StratosProjections", "StratosSimulator", "StratosEconomics", "StratosReports", "StratosService", "FaultDrill",
                "LoopbackHTTP", "LedgerEvents", "PostgresClient",
            ]
        ),
        .target(name: "PostgresTestSupport", dependencies: ["PostgresClient"], path: "Tests/Support/Postgres"),
        // A blocking HTTP/1.1 client over a loopback socket, for tests, the benchmarks and the
        // fault drill: it sees the service exactly as a remote client does.
        .target(name: "LoopbackHTTP", path: "Tests/Support/HTTP"),
        .testTarget(name: "LedgerEventsTests", dependencies: ["LedgerEvents", "StratosSimulator"]),
        .testTarget(name: "EconomicsTests", dependencies: ["StratosEconomics", "StratosSimulator", "LedgerEvents"]),
        .testTarget(
            name: "EventStoreTests",
            dependencies: [
                "EventStore", "StratosProjections", "PostgresTestSupport", "StratosSimulator", "LedgerEvents", "PostgresClient", "StratosEconomics",
            ]),
        .testTarget(
            name: "ProjectionTests",
            dependencies: [
                "StratosProjections", "StratosSimulator", "EventStore", "PostgresTestSupport", "LedgerEvents", "PostgresClient", "StratosEconomics",
            ]),
        .testTarget(
            name: "ServiceTests",
            dependencies: [
                "StratosService", "StratosReports", "LoopbackHTTP", "PostgresTestSupport", "StratosSimulator", "EventStore", "StratosProjections",
                "LedgerEvents", "PostgresClient", "StratosEconomics",
            ]),
        .testTarget(
            name: "ConsoleTests",
            dependencies: [
                "StratosConsole", "StratosService", "StratosReports", "LoopbackHTTP", "PostgresTestSupport", "StratosSimulator", "EventStore",
                "StratosProjections",
            ]),
        .testTarget(name: "DemoTests", dependencies: ["StratosDemo", "PostgresTestSupport", "LedgerEvents"]),
        .testTarget(name: "FaultDrillTests", dependencies: ["FaultDrill", "PostgresTestSupport"]),
        .testTarget(name: "SimulatorTests", dependencies: ["StratosSimulator", "StratosEconomics", "LedgerEvents"]),
    ]
)
