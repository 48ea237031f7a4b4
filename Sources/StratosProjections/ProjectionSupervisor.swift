import Foundation
import PostgresClient
import StratosEconomics
import Synchronization

/// Keeps a live projection worker running through faults: PostgreSQL restarted, a connection
/// cut, a failover to a standby (a multi-host URL), an orphaned backend still holding the lock.
///
/// The worker's loop (`ProjectionWorker.follow`) throws on the first error; the supervisor
/// catches it, reconnects with capped exponential backoff and jitter, takes the schema's lock
/// again (waiting, bounded per attempt, for a predecessor's backend to end), and resumes from
/// the committed checkpoint. Nothing else is needed for correctness: rows and checkpoint commit
/// in one transaction, so a batch is either wholly in or wholly out, and the worker continues
/// from exactly what is committed — never skipping, never applying twice.
///
/// Each outage is logged once when it starts and once when it ends; `status` tells health
/// checks and metrics what the worker is doing, how often it reconnected, and since when it
/// made no progress.
public final class ProjectionSupervisor: Sendable {
    public struct Configuration: Sendable {
        public var url: String
        public var schema: String
        /// Rules and checkpoint interval of a schema created for the first time.
        public var rules: RuleSet
        public var checkpointEvery: Int64
        public var batchSize: Int
        public var settings: SessionSettings
        /// How long one attempt waits for the schema's lock before it counts as failed (and is
        /// tried again after a backoff). nil: as long as it takes.
        public var lockWait: Duration?
        public var backoff: Backoff
        /// The backoff after errors that a reconnect does not cure (an outdated schema, a
        /// corrupt log): they are retried too, since an operator may fix them, but slowly.
        public var slowBackoff: Backoff
        public var pollInterval: Duration
        /// Whether a lock still held by another worker after `lockWait` is retried (the
        /// service's in-process worker: it takes over when the other one ends) or ends the
        /// supervisor with `ProjectionError.locked` (the `project` command: it says so and exits).
        public var retryWhenLocked: Bool

        public init(
            url: String, schema: String, rules: RuleSet = .paperV1,
            checkpointEvery: Int64 = ProjectionDefaults.checkpointEvery,
            batchSize: Int = ProjectionDefaults.batchSize,
            settings: SessionSettings = ProjectionWorker.defaultSettings, lockWait: Duration? = .seconds(30),
            backoff: Backoff = Backoff(), slowBackoff: Backoff = Backoff(initial: .seconds(1), cap: .seconds(30)),
            pollInterval: Duration = .seconds(1), retryWhenLocked: Bool = true
        ) {
            self.url = url
            self.schema = schema
            self.rules = rules
            self.checkpointEvery = checkpointEvery
            self.batchSize = batchSize
            self.settings = settings
            self.lockWait = lockWait
            self.backoff = backoff
            self.slowBackoff = slowBackoff
            self.pollInterval = pollInterval
            self.retryWhenLocked = retryWhenLocked
        }
    }

    public enum State: String, Sendable {
        /// Not started yet.
        case idle
        /// Connecting (first start or after an outage).
        case connecting
        /// Waiting for the schema's lock (`Status.lockHolderPID` holds it).
        case waitingForLock = "waiting-for-lock"
        /// Connected and projecting (catching up or waiting for new events).
        case running
        /// Lost its connection or failed; waiting to try again.
        case retrying
        /// Stopped for good (`stop()`).
        case stopped

        public var isRunning: Bool { self == .running }
    }

    public struct Status: Sendable {
        public var state: State = .idle
        /// The committed checkpoint's log position, as last seen.
        public var position: Int64 = 0
        /// When the worker last committed a batch or found itself at the head.
        public var lastProgress: ContinuousClock.Instant?
        public var lastError: String?
        /// Connections re-established after a loss.
        public var reconnects: Int = 0
        /// Times the in-memory model was reloaded from a checkpoint (after an outage that
        /// interrupted a batch, or a build switched underneath).
        public var restarts: Int = 0
        /// Since when the current outage lasts (nil: none).
        public var outageSince: ContinuousClock.Instant?
        public var lockHolderPID: Int32?

        public var secondsSinceProgress: Double? { lastProgress.map { (ContinuousClock.now - $0).inSeconds } }
    }

    public let configuration: Configuration
    private let log: @Sendable (String) -> Void
    private let shared = Mutex(Shared())
    private let exited = DispatchSemaphore(value: 0)

    private struct Shared {
        var status = Status()
        var stopping = false
        var started = false
        var worker: UncheckedSupervisedWorker?
    }

    /// `log` gets one line when an outage starts and one when it ends (and the start line).
    public init(configuration: Configuration, log: @escaping @Sendable (String) -> Void) {
        self.configuration = configuration
        self.log = log
    }

    public var status: Status { shared.withLock { $0.status } }

    /// The error that ended the supervisor for good (a lock it was told not to wait for), if any.
    public var terminalError: (any Error)? { failure.withLock { $0 } }
    private let failure = Mutex<(any Error)?>(nil)

    /// Starts the worker on a thread of its own (blocking libpq calls never run on the
    /// cooperative pool). Calling it twice does nothing.
    public func start() {
        let first = shared.withLock { s -> Bool in
            defer { s.started = true }
            return !s.started
        }
        guard first else { return }
        let thread = Thread { [self] in
            run()
            exited.signal()
        }
        thread.name = "stratos-projection-worker"
        thread.start()
    }

