import LedgerEvents
import XCTest

@testable import StratosEconomics

/// An independent review of the engine against docs/RULES.md: tricky cases computed by hand
/// (every expected number is derived in the comments from the spec's formulas, not from the engine).
final class ReviewTests: XCTestCase {
    /// RULES §5.3–§5.10 with dust in both pools: floors in the resource split, the meta split,
    /// partD/partK, the node split and the validator rule, for R and M separately.
    func testSettlementWithDustInBothPools() throws {
        var d = Driver()
        // s = 100 + 200 + 200 + 200 + 300 = 1000 wei, l = 1000 noz.
        try d.genesis(
            ozoneLimit: 1_000,
            [
                ("r1", .resource, "o1", 100), ("r2", .resource, "o2", 200),
                ("m1", .meta, "om1", 200), ("m2", .meta, "om2", 200), ("m3", .meta, "om3", 300),
            ])
        try d.fund("u", 1_000)
        try d.fund("op", 500)
        try d.fund("alice", 250)
        // D = 750: v1 self 500, alice 250, commission 10%.
        try d.apply(.validatorCreated(validator: val("v1"), operator: acct("op"), selfDelegation: Wei(500), commissionBp: 1_000))
        try d.apply(.delegated(delegator: acct("alice"), validator: val("v1"), amount: Wei(250)))
        // Δl = floor(1000 × 1000 / (1000 + 0 + 1000)) = 500: l = 500, p = 1000.
        try d.apply(.prepaid(account: acct("u"), amount: Wei(1_000)))
        XCTAssertEqual(d.ozone("u"), 500)
        try d.apply(.trafficServed(TrafficRecord(epoch: 1, node: nodeID("r2"), account: acct("u"), kind: .download, bytes: 129)))
        try d.apply(.trafficServed(TrafficRecord(epoch: 1, node: nodeID("r1"), account: acct("u"), kind: .download, bytes: 171)))
        let report = try d.closeEpoch()
        // T = 300; r1 alone: 10 × 171 < 8 × 300, so both are settled: Y = 300.
        XCTAssertEqual(report.settled.map(\.node.rawValue), ["r1", "r2"])
        XCTAssertEqual(report.Y, Noz(300))
        // R = floor((1000 + 1000) × 300 / (500 + 300)) = 750.
        XCTAssertEqual(report.trafficReward, Wei(750))
        XCTAssertEqual(report.miningReward, Wei(80 * stos))

        // R = 750, tier 1: resource 450, meta 150, stake 150.
        //  resource: r1 floor(450 × 171 / 300) = 256, r2 floor(450 × 129 / 300) = 193 (dust 1)
        //  meta: floor(150 / 3) = 50 each
        //  stake: D = 750, K = 1000: partD = floor(150 × 750 / 1750) = 64, partK = floor(150 × 1000 / 1750) = 85 (1 lost)
        //   nodes floor(85 × dep / 1000): r1 8, r2 17, m1 17, m2 17, m3 25 (sum 84, dust 1)
        //   pool = 64; validator floor(64 × 500 / 750) = 42; commission floor(64 × 250 × 1000 / 7,500,000) = 2;
        //   alice floor(64 × 250 × 9000 / 7,500,000) = 19 (sum 63, dust 1)
        // credited 449 + 150 + 84 + 63 = 746, dust 4.
        // M = 80 STOS: resource 48 STOS → r1 48 × 171 / 300 = 27.36 STOS, r2 20.64 STOS (exact);
        //  meta 16 STOS / 3 = 5,333,333,333,333,333,333 each (dust 1);
        //  stake 16 STOS: partD = floor(16e18 × 750 / 1750) = 6,857,142,857,142,857,142,
        //   partK = floor(16e18 × 1000 / 1750) = 9,142,857,142,857,142,857 (1 lost);
        //   nodes: r1 914,285,714,285,714,285; r2, m1, m2 1,828,571,428,571,428,571; m3 2,742,857,142,857,142,857 (dust 1);
        //   validator 4,571,428,571,428,571,428; commission floor(pool / 30) = 228,571,428,571,428,571;
        //   alice floor(pool × 3 / 10) = 2,057,142,857,142,857,142 (dust 1).
        // credited 80 STOS − 5 wei, dust 5.
        func amount(_ role: RewardRole, _ source: RewardSource, _ account: String) -> UInt128? {
            let matches = report.rewards.filter { $0.role == role && $0.source == source && $0.account == acct(account) }
            XCTAssertLessThanOrEqual(matches.count, 1)
            return matches.first?.amount.rawValue
        }
        let traffic: [(RewardRole, String, UInt128)] = [
            (.resource, "o1", 256), (.resource, "o2", 193), (.meta, "om1", 50), (.meta, "om2", 50), (.meta, "om3", 50),
            (.deposit, "o1", 8), (.deposit, "o2", 17), (.deposit, "om1", 17), (.deposit, "om2", 17), (.deposit, "om3", 25),
            (.validator, "op", 42), (.commission, "op", 2), (.delegator, "alice", 19),
        ]
        let mining: [(RewardRole, String, UInt128)] = [
            (.resource, "o1", 27_360_000_000_000_000_000), (.resource, "o2", 20_640_000_000_000_000_000),
            (.meta, "om1", 5_333_333_333_333_333_333), (.meta, "om2", 5_333_333_333_333_333_333),
            (.meta, "om3", 5_333_333_333_333_333_333),
            (.deposit, "o1", 914_285_714_285_714_285), (.deposit, "o2", 1_828_571_428_571_428_571),
            (.deposit, "om1", 1_828_571_428_571_428_571), (.deposit, "om2", 1_828_571_428_571_428_571),
            (.deposit, "om3", 2_742_857_142_857_142_857),
            (.validator, "op", 4_571_428_571_428_571_428), (.commission, "op", 228_571_428_571_428_571),
            (.delegator, "alice", 2_057_142_857_142_857_142),
        ]
        for (role, account, expected) in traffic { XCTAssertEqual(amount(role, .traffic, account), expected, "traffic \(role) \(account)") }
        for (role, account, expected) in mining { XCTAssertEqual(amount(role, .mining, account), expected, "mining \(role) \(account)") }
        XCTAssertEqual(report.rewards.count, traffic.count + mining.count)
        XCTAssertEqual(report.trafficDust, Wei(4))
        XCTAssertEqual(report.miningDust, Wei(5))
        XCTAssertTrue(report.json().contains(#""dust":{"mining":"5","traffic":"4"}"#))
        // Pools: p = 1000 − 746, mined = 80 STOS − 5 wei, l = 500 + 300.
        XCTAssertEqual(d.economy.supply, Supply(s: Wei(1_000), p: Wei(254), l: Noz(800), mined: Wei(80 * stos - 5)))
        XCTAssertEqual(d.balances("op").vesting.rawValue, 42 + 2 + 4_571_428_571_428_571_428 + 228_571_428_571_428_571)
    }

    /// RULES §5.2: the boundary node ties with the next one; equality `10 × Σ = 8 × T` stops the
    /// prefix; ties go by byte order ("B" = 0x42 sorts before "a" = 0x61, unlike a case-insensitive order).
    func testTieAtTheEightyPercentBoundary() throws {
        var d = Driver()
        try d.genesis(ozoneLimit: 1_000_000, ["x", "c", "a", "B", "d"].map { ($0, .resource, "o-\($0)", 100) })
        try d.fund("u", 1_000)
        try d.apply(.prepaid(account: acct("u"), amount: Wei(500)))
        for (n, bytes) in [("c", 100), ("a", 100), ("x", 600), ("d", 100), ("B", 100)] as [(String, UInt128)] {
            try d.apply(.trafficServed(TrafficRecord(epoch: 1, node: nodeID(n), account: acct("u"), kind: .download, bytes: bytes)))
        }
        // T = 1000. x 600 (6000 < 8000), B 700 (7000 < 8000), a 800 (8000 ≥ 8000): stop. c and d carry.
        let report = try d.closeEpoch()
        XCTAssertEqual(report.T, Noz(1_000))
        XCTAssertEqual(report.settled.map(\.node.rawValue), ["x", "B", "a"])
        XCTAssertEqual(report.settled.map(\.traffic), [Noz(600), Noz(100), Noz(100)])
        XCTAssertEqual(report.Y, Noz(800))
        XCTAssertEqual(d.economy.node(nodeID("c"))?.unsettled, Noz(100))
        XCTAssertEqual(d.economy.node(nodeID("d"))?.unsettled, Noz(100))
        XCTAssertEqual(d.economy.node(nodeID("B"))?.unsettled, .zero)
        // Epoch 2: c and d tie at 100 each, T = 200: c alone is 1000 < 1600, both are settled, c first.
        XCTAssertEqual(try d.closeEpoch().settled.map(\.node.rawValue), ["c", "d"])
    }

    /// RULES §9 (a)–(e): the fee spans two locked vesting entries (oldest first) and the whole
    /// deposit, and the rest is waived; p grows by what was taken, not by the fee.
    func testMigrationFeeSpansTwoEntriesAndTheDepositAndIsPartlyWaived() throws {
        var d = Driver()
        // s = 400 wei (r1 100, r2 300), l = 400 noz.
        try d.genesis(ozoneLimit: 400, [("r1", .resource, "o1", 100), ("r2", .resource, "o2", 300)])
        try d.fund("u", 200)
        // Δl = floor(400 × 200 / (400 + 200)) = 133: l = 267, p = 200.
        try d.apply(.prepaid(account: acct("u"), amount: Wei(200)))
        // Two epochs without traffic: stake share 16 STOS over K = 400: r1 4 STOS, r2 12 STOS per epoch.
        // Entries: epoch 1 → r1 #1, r2 #2; epoch 2 → r1 #3, r2 #4.
        _ = try d.closeEpoch()
        _ = try d.closeEpoch()
        XCTAssertEqual(d.balances("o1").vesting, Wei(8 * stos))
        let mined = d.economy.supply.mined.rawValue
        XCTAssertEqual(mined, 32 * stos)
        // fee = ceil((3.56e18 + 50) × (400 + 200) / 267) = ceil(8e18 + 30,000 / 267) = 8e18 + 113:
        // 4 STOS from #1, 4 STOS from #3, 100 wei from the deposit, 13 wei waived.
        let bytes: UInt128 = 3_560_000_000_000_000_050
        let applied = try d.apply(.nodeDeactivated(node: nodeID("r1"), storedBytes: bytes))
        let taken = applied.effects.compactMap { e -> (UInt64, UInt128)? in
            if case .vestingFeeTaken(let id, _, _, let amount) = e { return (id.rawValue, amount.rawValue) }
            return nil
        }
        XCTAssertEqual(taken.map(\.0), [1, 3])
        XCTAssertEqual(taken.map(\.1), [4 * stos, 4 * stos])
        XCTAssertTrue(
            applied.effects.contains(
                .migrationFeeCharged(
                    node: nodeID("r1"), owner: acct("o1"), storedBytes: bytes,
                    fee: Wei(8 * stos + 113), fromVesting: Wei(8 * stos),
                    fromDeposit: Wei(100), waived: Wei(13))))
        XCTAssertTrue(
            applied.effects.contains(
                .depositReleaseScheduled(
                    node: nodeID("r1"), owner: acct("o1"), amount: .zero,
                    releaseDay: 194)))
        // l = 267 − floor(267 × 100 / 400) = 267 − 66 = 201; p = 200 + 8 STOS + 100.
        XCTAssertEqual(d.economy.supply, Supply(s: Wei(400), p: Wei(8 * stos + 300), l: Noz(201), mined: Wei(mined)))
        XCTAssertEqual(d.balances("o1"), AccountBalances())
        XCTAssertEqual(d.balances("o2").vesting, Wei(24 * stos))
        XCTAssertEqual(d.economy.node(nodeID("r1"))?.deposit, .zero)
        // Nothing is left to release, and the emptied entries release nothing at maturity.
        d.goTo(day: 194)
        let close = try d.apply(.epochClosed(epoch: 3))
        XCTAssertFalse(close.effects.contains { if case .depositReleased = $0 { true } else { false } })
        XCTAssertEqual(d.wallet("o1"), 0)
    }

    /// RULES §9 (e): a node activated on day 5 and deactivated on day 20: release day
    /// max(20, 5 + 179) + 14 = 198. The remaining deposit (after a fee from the deposit) is released
    /// by the close on day 198 — even at its last second — together with an unbonding due that day.
    func testDeactivatedDepositReleasedAtACloseOnItsReleaseDay() throws {
        var d = Driver()
        try d.genesis(ozoneLimit: 1_000, [("g", .resource, "go", 1_000)])
        try d.fund("bob", 100)
        try d.fund("op", 10)
        try d.fund("alice", 5)
        try d.apply(.validatorCreated(validator: val("v1"), operator: acct("op"), selfDelegation: Wei(10), commissionBp: 0))
        try d.apply(.delegated(delegator: acct("alice"), validator: val("v1"), amount: Wei(5)))
        d.goTo(day: 5)
        // Δl = floor(1000 × 100 / 1000) = 100: l = 1100.
        try d.apply(.resourceNodeActivated(node: nodeID("b"), owner: acct("bob"), deposit: Wei(100)))
        XCTAssertEqual(d.economy.supply.l, Noz(1_100))
        d.goTo(day: 20)
        // fee = ceil(30 × 1000 / 1100) = ceil(27.27) = 28 from the deposit; l = 1100 − floor(1100 × 100 / 1000) = 990.
        let applied = try d.apply(.nodeDeactivated(node: nodeID("b"), storedBytes: 30))
        XCTAssertTrue(
            applied.effects.contains(
                .depositReleaseScheduled(
                    node: nodeID("b"), owner: acct("bob"), amount: Wei(72),
                    releaseDay: 198)))
        XCTAssertEqual(d.economy.supply, Supply(s: Wei(1_000), p: Wei(28), l: Noz(990), mined: .zero))
        // Undelegated on day 177: released on day 177 + 21 = 198 too.
        d.goTo(day: 177)
        try d.apply(.undelegated(delegator: acct("alice"), validator: val("v1"), amount: Wei(5)))
        d.goTo(day: 197, seconds: 86_399)
        let early = try d.apply(.epochClosed(epoch: 1))
        XCTAssertFalse(early.effects.contains { if case .depositReleased = $0 { true } else { false } })
        XCTAssertEqual(d.balances("bob").escrow, Wei(72))
        XCTAssertEqual(d.balances("alice").unbonding, Wei(5))
        d.goTo(day: 198, seconds: 86_399)
        let onTheDay = try d.apply(.epochClosed(epoch: 2))
        XCTAssertTrue(onTheDay.effects.contains(.depositReleased(node: nodeID("b"), owner: acct("bob"), amount: Wei(72), releaseDay: 198)))
        XCTAssertTrue(
            onTheDay.effects.contains(
                .unbondingReleased(
                    UnbondingID(1), delegator: acct("alice"), validator: val("v1"),
                    amount: Wei(5), releaseDay: 198)))
        XCTAssertEqual(d.wallet("bob"), 72)
        XCTAssertEqual(d.balances("bob").escrow, .zero)
        XCTAssertEqual(d.wallet("alice"), 5)
        // The deactivated node earns no deposit reward: K = 1000 (g only), D = 10.
        let deposits = onTheDay.settlement!.rewards.filter { $0.role == .deposit }
        XCTAssertEqual(deposits.map(\.node), [nodeID("g")])
        // stake 16 STOS: partK = floor(16e18 × 1000 / 1010).
        XCTAssertEqual(deposits.first?.amount.rawValue, 16 * stos * 1_000 / 1_010)
    }

    /// RULES §7: gas fees by the validator rule with partD = fees + carry-over, with commission
    /// and a delegator; the dust of one distribution joins the next.
    func testGasFeesWithCommissionCarryOverAcrossTwoDistributions() throws {
        var d = Driver()
        try d.genesis(ozoneLimit: 1_000, [("r1", .resource, "o1", 100)])
        try d.fund("op1", 300)
        try d.fund("op2", 1_000)
        try d.fund("alice", 700)
        // v1: self 300 + alice 700 = 1000, commission 5%; v2: self 1000, no commission. D = 2000.
        try d.apply(.validatorCreated(validator: val("v1"), operator: acct("op1"), selfDelegation: Wei(300), commissionBp: 500))
        try d.apply(.delegated(delegator: acct("alice"), validator: val("v1"), amount: Wei(700)))
        try d.apply(.validatorCreated(validator: val("v2"), operator: acct("op2"), selfDelegation: Wei(1_000), commissionBp: 0))
        // partD = 1001: pool = floor(1001 × 1000 / 2000) = 500 each.
        // v1: validator floor(500 × 300 / 1000) = 150, commission floor(500 × 700 × 500 / 10^7) = 17,
        //     alice floor(500 × 700 × 9500 / 10^7) = 332; v2: 500. Paid 999, 2 stay.
        let first = try d.apply(.gasFeesCollected(amount: Wei(1_001)))
        XCTAssertEqual(
            first.effects.compactMap { e -> String? in
                if case .gasFeeReward(let a, let v, let role, let amount) = e { return "\(a) \(v) \(role.rawValue) \(amount)" }
                return nil
            }, ["op1 v1 validator 150", "op1 v1 commission 17", "alice v1 delegator 332", "op2 v2 validator 500"])
        XCTAssertEqual(d.economy.feeCollectorBalance, Wei(2))
        // partD = 1000 + 2 = 1002: pool 501 each. v1: floor(150.3) = 150, floor(17.535) = 17,
        // alice floor(333.165) = 333; v2: 501. Paid 1001, 1 stays.
        try d.apply(.gasFeesCollected(amount: Wei(1_000)))
        XCTAssertEqual(d.economy.feeCollectorBalance, Wei(1))
        XCTAssertEqual(d.wallet("op1"), 150 + 17 + 150 + 17)
        XCTAssertEqual(d.wallet("alice"), 332 + 333)
        XCTAssertEqual(d.wallet("op2"), 500 + 501)
        // No lock-up: nothing vests.
        XCTAssertEqual(d.balances("alice").vesting, .zero)
    }

    /// Deviation found by the review: a migration fee beyond 2^128 wei made a valid `NodeDeactivated`
    /// refused (`fee-out-of-range`), though RULES §9 lists no such refusal and defines the outcome:
    /// everything available is taken, the rest is waived. (storedBytes is a valid amount; the price
    /// (s + p) / l grows without bound as Ozone is bought.)
    func testMigrationFeeBeyond128BitsIsTakenInFullAndTheRestWaived() throws {
        var d = Driver()
        // s = 400 wei, l = 400 noz.
        try d.genesis(ozoneLimit: 400, [("r1", .resource, "o1", 100), ("r2", .resource, "o2", 300)])
        _ = try d.closeEpoch() // r1 gets a deposit reward of floor(16 STOS × 100 / 400) = 4 STOS (#1).
        // fee = ceil((2^128 − 1) × 400 / 400) = 2^128 − 1 … with p = 0: exactly UInt128.max; make it larger:
        try d.fund("u", 400)
        // Δl = floor(400 × 400 / (400 + 0 + 400)) = 200: l = 200, p = 400; price (s + p) / l = 4 wei per noz.
        try d.apply(.prepaid(account: acct("u"), amount: Wei(400)))
        // fee = (2^128 − 1) × 4 > 2^128: take 4 STOS from #1 and the 100 wei deposit, waive the rest.
        let applied = try d.apply(.nodeDeactivated(node: nodeID("r1"), storedBytes: UInt128.max))
        XCTAssertTrue(
            applied.effects.contains(
                .migrationFeeCharged(
                    node: nodeID("r1"), owner: acct("o1"), storedBytes: UInt128.max,
                    fee: nil, fromVesting: Wei(4 * stos),
                    fromDeposit: Wei(100), waived: nil)))
        // p = 400 + 4 STOS + 100; l = 200 − floor(200 × 100 / 400) = 150.
        XCTAssertEqual(d.economy.supply, Supply(s: Wei(400), p: Wei(4 * stos + 500), l: Noz(150), mined: Wei(16 * stos)))
        XCTAssertEqual(d.balances("o1"), AccountBalances())
        XCTAssertEqual(d.economy.node(nodeID("r1"))?.status, .deactivated)
    }
}
