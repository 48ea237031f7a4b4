import Foundation
import LoopbackHTTP
import StratosService

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `stratos-ledger serve` as a child process, so that it can be killed with -9 like a real
/// crash (an in-process server cannot be). Its output goes to a log file.
final class ServiceProcess {
    let binary: String
    let arguments: [String]
    let logPath: String
    let port: Int
    private(set) var pid: pid_t = 0

    init(binary: String, arguments: [String], logPath: String, port: Int) {
        self.binary = binary
        self.arguments = arguments
        self.logPath = logPath
        self.port = port
    }

    /// Starts it (appending to the log file).
    func start() throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO)
        posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = ([binary] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, binary, &actions, nil, argv, environ)
        guard rc == 0 else { throw DrillFailure("cannot start \(binary): \(String(cString: strerror(rc)))") }
        pid = child
    }

    /// Sends `signal`; with `waitUpTo`, waits for the process to end and returns whether it did.
    @discardableResult
    func signal(_ signal: Int32, waitUpTo timeout: Double? = nil) -> Bool {
        guard pid > 0 else { return true }
        Glibc.kill(pid, signal)
        guard let timeout else { return false }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                pid = 0
                return true
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return false
    }

    /// Waits for it to end by itself; its exit status (nil: still running after `timeout`).
    func waitForExit(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                pid = 0
                return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return nil
    }

    /// Kills it for sure (SIGKILL, reaped).
    func kill() {
        guard pid > 0 else { return }
        _ = signal(SIGKILL, waitUpTo: 10)
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Polls `/health/ready` until it answers 200 or `timeout` passes; the seconds it took.
    func waitUntilReady(timeout: Double) -> Double? {
        let started = Date()
        let client = LoopbackHTTPClient(port: port, timeoutSeconds: 2)
        while Date().timeIntervalSince(started) < timeout {
            if let r = try? client.get("/health/ready"), r.status == 200 { return Date().timeIntervalSince(started) }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return nil
    }
}

/// A free TCP port on 127.0.0.1 (bound, read, released).
func freePort() throws -> Int {
    let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard s >= 0 else { throw DrillFailure("socket() failed") }
    defer { close(s) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, length) == 0 && getsockname(s, $0, &length) == 0 }
    }
    guard bound else { throw DrillFailure("cannot bind a free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}

public struct DrillFailure: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
