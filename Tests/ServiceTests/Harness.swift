import EventStore
import Foundation
import LedgerEvents
import LoopbackHTTP
import PostgresClient
import PostgresTestSupport
import StratosEconomics
import StratosProjections
import StratosReports
import StratosService
import Synchronization
import XCTest

/// A real server on a free loopback port over a fresh database, with the projections built by
/// a real worker (run on demand with `project()`).
final class ServiceHarness {
    static let writeToken = "write-secret-\(UInt64.random(in: 0...UInt64.max))"

    let database: TestDatabase
    let server: StratosServer
    let port: Int
    let client: LoopbackHTTPClient
    private let worker: ProjectionWorker
    /// The server's in-process worker (`worker: true`).
    let supervisor: ProjectionSupervisor?
    private let task: Task<Void, any Error>

    /// `configure` adjusts the service's configuration (limits, timeouts); with `worker`, the
    /// server runs its own supervised projection worker (as `serve --project`).
    init(
        readToken: String? = nil, maxBodyBytes: Int = 16 << 20, worker withWorker: Bool = false,
        configure: (inout ServiceConfiguration) -> Void = { _ in }
    ) throws {
        database = try TestDatabase.create(prefix: "svc")
        let owner = try database.connect()
        try Migrator.load().migrate(owner)
        worker = try ProjectionWorker(url: database.url, schema: "projection")
        try worker.createIfMissing(rules: .paperV1, checkpointEvery: 1)
        // The service reads as stratos_app: Projections/tables.sql grants it the projection tables.

        var configuration = ServiceConfiguration(
            host: "127.0.0.1", port: 0, database: DatabaseConfiguration(url: database.url, role: "stratos_app"),
            writeToken: Self.writeToken, readToken: readToken, maxBodyBytes: maxBodyBytes, readConnections: 4)
        configure(&configuration)
        supervisor =
            withWorker
            ? ProjectionSupervisor(
                configuration: .init(
                    url: database.url, schema: "projection", lockWait: .seconds(10),
                    backoff: Backoff(initial: .milliseconds(50), cap: .milliseconds(500))),
                log: { _ in })
            : nil
        let server = try StratosServer(configuration: configuration, readModels: try ProjectionReadModels(), worker: supervisor)
        self.server = server
        let bound = Mutex<Int?>(nil)
        let failure = Mutex<String?>(nil)
        task = Task.detached {
            do { try await server.run { port in bound.withLock { $0 = port } } } catch {
                failure.withLock { $0 = "\(error)" }
                throw error
            }
        }
        let deadline = Date().addingTimeInterval(30)
        while bound.withLock({ $0 }) == nil {
            if let f = failure.withLock({ $0 }) { throw XCTSkip("server failed to start: \(f)") }
            guard Date() < deadline else { throw LoopbackHTTPClient.Failure(description: "server did not start in 30 s") }
            Thread.sleep(forTimeInterval: 0.02)
        }
        port = bound.withLock { $0 }!
        client = LoopbackHTTPClient(port: port)
    }

    func stop() {
        task.cancel()
        supervisor?.stop()
        try? database.drop()
    }

    /// Ends the database sessions of this test's database named `stratos-ledger/<role>` (as a
    /// restart would end them); returns how many.
    @discardableResult
    func terminateSessions(named role: String) throws -> Int {
        let r = try database.connect().query(
            """
            SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
            WHERE datname = current_database() AND application_name = $1
            """, ["stratos-ledger/\(role)"])
        return Int(try r.int64(0, 0))
    }

    /// Polls `condition` every 20 ms for up to `seconds`.
    func eventually(_ seconds: Double = 10, _ what: String, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (try? condition()) == true { return }
            Thread.sleep(forTimeInterval: 0.02)
        }
        XCTFail("not within \(seconds) s: \(what)")
    }

    /// Brings the projections up to the log head.
    func project() throws {
        try worker.catchUp()
    }

    var auth: [(String, String)] { [("Authorization", "Bearer \(Self.writeToken)")] }

    func post(_ events: [LedgerEvent], jsonLines: Bool = false, headers: [(String, String)]? = nil) throws -> LoopbackHTTPClient.Response {
        let body: [UInt8]
        if jsonLines {
            body = events.flatMap { $0.canonicalUTF8 + [UInt8(ascii: "\n")] }
        } else {
            body =
                [UInt8(ascii: "[")] + events.enumerated().flatMap { ($0.offset > 0 ? [UInt8(ascii: ",")] : []) + $0.element.canonicalUTF8 } + [
                    UInt8(ascii: "]")
                ]
        }
        return try postRaw(body, contentType: jsonLines ? "application/x-ndjson" : "application/json", headers: headers ?? auth)
    }

    func postRaw(_ body: [UInt8], contentType: String, headers: [(String, String)]? = nil) throws -> LoopbackHTTPClient.Response {
        try client.request("POST", "/v1/events", headers: (headers ?? auth) + [("Content-Type", contentType)], body: body)
    }

    func get(_ path: String, headers: [(String, String)] = []) throws -> LoopbackHTTPClient.Response {
        try client.get(path, headers: headers)
    }

    /// The log head, read directly (as the owner).
    func head() throws -> Int64 {
        try EventStore(connection: database.connect()).head().position
    }
}

extension LoopbackHTTPClient.Response {
    var json: JSONValue {
        get throws { try JSONValue.parse(body) }
    }
    var object: [String: JSONValue] {
        get throws {
            guard case .object(let o) = try json else { throw LoopbackHTTPClient.Failure(description: "not a JSON object: \(text)") }
            return o
        }
    }
}

extension JSONValue {
    subscript(_ key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }
    var string: String? { if case .string(let s) = self { s } else { nil } }
    var int: Int64? { if case .number(let n) = self { Int64(n) } else { nil } }
    var array: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    var entries: [(String, JSONValue)]? { if case .object(let o) = self { o.map { ($0.key, $0.value) } } else { nil } }
}

/// Runs a command; nil when the tool is not installed.
func runTool(_ tool: String, _ arguments: [String]) throws -> (status: Int32, output: String)? {
    let candidates =
        ["/usr/bin/\(tool)", "/usr/local/bin/\(tool)", "/root/.pyenv/shims/\(tool)"]
        + (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/\(tool)" }
    guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return nil }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = arguments
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}
