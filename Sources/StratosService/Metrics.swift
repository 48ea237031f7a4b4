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
    }
    private struct State {
        var appendedEvents: UInt64 = 0
        var duplicateEvents: UInt64 = 0
        var refusedBatches: UInt64 = 0
        var appendRequests: UInt64 = 0
        var appendCommits: UInt64 = 0
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

    public func recordRefusedBatch() { state.withLock { $0.refusedBatches += 1 } }

    /// One request: `route` is the route pattern (e.g. `/v1/accounts/{id}`), never the raw path,
    /// so that the number of series stays bounded.
    public func recordRequest(route: String, method: String, status: Int, seconds: Double) {
        state.withLock { s in
            s.requests["\(method) \(route) \(status)", default: 0] += 1
            var h = s.latency["\(method) \(route)"] ?? Histogram()
            for (i, b) in Self.buckets.enumerated() where seconds <= b { h.counts[i] += 1 }
            h.count += 1
            h.sum += seconds
            s.latency["\(method) \(route)"] = h
        }
    }

    /// The exposition text; `head` and `projected` are read at scrape time.
    public func exposition(head: Int64?, projected: Int64?) -> String {
        let s = state.withLock { $0 }
        var out = ""
        out += "# HELP stratos_events_appended_total Events appended to the log through the service.\n"
        out += "# TYPE stratos_events_appended_total counter\n"
        out += "stratos_events_appended_total \(s.appendedEvents)\n"
        out += "# HELP stratos_events_duplicate_total Events received again with the same id and content (idempotent no-ops).\n"
        out += "# TYPE stratos_events_duplicate_total counter\n"
        out += "stratos_events_duplicate_total \(s.duplicateEvents)\n"
        out += "# HELP stratos_append_requests_total Accepted append requests.\n"
        out += "# TYPE stratos_append_requests_total counter\n"
        out += "stratos_append_requests_total \(s.appendRequests)\n"
        out += "# HELP stratos_append_commits_total Commits of the append queue (group commit: requests per commit = requests / commits).\n"
        out += "# TYPE stratos_append_commits_total counter\n"
        out += "stratos_append_commits_total \(s.appendCommits)\n"
        out += "# HELP stratos_append_refused_total Append requests refused (nothing appended).\n"
        out += "# TYPE stratos_append_refused_total counter\n"
        out += "stratos_append_refused_total \(s.refusedBatches)\n"
        if let head {
            out += "# HELP stratos_log_head_position Position of the last event in the log.\n"
            out += "# TYPE stratos_log_head_position gauge\n"
            out += "stratos_log_head_position \(head)\n"
        }
        if let head, let projected {
            out += "# HELP stratos_projection_lag_events Events in the log not yet applied by the projections.\n"
            out += "# TYPE stratos_projection_lag_events gauge\n"
            out += "stratos_projection_lag_events \(max(0, head - projected))\n"
        }
        out += "# HELP stratos_http_requests_total HTTP requests by route and status.\n"
        out += "# TYPE stratos_http_requests_total counter\n"
        for key in s.requests.keys.sorted() {
            let parts = key.split(separator: " ", maxSplits: 2).map(String.init)
            out += "stratos_http_requests_total{method=\"\(parts[0])\",route=\"\(Self.escape(parts[1]))\",status=\"\(parts[2])\"} \(s.requests[key]!)\n"
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
