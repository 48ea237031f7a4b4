import LedgerEvents
import XCTest

@testable import StratosEconomics

/// The rules of RULES §3–§10 beyond the paper's examples, one behaviour per test.
final class RuleTests: XCTestCase {
    func testSnapshotJSONShape() throws {
        var d = Driver()
        try d.genesis(ozoneLimit: 1_000, [("r1", .resource, "o1", 100)])
        try d.fund("alice", 5)
        XCTAssertEqual(
            d.economy.snapshot().json(),
            #"""
            {"accounts":{"alice":{"bonded":"0","escrow":"0","ozone":"0","unbonding":"0","vesting":"0","wallet":"5"},\#
            "o1":{"bonded":"0","escrow":"100","ozone":"0","unbonding":"0","vesting":"0","wallet":"0"}},\#
            "feeCollector":"0","lastClosedEpoch":0,\#
            "nodes":{"r1":{"deposit":"100","kind":"resource","owner":"o1","status":"active","unsettled":"0"}},\#
            "position":2,"rules":"paper-v1","supply":{"l":"1000","mined":"0","p":"0","s":"100"}}
            """#)
    }

    /// An epoch without traffic still mines: the resource share (no one settled) and the meta share
    /// (no meta node) go back whole; the stake share goes to deposits.
    func testEpochWithoutTrafficAndItsReportJSON() throws {
        var d = Driver()
        try d.genesis(ozoneLimit: 1_000, [("r1", .resource, "o1", 100)])
        let report = try d.closeEpoch()
        XCTAssertEqual(
            report.json(),
            #"""
            {"T":"0","Y":"0","dust":{"mining":"64000000000000000000","traffic":"0"},"epoch":1,\#
            "miningReward":"80000000000000000000",\#
            "rewards":[{"account":"o1","amount":"16000000000000000000","matureEpoch":2017,"node":"r1","role":"deposit",\#
            "source":"mining","validator":null}],"rules":"paper-v1","settled":[],"trafficReward":"0"}
            """#)
        XCTAssertEqual(d.economy.supply.mined, Wei(16 * stos))
    }

    func testTopEightyPercentTieBreakByNodeID() throws {
        var d = Driver()
        try d.genesis(ozoneLimit: 1_000_000 * oz, ["b", "a", "c", "d"].map { ($0, .resource, "o", stos) })
        try d.fund("u", 100 * stos)
        try d.apply(.prepaid(account: acct("u"), amount: Wei(10 * stos)))
        for (n, bytes) in [("b", 300), ("a", 300), ("c", 300), ("d", 100)] as [(String, UInt128)] {
            try d.apply(.trafficServed(TrafficRecord(epoch: 1, node: nodeID(n), account: acct("u"), kind: .download, bytes: bytes)))
        }
        // T = 1000: a (300) → 300, b → 600, c → 900 ≥ 800. Ties by id: a before b before c.
        let report = try d.closeEpoch()
        XCTAssertEqual(report.settled.map(\.node.rawValue), ["a", "b", "c"])
        XCTAssertEqual(report.Y, Noz(900))
        XCTAssertEqual(d.economy.node(nodeID("d"))?.unsettled, Noz(100))
        // Next epoch: d alone is 100% of T.
        XCTAssertEqual(try d.closeEpoch().settled.map(\.node.rawValue), ["d"])
    }

    func testMetaRegistrationByUnanimousVote() throws {
        var d = Driver()
        try d.genesis(ozoneLimit: 1_000_000, [("r1", .resource, "o1", 100)])
        try d.fund("carol", 1_000)
        // No active meta node: approved at once, l grows by floor(l × Z / s).
        try d.apply(.metaNodeRegistrationRequested(node: nodeID("m1"), owner: acct("carol"), deposit: Wei(10)))
        XCTAssertEqual(d.economy.node(nodeID("m1"))?.status, .active)
        XCTAssertEqual(d.economy.supply.l, Noz(1_100_000))
        try d.apply(.metaNodeRegistrationRequested(node: nodeID("m2"), owner: acct("carol"), deposit: Wei(10)))
        try d.apply(.metaNodeVoted(node: nodeID("m2"), voter: nodeID("m1"), approve: true))
        XCTAssertEqual(d.economy.node(nodeID("m2"))?.status, .active)
        // Voters m1 and m2: both must approve; l grows only on the last approval.
        d.goTo(day: 3)
        try d.apply(.metaNodeRegistrationRequested(node: nodeID("m3"), owner: acct("carol"), deposit: Wei(50)))
        XCTAssertEqual(d.economy.node(nodeID("m3"))?.status, .pending)
        XCTAssertEqual(d.balances("carol").escrow, Wei(70))
        let l = d.economy.supply.l.rawValue
        try d.apply(.metaNodeVoted(node: nodeID("m3"), voter: nodeID("m2"), approve: true))
        XCTAssertEqual(d.economy.node(nodeID("m3"))?.status, .pending)
        XCTAssertEqual(d.economy.supply.l.rawValue, l)
        d.goTo(day: 5)
        let applied = try d.apply(.metaNodeVoted(node: nodeID("m3"), voter: nodeID("m1"), approve: true))
        XCTAssertEqual(d.economy.node(nodeID("m3"))?.status, .active)
        XCTAssertEqual(d.economy.supply.l.rawValue, l + l * 50 / 100)
        XCTAssertTrue(
            applied.effects.contains(
                .nodeStatusChanged(
                    node: nodeID("m3"), kind: .meta, owner: acct("carol"),
                    from: .pending, to: .active, day: 5)))
        // One rejection refunds the deposit.
        let wallet = d.wallet("carol")
        try d.apply(.metaNodeRegistrationRequested(node: nodeID("m4"), owner: acct("carol"), deposit: Wei(5)))
        try d.apply(.metaNodeVoted(node: nodeID("m4"), voter: nodeID("m3"), approve: true))
        try d.apply(.metaNodeVoted(node: nodeID("m4"), voter: nodeID("m1"), approve: false))
        XCTAssertEqual(d.economy.node(nodeID("m4"))?.status, .rejected)
        XCTAssertEqual(d.economy.node(nodeID("m4"))?.deposit, .zero)
        XCTAssertEqual(d.wallet("carol"), wallet)
        // Voters are fixed at the request: a voter deactivated since still votes (decision D7).
        try d.apply(.metaNodeRegistrationRequested(node: nodeID("m5"), owner: acct("carol"), deposit: Wei(5)))
        try d.apply(.nodeDeactivated(node: nodeID("m3"), storedBytes: 0))
        for v in ["m1", "m2", "m3"] { try d.apply(.metaNodeVoted(node: nodeID("m5"), voter: nodeID(v), approve: true)) }
        XCTAssertEqual(d.economy.node(nodeID("m5"))?.status, .active)
    }

    func testSuspendedNodeIsSettledAndEarnsDepositReward() throws {
        var d = Driver()
        try d.genesis(ozoneLimit: 1_000_000 * oz, [("r1", .resource, "o1", 100 * stos), ("r2", .resource, "o2", 100 * stos)])
        try d.fund("u", 100 * stos)
        try d.apply(.prepaid(account: acct("u"), amount: Wei(10 * stos)))
        try d.apply(.trafficServed(TrafficRecord(epoch: 1, node: nodeID("r1"), account: acct("u"), kind: .download, bytes: 1_000)))
        try d.apply(.resourceNodeSuspended(node: nodeID("r1")))
        let report = try d.closeEpoch()
        XCTAssertEqual(report.settled.map(\.node.rawValue), ["r1"])
        XCTAssertTrue(report.rewards.contains { $0.node == nodeID("r1") && $0.role == .deposit })
        XCTAssertTrue(report.rewards.contains { $0.node == nodeID("r1") && $0.role == .resource })
    }

    func testHybridStakeSplitAndCommission() throws {
        var d = Driver()
        // K = 300 STOS of deposits, D = 100 STOS (v1: self 40, alice 60; commission 10%).
        try d.genesis(ozoneLimit: 1_000_000 * oz, [("r1", .resource, "o1", 200 * stos), ("m1", .meta, "om", 100 * stos)])
        try d.fund("op", 40 * stos)
        try d.fund("alice", 60 * stos)
        try d.apply(.validatorCreated(validator: val("v1"), operator: acct("op"), selfDelegation: Wei(40 * stos), commissionBp: 1_000))
        try d.apply(.delegated(delegator: acct("alice"), validator: val("v1"), amount: Wei(60 * stos)))
        let report = try d.closeEpoch()
        // M = 80 STOS, stake = 16 STOS: partD = 4, partK = 12 (r1 8, m1 4).
        func amount(_ role: RewardRole, _ account: String) -> UInt128 {
            report.rewards.filter { $0.role == role && $0.account == acct(account) }.reduce(0) { $0 + $1.amount.rawValue }
        }
        XCTAssertEqual(amount(.deposit, "o1"), 8 * stos)
        XCTAssertEqual(amount(.deposit, "om"), 4 * stos)
        XCTAssertEqual(amount(.validator, "op"), 16 * stos / 10) // 4 × 40%
        XCTAssertEqual(amount(.commission, "op"), 24 * stos / 100) // 4 × 60% × 10%
        XCTAssertEqual(amount(.delegator, "alice"), 216 * stos / 100) // 4 × 60% × 90%
        XCTAssertEqual(amount(.meta, "om"), 16 * stos)
        XCTAssertTrue(report.rewards.filter { $0.role == .delegator }.allSatisfy { $0.validator == val("v1") && $0.node == nil })
    }

    func testVestingMaturesAtEpochPlus2016() throws {
        var d = Driver()
        d.checkJournalEveryEvent = false
        try d.genesis(ozoneLimit: 1_000, [("r1", .resource, "o1", 100)])
        _ = try d.closeEpoch()
        XCTAssertEqual(d.balances("o1").vesting, Wei(16 * stos))
        for _ in 2...2016 { _ = try d.closeEpoch() }
        XCTAssertEqual(d.wallet("o1"), 0)
        let applied = try d.apply(.epochClosed(epoch: 2017))
        XCTAssertEqual(d.wallet("o1"), 16 * stos)
        XCTAssertTrue(applied.effects.contains(.vestingReleased(VestingEntryID(1), account: acct("o1"), amount: Wei(16 * stos))))
        d.journal.verify(against: d.economy)
    }

    /// RULES §9 (b): the fee comes from this node's locked entries, oldest first, then the deposit;
    /// the rest is waived; what is taken goes into p.
    func testMigrationFeeFromVestingOldestFirstThenDeposit() throws {
        var d = Driver()
        try d.genesis(ozoneLimit: 1_000 * oz, [("r1", .resource, "o1", 100 * stos), ("r2", .resource, "o2", 100 * stos)])
        _ = try d.closeEpoch()
        _ = try d.closeEpoch()
        // r1 holds two deposit entries of 8 STOS (mining), ids 1 and 3 (r2 has 2 and 4).
        let pBefore = d.economy.supply.p.rawValue
        let (s, p, l) = (d.economy.supply.s.rawValue, pBefore, d.economy.supply.l.rawValue)
        // Choose storedBytes for a fee of 12 STOS + 1 wei: 8 from entry 1, 4 from entry 3 ... then deposit.
        let bytes: UInt128 = (20 * stos) * l / (s + p) // about 20 STOS worth
        let fee = mulDivCeil(bytes, s + p, l)!
        let applied = try d.apply(.nodeDeactivated(node: nodeID("r1"), storedBytes: bytes))
        let taken = applied.effects.compactMap { e -> (UInt64, UInt128)? in
            if case .vestingFeeTaken(let id, _, _, let amount) = e { return (id.rawValue, amount.rawValue) }
            return nil
        }
        XCTAssertEqual(taken.map(\.0), [1, 3])
        XCTAssertEqual(taken.map(\.1), [8 * stos, 8 * stos])
        XCTAssertEqual(d.economy.node(nodeID("r1"))?.deposit, Wei(100 * stos - (fee - 16 * stos)))
        XCTAssertEqual(d.economy.supply.p.rawValue, pBefore + fee)
        XCTAssertEqual(d.balances("o1").vesting, .zero)
        XCTAssertTrue(
            applied.effects.contains(
                .migrationFeeCharged(
                    node: nodeID("r1"), owner: acct("o1"), storedBytes: bytes,
                    fee: Wei(fee), fromVesting: Wei(16 * stos),
                    fromDeposit: Wei(fee - 16 * stos), waived: .zero)))
        // A fee larger than everything is partly waived.
        let huge = try d.apply(.nodeDeactivated(node: nodeID("r2"), storedBytes: 1_000_000 * oz))
        let waived = huge.effects.compactMap { e -> UInt128? in
            if case .migrationFeeCharged(_, _, _, let fee?, let v, let dep, let w?) = e {
                XCTAssertEqual(v.rawValue + dep.rawValue + w.rawValue, fee.rawValue)
                return w.rawValue
            }
            return nil
        }
        XCTAssertEqual(waived.count, 1)
        XCTAssertGreaterThan(waived[0], 0)
        XCTAssertEqual(d.economy.node(nodeID("r2"))?.deposit, .zero)
    }

    func testShutdownInCoolingOffCancelsLockedVesting() throws {
        var d = Driver()
        try d.genesis(ozoneLimit: 1_000_000 * oz, [("r1", .resource, "o1", 100 * stos), ("r2", .resource, "o2", 100 * stos)])
        try d.fund("u", 100 * stos)
        try d.apply(.prepaid(account: acct("u"), amount: Wei(50 * stos)))
        try d.apply(.trafficServed(TrafficRecord(epoch: 1, node: nodeID("r1"), account: acct("u"), kind: .download, bytes: 100 * oz)))
        let report = try d.closeEpoch()
        let fromR1 = report.rewards.filter { $0.node == nodeID("r1") }
        let traffic = fromR1.filter { $0.source == .traffic }.reduce(0) { $0 + $1.amount.rawValue }
        let mining = fromR1.filter { $0.source == .mining }.reduce(0) { $0 + $1.amount.rawValue }
        XCTAssertGreaterThan(traffic, 0)
        d.goTo(day: 10)
        try d.apply(.nodeDeactivated(node: nodeID("r1"), storedBytes: 0))
        let before = d.economy.supply
        d.goTo(day: 23, seconds: 86_399) // d + 14 = 24: still in the cooling-off
        let applied = try d.apply(.nodeShutDown(node: nodeID("r1")))
        XCTAssertEqual(applied.effects.filter { if case .vestingCancelled = $0 { true } else { false } }.count, fromR1.count)
        XCTAssertEqual(d.economy.supply.p.rawValue, before.p.rawValue + traffic)
        XCTAssertEqual(d.economy.supply.mined.rawValue, before.mined.rawValue - mining)
        XCTAssertEqual(d.balances("o1").vesting, .zero)
        XCTAssertEqual(d.economy.node(nodeID("r1"))?.status, .shutDown)
        // After the cooling-off, a shutdown changes nothing but the status.
        d.goTo(day: 40)
        try d.apply(.nodeDeactivated(node: nodeID("r2"), storedBytes: 0))
        let vesting = d.balances("o2").vesting
        d.goTo(day: 54)
        let late = try d.apply(.nodeShutDown(node: nodeID("r2")))
        XCTAssertEqual(late.transfers, [])
        XCTAssertEqual(d.balances("o2").vesting, vesting)
        XCTAssertGreaterThan(vesting.rawValue, 0)
    }

    func testUndelegationUnbondsFor21Days() throws {
        var d = Driver()
        try d.genesis(ozoneLimit: 1_000, [("r1", .resource, "o1", 100)])
        try d.fund("op", 10)
        try d.fund("alice", 10)
        try d.apply(.validatorCreated(validator: val("v1"), operator: acct("op"), selfDelegation: Wei(10), commissionBp: 0))
        try d.apply(.delegated(delegator: acct("alice"), validator: val("v1"), amount: Wei(6)))
        try d.apply(.delegated(delegator: acct("alice"), validator: val("v1"), amount: Wei(4)))
        d.goTo(day: 2)
        let applied = try d.apply(.undelegated(delegator: acct("alice"), validator: val("v1"), amount: Wei(7)))
        XCTAssertTrue(
            applied.effects.contains(
                .unbondingScheduled(
                    UnbondingID(1), delegator: acct("alice"), validator: val("v1"),
                    amount: Wei(7), releaseDay: 23)))
        XCTAssertEqual(d.balances("alice").bonded, Wei(3))
        XCTAssertEqual(d.balances("alice").unbonding, Wei(7))
        d.goTo(day: 22, seconds: 86_399)
        _ = try d.closeEpoch()
        XCTAssertEqual(d.balances("alice").unbonding, Wei(7))
        d.goTo(day: 23)
        _ = try d.closeEpoch()
        XCTAssertEqual(d.balances("alice").unbonding, .zero)
        XCTAssertEqual(d.wallet("alice"), 7)
    }

    func testGasFeesWaitInTheFeeCollectorWithoutValidatorsAndDustCarriesOver() throws {
        var d = Driver()
        try d.genesis(ozoneLimit: 1_000, [("r1", .resource, "o1", 100)])
        try d.apply(.gasFeesCollected(amount: Wei(10)))
        XCTAssertEqual(d.economy.feeCollectorBalance, Wei(10))
        try d.fund("a", 10)
        try d.fund("b", 10)
        try d.fund("c", 10)
        try d.apply(.validatorCreated(validator: val("va"), operator: acct("a"), selfDelegation: Wei(1), commissionBp: 0))
        try d.apply(.validatorCreated(validator: val("vb"), operator: acct("b"), selfDelegation: Wei(1), commissionBp: 0))
        try d.apply(.validatorCreated(validator: val("vc"), operator: acct("c"), selfDelegation: Wei(1), commissionBp: 0))
        // 11 wei over 3 equal validators: 3 each, 2 wei of dust stay.
        try d.apply(.gasFeesCollected(amount: Wei(1)))
        XCTAssertEqual(d.economy.feeCollectorBalance, Wei(2))
        XCTAssertEqual(d.wallet("a"), 12)
        // 2 + 1 = 3: 1 each.
        try d.apply(.gasFeesCollected(amount: Wei(1)))
        XCTAssertEqual(d.economy.feeCollectorBalance, .zero)
        XCTAssertEqual(d.wallet("c"), 13)
    }

    func testEffectiveSRuleSet() throws {
        func run(_ rules: RuleSet) throws -> Driver {
            var d = Driver(rules: rules)
            try d.genesis(ozoneLimit: 1_000_000, [("r1", .resource, "o1", 100), ("r2", .resource, "o2", 100)])
            try d.fund("x", 1_000)
            try d.apply(.resourceNodeActivated(node: nodeID("r3"), owner: acct("x"), deposit: Wei(200)))
            try d.apply(.resourceNodeActivated(node: nodeID("r4"), owner: acct("x"), deposit: Wei(100)))
            try d.apply(.nodeDeactivated(node: nodeID("r1"), storedBytes: 0))
            return d
        }
        let paper = try run(.paperV1)
        let effective = try run(.paperV1EffectiveS)
        // paper-v1: s = 200 throughout. l: 1,000,000 → +1,000,000 → +1,000,000 → −1,500,000.
        XCTAssertEqual(paper.economy.supply.s, Wei(200))
        XCTAssertEqual(paper.economy.supply.l, Noz(1_500_000))
        // effective: Δl uses the s before: +1,000,000 (s 200 → 400), +500,000 (s → 500),
        // −floor(2,500,000 × 100 / 500) = −500,000 (s → 400).
        XCTAssertEqual(effective.economy.supply.s, Wei(400))
        XCTAssertEqual(effective.economy.supply.l, Noz(2_000_000))
        XCTAssertEqual(effective.economy.snapshot().rules, "paper-v1-effective-s")
        XCTAssertTrue(effective.economy.snapshot().json().contains(#""rules":"paper-v1-effective-s""#))
        XCTAssertEqual(RuleSet.named("paper-v1"), .paperV1)
        XCTAssertEqual(RuleSet.named("paper-v1-effective-s"), .paperV1EffectiveS)
        XCTAssertNil(RuleSet.named("paper-v2"))
    }

    func testSettlementNeverPaysMoreThanTheVolumePoolHolds() throws {
        // A deactivation raises the price after Ozone was sold; selling it back would be worth more
        // than p holds: R is capped at p (decision D5).
        var d = Driver()
        try d.genesis(ozoneLimit: 1_000, [("r1", .resource, "o1", 1_000), ("r2", .resource, "o2", 500)])
        try d.fund("u", 1_500)
        try d.apply(.prepaid(account: acct("u"), amount: Wei(1_500))) // Δl = 1000 × 1500 / 3000 = 500
        try d.apply(.nodeDeactivated(node: nodeID("r2"), storedBytes: 0)) // l 500 → 500 − floor(500 × 500 / 1500) = 334
        try d.apply(.trafficServed(TrafficRecord(epoch: 1, node: nodeID("r1"), account: acct("u"), kind: .download, bytes: 500)))
        // Formula: (1500 + 1500) × 500 / (334 + 500) = 1798 > p = 1500.
        let report = try d.closeEpoch()
        XCTAssertEqual(report.trafficReward, Wei(1_500))
        XCTAssertLessThanOrEqual(d.economy.supply.p.rawValue, 1_500)
    }
}
