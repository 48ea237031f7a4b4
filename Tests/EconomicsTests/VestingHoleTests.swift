import LedgerEvents
import XCTest

@testable import StratosEconomics

/// Checkpoint heads (format 2) and partial economies: restored without their locked vesting
/// entries, given them on demand, they must behave exactly as the complete economy does.
final class VestingHoleTests: XCTestCase {
    /// A short lock-up, so that random histories release, fee-take and cancel entries that a head left out.
    let fast = RuleSet(name: "test-fast-vesting", depositConstant: .genesisOnly, vestingEpochs: 12)

    /// Replays `d.log[cut...]` on a partial economy decoded from the head at `cut`, meeting each
    /// need from `oracle` (the complete economy in lockstep); every result must equal the original.
    func replayPartially(_ d: Driver, rules: RuleSet, cut: Int, file: StaticString = #filePath, line: UInt = #line) throws -> (
        needs: Int, partial: Economy
    ) {
        var oracle = Economy(rules: rules)
        for event in d.log[..<cut] { _ = try oracle.apply(event) }
        let head = oracle.encodeCheckpointHead()
        var partial = try Economy(checkpoint: head, ruleSets: RuleSet.all + [fast])
        XCTAssertEqual(partial.encodeCheckpointHead(), head, "head round trip", file: file, line: line)
        XCTAssertEqual(partial.snapshot(), oracle.snapshot(), file: file, line: line)
        var needs = 0
        for (event, expected) in zip(d.log[cut...], d.applied[cut...]) {
            if let need = partial.vestingNeed(for: event) {
                needs += 1
                let entries = oracle.lockedVestingEntries(in: try XCTUnwrap(partial.vestingHoleIDs), for: need)
                try partial.supplyVesting(entries, for: need)
                XCTAssertNil(partial.vestingNeed(for: event), "need met", file: file, line: line)
            }
            let got = try partial.apply(event)
            _ = try oracle.apply(event)
            XCTAssertEqual(got.effects, expected.effects, "position \(got.position)", file: file, line: line)
            XCTAssertEqual(got.settlement, expected.settlement, file: file, line: line)
            if got.position % 25 == 0 || got.settlement != nil { try partial.checkInvariants() }
        }
        XCTAssertEqual(partial.encodeCheckpointHead(), d.economy.encodeCheckpointHead(), file: file, line: line)
        XCTAssertEqual(partial.snapshot(), d.economy.snapshot(), file: file, line: line)
        return (needs, partial)
    }

    func testPartialEconomyContinuesExactlyAsTheCompleteOne() throws {
        var needs: [String: Int] = [:]
        for (rules, seed) in [(fast, UInt64(11)), (RuleSet.paperV1, 12), (RuleSet.paperV1EffectiveS, 13)] {
            let d = try runHistory(rules: rules, seed: seed, events: 1_500)
            for cut in [1, 700, 1_300] {
                needs[rules.name, default: 0] += try replayPartially(d, rules: rules, cut: cut).needs
            }
        }
        // Maturity needs with the short lock-up; node needs (fee, cancellation) with every rule set.
        XCTAssertGreaterThan(needs[fast.name] ?? 0, 20, "\(needs)")
        XCTAssertGreaterThan(needs.values.reduce(0, +), 25, "\(needs)")
    }

