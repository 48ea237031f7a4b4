import LedgerEvents
import XCTest

@testable import StratosEconomics

/// The paper's worked examples, each as its own test.
final class PaperExampleTests: XCTestCase {
    /// Paper section 3 / RULES §5: contributions 500, 300, 200, 80, 20 OZ; the top three are
    /// settled (Y = 1,000 OZ), the last two carry over; with (s + p) / (l + Y) = 1/50 STOS per OZ
    /// and M = 80 STOS the epoch pays 100 STOS; the resource nodes' 60 STOS go 30 / 18 / 12 and the
    /// meta nodes share 20 STOS.
    func testProofOfTrafficEpoch() throws {
        var d = Driver()
        // s = 10 STOS, l = 4,000 OZ. A prepay of 30 STOS buys 3,000 OZ and leaves l = 1,000 OZ,
        // so after settling Y = 1,000 OZ: (s + p) / (l + Y) = 40 STOS / 2,000 OZ = 1/50 STOS per OZ.
        let resource = ["n1", "n2", "n3", "n4", "n5"]
        try d.genesis(
            ozoneLimit: 4_000 * oz,
            resource.map { ($0, .resource, "owner-\($0)", 16 * stos / 10) }
                + [("m1", .meta, "owner-m1", stos), ("m2", .meta, "owner-m2", stos)])
        try d.fund("alice", 30 * stos)
        try d.apply(.prepaid(account: acct("alice"), amount: Wei(30 * stos)))
        XCTAssertEqual(d.ozone("alice"), 3_000 * oz)
        XCTAssertEqual(d.economy.supply.l, Noz(1_000 * oz))
        for (node, amount) in zip(resource, [500, 300, 200, 80, 20] as [UInt128]) {
            try d.apply(
                .trafficServed(
                    TrafficRecord(
                        epoch: 1, node: nodeID(node), account: acct("alice"),
                        kind: .download, bytes: amount * oz)))
        }
        let report = try d.closeEpoch()
        XCTAssertEqual(report.T, Noz(1_100 * oz))
        XCTAssertEqual(report.Y, Noz(1_000 * oz))
        XCTAssertEqual(report.settled.map(\.node.rawValue), ["n1", "n2", "n3"])
        XCTAssertEqual(report.settled.map(\.traffic), [500, 300, 200].map { Noz($0 * oz) })
        XCTAssertEqual(report.trafficReward, Wei(20 * stos))
        XCTAssertEqual(report.miningReward, Wei(80 * stos))
        XCTAssertEqual(d.economy.node(nodeID("n4"))?.unsettled, Noz(80 * oz))
        XCTAssertEqual(d.economy.node(nodeID("n5"))?.unsettled, Noz(20 * oz))
        XCTAssertEqual(d.economy.node(nodeID("n1"))?.unsettled, .zero)

        func total(_ role: RewardRole, _ node: String) -> UInt128 {
            report.rewards.filter { $0.role == role && $0.node == nodeID(node) }.reduce(0) { $0 + $1.amount.rawValue }
        }
        XCTAssertEqual(total(.resource, "n1"), 30 * stos)
        XCTAssertEqual(total(.resource, "n2"), 18 * stos)
        XCTAssertEqual(total(.resource, "n3"), 12 * stos)
        XCTAssertEqual(total(.meta, "m1") + total(.meta, "m2"), 20 * stos)
        XCTAssertEqual(total(.meta, "m1"), 10 * stos)
        // The stake share (20 STOS) goes to deposits: no validator exists.
        let stake = report.rewards.filter { $0.role == .deposit }.reduce(0) { $0 + $1.amount.rawValue }
        XCTAssertEqual(stake, 20 * stos)
        XCTAssertEqual(report.rewards.reduce(0) { $0 + $1.amount.rawValue }, 100 * stos)
        XCTAssertEqual(report.trafficDust, .zero)
        XCTAssertEqual(report.miningDust, .zero)
        // Pools: p − 20 STOS, mined + 80 STOS, l + Y.
        XCTAssertEqual(d.economy.supply, Supply(s: Wei(10 * stos), p: Wei(10 * stos), l: Noz(2_000 * oz), mined: Wei(80 * stos)))
        // Everything is locked for 2016 epochs.
        XCTAssertTrue(report.rewards.allSatisfy { $0.matureEpoch == 1 + 2016 })
        XCTAssertEqual(d.balances("owner-n1").vesting.rawValue, 30 * stos + total(.deposit, "n1"))
        XCTAssertEqual(d.wallet("owner-n1"), 0)
    }

