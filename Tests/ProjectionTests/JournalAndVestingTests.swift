import EventStore
import LedgerEvents
import PostgresClient
import PostgresTestSupport
import StratosSimulator
import XCTest

@testable import StratosEconomics
@testable import StratosProjections

/// The stored forms that are not one row per fact: the journal's transfer text (read back by
/// `LedgerQueries.journal` and by the `journal_postings` view) and the vesting releases that
/// `vesting_schedule` derives instead of storing.
final class JournalAndVestingTests: ProjectionTestCase {
    /// Every journal transaction, read back through the API and through the SQL view, is exactly
    /// the engine's transfers as postings (a debit, then a credit, per transfer, in effect order).
    func testJournalEqualsTheEnginesTransfers() throws {
        let events = try Self.history(epochs: 2_030)
        try append(events)
        try project()

        var expected: [Int64: [JournalPosting]] = [:]
        var e = Economy(rules: .paperV1)
        // The derived lines' hard cases (the view journal): entries of a release range that were
        // cancelled or had migration fees taken before they matured.
        var matureEpoch: [VestingEntryID: Int64] = [:]
        var cancelledInRange = 0
        var feeTakenInRange = 0
        for (i, event) in events.enumerated() {
            let applied = try e.apply(event)
            for effect in applied.effects {
                switch effect {
                case .vestingCreated(let v): matureEpoch[v.id] = v.matureEpoch
                case .vestingCancelled(let id, _, _, _) where matureEpoch[id]! <= 2_030: cancelledInRange += 1
                case .vestingFeeTaken(let id, _, _, _) where matureEpoch[id]! <= 2_030: feeTakenInRange += 1
                default: break
                }
            }
            var postings: [JournalPosting] = []
            for case .transfer(let t) in applied.effects {
                for (account, negative) in [(t.from, true), (t.to, false)] {
                    postings.append(
                        JournalPosting(
                            account: account.description, owner: account.owner, amount: t.amount, negative: negative,
                            reason: t.reason.rawValue))
                }
            }
            expected[Int64(i + 1)] = postings
        }

        XCTAssertGreaterThan(cancelledInRange, 0, "the history has cancelled entries among those that mature")
        XCTAssertGreaterThan(feeTakenInRange, 0, "the history has fee takings among the entries that mature")

        let q = try LedgerQueries(connection: database.connect(), sql: sql)
        var seen = 0
        try q.journal(positions: 1...Int64(events.count)) { tx in
            seen += 1
            XCTAssertEqual(tx.eventID, events[Int(tx.position) - 1].id)
            XCTAssertEqual(tx.time, events[Int(tx.position) - 1].time)
            XCTAssertEqual(tx.postings, expected[tx.position], "postings at position \(tx.position)")
        }
        XCTAssertEqual(seen, events.count)

        let c = try database.connect()
        let r = try c.query(
            """
            SELECT position, posting, account, owner, commodity, amount::text, reason
            FROM projection.journal_postings ORDER BY position, posting
            """)
        var viewPostings: [Int64: [JournalPosting]] = [:]
        for i in 0..<r.rowCount {
            let position = try r.int64(i, 0)
            XCTAssertEqual(try r.int64(i, 1), Int64(viewPostings[position, default: []].count + 1))
            var amount = try r.string(i, 5)
            let negative = amount.hasPrefix("-")
            if negative { amount.removeFirst() }
            viewPostings[position, default: []].append(
                JournalPosting(
                    account: try r.string(i, 2), owner: r.optionalString(i, 3).map(AccountID.init(unchecked:)),
                    amount: Amount(Commodity(rawValue: try r.string(i, 4))!, baseUnits: parseDecimalUInt128(amount)!), negative: negative,
                    reason: try r.string(i, 6)))
        }
        XCTAssertEqual(viewPostings, expected.filter { !$0.value.isEmpty })
    }

