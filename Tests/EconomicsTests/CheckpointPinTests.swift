import LedgerEvents
import StratosEconomics
import StratosSimulator
import XCTest

/// Holds `Economy.checkpointFormatVersion` to what the engine computes.
///
/// Writers restore checkpoints kept under the rule set's name and that version
/// (`writer_checkpoints`). A release that changes the state an existing rule set reaches from
/// the same history, or how the state is encoded, must bump the version: otherwise a writer would
/// restore a state this code would not have produced, and go on deciding appends from it. This
/// test pins, per version, the digest of every rule set's checkpoint after a fixed history
/// (vesting releases included), and the digest of that history, so a change to the rules or the
/// encoding fails here until the version is bumped and the new digests recorded.
final class CheckpointPinTests: XCTestCase {
    /// The simulator's history: tiny network, 2,100 epochs (past the first maturities), seed 5.
    static let historyDigest = "0c2f4d8527eff0b0feb489573355f4d8ae9c4de7b6877e7a70007a0d051ddb62"
    /// Per checkpoint format version, per rule set: SHA-256 of `encodeCheckpoint()` after it.
    static let stateDigests: [UInt32: [String: String]] = [
        1: [
            "paper-v1": "b97ec374e0887485d4da8f2f0ce8a703c13917656327b76ed8df3baee493b09f",
            "paper-v1-effective-s": "1d3049b99da62b2a2e07d463b6d3bb5cc02fe1ebff43272d9dffe211d2bda1ea",
        ]
    ]

    func testStateDigestsArePinnedToTheCheckpointFormatVersion() throws {
        var events: [LedgerEvent] = []
        _ = try Simulator(.tiny(epochs: 2_100, seed: 5)).run { events.append($0) }
        var history = SHA256()
        for e in events { history.update(e.canonicalUTF8) }
        let historyDigest = SHA256.hex(history.finalize())
        guard historyDigest == Self.historyDigest else {
            return XCTFail(
                "the simulator makes another history than when the digests were recorded (\(historyDigest)): "
                    + "record it and the state digests again; no version bump is needed for that")
        }
        let version = Economy.checkpointFormatVersion
        let pinned = try XCTUnwrap(
            Self.stateDigests[version],
            "checkpoint format version \(version) has no pinned digests: record them here")
        for rules in RuleSet.all {
            var economy = Economy(rules: rules)
            for e in events { _ = try? economy.apply(e) }
            let digest = SHA256.hex(SHA256.hash(economy.encodeCheckpoint()))
            XCTAssertEqual(
                digest, pinned[rules.name],
                "the \(rules.name) state after the pinned history changed under checkpoint format version "
                    + "\(version): bump Economy.checkpointFormatVersion and pin the new digests to it "
                    + "(writers must not restore checkpoints this code would not produce)")
        }
    }
}