    /// Paper section 5: 1,000 STOS over 10 validators of equal power → 100 each; with 20%
    /// self-delegation and 1% commission: commission 0.8, validator 20.8, delegators 79.2.
    func testValidatorCommission() throws {
        var d = Driver()
        try d.genesis(ozoneLimit: 1_000 * oz, [("n1", .resource, "o1", stos)])
        for i in 0..<10 {
            try d.fund("op\(i)", 20 * stos)
            try d.apply(
                .validatorCreated(
                    validator: val("val\(i)"), operator: acct("op\(i)"),
                    selfDelegation: Wei(20 * stos), commissionBp: 100))
            for k in 0..<4 {
                let delegator = "del\(i)-\(k)"
                try d.fund(delegator, 20 * stos)
                try d.apply(.delegated(delegator: acct(delegator), validator: val("val\(i)"), amount: Wei(20 * stos)))
            }
        }
        let applied = try d.apply(.gasFeesCollected(amount: Wei(1_000 * stos)))
        for i in 0..<10 {
            XCTAssertEqual(d.wallet("op\(i)"), 20_800_000_000_000_000_000) // 20.8 STOS
            let delegators = (0..<4).reduce(0) { $0 + d.wallet("del\(i)-\($1)") }
            XCTAssertEqual(delegators, 79_200_000_000_000_000_000) // 79.2 STOS
        }
        let commissions = applied.effects.compactMap { e -> Wei? in
            if case .gasFeeReward(_, _, .commission, let amount) = e { return amount }
            return nil
        }
        XCTAssertEqual(commissions, Array(repeating: Wei(800_000_000_000_000_000), count: 10))
        XCTAssertEqual(d.economy.feeCollectorBalance, .zero)
    }

    /// Paper section 4: activated day 1, deactivated day 150 → deposit back on day 194;
    /// deactivated day 190 → day 204. The release happens at the first epoch close on or after it.
    func testDepositReleaseDays() throws {
        for (deactivationDay, releaseDay) in [(150, 194), (190, 204)] as [(Int64, Int64)] {
            var d = Driver()
            try d.genesis(ozoneLimit: 1_000_000 * oz, [("g", .resource, "genesis-owner", 10_000 * stos)])
            try d.fund("bob", 1_000 * stos)
            try d.apply(.resourceNodeActivated(node: nodeID("bob-node"), owner: acct("bob"), deposit: Wei(1_000 * stos)))
            d.goTo(day: deactivationDay)
            let applied = try d.apply(.nodeDeactivated(node: nodeID("bob-node"), storedBytes: 0))
            XCTAssertTrue(
                applied.effects.contains(
                    .depositReleaseScheduled(
                        node: nodeID("bob-node"), owner: acct("bob"),
                        amount: Wei(1_000 * stos), releaseDay: releaseDay)))
            d.goTo(day: releaseDay - 1, seconds: 86_399)
            _ = try d.closeEpoch()
            XCTAssertEqual(d.wallet("bob"), 0, "not before day \(releaseDay)")
            XCTAssertEqual(d.balances("bob").escrow.rawValue, 1_000 * stos)
            d.goTo(day: releaseDay)
            _ = try d.closeEpoch()
            XCTAssertEqual(d.wallet("bob"), 1_000 * stos, "on day \(releaseDay)")
            XCTAssertEqual(d.balances("bob").escrow, .zero)
            XCTAssertEqual(d.economy.node(nodeID("bob-node"))?.deposit, .zero)
        }
    }

