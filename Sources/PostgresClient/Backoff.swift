/// Capped exponential backoff with jitter, for every loop that reconnects.
///
/// Why jitter: after a PostgreSQL restart every worker, appender and pool of every process
/// reconnects at once; without it they would retry in lockstep, each wave hitting a server that
/// is still starting. The delay of attempt n is drawn uniformly from [½, 1] × min(cap, initial ×
/// 2ⁿ) ("equal jitter"): never less than half the step, so a fast loop cannot spin, and never more
/// than the cap, so recovery after the server is back costs at most one cap.
public struct Backoff: Sendable, Hashable {
    public var initial: Duration
    public var cap: Duration

    public init(initial: Duration = .milliseconds(100), cap: Duration = .seconds(2)) {
        precondition(initial > .zero && cap >= initial, "backoff needs 0 < initial ≤ cap")
        self.initial = initial
        self.cap = cap
    }

    /// The delay before retry number `attempt` (0 for the first retry).
    public func delay(attempt: Int) -> Duration {
        var step = initial
        for _ in 0..<min(max(0, attempt), 32) where step < cap { step = step * 2 }
        let ceiling = min(step, cap).wholeMilliseconds
        let milliseconds = Int64.random(in: (ceiling / 2)...max(ceiling / 2, ceiling))
        return .milliseconds(milliseconds)
    }
}
