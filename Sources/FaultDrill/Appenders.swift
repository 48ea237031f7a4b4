import Foundation
import LedgerEvents
import LoopbackHTTP
import StratosService
import Synchronization

/// Clients that append one event per request, as a network would, and never give up on one:
/// a request that fails (503, a refused connection while the service restarts, a timeout) is
/// sent again, the same id and content, until it is acknowledged. That is the retry the service
/// documents as safe; the drill then checks that every acknowledged event is in the log exactly
/// once, at the position its acknowledgement named.
final class Appenders: Sendable {
    struct Acknowledgement: Sendable {
        var position: Int64
        var at: Date
    }

    private struct State {
        var acknowledged: [String: Acknowledgement] = [:]
        var failedAttempts = 0
        var stopping = false
    }

    private let state = Mutex(State())
    private let done = DispatchGroup()
    let port: Int
    let token: String
    let genesisTime: String

    init(port: Int, token: String, genesisTime: String) {
        self.port = port
        self.token = token
        self.genesisTime = genesisTime
    }

    var acknowledged: [String: Acknowledgement] { state.withLock { $0.acknowledged } }
    var failedAttempts: Int { state.withLock { $0.failedAttempts } }

    /// Acknowledged events between `from` and `to`.
    func count(from: Date, to: Date) -> Int {
        state.withLock { s in s.acknowledged.values.filter { $0.at >= from && $0.at < to }.count }
    }

    /// When the first event after `instant` was acknowledged.
    func firstAcknowledgement(after instant: Date) -> Date? {
        state.withLock { s in s.acknowledged.values.lazy.map(\.at).filter { $0 >= instant }.min() }
    }

    /// Starts `clients` appenders, each on a thread of its own.
    func start(clients: Int) {
        for c in 0..<clients {
            done.enter()
            let thread = Thread { [self] in
                run(client: c)
                done.leave()
            }
            thread.name = "drill-appender-\(c)"
            thread.start()
        }
    }

    /// Stops them: the request each has in flight is still retried until acknowledged (bounded
    /// by `timeout`), so that no event stays in an unknown state.
    func stop(timeout: Double) -> Bool {
        state.withLock { $0.stopping = true }
        return done.wait(timeout: .now() + timeout) == .success
    }

    private var stopping: Bool { state.withLock { $0.stopping } }

    private func run(client c: Int) {
        let client = LoopbackHTTPClient(port: port, timeoutSeconds: 15)
        let headers = [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")]
        var k = 0
        while !stopping {
            k += 1
            let id = "drill-\(c)-\(k)"
            // Funded events are valid in any order after Genesis (same time), so the clients
            // need no coordination; the amounts vary so that the books are not trivial.
            let body = Array(
                #"[{"id":"\#(id)","type":"Funded","time":"\#(genesisTime)","data":{"account":"st1drill\#(c)","amount":"\#(1_000_000 + k)"}}]"#.utf8)
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline {
                if let r = try? client.request("POST", "/v1/events", headers: headers, body: body),
                    r.status == 200 || r.status == 201,
                    let position = Self.position(r.body)
                {
                    state.withLock { $0.acknowledged[id] = Acknowledgement(position: position, at: Date()) }
                    break
                }
                state.withLock { $0.failedAttempts += 1 }
                Thread.sleep(forTimeInterval: Double.random(in: 0.02...0.08))
            }
        }
    }

    /// `events[0].position` of an append's answer.
    static func position(_ body: [UInt8]) -> Int64? {
        guard case .object(let o)? = try? JSONValue.parse(body), case .array(let events)? = o["events"],
            case .object(let first)? = events.first, case .number(let p)? = first["position"]
        else { return nil }
        return Int64(p)
    }
}