    /// RULES §5.4: six tiers, 210,240 epochs each for the first five, 2,565,120 for the last,
    /// 3,616,320 epochs to 39,000,000 STOS when every epoch issues in full.
    func testMiningScheduleTiers() {
        let schedule = RuleSet.paperV1.mining
        // Walk the schedule tier by tier: within a tier every epoch issues the same reward, so the
        // epochs of a tier are (tier end − mined) / reward, checked at both ends of the run.
        var mined: UInt128 = 0
        var epochs: UInt128 = 0
        var epochsPerReward: [UInt128: UInt128] = [:]
        var splits: [UInt128: (UInt128, UInt128, UInt128)] = [:]
        while true {
            let m = schedule.reward(minedBefore: Wei(mined)).rawValue
            if m == 0 { break }
            let tier = schedule.tier(minedBefore: Wei(mined))
            let (n, rest) = (tier.minedBelow.rawValue - mined).quotientAndRemainder(dividingBy: m)
            XCTAssertEqual(rest, 0, "a tier ends on a whole epoch")
            XCTAssertEqual(schedule.reward(minedBefore: Wei(mined + (n - 1) * m)).rawValue, m, "last epoch of the tier")
            XCTAssertNotEqual(schedule.reward(minedBefore: Wei(mined + n * m)).rawValue, m, "first epoch after the tier")
            epochsPerReward[m] = n
            splits[m] = (tier.resourceBp, tier.metaBp, tier.stakeBp)
            mined += n * m
            epochs += n
        }
        XCTAssertEqual(epochs, 3_616_320)
        XCTAssertEqual(mined, 39_000_000 * stos)
        for reward in [80, 40, 20, 10, 5] as [UInt128] { XCTAssertEqual(epochsPerReward[reward * stos], 210_240) }
        XCTAssertEqual(epochsPerReward[5 * stos / 2], 2_565_120)
        XCTAssertEqual(epochsPerReward.count, 6)
        let expected: [(UInt128, UInt128, UInt128, UInt128)] = [
            (80 * stos, 6000, 2000, 2000), (40 * stos, 6200, 1800, 2000), (20 * stos, 6400, 1600, 2000),
            (10 * stos, 6600, 1400, 2000), (5 * stos, 6800, 1200, 2000), (5 * stos / 2, 7000, 1000, 2000),
        ]
        for (reward, r, m, s) in expected {
            let split = splits[reward]!
            XCTAssertTrue(split == (r, m, s), "split of the \(reward) wei tier")
        }
        // The boundary belongs to the next tier; the cap is never exceeded.
        XCTAssertEqual(schedule.reward(minedBefore: Wei(16_819_200 * stos - 1)), Wei(80 * stos))
        XCTAssertEqual(schedule.reward(minedBefore: Wei(16_819_200 * stos)), Wei(40 * stos))
        XCTAssertEqual(schedule.reward(minedBefore: Wei(39_000_000 * stos - 1)), Wei(1))
    }

    /// Paper section 3: uploading 10 MB with the default 3 replicas costs 30 MB = 30,000,000 noz.
    func testUploadWithThreeReplicas() throws {
        let upload = TrafficRecord(epoch: 1, node: nodeID("n1"), account: acct("alice"), kind: .upload, bytes: 10_000_000)
        XCTAssertEqual(Economy.charge(of: upload), 30_000_000)
        var explicit = upload
        explicit.replicas = 5
        XCTAssertEqual(Economy.charge(of: explicit), 50_000_000)
        XCTAssertEqual(Economy.charge(of: TrafficRecord(epoch: 1, node: nodeID("n1"), account: acct("a"), kind: .download, bytes: 7)), 7)
        XCTAssertEqual(
            Economy.charge(
                of: TrafficRecord(
                    epoch: 1, node: nodeID("n1"), account: acct("a"), kind: .query,
                    bytes: 7, records: 3)), 3_007)
        XCTAssertEqual(
            Economy.charge(
                of: TrafficRecord(
                    epoch: 1, node: nodeID("n1"), account: acct("a"), kind: .replication,
                    bytes: 7)), 0)

        var d = Driver()
        try d.genesis(ozoneLimit: 1_000 * oz, [("n1", .resource, "o1", 100 * stos)])
        try d.fund("alice", 100 * stos)
        try d.apply(.prepaid(account: acct("alice"), amount: Wei(10 * stos)))
        let before = d.ozone("alice")
        try d.apply(.trafficServed(upload))
        XCTAssertEqual(before - d.ozone("alice"), 30_000_000)
        XCTAssertEqual(d.economy.node(nodeID("n1"))?.unsettled, Noz(30_000_000))
    }
}