    /// Stops the worker: its running statement is cancelled on the server (the open batch's
    /// transaction rolls back; the next start resumes from the last commit) and the thread
    /// ends. Returns false when the thread did not end within `timeout`.
    @discardableResult
    public func stop(timeout: Duration = .seconds(5)) -> Bool {
        let (worker, started) = shared.withLock { s -> (UncheckedSupervisedWorker?, Bool) in
            s.stopping = true
            return (s.worker, s.started)
        }
        guard started else { return true }
        worker?.worker.cancelRunningStatements()
        let ended = exited.wait(timeout: .now() + timeout.inSeconds) == .success
        if ended { exited.signal() } // later stops return at once
        return ended
    }

    /// Runs the supervisor on the calling thread until `stop()` (the CLI's `project`).
    public func runHere() {
        let first = shared.withLock { s -> Bool in
            defer { s.started = true }
            return !s.started
        }
        guard first else { return }
        run()
        exited.signal()
    }

    private var stopping: Bool { shared.withLock { $0.stopping } }

    private func update(_ change: (inout Status) -> Void) { shared.withLock { change(&$0.status) } }

    // MARK: The loop

    private func run() {
        var worker: ProjectionWorker?
        var attempt = 0
        var created = false
        defer {
            update { $0.state = .stopped }
            shared.withLock { $0.worker = nil }
        }
        while !stopping {
            do {
                update { $0.state = .connecting }
                let w: ProjectionWorker
                if let worker {
                    let kept = try worker.reconnect()
                    w = worker
                    update {
                        $0.reconnects += 1
                        if !kept { $0.restarts += 1 }
                    }
                } else {
                    w = try ProjectionWorker(
                        url: configuration.url, schema: configuration.schema,
                        batchSize: configuration.batchSize, settings: configuration.settings)
                    if attempt > 0 { update { $0.reconnects += 1 } }
                    worker = w
                }
                shared.withLock { $0.worker = UncheckedSupervisedWorker(worker: w) }
                if stopping { break }
                update { $0.state = .waitingForLock }
                try w.lock(
                    timeout: configuration.lockWait, shouldStop: { self.stopping },
                    onWait: { pid in
                        self.update { $0.lockHolderPID = pid }
                        self.log(
                            "projection worker: waiting for the lock of schema \(self.configuration.schema)"
                                + (pid.map { ", held by backend pid \($0)" } ?? "")
                                + " (a worker that died leaves its backend running for a few seconds)")
                    })
                update { $0.lockHolderPID = nil }
                if !created, try w.createIfMissing(rules: configuration.rules, checkpointEvery: configuration.checkpointEvery) {
                    log("projection worker: created schema \(configuration.schema) (rules \(configuration.rules.name))")
                }
                created = true
                w.progress = { [self] p in
                    update {
                        $0.position = p.position
                        $0.lastProgress = .now
                    }
                }
                update { $0.state = .running }
                var recovered = false
                try w.follow(
                    pollInterval: configuration.pollInterval, shouldStop: { self.stopping },
                    onCaughtUp: { position in
                        let outage = shared.withLock { s -> ContinuousClock.Instant? in
                            defer {
                                s.status.position = position
                                s.status.lastProgress = .now
                                s.status.outageSince = nil
                            }
                            return s.status.outageSince
                        }
                        if !recovered {
                            recovered = true
                            attempt = 0
                            if let outage {
                                let seconds = String(format: "%.1f", (ContinuousClock.now - outage).inSeconds)
                                log("projection worker: recovered after \(seconds) s, at log position \(position)")
                            }
                        }
                    })
            } catch {
                if stopping { break }
                if case ProjectionError.locked = error, !configuration.retryWhenLocked {
                    update { $0.lastError = "\(error)" }
                    failure.withLock { $0 = error }
                    break
                }
                let transient = Self.isTransient(error)
                let message = "\(error)"
                let firstOfOutage = shared.withLock { s -> Bool in
                    s.status.state = .retrying
                    s.status.lastError = message
                    guard s.status.outageSince == nil else { return false }
                    s.status.outageSince = .now
                    return true
                }
                if firstOfOutage {
                    log("projection worker: \(transient ? "connection lost" : "stopped by an error"): \(message); retrying with backoff")
                }
                let delay = (transient ? configuration.backoff : configuration.slowBackoff).delay(attempt: attempt)
                attempt += 1
                sleep(delay)
            }
        }
        worker?.cancelRunningStatements()
    }

    /// Sleeps `duration`, waking early when `stop()` is called.
    private func sleep(_ duration: Duration) {
        let deadline = ContinuousClock.now + duration
        while !stopping, ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: min(0.05, (deadline - ContinuousClock.now).inSeconds))
        }
    }

    /// Errors a reconnect may cure: a lost or refused connection, a timeout, a lock held by
    /// another session, a standby where a primary was expected.
    static func isTransient(_ error: any Error) -> Bool {
        if let e = error as? PostgresError { return e.isTransient }
        if let e = error as? ProjectionError {
            if case .locked = e { return true }
            if case .buildChanged = e { return true }
        }
        return false
    }
}

/// The worker as the supervisor shares it with `stop()`, which only calls
/// `cancelRunningStatements` on it (thread-safe).
private struct UncheckedSupervisedWorker: @unchecked Sendable {
    let worker: ProjectionWorker
}
