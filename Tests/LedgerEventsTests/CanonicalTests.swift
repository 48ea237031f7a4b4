import XCTest

@testable import LedgerEvents

final class CanonicalTests: XCTestCase {
    func testSpecExampleCanonicalForm() throws {
        let e = try LedgerEvent.parse(
            line:
                #"{"id": "tx-8f1c", "type": "Prepaid", "time": "2026-01-01T00:10:00+00:00", "data": {"amount": "0002500000000000000000", "account": "st1alice"}}"#
        )
        XCTAssertEqual(
            e.canonicalJSON,
            #"{"data":{"account":"st1alice","amount":"2500000000000000000"},"id":"tx-8f1c","time":"2026-01-01T00:10:00Z","type":"Prepaid"}"#)
        XCTAssertEqual(e.canonicalDataJSON, #"{"account":"st1alice","amount":"2500000000000000000"}"#)
        XCTAssertEqual(e.canonicalUTF8, Array(e.canonicalJSON.utf8))
        XCTAssertEqual(e.contentHash, SHA256.hash(e.canonicalUTF8))
    }

    func testEveryTypeRoundTripsAndIsSorted() throws {
        for event in Samples.oneOfEachType() {
            let text = event.canonicalJSON
            XCTAssertEqual(try LedgerEvent.parse(line: text), event, text)
            XCTAssertEqual(try LedgerEvent(validating: EventEnvelope.parse(line: text)), event, text)
            XCTAssertEqual(try LedgerEvent(validating: event.envelope), event, text)
            // The hand-ordered writer agrees with the generic sorter: keys are in byte order.
            XCTAssertEqual(try JSONValue.parse(text).canonicalText, text)
            XCTAssertEqual(try JSONValue.parse(event.canonicalDataJSON).canonicalText, event.canonicalDataJSON)
            XCTAssertEqual(event.dataJSON.canonicalText, event.canonicalDataJSON)
        }
    }

    func testRandomEventsRoundTrip() throws {
        var rng = SplitMix64(seed: 2026)
        for _ in 0..<3_000 {
            let event = Samples.random(using: &rng)
            let text = event.canonicalJSON
            let back = try LedgerEvent.parse(line: text)
            XCTAssertEqual(back, event, text)
            XCTAssertEqual(back.canonicalJSON, text)
            XCTAssertEqual(try JSONValue.parse(text).canonicalText, text)
        }
    }

    /// What PostgreSQL jsonb gives back (keys reordered by length then bytes, spaces after `:` and
    /// `,`) re-canonicalizes to the stored bytes.
    func testJsonbStyleDataRecanonicalizes() throws {
        let e = Samples.oneOfEachType().first { $0.type == .genesis }!
        let jsonb =
            #"{"nodes": [{"kind": "resource", "node": "stsds1a", "owner": "st1o", "deposit": "5000"}, {"kind": "meta", "node": "stsds1m", "owner": "st1o", "deposit": "7"}], "ozoneLimit": "1000000000000"}"#
        XCTAssertEqual(try JSONValue.parse(jsonb).canonicalText, e.canonicalDataJSON)
        let spaced = "{\n  \"type\" : \"Genesis\",\r\n \"time\":\"2026-01-01T00:00:00Z\", \"id\":\"genesis\",\t\"data\": \(jsonb) }"
        XCTAssertEqual(try LedgerEvent.parse(line: spaced).canonicalJSON, e.canonicalJSON)
    }

    func testStringEscaping() throws {
        let value = JSONValue.string("q\"b\\s/\u{8}\u{9}\u{a}\u{c}\u{d}\u{0}\u{1f}\u{7f}é😀")
        let expected = #""q\"b\\s/\b\t\n\f\r\u0000\u001f"# + "\u{7f}é😀\""
        XCTAssertEqual(value.canonicalText, expected)
        XCTAssertEqual(try JSONValue.parse(expected), value)
        // Keys are sorted by UTF-8 bytes: "B" < "a" < "é" (0xC3…), and escaped like values.
        let object = JSONValue.object(["é": .null, "a": .bool(true), "B": .number("-1.50e3"), "k\"": .array([])])
        XCTAssertEqual(object.canonicalText, #"{"B":-1.50e3,"a":true,"k\"":[],"é":null}"#)
    }

    func testIdentifiersWithQuotesAndBackslashes() throws {
        let event = LedgerEvent(
            id: EventID(#"a"b\c"#)!, time: Timestamp(microsecondsSinceEpoch: 1),
            payload: .nodeShutDown(node: NodeID(#"n\"#)!))
        XCTAssertEqual(
            event.canonicalJSON,
            #"{"data":{"node":"n\\"},"id":"a\"b\\c","time":"1970-01-01T00:00:00.000001Z","type":"NodeShutDown"}"#)
        XCTAssertEqual(try LedgerEvent.parse(line: event.canonicalJSON), event)
    }

    func testOptionalFieldsAreOmitted() {
        let base = TrafficRecord(epoch: 7, node: NodeID("n")!, account: AccountID("a")!, kind: .upload, bytes: 5)
        let plain = LedgerEvent(id: EventID("t")!, time: Timestamp(microsecondsSinceEpoch: 0), payload: .trafficServed(base))
        XCTAssertEqual(plain.canonicalDataJSON, #"{"account":"a","bytes":"5","epoch":7,"kind":"upload","node":"n"}"#)
        var withReplicas = base
        withReplicas.replicas = 5
        XCTAssertNotEqual(
            LedgerEvent(
                id: EventID("t")!, time: Timestamp(microsecondsSinceEpoch: 0),
                payload: .trafficServed(withReplicas)
            ).contentHash, plain.contentHash)
    }

    func testLargeAmountsAreWrittenExactly() {
        for value: UInt128 in [
            0, 9, 10, 18_446_744_073_709_551_615, 18_446_744_073_709_551_616,
            10_000_000_000_000_000_000, 99_999_999_999_999_999_999_999, UInt128.max,
        ] {
            let e = LedgerEvent(
                id: EventID("g")!, time: Timestamp(microsecondsSinceEpoch: 0),
                payload: .gasFeesCollected(amount: Wei(value)))
            XCTAssertEqual(e.canonicalDataJSON, #"{"amount":"\#(value)"}"#)
        }
    }
}

/// Deterministic sample events shared by the tests.
enum Samples {
    static func oneOfEachType() -> [LedgerEvent] {
        let t = Timestamp(rfc3339: "2026-01-01T00:00:00Z")!
        let n = NodeID("stsds1a")!
        let m = NodeID("stsds1m")!
        let o = AccountID("st1o")!
        let v = ValidatorID("stvaloper1v")!
        let payloads: [EventPayload] = [
            .genesis(
                ozoneLimit: Noz(1_000_000_000_000),
                nodes: [
                    GenesisNode(node: n, kind: .resource, owner: o, deposit: Wei(5000)),
                    GenesisNode(node: m, kind: .meta, owner: o, deposit: Wei(7)),
                ]),
            .funded(account: o, amount: Wei(1)),
            .withdrawn(account: o, amount: Wei(2)),
            .transferred(from: o, to: AccountID("st1p")!, amount: Wei(3)),
            .prepaid(account: o, amount: Wei(4)),
            .trafficServed(TrafficRecord(epoch: 1, node: n, account: o, kind: .upload, bytes: 10, replicas: 3)),
            .trafficServed(TrafficRecord(epoch: 1, node: n, account: o, kind: .query, bytes: 10, records: 4)),
            .epochClosed(epoch: 1),
            .resourceNodeActivated(node: n, owner: o, deposit: Wei(5)),
            .metaNodeRegistrationRequested(node: m, owner: o, deposit: Wei(6)),
            .metaNodeVoted(node: m, voter: n, approve: true),
            .resourceNodeSuspended(node: n),
            .resourceNodeResumed(node: n),
            .nodeDeactivated(node: n, storedBytes: 0),
            .nodeShutDown(node: n),
            .validatorCreated(validator: v, operator: o, selfDelegation: Wei(100), commissionBp: 100),
            .delegated(delegator: o, validator: v, amount: Wei(8)),
            .undelegated(delegator: o, validator: v, amount: Wei(9)),
            .gasFeesCollected(amount: Wei(10)),
        ]
        return payloads.enumerated().map { i, p in
            LedgerEvent(id: EventID(p.type == .genesis ? "genesis" : "ev-\(i)")!, time: t, payload: p)
        }
    }

    static func random(using rng: inout SplitMix64) -> LedgerEvent {
        func ident<ID: LedgerIdentifier>(_: ID.Type) -> ID {
            let length = Int(rng.next() % 20) + 1
            let chars = (0..<length).map { _ in UInt8(0x21 + rng.next() % 94) }
            return ID(unchecked: String(decoding: chars, as: UTF8.self))
        }
        func amount() -> UInt128 {
            switch rng.next() % 3 {
            case 0: UInt128(rng.next() % 1000)
            case 1: UInt128(rng.next())
            default: UInt128(rng.next()) << 64 | UInt128(rng.next())
            }
        }
        let time = Timestamp(microsecondsSinceEpoch: Int64(rng.next() % 4_000_000_000_000_000))
        let payload: EventPayload
        switch rng.next() % 8 {
        case 0:
            payload = .genesis(
                ozoneLimit: Noz(amount()),
                nodes: (0..<Int(rng.next() % 4 + 1)).map { _ in
                    GenesisNode(
                        node: ident(NodeID.self), kind: rng.next() % 2 == 0 ? .meta : .resource,
                        owner: ident(AccountID.self), deposit: Wei(amount()))
                })
        case 1: payload = .transferred(from: ident(AccountID.self), to: ident(AccountID.self), amount: Wei(amount()))
        case 2:
            let kind = [TrafficKind.upload, .download, .query, .replication][Int(rng.next() % 4)]
            payload = .trafficServed(
                TrafficRecord(
                    epoch: Int64(rng.next() % 1_000_000 + 1), node: ident(NodeID.self), account: ident(AccountID.self), kind: kind,
                    bytes: amount(), replicas: kind == .upload && rng.next() % 2 == 0 ? Int64(rng.next() % 10) : nil,
                    records: kind == .query && rng.next() % 2 == 0 ? amount() : nil))
        case 3: payload = .metaNodeVoted(node: ident(NodeID.self), voter: ident(NodeID.self), approve: rng.next() % 2 == 0)
        case 4:
            payload = .validatorCreated(
                validator: ident(ValidatorID.self), operator: ident(AccountID.self),
                selfDelegation: Wei(amount()), commissionBp: Int64(rng.next() % 10_001))
        case 5: payload = .nodeDeactivated(node: ident(NodeID.self), storedBytes: amount())
        case 6: payload = .epochClosed(epoch: Int64(rng.next() % UInt64(Int64.max)) + 1)
        default: payload = .undelegated(delegator: ident(AccountID.self), validator: ident(ValidatorID.self), amount: Wei(amount()))
        }
        return LedgerEvent(id: ident(EventID.self), time: time, payload: payload)
    }
}
