import EventStore
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The project's private PostgreSQL cluster (`scripts/pg-cluster.sh`), for a machine where no
/// `DATABASE_URL` is given.
///
/// Why a script and not Swift: the same script serves the demo, the tests and CI (initdb on
/// first use, a free port, trust authentication on 127.0.0.1 only, `runuser` under root), so
/// there is one way to run the cluster and one place that knows it. The cluster is left
/// running after the demo, for reuse; `scripts/pg-cluster.sh stop` stops it and
/// `scripts/pg-cluster.sh destroy` deletes it.
public enum PrivateCluster {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The project folder: the parent of the located `Schema/` folder (the checkout the binary
    /// was built in, or `STRATOS_SCHEMA_DIR`'s parent).
    public static func projectRoot() throws -> String {
        URL(fileURLWithPath: try ResourceLocator.path(of: .schema)).deletingLastPathComponent().path
    }

    /// The path of `scripts/pg-cluster.sh`.
    public static func scriptPath() throws -> String {
        let path = (try projectRoot() as NSString).appendingPathComponent("scripts/pg-cluster.sh")
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw Failure(description: "cannot find an executable \(path): run from the project checkout, or set DATABASE_URL")
        }
        return path
    }

    /// Starts the cluster (initdb on first use) and returns its server URL (database `postgres`).
    /// The script's own messages (initdb, pg_ctl) go to standard error.
    public static func start() throws -> String {
        let script = try scriptPath()
        let (status, output) = try runCapturingStandardOutput(script, ["start"])
        let url = output.trimmingCharacters(in: .whitespacesAndNewlines)
        guard status == 0, url.hasPrefix("postgres") else {
            throw Failure(
                description: "\(script) start failed (exit status \(status)); "
                    + "its messages are above. scripts/setup.sh installs PostgreSQL when it is missing.")
        }
        return url
    }

    // MARK: Clusters in folders of their own (tests and the fault drill)

    /// Runs `scripts/pg-cluster.sh COMMAND ARGUMENTS…` and returns what it printed on standard
    /// output, trimmed; throws naming the command when it fails (its messages are on stderr).
    @discardableResult
    public static func script(_ command: String, _ arguments: [String] = []) throws -> String {
        let script = try scriptPath()
        let (status, output) = try runCapturingStandardOutput(script, [command] + arguments)
        guard status == 0 else {
            throw Failure(description: "\(script) \(([command] + arguments).joined(separator: " ")) failed (exit status \(status))")
        }
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Starts a cluster in `directory` (initdb on first use); its server URL.
    public static func start(in directory: String) throws -> String { try script("start", [directory]) }
    /// Makes `directory` a streaming hot standby of the running cluster in `primary`
    /// (`pg_basebackup -R`); with `synchronous`, every commit on the primary waits for it.
    public static func standby(of primary: String, in directory: String, synchronous: Bool) throws -> String {
        try script("standby", [primary, directory] + (synchronous ? ["--sync"] : []))
    }
    /// Promotes the standby in `directory` to a primary.
    public static func promote(_ directory: String) throws { try script("promote", [directory]) }
    /// Kills the cluster in `directory` with SIGKILL: a crash, not a shutdown.
    public static func kill(_ directory: String) throws { try script("kill", [directory]) }
    /// Restarts the cluster in `directory` (`pg_ctl restart -m fast`), same port.
    public static func restart(_ directory: String) throws { try script("restart", [directory]) }
    /// Stops the cluster in `directory` and deletes the folder.
    public static func destroy(_ directory: String) throws { try script("destroy", [directory]) }
    /// A libpq multi-host URL over the clusters in `directories`, to database `database`, that
    /// connects to whichever of them is primary (`target_session_attrs=read-write`).
    public static func multiHostURL(_ directories: [String], database: String) throws -> String {
        try script("multi-url", directories + [database])
    }

    /// Runs `path` with `arguments`, its standard error shared with ours, and returns its exit
    /// status and standard output.
    ///
    /// Why not Foundation's `Process`: on Linux its termination handling depends on a run loop,
    /// and `waitUntilExit` from a Swift-concurrency thread (the CLI's async entry point) never
    /// returned. posix_spawn + waitpid has no such dependency.
    static func runCapturingStandardOutput(_ path: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw Failure(description: "pipe: \(String(cString: strerror(errno)))") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addclose(&actions, fds[1])
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, nil, argv, environ)
        close(fds[1])
        guard spawned == 0 else {
            close(fds[0])
            throw Failure(description: "cannot run \(path): \(String(cString: strerror(spawned)))")
        }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if n > 0 {
                output += buffer[0..<n]
                continue
            }
            if n < 0 && errno == EINTR { continue }
            break
        }
        close(fds[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WIFEXITED / WEXITSTATUS, spelled out (the C macros are not imported).
        let exitStatus: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exitStatus, String(decoding: output, as: UTF8.self))
    }
}
