import LedgerEvents
import XCTest

@testable import StratosEconomics

/// 2026-01-01T00:00:00Z in µs: the genesis time of the test histories.
let genesisMicros: Int64 = 1_767_225_600_000_000
let stos = Wei.perSTOS
let oz = Noz.perOZ

func acct(_ s: String) -> AccountID { AccountID(unchecked: s) }
func nodeID(_ s: String) -> NodeID { NodeID(unchecked: s) }
func val(_ s: String) -> ValidatorID { ValidatorID(unchecked: s) }
func wei(_ v: UInt128) -> Wei { Wei(v) }
func noz(_ v: UInt128) -> Noz { Noz(v) }

/// Drives an economy in tests: numbers events, advances time, and after every applied event
/// checks the invariants and that the journal of all transfers reproduces the state.
struct Driver {
    var economy: Economy
    var journal = Journal()
    var log: [LedgerEvent] = []
    var applied: [AppliedEvent] = []
    /// Seconds since genesis of the next event.
    var now: Int64 = 0
    var counter = 0
    /// Check the journal against the snapshot after every event (O(state)); off for long runs.
    var checkJournalEveryEvent = true

    init(rules: RuleSet = .paperV1) { economy = Economy(rules: rules) }

    func event(_ payload: EventPayload, id: String? = nil) -> LedgerEvent {
        LedgerEvent(
            id: EventID(unchecked: id ?? "e\(counter + 1)"),
            time: Timestamp(microsecondsSinceEpoch: genesisMicros + now * 1_000_000), payload: payload)
    }

    /// Applies an event at `now`, then checks the invariants and the journal.
    @discardableResult
    mutating func apply(_ payload: EventPayload) throws(RuleViolation) -> AppliedEvent {
        let e = event(payload)
        let result = try economy.apply(e)
        counter += 1
        log.append(e)
        applied.append(result)
        journal.book(result)
        XCTAssertNoThrow(try economy.checkInvariants())
        if checkJournalEveryEvent { journal.verify(against: economy) }
        return result
    }

    /// Expects a refusal with `rule` that leaves the economy byte for byte as it was.
    mutating func expectRefusal(
        _ payload: EventPayload, _ rule: String, time: Int64? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let before = economy.encodeCheckpoint()
        let snapshotBefore = economy.snapshot()
        var e = event(payload, id: "bad")
        if let time { e.time = Timestamp(microsecondsSinceEpoch: genesisMicros + time * 1_000_000) }
        do {
            let r = try economy.apply(e)
            XCTFail("expected refusal \(rule), applied at position \(r.position)", file: file, line: line)
        } catch {
            XCTAssertEqual(error.rule, rule, "\(error)", file: file, line: line)
            XCTAssertEqual(error.eventID.rawValue, "bad", file: file, line: line)
            XCTAssertFalse(error.message.isEmpty, file: file, line: line)
        }
        XCTAssertEqual(economy.encodeCheckpoint(), before, "a refused event changed the state", file: file, line: line)
        XCTAssertEqual(economy.snapshot(), snapshotBefore, file: file, line: line)
    }

    /// Moves time forward to the start of `day` (day 1 = genesis day) plus `seconds`.
    mutating func goTo(day: Int64, seconds: Int64 = 0) { now = max(now, (day - 1) * 86_400 + seconds) }

    mutating func closeEpoch() throws -> SettlementReport {
        try XCTUnwrap(apply(.epochClosed(epoch: economy.lastClosedEpoch + 1)).settlement)
    }
}

/// The double-entry journal rebuilt from transfers alone: per ledger account, a signed balance.
struct Journal {
    var balances: [LedgerAccount: Int128] = [:]
    var totals: [Commodity: Int128] = [:]

    mutating func book(_ applied: AppliedEvent) {
        for t in applied.transfers {
            let v = Int128(t.amount.baseUnits)
            balances[t.from, default: 0] -= v
            balances[t.to, default: 0] += v
            XCTAssertEqual(t.from.commodity, t.to.commodity)
        }
    }

    func balance(_ a: LedgerAccount) -> Int128 { balances[a] ?? 0 }

