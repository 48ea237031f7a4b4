import Synchronization

/// The service's Prometheus metrics, written by hand in the text exposition format 0.0.4.
///
/// Why by hand: four metric families do not justify another dependency, and the format is
/// tiny. Counters and histograms live under one mutex (a request touches it once).
public final class ServiceMetrics: Sendable {
    /// Latency buckets in seconds.
    public static let buckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    private struct Histogram {
        var counts = [UInt64](repeating: 0, count: ServiceMetrics.buckets.count)
        var count: UInt64 = 0
        var sum: Double = 0

        mutating func record(_ seconds: Double) {
            for (i, b) in ServiceMetrics.buckets.enumerated() where seconds <= b { counts[i] += 1 }
            count += 1
            sum += seconds
        }
    }
    private struct State {
        var appendedEvents: UInt64 = 0
        var duplicateEvents: UInt64 = 0
        var refusedBatches: UInt64 = 0
        var appendRequests: UInt64 = 0
        var appendCommits: UInt64 = 0
        var appendCommitsSentBehind: UInt64 = 0
        var appendGroupsDecidedAgain: UInt64 = 0
        /// (route, status class) → count
        var requests: [String: UInt64] = [:]
        var latency: [String: Histogram] = [:]
    }
    private let state = Mutex(State())

    public init() {}

    public func recordAppend(appended: Int, duplicates: Int) {
        state.withLock {
            $0.appendRequests += 1
            $0.appendedEvents += UInt64(appended)
            $0.duplicateEvents += UInt64(duplicates)
        }
    }

    /// One group commit of the append queue (its requests are counted as they are answered).
    public func recordAppendCommit() { state.withLock { $0.appendCommits += 1 } }
    /// A group sent while the commit before it was still in flight (Appender).
    public func recordAppendCommitSentBehind() { state.withLock { $0.appendCommitsSentBehind += 1 } }
    /// A group sent without waiting that wrote nothing and was decided again on the exact path
    /// (Appender): the head it presumed was not committed, a duplicate id, an expectation.
    public func recordAppendGroupDecidedAgain() { state.withLock { $0.appendGroupsDecidedAgain += 1 } }

    public func recordRefusedBatch() { state.withLock { $0.refusedBatches += 1 } }

    /// One request: `route` is the route pattern (e.g. `/v1/accounts/{id}`), never the raw path,
    /// so that the number of series stays bounded.
    ///
    /// The keys are built before the lock is taken, and the histogram is changed in place (a
    /// copy taken out of the dictionary and put back copied its bucket array on every request).
    public func recordRequest(route: String, method: String, status: Int, seconds: Double) {
        let series = method + " " + route
        let key = series + " " + String(status)
        state.withLock { s in
            s.requests[key, default: 0] += 1
            s.latency[series, default: Histogram()].record(seconds)
        }
    }

    /// The exposition text; the gauges come from the service's health at scrape time.
    func exposition(health: StratosServer.Health) -> String {
        let s = state.withLock { $0 }
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ value: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        metric("stratos_events_appended_total", "counter", "Events appended to the log through the service.", "\(s.appendedEvents)")
        metric(
            "stratos_events_duplicate_total", "counter",
            "Events received again with the same id and content (idempotent no-ops).", "\(s.duplicateEvents)")
        metric("stratos_append_requests_total", "counter", "Accepted append requests.", "\(s.appendRequests)")
        metric(
            "stratos_append_commits_total", "counter",
            "Transactions of the append queue that committed new events (group commit); refused and duplicate-only requests commit nothing.",
            "\(s.appendCommits)")
        metric(
            "stratos_append_commits_sent_behind_total", "counter",
            "Append groups sent while the commit before them was still in flight (queued behind it on the writer's connection).",
            "\(s.appendCommitsSentBehind)")
        metric(
            "stratos_append_groups_decided_again_total", "counter",
            "Append groups sent without waiting that wrote nothing (the head they presumed was not committed, a duplicate id) and were decided again.",
            "\(s.appendGroupsDecidedAgain)")
        metric("stratos_append_refused_total", "counter", "Append requests refused (nothing appended).", "\(s.refusedBatches)")
        let probe = health.probe
        metric(
            "stratos_database_up", "gauge", "1 when the primary answered the last probe (within 3 s).",
            probe?.reachable == true ? "1" : "0")
        metric("stratos_ready", "gauge", "1 when /health/ready answers 200.", health.ready ? "1" : "0")
        if let probe {
            metric("stratos_log_head_position", "gauge", "Position of the last event in the log (last probe).", "\(probe.head)")
            if let lag = probe.lagEvents {
                metric("stratos_projection_lag_events", "gauge", "Events in the log not yet applied by the projections.", "\(lag)")
                metric(
                    "stratos_projection_lag_seconds", "gauge",
                    "Seconds since the oldest event not yet projected was appended (0: none waits).",
                    StratosServer.decimal(probe.lagSeconds))
            }
        }
        if let w = health.worker {
            metric("stratos_worker_up", "gauge", "1 while the in-process projection worker runs.", w.state.isRunning ? "1" : "0")
            metric(
                "stratos_worker_reconnects_total", "counter",
                "Connections of the projection worker re-established after a loss.", "\(w.reconnects)")
            metric(
                "stratos_worker_restarts_total", "counter",
                "Times the projection worker reloaded its state from a checkpoint.", "\(w.restarts)")
            if let seconds = w.secondsSinceProgress {
                metric(
                    "stratos_worker_seconds_since_progress", "gauge",
                    "Seconds since the worker last committed a batch or found itself at the head.",
                    StratosServer.decimal(seconds))
            }
            out += "# HELP stratos_worker_last_error_info The worker's last error (1 while it is not running).\n"
            out += "# TYPE stratos_worker_last_error_info gauge\n"
            if let e = w.lastError {
                out += "stratos_worker_last_error_info{error=\"\(Self.escape(String(e.prefix(200))))\"} \(w.state.isRunning ? 0 : 1)\n"
            }
        }
        out += "# HELP stratos_http_requests_total HTTP requests by route and status.\n"
        out += "# TYPE stratos_http_requests_total counter\n"
        for key in s.requests.keys.sorted() {
            let parts = key.split(separator: " ", maxSplits: 2).map(String.init)
            out +=
                "stratos_http_requests_total{method=\"\(parts[0])\",route=\"\(Self.escape(parts[1]))\",status=\"\(parts[2])\"} \(s.requests[key]!)\n"
        }
        out += "# HELP stratos_http_request_duration_seconds HTTP request latency by route.\n"
        out += "# TYPE stratos_http_request_duration_seconds histogram\n"
        for key in s.latency.keys.sorted() {
            let h = s.latency[key]!
            let parts = key.split(separator: " ", maxSplits: 1).map(String.init)
            let labels = "method=\"\(parts[0])\",route=\"\(Self.escape(parts[1]))\""
            for (i, b) in Self.buckets.enumerated() {
                out += "stratos_http_request_duration_seconds_bucket{\(labels),le=\"\(b)\"} \(h.counts[i])\n"
            }
            out += "stratos_http_request_duration_seconds_bucket{\(labels),le=\"+Inf\"} \(h.count)\n"
            out += "stratos_http_request_duration_seconds_sum{\(labels)} \(h.sum)\n"
            out += "stratos_http_request_duration_seconds_count{\(labels)} \(h.count)\n"
        }
        return out
    }

    private static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }
}
