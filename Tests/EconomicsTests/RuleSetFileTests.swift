// swift-format-ignore-file
// (raw-string literals with interpolated closures, the error-message table, are mangled by the formatter)
import XCTest
import LedgerEvents
@testable import StratosEconomics

/// Rule-set files (docs/RULE-SETS.md): parsing and its errors, the built-ins pinned to the spec,
/// the canonical JSON, and changes effective from an epoch.
final class RuleSetFileTests: XCTestCase {
    // MARK: Built-ins

    /// Every parameter of paper-v1 and paper-v1-effective-s is the spec's (RULES §5–§7, §10).
    func testBuiltInsPinnedToTheSpec() throws {
        let stos = Wei.perSTOS
        // RULES §5.4: (mined below STOS, reward STOS × 10, resource, meta, stake).
        let table: [(UInt128, UInt128, UInt128, UInt128, UInt128)] = [
            (16_819_200, 800, 6000, 2000, 2000), (25_228_800, 400, 6200, 1800, 2000),
            (29_433_600, 200, 6400, 1600, 2000), (31_536_000, 100, 6600, 1400, 2000),
            (32_587_200, 50, 6800, 1200, 2000), (39_000_000, 25, 7000, 1000, 2000),
        ]
        for (rules, deposit) in [(RuleSet.paperV1, DepositConstantRule.genesisOnly), (.paperV1EffectiveS, .effective)] {
            let p = rules.base
            XCTAssertEqual(p.settledShareBp, 8000, "5.2: the top 80 %")
            XCTAssertEqual(p.lockupEpochs, 2016, "5.9")
            XCTAssertEqual(p.depositLockDays, 180, "6")
            XCTAssertEqual(p.coolingOffDays, 14, "6")
            XCTAssertEqual(p.unbondingDays, 21, "7")
            XCTAssertEqual(p.limitGrowthDeposit, deposit, "2, 10")
            XCTAssertEqual(p.mining.tiers.count, table.count)
            for (t, row) in zip(p.mining.tiers, table) {
                XCTAssertEqual(t.minedBelow, Wei(row.0 * stos))
                XCTAssertEqual(t.rewardPerEpoch, Wei(row.1 * stos / 10))
                XCTAssertEqual([t.resourceBp, t.metaBp, t.stakeBp], [row.2, row.3, row.4])
            }
            XCTAssertEqual(rules.miningCap, Wei(39_000_000 * stos))
            XCTAssertTrue(rules.changes.isEmpty)
            XCTAssertTrue(rules.isBuiltIn)
            XCTAssertEqual(p.mining, MiningSchedule.paper)
            // The shipped text is the fully explicit file `rules show` prints, and reads back equal.
            XCTAssertEqual(try RuleSet.stored(canonicalJSON: rules.prettyJSON), rules)
            XCTAssertEqual(try RuleSet.stored(canonicalJSON: rules.canonicalJSON), rules)
        }
        XCTAssertEqual(RuleSet.paperV1JSON + "\n", RuleSet.paperV1.prettyJSON)
        XCTAssertEqual(RuleSet.paperV1EffectiveSJSON + "\n", RuleSet.paperV1EffectiveS.prettyJSON)
        // The sha256 names every build: pinned, so a change to a built-in cannot go unnoticed.
        XCTAssertEqual(RuleSet.paperV1.sha256, Self.paperV1Sha)
        XCTAssertEqual(RuleSet.paperV1EffectiveS.sha256, Self.effectiveSSha)
        XCTAssertEqual(RuleSet.paperV1.sha256, SHA256.hex(SHA256.hash(RuleSet.paperV1.canonicalJSON)))
        XCTAssertNotEqual(RuleSet.paperV1, RuleSet.paperV1EffectiveS)
        // The canonical form: sorted keys, no whitespace, amounts as decimal strings.
        let c = RuleSet.paperV1.canonicalJSON
        XCTAssertTrue(c.hasPrefix(#"{"changes":[],"name":"paper-v1","parameters":{"coolingOffDays":14,"depositLockDays":180,"limitGrowthDeposit":"genesis","lockupEpochs":2016,"settledShareBp":8000,"tiers":[{"metaBp":2000,"minedBelowWei":"16819200000000000000000000","resourceBp":6000,"rewardWei":"80000000000000000000","stakeBp":2000},"#), c)
        XCTAssertFalse(c.contains(" ") || c.contains("\n"))
    }

    static let paperV1Sha = "5a3e6600a45a2e77a2082915b09a4af069d5fab03043a3b25ba1ee53a77d1e8c"
    static let effectiveSSha = "1e5a4a81920ec994063f665103ba7f82190128c2d706e1d937e3e9fad592a6a9"

    // MARK: Errors name the file and the key

    func error(_ text: String, file: String = "fix.json", others: [(String?, String)] = []) -> String {
        do {
            _ = try RuleSet.load([(file, text)] + others)
            return "no error"
        } catch { return error.description }
    }

    /// paper-v1's tiers with `edit` applied to tier `i`, as JSON.
    func tiers(_ edit: (inout [String: JSONValue]) -> Void = { _ in }, at i: Int = -1) -> String {
        guard case .object(let o) = RuleSet.paperV1.fileJSON, case .object(let p) = o["parameters"]!,
              case .array(var tiers) = p["tiers"]! else { fatalError() }
        if i >= 0, case .object(var t) = tiers[i] { edit(&t); tiers[i] = .object(t) }
        return JSONValue.array(tiers).canonicalText
    }

    func testErrorsNameTheFileAndTheKeyPath() {
        XCTAssertEqual(error(#"{"name": "fix-1", "extends": "paper-v1", "changes": [{"fromEpoch": 1001, "set": {"lockupEpochs": 4032, "tiers": \#(tiers({ $0["resourceBp"] = .number("6300") }, at: 2))}}]}"#),
                       "fix.json: changes[0].set.tiers[2].resourceBp: splits add up to 9,900 bp, not 10,000")
        XCTAssertEqual(error(#"{"name": "fix-1", "extends": "paper-v1", "changes": [{"fromEpoch": 5, "set": {"lockupEpoch": 4032}}]}"#),
                       "fix.json: changes[0].set.lockupEpoch: unknown key (known: coolingOffDays, depositLockDays, limitGrowthDeposit, lockupEpochs, settledShareBp, tiers, unbondingDays)")
        XCTAssertEqual(error(#"{"name": "fix-1", "extends": "paper-v1", "comment": "x"}"#),
                       "fix.json: comment: unknown key (known: changes, extends, name, parameters)")
        XCTAssertEqual(error(#"{"name": "fix-1", "extends": "paper-v1", "changes": [{"fromEpoch": 5, "set": {"tiers": \#(tiers({ $0["rewardWei"] = .number("5") }, at: 1))}}]}"#),
                       #"fix.json: changes[0].set.tiers[1].rewardWei: expected an amount in wei as a decimal string ("80000000000000000000"), got the number 5"#)
        XCTAssertEqual(error(#"{"name": "fix-1", "extends": "paper-v1", "changes": [{"fromEpoch": 5, "set": {"tiers": \#(tiers({ $0["minedBelowWei"] = .string("1") }, at: 5))}}]}"#),
                       "fix.json: changes[0].set.tiers[5].minedBelowWei: bounds must increase: 1 is not above 32587200000000000000000000")
        XCTAssertEqual(error(#"{"name": "fix-1", "extends": "paper-v1", "changes": [{"fromEpoch": 5, "set": {"tiers": \#(tiers({ $0["minedBelowWei"] = .string("40000000000000000000000000") }, at: 5))}}]}"#),
                       "fix.json: changes[0].set.tiers[5].minedBelowWei: the cap (the last bound) cannot change: 39000000000000000000000000 wei before, 40000000000000000000000000 here")
        XCTAssertEqual(error(#"{"name": "fix-1", "extends": "paper-v1", "changes": [{"fromEpoch": 5, "set": {"settledShareBp": 0}}]}"#),
                       "fix.json: changes[0].set.settledShareBp: expected an integer 1–10000, got 0")
        XCTAssertEqual(error(#"{"name": "fix-1", "extends": "paper-v1", "changes": [{"fromEpoch": 0, "set": {"settledShareBp": 7000}}]}"#),
                       "fix.json: changes[0].fromEpoch: expected an integer 1–2305843009213693951, got 0")
        XCTAssertEqual(error(#"{"name": "fix-1", "extends": "paper-v1", "changes": [{"fromEpoch": 9, "set": {"settledShareBp": 7000}}, {"fromEpoch": 9, "set": {"settledShareBp": 6000}}]}"#),
                       "fix.json: changes[1].fromEpoch: 9 is not after the previous change's 9: changes go in increasing fromEpoch")
        XCTAssertEqual(error(#"{"name": "fix-1", "extends": "paper-v1", "changes": [{"fromEpoch": 9, "set": {"lockupEpochs": 1008}}]}"#),
                       "fix.json: changes[0].set.lockupEpochs: cannot shorten (2016 → 1008): vesting entries mature in the order they were created")
        XCTAssertEqual(error(#"{"name": "fix-1", "extends": "paper-v1", "changes": [{"fromEpoch": 9, "set": {"limitGrowthDeposit": "effective"}}]}"#),
                       "fix.json: changes[0].set.limitGrowthDeposit: cannot change from an epoch (s would have to jump): set it in the base parameters")
        XCTAssertEqual(error(#"{"name": "fix-1", "extends": "paper-v1", "parameters": {"limitGrowthDeposit": "sum"}}"#),
                       #"fix.json: parameters.limitGrowthDeposit: 'sum' is not one of "genesis", "effective""#)
        // "total" (the issue's name) is read as "genesis".
        XCTAssertEqual(try RuleSet.load([(nil, #"{"name": "paper-v1", "extends": "paper-v1", "parameters": {"limitGrowthDeposit": "total"}}"#)])[0], .paperV1)
        XCTAssertEqual(error(#"{"name": "fix-1", "extends": "paper-v1", "changes": [{"fromEpoch": 9, "set": {}}]}"#),
                       "fix.json: changes[0].set: sets nothing")
        XCTAssertEqual(error(#"{"name": "fix-1", "extends": "paper-v2"}"#),
                       "fix.json: extends: unknown rule set 'paper-v2' (known: paper-v1, paper-v1-effective-s)")
        XCTAssertEqual(error(#"{"name": "fix-1", "parameters": {"settledShareBp": 8000}}"#),
                       #"fix.json: parameters: missing tiers, lockupEpochs, depositLockDays, coolingOffDays, unbondingDays, limitGrowthDeposit (a file without "extends" sets every parameter)"#)
        XCTAssertEqual(error(#"{"name": "paper-v1", "extends": "paper-v1-effective-s"}"#).prefix(64),
                       "fix.json: name: 'paper-v1' is a built-in rule set with other par")
        XCTAssertEqual(error(#"{"name": "a", "extends": "b"}"#, file: "a.json", others: [("b.json", #"{"name": "b", "extends": "a"}"#)]),
                       "b.json: extends: cycle: a → b → a")
        XCTAssertEqual(error(#"{"name": "a", "extends": "a"}"#, file: "a.json"), "a.json: extends: cycle: a extends itself")
        XCTAssertEqual(error(#"{"name": "a b"}"#), "fix.json: name: 'a b': 1–64 letters, digits, '.', '_' or '-'")
        XCTAssertEqual(error(#"{"name": "a", "#), "fix.json: not JSON: " + String(describing: Result { try JSONValue.parse(#"{"name": "a", "#) }.failure!))
        // A base's changes count: a later file's change must come after them.
        XCTAssertEqual(error(#"{"name": "b", "extends": "a", "changes": [{"fromEpoch": 10, "set": {"settledShareBp": 6000}}]}"#, file: "b.json",
                             others: [("a.json", #"{"name": "a", "extends": "paper-v1", "changes": [{"fromEpoch": 20, "set": {"settledShareBp": 7000}}]}"#)]),
                       "b.json: changes[0].fromEpoch: 10 is not after the previous change's 20: changes go in increasing fromEpoch")
    }

    // MARK: Extends, canonical form, lookup

    func testExtendsResolvesToAFullyExplicitCanonicalForm() throws {
        let sets = try RuleSet.load([
            ("fix-2.json", #"{"name": "fix-2", "extends": "fix-1", "changes": [{"fromEpoch": 2000, "set": {"unbondingDays": 28}}]}"#),
            ("fix-1.json", #"{"name": "fix-1", "extends": "paper-v1", "parameters": {"coolingOffDays": 10},"#
                + #" "changes": [{"fromEpoch": 1001, "set": {"lockupEpochs": 4032, "settledShareBp": 8000, "tiers": \#(tiers({ $0["resourceBp"] = .number("6100"); $0["metaBp"] = .number("1900") }, at: 0))}}]}"#),
        ])
        let fix2 = sets[0], fix1 = sets[1]
        XCTAssertEqual(fix1.base.coolingOffDays, 10)
        // The no-op settledShareBp is not part of the change.
        XCTAssertEqual(fix1.changes.count, 1)
        XCTAssertNil(fix1.changes[0].set.settledShareBp)
        XCTAssertEqual(fix1.changes[0].set.lockupEpochs, 4032)
        XCTAssertEqual(fix2.changes.map(\.fromEpoch), [1001, 2000])
        XCTAssertEqual(fix2.base, fix1.base)

        // Lookup: the last change with fromEpoch ≤ e.
        XCTAssertEqual(fix2.parameters(forEpoch: 1).lockupEpochs, 2016)
        XCTAssertEqual(fix2.parameters(forEpoch: 1000).lockupEpochs, 2016)
        XCTAssertEqual(fix2.parameters(forEpoch: 1001).lockupEpochs, 4032)
        XCTAssertEqual(fix2.parameters(forEpoch: 1001).mining.tiers[0].resourceBp, 6100)
        XCTAssertEqual(fix2.parameters(forEpoch: 1999).unbondingDays, 21)
        XCTAssertEqual(fix2.parameters(forEpoch: 2000).unbondingDays, 28)
        XCTAssertEqual(fix2.parameters(forEpoch: 2000).lockupEpochs, 4032)
        XCTAssertEqual(fix2.parameters(forEpoch: .max).coolingOffDays, 10)
        XCTAssertEqual(fix2.lockupRange, 2016...4032)

        // The canonical JSON is fully resolved (no extends) and reads back equal, alone.
        XCTAssertFalse(fix2.canonicalJSON.contains("extends"))
        let again = try RuleSet.stored(canonicalJSON: fix2.canonicalJSON, sha256: fix2.sha256)
        XCTAssertEqual(again, fix2)
        XCTAssertEqual(again.canonicalJSON, fix2.canonicalJSON)
        XCTAssertEqual(try RuleSet.load([("x.json", fix2.prettyJSON)])[0], fix2)
        XCTAssertThrowsError(try RuleSet.stored(canonicalJSON: fix2.canonicalJSON, sha256: RuleSet.paperV1.sha256))
        XCTAssertTrue(fix2.textTable.contains("from epoch 2000\n  unbondingDays       28 days\n"), fix2.textTable)

        // Equal iff the canonical JSON is: the explicit file equals the extending one.
        let explicit = try RuleSet.load([(nil, fix1.prettyJSON)])[0]
        XCTAssertEqual(explicit, fix1)
        XCTAssertEqual(explicit.sha256, fix1.sha256)
        // A file named like a built-in is fine when it is that built-in.
        XCTAssertEqual(try RuleSet.load([(nil, RuleSet.paperV1.prettyJSON)])[0], .paperV1)
        XCTAssertTrue(try RuleSet.load([(nil, RuleSet.paperV1.prettyJSON)])[0].isBuiltIn)
    }

    // MARK: The engine under files

    /// A seeded paper-v1 history (events only), replayed under other rule sets.
    static let history: [LedgerEvent] = {
        var economy = Economy(rules: .paperV1)
        var g = HistoryGenerator(seed: 21)
        var log: [LedgerEvent] = []
        var now: Int64 = 0
        func event(_ payload: EventPayload) -> LedgerEvent {
            LedgerEvent(id: EventID(unchecked: "e\(log.count + 1)"),
                        time: Timestamp(microsecondsSinceEpoch: genesisMicros + now * 1_000_000), payload: payload)
        }
        var e = event(g.genesis())
        _ = try? economy.apply(e)
        log.append(e)
        for _ in 0..<3_000 {
            let (advance, payload) = g.next(economy)
            now += advance
            e = event(payload)
            if (try? economy.apply(e)) != nil { log.append(e) } else { now -= advance }
        }
        return log
    }()

    struct Run {
        var economy: Economy
        var applied: [AppliedEvent] = []
        var settlements: [SettlementReport] = []
        var refused = 0
    }

    /// The history under `rules`; the invariants and the journal are checked at the end.
    func replay(_ rules: RuleSet) -> Run {
        var run = Run(economy: Economy(rules: rules))
        var journal = Journal()
        for e in Self.history {
            do {
                let a = try run.economy.apply(e)
                journal.book(a)
                run.applied.append(a)
                if let s = a.settlement { run.settlements.append(s) }
            } catch { run.refused += 1 }
        }
        XCTAssertNoThrow(try run.economy.checkInvariants())
        journal.verify(against: run.economy)
        return run
    }

    func renamed(_ r: SettlementReport, _ name: String) -> String {
        var r = r
        r.rules = name
        return r.json()
    }

    /// A file equal to paper-v1 (another name, no changes) settles byte for byte as the built-in.
    func testAFileEqualToPaperV1SettlesIdentically() throws {
        var text = RuleSet.paperV1.prettyJSON
        text = text.replacingOccurrences(of: #""name": "paper-v1""#, with: #""name": "paper-v1-copy""#)
        let copy = try RuleSet.load([("copy.json", text)])[0]
        XCTAssertEqual(copy.base, RuleSet.paperV1.base)
        XCTAssertNotEqual(copy, .paperV1, "another name is another rule set")
        let builtIn = replay(.paperV1), file = replay(copy)
        XCTAssertEqual(builtIn.refused, 0)
        XCTAssertEqual(file.refused, 0)
        XCTAssertGreaterThan(builtIn.settlements.count, 100)
        XCTAssertEqual(file.settlements.map { renamed($0, "paper-v1") }, builtIn.settlements.map { $0.json() })
        XCTAssertEqual(file.applied.map(\.effects), builtIn.applied.map(\.effects))
        XCTAssertEqual(file.economy.snapshot().json().replacingOccurrences(of: "paper-v1-copy", with: "paper-v1"),
                       builtIn.economy.snapshot().json())
        // The same file under the built-in's own name is the built-in: identical bytes, checkpoint too.
        let same = try RuleSet.load([("same.json", RuleSet.paperV1.prettyJSON)])[0]
        let sameRun = replay(same)
        XCTAssertEqual(sameRun.settlements.map { $0.json() }, builtIn.settlements.map { $0.json() })
        XCTAssertEqual(sameRun.economy.encodeCheckpoint(), builtIn.economy.encodeCheckpoint())
    }

    /// A change from epoch N leaves every settlement before N as it was, changes them from N,
    /// and leaves the maturity of entries created before N alone.
    func testAChangeFromAnEpochChangesSettlementsFromThatEpochOnly() throws {
        let base = try RuleSet.load([("fast.json", #"{"name": "fast", "extends": "paper-v1", "parameters": {"lockupEpochs": 12}}"#)])[0]
        let n: Int64 = 60
        let tiersText = tiers({ $0["resourceBp"] = .number("5000"); $0["metaBp"] = .number("3000") }, at: 0)
        let changed = try RuleSet.load([("fix.json", #"{"name": "fix", "extends": "fast", "changes": [{"fromEpoch": \#(n), "set": {"settledShareBp": 5000, "lockupEpochs": 30, "tiers": \#(tiersText)}}]}"#)],
                                       builtIns: RuleSet.all + [base])[0]
        XCTAssertEqual(changed.parameters(forEpoch: n - 1), base.base)
        let before = replay(base), after = replay(changed)
        XCTAssertGreaterThan(before.settlements.count, Int(n) + 40)
        let early = before.settlements.filter { $0.epoch < n }
        XCTAssertEqual(after.settlements.filter { $0.epoch < n }.map { renamed($0, "fast") }, early.map { $0.json() },
                       "before N: identical")
        // Everything applied before the first event of epoch N is identical too.
        let firstOfN = before.applied.firstIndex { $0.epoch == n }!
        XCTAssertEqual(after.applied[..<firstOfN].map(\.effects), before.applied[..<firstOfN].map(\.effects))

        // From N: the settled set is the shortest prefix with 10000 × Y ≥ 5000 × T, rewards split 50/30/20.
        let late = after.settlements.filter { $0.epoch >= n }
        XCTAssertFalse(late.isEmpty)
        var smaller = 0
        for r in late where r.T.rawValue > 0 {
            XCTAssertTrue(10_000 * r.Y.rawValue >= 5_000 * r.T.rawValue)
            let withoutLast = r.Y.rawValue - r.settled.last!.traffic.rawValue
            XCTAssertTrue(10_000 * withoutLast < 5_000 * r.T.rawValue, "the shortest such prefix")
            if 10 * r.Y.rawValue < 8 * r.T.rawValue { smaller += 1 }
            XCTAssertTrue(r.rewards.allSatisfy { $0.matureEpoch == r.epoch + 30 }, "rewards from N lock for 30 epochs")
        }
        XCTAssertGreaterThan(smaller, 0, "some settled sets are below the 80 % cut")
        let sumMining = { (r: SettlementReport, role: RewardRole) in r.rewards.filter { $0.source == .mining && $0.role == role }.reduce(UInt128(0)) { $0 + $1.amount.rawValue } }
        let first = try XCTUnwrap(late.first { $0.miningReward.rawValue > 0 && $0.Y.rawValue > 0 && $0.rewards.contains { $0.role == .meta } })
        XCTAssertLessThanOrEqual(sumMining(first, .resource), first.miningReward.rawValue / 2)
        XCTAssertGreaterThan(sumMining(first, .resource), first.miningReward.rawValue / 2 - 1_000_000)
        XCTAssertNotEqual(late.map { renamed($0, "fast") }, before.settlements.filter { $0.epoch >= n }.map { $0.json() })

        // Entries created before N keep epoch + 12, and are released then.
        for r in after.settlements where r.epoch < n {
            XCTAssertTrue(r.rewards.allSatisfy { $0.matureEpoch == r.epoch + 12 })
        }
        // (Entries cancelled by a shutdown or emptied by a migration fee are never released.)
        var releasedAt: [VestingEntryID: Int64] = [:]
        for a in after.applied {
            for case .vestingReleased(let id, _, _) in a.effects { releasedAt[id] = a.epoch }
        }
        var checked = 0
        for r in after.settlements where r.epoch < n {
            for w in r.rewards {
                guard let at = releasedAt[w.entry] else { continue }
                XCTAssertEqual(at, r.epoch + 12, "entry \(w.entry) of epoch \(r.epoch)")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 100)
        for r in after.settlements where r.epoch >= n {
            for w in r.rewards { if let at = releasedAt[w.entry] { XCTAssertEqual(at, r.epoch + 30) } }
        }
        XCTAssertNoThrow(try after.economy.checkInvariants())
        XCTAssertEqual(after.economy.snapshot().rules, "fix")

        // A checkpoint of the changed rule set restores under it (it keeps running after N).
        let restored = try Economy(checkpoint: after.economy.encodeCheckpoint(), ruleSets: [changed])
        XCTAssertEqual(restored.encodeCheckpoint(), after.economy.encodeCheckpoint())
    }

    /// Deposit release days and unbondings keep what was computed when they were set.
    func testReleaseDaysKeepWhatWasComputedWhenSet() throws {
        let rules = try RuleSet.load([("f.json", #"{"name": "f", "extends": "paper-v1", "changes": [{"fromEpoch": 3, "set": {"unbondingDays": 30, "depositLockDays": 200, "coolingOffDays": 20}}]}"#)])[0]
        var d = Driver(rules: rules)
        try d.apply(.genesis(ozoneLimit: noz(1_000_000 * oz), nodes: [
            GenesisNode(node: nodeID("n1"), kind: .resource, owner: acct("o1"), deposit: wei(1_000 * stos)),
            GenesisNode(node: nodeID("n2"), kind: .resource, owner: acct("o2"), deposit: wei(1_000 * stos)),
        ]))
        try d.apply(.funded(account: acct("v"), amount: wei(1_000 * stos)))
        try d.apply(.validatorCreated(validator: val("val1"), operator: acct("v"), selfDelegation: wei(100 * stos), commissionBp: 100))
        try d.apply(.funded(account: acct("d"), amount: wei(1_000 * stos)))
        try d.apply(.delegated(delegator: acct("d"), validator: val("val1"), amount: wei(100 * stos)))
        // Epoch 1: paper-v1's parameters.
        try d.apply(.undelegated(delegator: acct("d"), validator: val("val1"), amount: wei(10 * stos)))
        try d.apply(.nodeDeactivated(node: nodeID("n1"), storedBytes: 0))
        try d.apply(.epochClosed(epoch: 1))
        try d.apply(.epochClosed(epoch: 2))
        // Epoch 3: the change.
        try d.apply(.undelegated(delegator: acct("d"), validator: val("val1"), amount: wei(10 * stos)))
        try d.apply(.nodeDeactivated(node: nodeID("n2"), storedBytes: 0))
        XCTAssertEqual(d.economy.unbondings.map(\.releaseDay), [1 + 21, 1 + 30])
        XCTAssertEqual(d.economy.nodes[0].releaseDay, 180 + 14)
        XCTAssertEqual(d.economy.nodes[1].releaseDay, 200 + 20)
    }
}

private extension Result {
    var failure: Failure? { if case .failure(let f) = self { f } else { nil } }
}

/// The rule codes are a closed, documented set: every code is in docs/RULES.md's table, and the
/// codes' texts (what reports, problems and stored exceptions carry) never change.
final class RuleCodeTests: XCTestCase {
    func testEveryRuleCodeIsDocumentedAndStable() throws {
        let rules = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/RULES.md")
        let text = try String(contentsOf: rules, encoding: .utf8)
        for code in RuleViolation.Code.allCases {
            XCTAssertTrue(text.contains("`\(code.rawValue)`"), "docs/RULES.md does not document the rule code \(code.rawValue)")
        }
        XCTAssertEqual(RuleViolation.Code.allCases.map(\.rawValue).sorted(), [
            "already-voted", "amount-out-of-range", "commission-out-of-range", "delegation-short", "epoch-not-open",
            "epoch-out-of-order", "genesis-no-nodes", "genesis-repeated", "no-genesis", "node-exists", "node-not-active",
            "node-not-deactivated", "node-not-suspended", "not-a-voter", "not-pending", "ozone-limit-exhausted",
            "ozone-out-of-range", "ozone-short", "prepay-too-small", "replicas-too-few", "supply-out-of-range",
            "time-backwards", "unknown-node", "unknown-validator", "validator-exists", "vesting-not-loaded",
            "wallet-short", "wrong-kind", "zero-amount",
        ])
    }
}
