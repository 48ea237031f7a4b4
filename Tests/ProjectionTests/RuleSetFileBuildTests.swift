import Foundation
import LedgerEvents
import StratosEconomics
import StratosProjections
import XCTest

/// `--rules FILE` end to end: a rebuild under a rule-set file (extending a sibling file), a
/// worker that resumes it after the files are gone, and `--rules` that does not match the build.
final class RuleSetFileBuildTests: ProjectionTestCase {
    func testRebuildUnderARuleSetFileAndResumeWithoutTheFile() throws {
        let events = try Self.history(epochs: 300, seed: 9)
        let half = events.count / 2
        try append(events[..<half])
        try project(checkpointEvery: 50).unlock()

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stratos-rules-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try #"{"name": "short-lock", "extends": "paper-v1", "parameters": {"lockupEpochs": 24}}"#
            .write(to: dir.appendingPathComponent("short-lock.json"), atomically: true, encoding: .utf8)
        let fixPath = dir.appendingPathComponent("fix.json").path
        try #"{"name": "fix-1", "extends": "short-lock", "changes": [{"fromEpoch": 100, "set": {"settledShareBp": 1000, "lockupEpochs": 48}}]}"#
            .write(toFile: fixPath, atomically: true, encoding: .utf8)
        let rules = try RuleSetFiles.resolve(fixPath)
        XCTAssertEqual(rules.name, "fix-1")
        XCTAssertEqual(rules.base.lockupEpochs, 24)
        XCTAssertEqual(rules.changes.map(\.fromEpoch), [100])
        XCTAssertEqual(try RuleSetFiles.resolve("paper-v1"), .paperV1)
        XCTAssertThrowsError(try RuleSetFiles.resolve("paper-v2")) { XCTAssertTrue("\($0)".contains("unknown rule set 'paper-v2'")) }

        let report = try Rebuilder(url: database.url, checkpointEvery: 50, batchSize: 500, sql: sql).run(rules: rules, diff: true)
        XCTAssertTrue(report.switched)
        let diff = try XCTUnwrap(report.diff)
        XCTAssertEqual(diff.b.rules, "fix-1")
        // The lock-up of 24 (48 from epoch 100) instead of 2016 releases rewards to wallets.
        XCTAssertFalse(diff.accounts.isEmpty, diff.text())

        let q = try LedgerQueries(connection: database.connect(), sql: sql)
        XCTAssertEqual(try q.health().rules, "fix-1")
        XCTAssertEqual(try q.health().rulesSha256, rules.sha256)
        let partial = Array(events[..<half])
        XCTAssertEqual(try q.snapshot(at: .latest).json(), Self.replay(partial, rules: rules).snapshot().json())

        // The files go away; more events arrive; a new worker resumes from the build's state.
        try FileManager.default.removeItem(at: dir)
        try append(events[half...])
        let w = try worker()
        try w.lock(wait: false)
        XCTAssertFalse(try w.createIfMissing(requiring: rules, checkpointEvery: 50))
        try w.catchUp()
        try w.ensureIndexed()
        XCTAssertEqual(try w.economy().rules, rules)
        XCTAssertEqual(try q.snapshot(at: .latest).json(), Self.replay(events, rules: rules).snapshot().json())
        XCTAssertTrue(try q.verify(epoch: 250).matches)

        // --rules naming another rule set for this build: an error naming both.
        XCTAssertThrowsError(try w.createIfMissing(requiring: .paperV1, checkpointEvery: 50)) { error in
            let m = "\(error)"
            XCTAssertTrue(m.contains("built with rule set fix-1 (sha256 \(rules.sha256))"), m)
            XCTAssertTrue(m.contains("not paper-v1 (sha256 \(RuleSet.paperV1.sha256))"), m)
        }
        // A file equal to the build's rules (same canonical JSON) is the same rule set.
        XCTAssertNoThrow(try w.createIfMissing(requiring: try RuleSet.stored(canonicalJSON: rules.prettyJSON), checkpointEvery: 50))
        try w.unlock()
    }
}