    func testSupplyingAllMakesTheEconomyCompleteAgain() throws {
        let d = try runHistory(rules: fast, seed: 14, events: 2_000)
        for cut in [300, 900, 1_500] {
            for piecewise in [false, true] {
                var oracle = Economy(rules: fast)
                for event in d.log[..<cut] { _ = try oracle.apply(event) }
                var restored = try Economy(checkpoint: oracle.encodeCheckpointHead(), ruleSets: [fast])
                if let ids = restored.vestingHoleIDs {
                    let all = oracle.lockedVestingEntries(in: ids, for: .all)
                    var rest = all[...]
                    if piecewise {
                        // As a resuming projection worker does: one maturity epoch at a time in id order
                        // (appended, not merged), then the rest with `.all`.
                        while rest.count > all.count / 2, let epoch = rest.first?.matureEpoch {
                            let piece = rest.prefix { $0.matureEpoch == epoch }
                            try restored.supplyVesting(Array(piece), for: .maturing(through: epoch))
                            XCTAssertFalse(restored.isComplete)
                            rest = rest.dropFirst(piece.count)
                        }
                    }
                    try restored.supplyVesting(Array(rest), for: .all)
                }
                XCTAssertTrue(restored.isComplete)
                try restored.checkInvariants()
                for (event, expected) in zip(d.log[cut...], d.applied[cut...]) {
                    XCTAssertNil(restored.vestingNeed(for: event))
                    XCTAssertEqual(try restored.apply(event).effects, expected.effects)
                }
                XCTAssertEqual(restored.encodeCheckpointHead(), d.economy.encodeCheckpointHead())
                // A complete economy's full checkpoint still round-trips.
                let full = restored.encodeCheckpoint()
                XCTAssertEqual(try Economy(checkpoint: full, ruleSets: [fast]).encodeCheckpoint(), full)
            }
        }
    }

    /// A need not met refuses the event and changes nothing; a wrong supply is refused and changes nothing.
    func testUnmetNeedsAndBadSuppliesAreRefused() throws {
        let d = try runHistory(rules: fast, seed: 15, events: 1_500)
        // A cut right before an epoch close that releases entries the head left out.
        var oracle = Economy(rules: fast)
        var partial: Economy?
        var cutEvent: LedgerEvent?
        for event in d.log {
            if oracle.lastClosedEpoch > 20, case .epochClosed = event.payload {
                let candidate = try Economy(checkpoint: oracle.encodeCheckpointHead(), ruleSets: [fast])
                if candidate.vestingNeed(for: event) != nil {
                    partial = candidate
                    cutEvent = event
                    break
                }
            }
            _ = try oracle.apply(event)
        }
        var economy = try XCTUnwrap(partial)
        let event = try XCTUnwrap(cutEvent)
        let need = try XCTUnwrap(economy.vestingNeed(for: event))
        let head = economy.encodeCheckpointHead()

        XCTAssertThrowsError(try economy.apply(event)) { error in
            XCTAssertEqual((error as? RuleViolation)?.rule, "vesting-not-loaded")
        }
        XCTAssertEqual(economy.encodeCheckpointHead(), head)

        let ids = try XCTUnwrap(economy.vestingHoleIDs)
        let entries = oracle.lockedVestingEntries(in: ids, for: need)
        XCTAssertFalse(entries.isEmpty)
        func refused(_ bad: [LockedVestingEntry], _ why: String) {
            XCTAssertThrowsError(try economy.supplyVesting(bad, for: need), why)
            XCTAssertEqual(economy.encodeCheckpointHead(), head, why)
            XCTAssertNotNil(economy.vestingNeed(for: event), why)
        }
        refused(Array(entries.dropLast()), "an entry missing")
        var more = entries
        more[0].amount = Wei(more[0].amount.rawValue + 1)
        refused(more, "an amount too large")
        var less = entries
        less[0].amount = Wei(less[0].amount.rawValue - 1)
        refused(less, "an amount too small")
        refused(entries + [entries[0]], "an entry twice")
        var outside = entries
        outside[0].id = VestingEntryID(ids.upperBound.rawValue)
        refused(outside, "an id outside the hole")
        var stranger = entries
        stranger[0].account = acct("nobody")
        refused(stranger, "an unknown account")
        var late = entries
        late[0].matureEpoch = economy.lastClosedEpoch + 100
        refused(late, "not one of the need")

        try economy.supplyVesting(entries, for: need)
        XCTAssertNil(economy.vestingNeed(for: event))
        XCTAssertEqual(try economy.apply(event).effects, try oracle.apply(event).effects)
    }

