import Foundation
import Hummingbird
import LedgerEvents
import Logging
import NIOCore
import ServiceLifecycle
import StratosProjections

/// What the service says about itself: `/health` (the whole picture), `/health/ready` (may a
/// load balancer send it traffic), `/health/live` (does the process run), and the gauges of
/// `/metrics`. All of it comes from the background probes (`DatabaseMonitor`) and the worker's
/// supervisor, so none of it waits on a database that does not answer.
extension StratosServer {
    /// The service's state as `/health` reports it.
    struct Health {
        enum Status: String { case ok, degraded, down }
        var status: Status
        /// Why the status is not `ok` (empty when it is).
        var reasons: [String]
        var probe: DatabaseMonitor.Probe?
        var worker: ProjectionSupervisor.Status?
        var standbys: [(name: String, probe: DatabaseMonitor.Probe?)]
        /// Ready for traffic: the primary answers, the worker (if it runs here) runs, and the
        /// projections lag less than `--max-lag` events.
        var ready: Bool
    }

    func health() -> Health {
        let probe = monitor.probe
        let workerStatus = worker?.status
        var reasons: [String] = []
        var status = Health.Status.ok
        var ready = true
        func degrade(_ reason: String, notReady: Bool) {
            reasons.append(reason)
            if status == .ok { status = .degraded }
            if notReady { ready = false }
        }
        if let probe, probe.reachable {
            if let lag = probe.lagEvents {
                if lag > configuration.maxLag {
                    degrade("the projections lag \(lag) events behind the log (more than --max-lag \(configuration.maxLag))", notReady: true)
                }
            } else {
                degrade("the projection schema \(configuration.schema) is not built yet", notReady: true)
            }
        } else {
            status = .down
            ready = false
            reasons.append("PostgreSQL does not answer: \(probe?.error ?? "not probed yet")")
        }
        if let w = workerStatus, !w.state.isRunning {
            let why =
                w.state == .waitingForLock
                ? "waits for the lock of schema \(configuration.schema)" + (w.lockHolderPID.map { " (held by backend pid \($0))" } ?? "")
                : "is \(w.state.rawValue)" + (w.lastError.map { ": \($0)" } ?? "")
            degrade("the projection worker \(why)", notReady: true)
        }
        let standbys = standbyMonitors.map { ($0.name, $0.probe) }
        for (name, p) in standbys where !(p?.reachable ?? false) {
            degrade("\(name) does not answer (reads go to the primary): \(p?.error ?? "not probed yet")", notReady: false)
        }
        return Health(status: status, reasons: reasons, probe: probe, worker: workerStatus, standbys: standbys, ready: ready)
    }

    func healthResponse(_ h: Health) -> Response {
        var body: [String: JSONValue] = [
            "status": .string(h.status.rawValue),
            "ready": .bool(h.ready),
            "reason": .string(h.reasons.joined(separator: "; ")),
            "database": .string(h.probe?.reachable == true ? "reachable" : "unreachable"),
        ]
        if let p = h.probe {
            body["head"] = .integer(p.head)
            if let projected = p.projected {
                body["projected"] = .integer(projected)
                body["lag"] = .integer(p.lagEvents ?? 0)
                body["lagSeconds"] = .number(Self.decimal(p.lagSeconds))
            }
            if let e = p.error { body["detail"] = .string(e) }
        }
        if let w = h.worker {
            var o: [String: JSONValue] = [
                "state": .string(w.state.rawValue), "position": .integer(w.position),
                "reconnects": .integer(w.reconnects), "restarts": .integer(w.restarts),
            ]
            if let s = w.secondsSinceProgress { o["secondsSinceProgress"] = .number(Self.decimal(s)) }
            if let e = w.lastError { o["lastError"] = .string(e) }
            body["worker"] = .object(o)
        }
        if !h.standbys.isEmpty {
            body["standbys"] = .array(
                h.standbys.map { name, p in
                    var o: [String: JSONValue] = ["name": .string(name), "reachable": .bool(p?.reachable ?? false)]
                    if let projected = p?.projected { o["projected"] = .integer(projected) }
                    if let e = p?.error { o["detail"] = .string(e) }
                    return .object(o)
                })
        }
        return Reply.json(.object(body)).response(status: h.status == .down ? .serviceUnavailable : .ok)
    }

    func readyResponse() -> Response {
        let h = health()
        var body: [String: JSONValue] = ["ready": .bool(h.ready), "status": .string(h.status.rawValue)]
        if !h.ready { body["reason"] = .string(h.reasons.joined(separator: "; ")) }
        var response = Reply.json(.object(body)).response(status: h.ready ? .ok : .serviceUnavailable)
        if !h.ready { response.headers[.retryAfter] = "1" }
        return response
    }

    func metricsResponse() -> Response {
        let text = metrics.exposition(health: health())
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// Seconds with millisecond precision, as a JSON number (a timing, never money).
    static func decimal(_ seconds: Double) -> String {
        let ms = Int64((max(0, seconds) * 1000).rounded())
        let fraction = String(ms % 1000)
        return "\(ms / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }
}

/// Watches for the graceful shutdown: refuses new appends at once (queued ones are still
/// appended and answered) and arms a watchdog that ends the process `grace` + 5 s later if anything still
/// hangs — so SIGTERM always ends the process within seconds.
struct ShutdownWatch: Service {
    let appender: Appender
    let grace: Duration
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        logger.notice("shutting down: new appends are refused; in-flight requests have \(grace) to finish")
        let deadline = grace + .seconds(5)
        let thread = Thread {
            Thread.sleep(forTimeInterval: deadline.inSeconds)
            FileHandle.standardError.write(Data("stratos-ledger: still running \(deadline) after SIGTERM; exiting\n".utf8))
            exit(3)
        }
        thread.start()
        appender.close()
    }
}