    /// Every balance of the snapshot follows from the transfers; each commodity sums to zero.
    func verify(against economy: Economy, file: StaticString = #filePath, line: UInt = #line) {
        var sums: [Commodity: Int128] = [:]
        var wallet: [AccountID: Int128] = [:]
        var ozone = wallet
        var escrow = wallet
        var vesting = wallet
        var bonded = wallet
        var unbonding = wallet
        var nodeEscrow: [NodeID: Int128] = [:]
        var traffic = nodeEscrow
        for (account, v) in balances {
            sums[account.commodity, default: 0] += v
            switch account {
            case .wallet(let a): wallet[a, default: 0] += v
            case .ozone(let a): ozone[a, default: 0] += v
            case .escrow(let a, let n):
                escrow[a, default: 0] += v
                nodeEscrow[n, default: 0] += v
            case .vesting(let a, _): vesting[a, default: 0] += v
            case .selfBonded(let a, _), .bonded(let a, _): bonded[a, default: 0] += v
            case .unbonding(let a, _): unbonding[a, default: 0] += v
            case .nodeTraffic(let n): traffic[n, default: 0] += v
            default: break
            }
            if account != .outside && account != .ozoneIssuance {
                XCTAssertGreaterThanOrEqual(v, 0, "\(account) is negative", file: file, line: line)
            }
        }
        for c in Commodity.allCases { XCTAssertEqual(sums[c] ?? 0, 0, "\(c) does not balance", file: file, line: line) }
        let snap = economy.snapshot()
        guard economy.genesis != nil else { return }
        for (id, b) in snap.accounts {
            XCTAssertEqual(Int128(b.wallet.rawValue), wallet[id] ?? 0, "wallet \(id)", file: file, line: line)
            XCTAssertEqual(Int128(b.ozone.rawValue), ozone[id] ?? 0, "ozone \(id)", file: file, line: line)
            XCTAssertEqual(Int128(b.escrow.rawValue), escrow[id] ?? 0, "escrow \(id)", file: file, line: line)
            XCTAssertEqual(Int128(b.vesting.rawValue), vesting[id] ?? 0, "vesting \(id)", file: file, line: line)
            XCTAssertEqual(Int128(b.bonded.rawValue), bonded[id] ?? 0, "bonded \(id)", file: file, line: line)
            XCTAssertEqual(Int128(b.unbonding.rawValue), unbonding[id] ?? 0, "unbonding \(id)", file: file, line: line)
        }
        for (id, n) in snap.nodes {
            XCTAssertEqual(Int128(n.deposit.rawValue), nodeEscrow[id] ?? 0, "deposit \(id)", file: file, line: line)
            XCTAssertEqual(Int128(n.unsettled.rawValue), traffic[id] ?? 0, "unsettled \(id)", file: file, line: line)
        }
        let cap = Int128(RuleSet.paperV1.mining.cap.rawValue)
        XCTAssertEqual(Int128(snap.supply.p.rawValue), balance(.volumePool), "p", file: file, line: line)
        XCTAssertEqual(Int128(snap.supply.l.rawValue), balance(.ozoneLimit), "l", file: file, line: line)
        XCTAssertEqual(cap - Int128(snap.supply.mined.rawValue), balance(.miningPool), "mined", file: file, line: line)
        XCTAssertEqual(Int128(snap.feeCollector.rawValue), balance(.feeCollector), "fee collector", file: file, line: line)
    }
}

extension Driver {
    /// A genesis with the given nodes: (id, kind, owner, deposit wei).
    @discardableResult
    mutating func genesis(ozoneLimit: UInt128, _ nodes: [(String, NodeKind, String, UInt128)]) throws -> AppliedEvent {
        try apply(
            .genesis(
                ozoneLimit: Noz(ozoneLimit),
                nodes: nodes.map { GenesisNode(node: nodeID($0.0), kind: $0.1, owner: acct($0.2), deposit: Wei($0.3)) }))
    }

    mutating func fund(_ a: String, _ amount: UInt128) throws { try apply(.funded(account: acct(a), amount: Wei(amount))) }

    func wallet(_ a: String) -> UInt128 { economy.balances(of: acct(a))?.wallet.rawValue ?? 0 }
    func ozone(_ a: String) -> UInt128 { economy.balances(of: acct(a))?.ozone.rawValue ?? 0 }
    func balances(_ a: String) -> AccountBalances { economy.balances(of: acct(a)) ?? AccountBalances() }
}
