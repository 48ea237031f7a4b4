import ArgumentParser
import EventStore
import Foundation
import PostgresClient

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Walk the event log's hash chain and name the first broken position.",
        discussion: "Exit status 0 when the chain is intact, 2 when it is broken.")

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let store = try EventStore(url: try database.resolvedURL())
        let showProgress = isatty(STDERR_FILENO) == 1
        let report = try store.verify { checked in
            if showProgress { writeStderr("\r\u{1B}[K\(checked) events checked") }
        }
        if showProgress { writeStderr("\r\u{1B}[K") }
        if report.isIntact {
            print(report)
        } else {
            writeStderr("verify: \(report)\n")
            throw ExitCode(2)
        }
    }
}
