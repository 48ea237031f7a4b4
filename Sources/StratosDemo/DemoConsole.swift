#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where the demo writes: the report (what a new user reads) and the progress of long steps.
///
/// On a terminal, progress is one bar redrawn in place; otherwise (a pipe, CI, a test) it is a
/// plain line every tenth of the work, so logs stay readable.
public final class DemoConsole {
    private let writeReport: (String) -> Void
    private let writeProgress: (String) -> Void
    public let interactive: Bool
    private var shownTenths = -1
    private var lastDraw: ContinuousClock.Instant?
    private var barActive = false

    public init(report: @escaping (String) -> Void, progress: @escaping (String) -> Void, interactive: Bool) {
        self.writeReport = report
        self.writeProgress = progress
        self.interactive = interactive
    }

    /// Report on standard output, progress on standard error (a bar when it is a terminal).
    public static func standard() -> DemoConsole {
        DemoConsole(
            report: { writeAll(STDOUT_FILENO, $0) }, progress: { writeAll(STDERR_FILENO, $0) },
            interactive: isatty(STDERR_FILENO) == 1)
    }

    /// Appends `text` (with a newline) to the report.
    public func say(_ text: String = "") {
        endProgress()
        writeReport(text.hasSuffix("\n") ? text : text + "\n")
    }

    /// Shows `done` of `total` units of the current step, with `detail` (e.g. a rate).
    public func progress(_ label: String, done: Int64, total: Int64, detail: String) {
        let total = max(total, 1)
        let clamped = min(max(done, 0), total)
        if interactive {
            let now = ContinuousClock.now
            if let lastDraw, now - lastDraw < .milliseconds(100), clamped < total { return }
            lastDraw = now
            let width = 30
            let filled = Int(clamped * Int64(width) / total)
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            writeProgress("\r\u{1B}[K  \(label) \(bar) \(clamped * 100 / total)%  \(detail)")
            barActive = true
        } else {
            let tenths = Int(clamped * 10 / total)
            guard tenths > shownTenths else { return }
            shownTenths = tenths
            writeProgress("  \(label): \(tenths * 10)% (\(clamped)/\(total)) \(detail)\n")
        }
    }

    /// Clears the bar (a new step starts).
    public func endProgress() {
        if barActive { writeProgress("\r\u{1B}[K") }
        barActive = false
        shownTenths = -1
        lastDraw = nil
    }
}

private func writeAll(_ fd: Int32, _ text: String) {
    var bytes = Array(text.utf8)
    bytes.withUnsafeMutableBytes { raw in
        var offset = 0
        while offset < raw.count {
            let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
            if n <= 0 { return }
            offset += n
        }
    }
}