    /// Identifiers may hold ':' and '\' (printable ASCII): the stored text and both decoders
    /// keep them exact, and an owner is never guessed from the account path.
    func testJournalTextKeepsOddIdentifiers() throws {
        let w = try worker()
        try w.createIfMissing(rules: .paperV1, checkpointEvery: 100)
        let owner = AccountID(unchecked: #"a:b\c"#)
        let node = NodeID(unchecked: "n:1")
        let validator = ValidatorID(unchecked: #"v\"#)
        let transfers = [
            Transfer(from: .wallet(owner), to: .escrow(owner: owner, node: node), amount: .wei(Wei(5)), reason: .depositEscrowed),
            Transfer(
                from: .miningPool, to: .vesting(owner: owner, entry: VestingEntryID(17)),
                amount: .wei(Wei(1_000_000_000_000_000_000_000_000_000_000)), reason: .reward),
            Transfer(from: .ozone(owner), to: .nodeTraffic(node), amount: .noz(Noz(3)), reason: .trafficCharged),
            Transfer(from: .wallet(owner), to: .bonded(delegator: owner, validator: validator), amount: .wei(Wei(2)), reason: .delegated),
            Transfer(
                from: .bonded(delegator: owner, validator: validator), to: .unbonding(delegator: owner, entry: UnbondingID(4)),
                amount: .wei(Wei(1)), reason: .undelegated),
        ]
        var rows = CopyBuffer()
        rows.beginJournalRow(position: 1, epoch: 1)
        for (i, t) in transfers.enumerated() { rows.journalTransfer(t, first: i == 0) }
        rows.endRow()
        rows.beginJournalRow(position: 2, epoch: 1)
        rows.endRow()
        let c = try database.connect()
        try c.query(sql("search_path.set"), ["projection, public"])
        try c.copyIn(sql("copy.journal")) { try rows.send(to: $0) }

        let expected = transfers.flatMap { t in
            [(t.from, true), (t.to, false)].map { account, negative in
                JournalPosting(
                    account: account.description, owner: account.owner, amount: t.amount, negative: negative,
                    reason: t.reason.rawValue)
            }
        }
        let stored = try c.query("SELECT transfers FROM journal ORDER BY position")
        XCTAssertEqual(try JournalText.postings(Array(try stored.string(0, 0).utf8), position: 1), expected)
        XCTAssertEqual(try JournalText.postings(Array(try stored.string(1, 0).utf8), position: 2), [])
        let view = try c.query("SELECT account, owner, commodity, amount::text FROM journal_postings ORDER BY position, posting")
        XCTAssertEqual(view.rowCount, expected.count)
        for (i, p) in expected.enumerated() {
            XCTAssertEqual(try view.string(i, 0), p.account)
            XCTAssertEqual(view.optionalString(i, 1), p.owner?.rawValue)
            XCTAssertEqual(try view.string(i, 2), p.commodity.rawValue)
            XCTAssertEqual(try view.string(i, 3), (p.negative ? "-" : "") + String(p.amount.baseUnits))
        }
        XCTAssertEqual(try Rebuilder.checkJournal(c, sql: sql).transactions, 2)

        // A transfer whose sides hold different commodities is found by the check and refused by the decoder.
        try c.execute("INSERT INTO journal_stored VALUES (3, 1, E'funded outside   wallet st1a  7\\nreward mining-pool   ozone x  5')")
        XCTAssertThrowsError(try Rebuilder.checkJournal(c, sql: sql)) { error in
            XCTAssertEqual(
                "\(error)",
                "journal check failed: journal transaction at position 3, transfer 2: "
                    + "moves STOS from mining-pool to OZ in ozone:x")
        }
        XCTAssertThrowsError(try JournalText.postings(Array("reward mining-pool   ozone x  5".utf8), position: 3)) { error in
            XCTAssertTrue("\(error)".contains("position 3, transfer 1: moves STOS from mining-pool to OZ in ozone:x"), "\(error)")
        }
    }

    /// The line decoder (the export's and the rebuild's check) refuses every malformed line and
    /// names what is wrong with it.
    func testJournalLineRefusals() throws {
        let refused: [(String, String)] = [
            ("funded outside   wallet st1a  07", "amount '07' is not a positive integer"),
            ("funded outside   wallet st1a  0", "amount '0' is not a positive integer"),
            ("funded outside   wallet st1a  -5", "amount '-5' is not a positive integer"),
            ("funded outside   wallet st1a  " + String(UInt128.max) + "0", "is not a positive integer"),
            ("funded outside   wallet st1a  ", "amount '' is not a positive integer"),
            ("funded outside   wallet st1a ", "7 fields, expected 8"),
            ("funded outside   wallet st1a  5 x", "9 fields, expected 8"),
            ("gifted outside   wallet st1a  5", "unknown reason 'gifted'"),
            ("funded outside   purse st1a  5", "unknown account kind 'purse'"),
            ("funded outside   wallet st1a n1 5", "account kind 'wallet' takes 1 identifiers, got 2"),
            ("funded outside x  wallet st1a  5", "account kind 'outside' takes 0 identifiers, got 1"),
            ("funded outside   escrow  n1 5", "account kind 'escrow' takes 2 identifiers, got 1"),
            ("funded outside   wallet st1a  5\n", "transfer 2: 1 fields, expected 8"),
        ]
        for (line, message) in refused {
            XCTAssertThrowsError(try JournalText.postings(Array(line.utf8), position: 9), line) { error in
                XCTAssertTrue("\(error)".contains("journal transaction at position 9, transfer"), "\(error)")
                XCTAssertTrue("\(error)".contains(message), "\(line): \(error)")
            }
        }
        let largest = try JournalText.postings(Array(("funded outside   wallet st1a  " + String(UInt128.max)).utf8), position: 1)
        XCTAssertEqual(largest.map(\.amount), [.wei(Wei(UInt128.max)), .wei(Wei(UInt128.max))])
        XCTAssertEqual(try JournalText.postings([], position: 1), [])
    }

    /// vesting_schedule derives 'released' from mature_epoch and the last closed epoch; it equals
    /// what the engine's effects say of every entry (status, fee taken, closing epoch).
    func testVestingScheduleEqualsTheEnginesEffects() throws {
        let events = try Self.history(epochs: 2_100, seed: 13)
        try append(events)
        try project()

        struct Expected: Equatable {
            var status = "locked"
            var feeTaken: UInt128 = 0
            var closedEpoch: Int64?
            var amount: UInt128 = 0
        }
        var expected: [UInt64: Expected] = [:]
        var e = Economy(rules: .paperV1)
        for event in events {
            guard let applied = try? e.apply(event) else { continue }
            for effect in applied.effects {
                switch effect {
                case .vestingCreated(let v): expected[v.id.rawValue] = Expected(amount: v.amount.rawValue)
                case .vestingReleased(let id, _, _):
                    expected[id.rawValue]!.status = "released"
                    expected[id.rawValue]!.closedEpoch = applied.epoch
                case .vestingCancelled(let id, _, _, _):
                    expected[id.rawValue]!.status = "cancelled"
                    expected[id.rawValue]!.closedEpoch = applied.epoch
                case .vestingFeeTaken(let id, _, _, let amount):
                    expected[id.rawValue]!.feeTaken += amount.rawValue
                    if expected[id.rawValue]!.feeTaken == expected[id.rawValue]!.amount { expected[id.rawValue]!.status = "taken-for-fee" }
                default: break
                }
            }
        }
        let c = try database.connect()
        let r = try c.query("SELECT entry_id, status, fee_taken::text, closed_epoch, amount::text FROM projection.vesting_schedule")
        XCTAssertEqual(r.rowCount, expected.count)
        var statuses: Set<String> = []
        for i in 0..<r.rowCount {
            let id = UInt64(try r.int64(i, 0))
            let row = Expected(
                status: try r.string(i, 1), feeTaken: parseDecimalUInt128(try r.string(i, 2))!,
                closedEpoch: try r.optionalInt64(i, 3), amount: parseDecimalUInt128(try r.string(i, 4))!)
            XCTAssertEqual(row, expected[id], "vesting entry \(id)")
            statuses.insert(row.status)
        }
        XCTAssertTrue(statuses.isSuperset(of: ["locked", "released"]), "\(statuses)")
        XCTAssertEqual(try c.query("SELECT count(*) FROM projection.vesting_changes WHERE change = 'released'").int64(0, 0), 0)
    }
}

/// Keys are built by sections on several connections; a crash between their commits leaves some
/// built and the schema not marked indexed: the next run builds the rest and makes the primary keys.
final class KeysTests: ProjectionTestCase {
    func testKeysInterruptedHalfwayAreCompletedByTheNextRun() throws {
        try append(try Self.history(epochs: 300))
        let w = try worker()
        try w.lock(wait: false)
        try w.createIfMissing(rules: .paperV1, checkpointEvery: 100)
        try w.catchUp()
        // As if the process died after the first and last sections committed.
        let c = try database.connect()
        try c.query(sql("search_path.set"), ["projection, public"])
        XCTAssertGreaterThan(sql.keySections.count, 1)
        for section in [sql.keySections.first!, sql.keySections.last!] { _ = try c.execute(section) }
        XCTAssertEqual(try c.query("SELECT indexed FROM projection_state").string(0, 0), "f")

        try w.ensureIndexed()
        XCTAssertEqual(try c.query("SELECT indexed FROM projection_state").string(0, 0), "t")
        let keys = try c.query(
            """
            SELECT conrelid::regclass::text FROM pg_constraint -- names unqualified: projection is on the search path
            WHERE contype = 'p' AND connamespace = 'projection'::regnamespace ORDER BY 1
            """)
        let keyed = Set((0..<keys.rowCount).map { try! keys.string($0, 0) })
        for table in ["balance_history", "vesting_entries", "journal_stored", "gas_fee_rewards", "settlements", "exceptions"] {
            XCTAssertTrue(keyed.contains(table + "_own"), "\(table) has no primary key: \(keyed)")
        }
        let autovacuumOff = try c.query(
            """
            SELECT count(*) FROM pg_class WHERE relnamespace = 'projection'::regnamespace
              AND reloptions::text LIKE '%autovacuum_enabled=false%'
            """)
        XCTAssertEqual(try autovacuumOff.int64(0, 0), 0, "autovacuum is back on every table")
        try w.ensureIndexed() // a no-op once indexed
    }
}

final class CopyBufferTests: XCTestCase {
    /// The amounts that matter: both ends, powers of ten (trailing zero digits in base 10 and
    /// 10,000), the UInt64 and 10^16 boundaries the encoders split at, and a seeded sweep of
    /// every magnitude.
    static let amounts: [UInt128] = {
        var values: [UInt128] = [
            0, 7, 10, 99, 100, 9_999, 10_000, 10_001, 1_000_000_000_000_000_000,
            UInt128(UInt64.max), UInt128(UInt64.max) + 1, 10_000_000_000_000_000,
            10_000_000_000_000_000_000, 10_000_000_000_000_000_005,
            100_000_000_000_000_000_000_000_000_000, 123_456_789_012_345_678_901_234_567, UInt128.max,
        ]
        var rng = SplitMix64(seed: 42)
        for _ in 0..<1_000 {
            let bits = Int(rng.next() % 129)
            let raw = UInt128(rng.next()) << 64 | UInt128(rng.next())
            let v = bits == 0 ? 0 : raw >> (128 - bits)
            values += [v, v / 10_000 * 10_000]
        }
        return values
    }()

    /// Decimals written into a text field (the journal's amounts) are exact over all of UInt128.
    func testDecimals() {
        for v in Self.amounts {
            var b = CopyBuffer()
            b.beginField()
            b.appendDecimal(v)
            b.endRow()
            // Field count (2 bytes), length (4 bytes), then the digits.
            XCTAssertEqual(String(decoding: b.bytes[6...], as: UTF8.self), String(v))
            XCTAssertEqual(Int(b.bytes[2]) << 24 | Int(b.bytes[3]) << 16 | Int(b.bytes[4]) << 8 | Int(b.bytes[5]), String(v).count)
        }
    }

    /// Every field kind, through PostgreSQL's binary COPY: what the server stores is what was meant
    /// (numeric digits and weights, NULLs, text that text COPY would have had to escape).
    func testBinaryRowsRoundTrip() throws {
        let database = try TestDatabase.create(prefix: "copybuffer")
        defer { try? database.drop() }
        let c = try database.connect()
        try c.execute("CREATE TABLE t (k integer, big bigint, amount numeric(78,0), note text, digits text, raw bytea)")
        var rows = CopyBuffer()
        let notes: [String?] = ["plain", nil, "tab\there\nnewline\\backslash", "", "ünïcode"]
        for (k, v) in Self.amounts.enumerated() {
            rows.int32(Int32(k))
            rows.int(Int64(k) - 500)
            rows.amount(v)
            rows.text(notes[k % notes.count])
            rows.decimalText(v)
            rows.bytea([UInt8(k & 0xFF), 0, 0x5C, 0x0A])
            rows.endRow()
        }
        try c.copyIn("COPY t (k, big, amount, note, digits, raw) FROM STDIN (FORMAT binary)") { try rows.send(to: $0) }
        let r = try c.query("SELECT k, big, amount::text, note, digits, encode(raw, 'hex') FROM t ORDER BY k")
        XCTAssertEqual(r.rowCount, Self.amounts.count)
        for (k, v) in Self.amounts.enumerated() {
            XCTAssertEqual(try r.int64(k, 0), Int64(k))
            XCTAssertEqual(try r.int64(k, 1), Int64(k) - 500)
            XCTAssertEqual(try r.string(k, 2), String(v), "amount \(v)")
            XCTAssertEqual(r.optionalString(k, 3), notes[k % notes.count])
            XCTAssertEqual(try r.string(k, 4), String(v))
            XCTAssertEqual(try r.string(k, 5), String(format: "%02x005c0a", k & 0xFF))
        }
    }
}