    /// Where each maturity epoch's entries start among the hole's ids, done entries included, as
    /// a projection derives them from its settlements (the oracle for `setVestingMaturityStarts`).
    func maturityStarts(_ oracle: Economy, in ids: Range<VestingEntryID>) -> [VestingMaturityStart] {
        var starts: [VestingMaturityStart] = []
        for id in ids.lowerBound.rawValue..<ids.upperBound.rawValue where id >= oracle.vestingBaseID {
            let v = oracle.vesting[Int(id - oracle.vestingBaseID)]
            guard v.matureEpoch > oracle.lastClosedEpoch, starts.last?.matureEpoch != v.matureEpoch else { continue }
            starts.append(VestingMaturityStart(matureEpoch: v.matureEpoch, firstID: VestingEntryID(id)))
        }
        return starts
    }

    /// A partial economy given its maturity starts writes, after every event, the head the
    /// complete one writes: a worker supplying entries on demand stores the same heads as one
    /// that completed its economy first. Wrong starts are refused and change nothing.
    func testMaturityStartsMakeEveryHeadEqualToTheCompleteOnes() throws {
        var compared = 0
        for (rules, seed) in [(fast, UInt64(31)), (RuleSet.paperV1, 32)] {
            let d = try runHistory(rules: rules, seed: seed, events: 1_500)
            for cut in [400, 1_100] {
                var oracle = Economy(rules: rules)
                for event in d.log[..<cut] { _ = try oracle.apply(event) }
                var partial = try Economy(checkpoint: oracle.encodeCheckpointHead(), ruleSets: RuleSet.all + [fast])
                guard let ids = partial.vestingHoleIDs else { continue }
                let starts = maturityStarts(oracle, in: ids)
                XCTAssertFalse(starts.isEmpty)
                let head = partial.encodeCheckpointHead()
                for (bad, why) in [
                    (Array(starts.reversed()), "not ascending"), (Array(starts.dropFirst()), "not starting at the hole"),
                    (starts.count > 1 ? Array(starts.dropLast()) : [], "a maturity missing"),
                ] where !bad.isEmpty {
                    XCTAssertThrowsError(try partial.setVestingMaturityStarts(bad), why)
                    XCTAssertEqual(partial.encodeCheckpointHead(), head, why)
                }
                try partial.setVestingMaturityStarts(starts)
                for event in d.log[cut...] {
                    if let need = partial.vestingNeed(for: event) {
                        try partial.supplyVesting(oracle.lockedVestingEntries(in: try XCTUnwrap(partial.vestingHoleIDs), for: need), for: need)
                    }
                    _ = try? partial.apply(event)
                    _ = try? oracle.apply(event)
                    XCTAssertEqual(partial.encodeCheckpointHead(), oracle.encodeCheckpointHead(), "\(rules.name) position \(oracle.position)")
                    compared += 1
                }
            }
        }
        XCTAssertGreaterThan(compared, 1_000)
    }

    func testHeadIsSmallAndStrict() throws {
        let d = try runHistory(rules: .paperV1, seed: 16, events: 1_500)
        let full = d.economy.encodeCheckpoint()
        let head = d.economy.encodeCheckpointHead()
        XCTAssertLessThan(head.count * 3, full.count, "head \(head.count) bytes, full \(full.count) bytes")
        let partial = try Economy(checkpoint: head)
        XCTAssertFalse(partial.isComplete)
        XCTAssertEqual(partial.snapshot(), d.economy.snapshot())
        XCTAssertThrowsError(try Economy(checkpoint: Array(head.dropLast())))
        XCTAssertThrowsError(try Economy(checkpoint: head + [0]))
        // A flipped byte is either caught or decodes to a state that still satisfies the invariants.
        for offset in stride(from: 20, to: head.count, by: max(1, head.count / 50)) {
            var changed = head
            changed[offset] ^= 0x41
            if let e = try? Economy(checkpoint: changed) { XCTAssertNoThrow(try e.checkInvariants()) }
        }
    }
}
