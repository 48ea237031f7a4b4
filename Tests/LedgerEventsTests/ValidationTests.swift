import XCTest

@testable import LedgerEvents

/// The contract rules of docs/EVENTS.md, each with the exact error: event id, field path, reason.
final class ValidationTests: XCTestCase {
    /// A line with the given data (JSON text) and envelope fields.
    func line(_ type: String, _ data: String, id: String = "tx-1", time: String = "2026-01-01T00:10:00Z") -> String {
        #"{"id": "\#(id)", "type": "\#(type)", "time": "\#(time)", "data": \#(data)}"#
    }

    func accept(_ line: String, file: StaticString = #filePath, lineNumber: UInt = #line) -> LedgerEvent? {
        do {
            let event = try LedgerEvent.parse(line: line)
            // The dictionary path (envelope first, then validation) must agree with the hot path.
            let viaEnvelope = try LedgerEvent(validating: EventEnvelope.parse(line: line))
            XCTAssertEqual(event, viaEnvelope, file: file, line: lineNumber)
            // So must the projections' path, from the columns the store keeps.
            XCTAssertEqual(
                try stored(event.id.rawValue, event.type.rawValue, event.time, event.canonicalDataJSON), event,
                file: file, line: lineNumber)
            return event
        } catch {
            XCTFail("refused: \(error)", file: file, line: lineNumber)
            return nil
        }
    }

    /// Checks that both the hot path and the envelope path refuse `line` with this message.
    func refuse(_ line: String, _ expected: String, file: StaticString = #filePath, lineNumber: UInt = #line) {
        do {
            let event = try LedgerEvent.parse(line: line)
            XCTFail("accepted: \(event)", file: file, line: lineNumber)
        } catch {
            XCTAssertEqual(error.description, expected, file: file, line: lineNumber)
        }
        do {
            let event = try LedgerEvent(validating: EventEnvelope.parse(line: line))
            XCTFail("accepted via envelope: \(event)", file: file, line: lineNumber)
        } catch {
            XCTAssertEqual(error.description, expected, "via envelope", file: file, line: lineNumber)
        }
    }

    func stored(_ id: String, _ type: String, _ time: Timestamp, _ data: String) throws(EventValidationError) -> LedgerEvent {
        let bytes = Array(data.utf8)
        return try bytes.withUnsafeBufferPointer { (b) throws(EventValidationError) in
            try LedgerEvent.parse(storedID: id, type: type, time: time, data: b)
        }
    }

    /// A stored event's columns are checked as its envelope line would be, errors included.
    func testStoredColumns() {
        let time = Timestamp(rfc3339: "2026-01-01T00:10:00Z")!
        func refuseStored(
            _ id: String, _ type: String, _ time: Timestamp, _ data: String, _ expected: String,
            lineNumber: UInt = #line
        ) {
            do {
                let e = try stored(id, type, time, data)
                XCTFail("accepted: \(e)", line: lineNumber)
            } catch {
                XCTAssertEqual(error.description, expected, line: lineNumber)
            }
        }
        refuseStored(
            "tx 1", "Funded", time, #"{"account": "a", "amount": "1"}"#,
            #"event: id: must be 1–128 printable ASCII characters without spaces, got "tx 1""#)
        refuseStored("tx-1", "Mined", time, #"{"account": "a", "amount": "1"}"#, #"event "tx-1": type: unknown event type "Mined""#)
        refuseStored(
            "tx-1", "Funded", time, #"{"account": "a", "amount": 1}"#,
            #"event "tx-1": data.amount: must be a string of decimal digits, got a JSON number"#)
        refuseStored(
            "tx-1", "Funded", time, #"{"account": "a", "amount": "1", "memo": "x"}"#,
            #"event "tx-1": data.memo: unknown field for Funded (expected account, amount)"#)
        refuseStored("tx-1", "Funded", time, "[1]", #"event "tx-1": data: must be a JSON object"#)
        refuseStored(
            "tx-1", "Funded", time, #"{"account": "a"} x"#,
            #"event "tx-1": data: invalid JSON: unexpected characters after the JSON value at byte 17"#)
        let year10000 = Timestamp(microsecondsSinceEpoch: Timestamp.rfc3339Range.upperBound)
        refuseStored(
            "tx-1", "Funded", year10000, #"{"account": "a", "amount": "1"}"#,
            #"event "tx-1": time: 253402300800000000 µs since 1970 is outside years 0000–9999"#)
        let last = Timestamp(microsecondsSinceEpoch: Timestamp.rfc3339Range.upperBound - 1)
        XCTAssertEqual(last.rfc3339, "9999-12-31T23:59:59.999999Z")
        XCTAssertEqual(Timestamp(microsecondsSinceEpoch: Timestamp.rfc3339Range.lowerBound).rfc3339, "0000-01-01T00:00:00Z")
        XCTAssertNotNil(try? stored("tx-1", "Funded", last, #"{"account": "a", "amount": "1"}"#))
    }

    func testTheSpecExample() throws {
        let e = accept(
            #"{"id": "tx-8f1c", "type": "Prepaid", "time": "2026-01-01T00:10:00Z", "data": {"account": "st1alice", "amount": "2500000000000000000"}}"#
        )
        XCTAssertEqual(
            e,
            LedgerEvent(
                id: EventID("tx-8f1c")!, time: Timestamp(rfc3339: "2026-01-01T00:10:00Z")!,
                payload: .prepaid(account: AccountID("st1alice")!, amount: Wei(2_500_000_000_000_000_000))))
    }

    func testEveryEventType() throws {
        let cases: [(String, String, EventPayload)] = [
            (
                "Genesis",
                #"{"ozoneLimit": "1000", "nodes": [{"node": "n1", "kind": "resource", "owner": "o1", "deposit": "5"}, {"node": "m1", "kind": "meta", "owner": "o2", "deposit": "7"}]}"#,
                .genesis(
                    ozoneLimit: Noz(1000),
                    nodes: [
                        GenesisNode(node: NodeID("n1")!, kind: .resource, owner: AccountID("o1")!, deposit: Wei(5)),
                        GenesisNode(node: NodeID("m1")!, kind: .meta, owner: AccountID("o2")!, deposit: Wei(7)),
                    ])
            ),
            ("Funded", #"{"account": "a", "amount": "1"}"#, .funded(account: AccountID("a")!, amount: Wei(1))),
            ("Withdrawn", #"{"account": "a", "amount": "2"}"#, .withdrawn(account: AccountID("a")!, amount: Wei(2))),
            (
                "Transferred", #"{"from": "a", "to": "b", "amount": "3"}"#,
                .transferred(from: AccountID("a")!, to: AccountID("b")!, amount: Wei(3))
            ),
            ("Prepaid", #"{"account": "a", "amount": "0"}"#, .prepaid(account: AccountID("a")!, amount: Wei(0))),
            (
                "TrafficServed", #"{"epoch": 1, "node": "n", "account": "a", "kind": "upload", "bytes": "10", "replicas": 4}"#,
                .trafficServed(TrafficRecord(epoch: 1, node: NodeID("n")!, account: AccountID("a")!, kind: .upload, bytes: 10, replicas: 4))
            ),
            (
                "TrafficServed", #"{"epoch": 2, "node": "n", "account": "a", "kind": "upload", "bytes": "10"}"#,
                .trafficServed(TrafficRecord(epoch: 2, node: NodeID("n")!, account: AccountID("a")!, kind: .upload, bytes: 10))
            ),
            (
                "TrafficServed", #"{"epoch": 3, "node": "n", "account": "a", "kind": "query", "bytes": "10", "records": "7"}"#,
                .trafficServed(TrafficRecord(epoch: 3, node: NodeID("n")!, account: AccountID("a")!, kind: .query, bytes: 10, records: 7))
            ),
            (
                "TrafficServed", #"{"epoch": 4, "node": "n", "account": "a", "kind": "download", "bytes": "0"}"#,
                .trafficServed(TrafficRecord(epoch: 4, node: NodeID("n")!, account: AccountID("a")!, kind: .download, bytes: 0))
            ),
            (
                "TrafficServed", #"{"epoch": 5, "node": "n", "account": "a", "kind": "replication", "bytes": "9"}"#,
                .trafficServed(TrafficRecord(epoch: 5, node: NodeID("n")!, account: AccountID("a")!, kind: .replication, bytes: 9))
            ),
            ("EpochClosed", #"{"epoch": 9223372036854775807}"#, .epochClosed(epoch: Int64.max)),
            (
                "ResourceNodeActivated", #"{"node": "n", "owner": "o", "deposit": "5"}"#,
                .resourceNodeActivated(node: NodeID("n")!, owner: AccountID("o")!, deposit: Wei(5))
            ),
            (
                "MetaNodeRegistrationRequested", #"{"node": "m", "owner": "o", "deposit": "5"}"#,
                .metaNodeRegistrationRequested(node: NodeID("m")!, owner: AccountID("o")!, deposit: Wei(5))
            ),
            (
                "MetaNodeVoted", #"{"node": "m", "voter": "v", "approve": false}"#,
                .metaNodeVoted(node: NodeID("m")!, voter: NodeID("v")!, approve: false)
            ),
            ("ResourceNodeSuspended", #"{"node": "n"}"#, .resourceNodeSuspended(node: NodeID("n")!)),
            ("ResourceNodeResumed", #"{"node": "n"}"#, .resourceNodeResumed(node: NodeID("n")!)),
            ("NodeDeactivated", #"{"node": "n", "storedBytes": "0"}"#, .nodeDeactivated(node: NodeID("n")!, storedBytes: 0)),
            ("NodeShutDown", #"{"node": "n"}"#, .nodeShutDown(node: NodeID("n")!)),
            (
                "ValidatorCreated", #"{"validator": "val", "operator": "op", "selfDelegation": "100", "commissionBp": 10000}"#,
                .validatorCreated(validator: ValidatorID("val")!, operator: AccountID("op")!, selfDelegation: Wei(100), commissionBp: 10_000)
            ),
            (
                "Delegated", #"{"delegator": "d", "validator": "val", "amount": "5"}"#,
                .delegated(delegator: AccountID("d")!, validator: ValidatorID("val")!, amount: Wei(5))
            ),
            (
                "Undelegated", #"{"delegator": "d", "validator": "val", "amount": "5"}"#,
                .undelegated(delegator: AccountID("d")!, validator: ValidatorID("val")!, amount: Wei(5))
            ),
            ("GasFeesCollected", #"{"amount": "340282366920938463463374607431768211455"}"#, .gasFeesCollected(amount: Wei(UInt128.max))),
        ]
        var seenTypes = Set<String>()
        for (type, data, payload) in cases {
            let event = accept(line(type, data))
            XCTAssertEqual(event?.payload, payload, type)
            XCTAssertEqual(event?.type.rawValue, type)
            seenTypes.insert(type)
        }
        XCTAssertEqual(seenTypes, Set(EventType.allCases.map(\.rawValue)), "every type is covered")
    }

    func testEnvelopeRules() {
        refuse("[1]", "event: an event must be a JSON object, got a JSON array")
        refuse(#"{"id": "tx-1", "type": "Funded""#, "event: invalid JSON: unexpected end of input at byte 31")
        refuse(#"{"id": "tx-1", "id": "tx-2"}"#, #"event: invalid JSON: duplicate key "id" at byte 15"#)
        refuse(
            #"{"id": "tx-1", "type": "Funded", "time": "2026-01-01T00:10:00Z", "data": {}, "extra": 1}"#,
            #"event "tx-1": extra: unknown field (an event has id, type, time, data and optionally metadata)"#)
        refuse(#"{"type": "Funded", "time": "2026-01-01T00:10:00Z", "data": {}}"#, "event: id: missing")
        refuse(
            #"{"id": 12, "type": "Funded", "time": "2026-01-01T00:10:00Z", "data": {}}"#,
            "event: id: must be a JSON string, got a JSON number")
        refuse(
            line("Funded", "{}", id: "tx 1"),
            #"event: id: must be 1–128 printable ASCII characters without spaces, got "tx 1""#)
        refuse(
            line("Funded", "{}", id: ""),
            #"event: id: must be 1–128 printable ASCII characters without spaces, got """#)
        refuse(
            line("Funded", "{}", id: String(repeating: "x", count: 129)),
            #"event: id: must be 1–128 printable ASCII characters without spaces, got "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…""#)
        XCTAssertNotNil(accept(line("Funded", #"{"account": "a", "amount": "1"}"#, id: String(repeating: "x", count: 128))))
        refuse(
            line("Funded", "{}", id: "tx-é"),
            #"event: id: must be 1–128 printable ASCII characters without spaces, got "tx-é""#)
        refuse(#"{"id": "tx-1", "time": "2026-01-01T00:10:00Z", "data": {}}"#, #"event "tx-1": type: missing"#)
        refuse(line("Minted", "{}"), #"event "tx-1": type: unknown event type "Minted""#)
        refuse(line("funded", "{}"), #"event "tx-1": type: unknown event type "funded""#)
        refuse(#"{"id": "tx-1", "type": "Funded", "data": {}}"#, #"event "tx-1": time: missing"#)
        refuse(#"{"id": "tx-1", "type": "Funded", "time": "2026-01-01T00:10:00Z"}"#, #"event "tx-1": data: missing"#)
        refuse(
            #"{"id": "tx-1", "type": "Funded", "time": "2026-01-01T00:10:00Z", "data": []}"#,
            #"event "tx-1": data: must be a JSON object, got a JSON array"#)
        refuse(
            #"{"id": "tx-1", "type": "Funded", "time": "2026-01-01T00:10:00Z", "data": null}"#,
            #"event "tx-1": data: must be a JSON object, got null"#)
    }

    func testTimeRules() {
        refuse(
            line("Funded", #"{"account": "a", "amount": "1"}"#, time: "2026-01-01T01:10:00+01:00"),
            #"event "tx-1": time: "2026-01-01T01:10:00+01:00" has offset +01:00; times must be in UTC (Z or +00:00)"#)
        refuse(
            line("Funded", #"{"account": "a", "amount": "1"}"#, time: "2026-01-01T00:10:00.1234567Z"),
            #"event "tx-1": time: "2026-01-01T00:10:00.1234567Z" has 7 fractional digits; at most 6 (microseconds) are kept, so it is refused rather than rounded"#
        )
        refuse(
            line("Funded", #"{"account": "a", "amount": "1"}"#, time: "yesterday"),
            #"event "tx-1": time: "yesterday" must be an RFC 3339 time in UTC like 2026-01-01T00:10:00Z"#)
        refuse(
            line("Funded", #"{"account": "a", "amount": "1"}"#, time: "2025-02-29T00:00:00Z"),
            #"event "tx-1": time: "2025-02-29T00:00:00Z" day 29 does not exist in 2025-02"#)
        let e = accept(line("Funded", #"{"account": "a", "amount": "1"}"#, time: "2026-01-01T00:10:00.25+00:00"))
        XCTAssertEqual(e?.time.rfc3339, "2026-01-01T00:10:00.25Z")
    }

    func testMetadata() throws {
        let text =
            #"{"id": "tx-1", "type": "Funded", "time": "2026-01-01T00:10:00Z", "data": {"account": "a", "amount": "1"}, "metadata": {"correlationId": "c-1", "causationId": "tx-0"}}"#
        let envelope = try EventEnvelope.parse(line: text)
        XCTAssertEqual(envelope.metadata, ["correlationId": "c-1", "causationId": "tx-0"])
        XCTAssertNotNil(accept(text))
        refuse(
            #"{"id": "tx-1", "type": "Funded", "time": "2026-01-01T00:10:00Z", "data": {}, "metadata": {"n": 1}}"#,
            #"event "tx-1": metadata.n: must be a JSON string, got a JSON number"#)
        refuse(
            #"{"id": "tx-1", "type": "Funded", "time": "2026-01-01T00:10:00Z", "data": {}, "metadata": "x"}"#,
            #"event "tx-1": metadata: must be a JSON object of strings, got a JSON string"#)
    }

    func testDataFieldSets() {
        refuse(line("Funded", #"{"account": "a"}"#), #"event "tx-1": data.amount: missing"#)
        refuse(line("Funded", #"{"amount": "1"}"#), #"event "tx-1": data.account: missing"#)
        refuse(
            line("Funded", #"{"account": "a", "amount": "1", "memo": "hi"}"#),
            #"event "tx-1": data.memo: unknown field for Funded (expected account, amount)"#)
        refuse(
            line("Funded", #"{"account": "a", "amout": "1"}"#),
            #"event "tx-1": data.amout: unknown field for Funded (expected account, amount)"#)
        // Of several unknown fields the first in byte order is named, whatever the input order.
        refuse(
            line("EpochClosed", #"{"zz": 1, "epoch": 1, "b": 2, "aa": 3}"#),
            #"event "tx-1": data.aa: unknown field for EpochClosed (expected epoch)"#)
        refuse(
            line("Funded", #"{"account": "a", "amount": "1", "account": "b"}"#),
            #"event: invalid JSON: duplicate key "account" at byte 105"#)
    }

    func testAmounts() {
        func funded(_ amount: String) -> String { line("Funded", #"{"account": "a", "amount": \#(amount)}"#) }
        refuse(funded("25"), #"event "tx-1": data.amount: must be a string of decimal digits, got a JSON number"#)
        refuse(funded(#""""#), #"event "tx-1": data.amount: must be a string of decimal digits, got an empty string"#)
        refuse(funded(#""-1""#), #"event "tx-1": data.amount: must be a string of decimal digits, got "-1""#)
        refuse(funded(#""1.0""#), #"event "tx-1": data.amount: must be a string of decimal digits, got "1.0""#)
        refuse(funded(#""1e3""#), #"event "tx-1": data.amount: must be a string of decimal digits, got "1e3""#)
        refuse(funded(#"" 1""#), #"event "tx-1": data.amount: must be a string of decimal digits, got " 1""#)
        refuse(funded(#""+1""#), #"event "tx-1": data.amount: must be a string of decimal digits, got "+1""#)
        refuse(funded("null"), #"event "tx-1": data.amount: must be a string of decimal digits, got null"#)
        refuse(
            funded(#""340282366920938463463374607431768211456""#),
            #"event "tx-1": data.amount: "340282366920938463463374607431768211456" is out of range (at most 2^128 − 1)"#)
        XCTAssertEqual(accept(funded(#""0007""#))?.payload, .funded(account: AccountID("a")!, amount: Wei(7)))
        // Every amount/size field follows the same rule.
        refuse(
            line("Genesis", #"{"ozoneLimit": 1000, "nodes": []}"#),
            #"event "tx-1": data.ozoneLimit: must be a string of decimal digits, got a JSON number"#)
        refuse(
            line("ResourceNodeActivated", #"{"node": "n", "owner": "o", "deposit": 5}"#),
            #"event "tx-1": data.deposit: must be a string of decimal digits, got a JSON number"#)
        refuse(
            line("ValidatorCreated", #"{"validator": "v", "operator": "o", "selfDelegation": "x", "commissionBp": 1}"#),
            #"event "tx-1": data.selfDelegation: must be a string of decimal digits, got "x""#)
        refuse(
            line("TrafficServed", #"{"epoch": 1, "node": "n", "account": "a", "kind": "download", "bytes": 10}"#),
            #"event "tx-1": data.bytes: must be a string of decimal digits, got a JSON number"#)
        refuse(
            line("NodeDeactivated", #"{"node": "n", "storedBytes": "-5"}"#),
            #"event "tx-1": data.storedBytes: must be a string of decimal digits, got "-5""#)
        refuse(
            line("TrafficServed", #"{"epoch": 1, "node": "n", "account": "a", "kind": "query", "bytes": "1", "records": 3}"#),
            #"event "tx-1": data.records: must be a string of decimal digits, got a JSON number"#)
    }

    func testIntegers() {
        func closed(_ epoch: String) -> String { line("EpochClosed", #"{"epoch": \#(epoch)}"#) }
        refuse(closed(#""3""#), #"event "tx-1": data.epoch: must be a JSON integer, got a JSON string"#)
        refuse(closed("1.0"), #"event "tx-1": data.epoch: must be a JSON integer, got 1.0"#)
        refuse(closed("1e3"), #"event "tx-1": data.epoch: must be a JSON integer, got 1e3"#)
        refuse(closed("0"), #"event "tx-1": data.epoch: must be ≥ 1 (epochs are numbered 1, 2, 3, …), got 0"#)
        refuse(closed("-4"), #"event "tx-1": data.epoch: must be ≥ 1 (epochs are numbered 1, 2, 3, …), got -4"#)
        refuse(closed("9223372036854775808"), #"event "tx-1": data.epoch: 9223372036854775808 is out of range"#)
        refuse(
            line("TrafficServed", #"{"epoch": 1, "node": "n", "account": "a", "kind": "upload", "bytes": "1", "replicas": "3"}"#),
            #"event "tx-1": data.replicas: must be a JSON integer, got a JSON string"#)
        func validator(_ bp: String) -> String {
            line("ValidatorCreated", #"{"validator": "v", "operator": "o", "selfDelegation": "1", "commissionBp": \#(bp)}"#)
        }
        refuse(validator("10001"), #"event "tx-1": data.commissionBp: must be between 0 and 10000 basis points, got 10001"#)
        refuse(validator("-1"), #"event "tx-1": data.commissionBp: must be between 0 and 10000 basis points, got -1"#)
        refuse(validator(#""100""#), #"event "tx-1": data.commissionBp: must be a JSON integer, got a JSON string"#)
        XCTAssertNotNil(accept(validator("0")))
    }

    func testTrafficOptionalFields() {
        func traffic(_ kind: String, _ extra: String) -> String {
            line("TrafficServed", #"{"epoch": 1, "node": "n", "account": "a", "kind": "\#(kind)", "bytes": "1"\#(extra)}"#)
        }
        refuse(traffic("download", #", "replicas": 3"#), #"event "tx-1": data.replicas: only allowed when kind is "upload""#)
        refuse(traffic("query", #", "replicas": 3"#), #"event "tx-1": data.replicas: only allowed when kind is "upload""#)
        refuse(traffic("upload", #", "records": "3""#), #"event "tx-1": data.records: only allowed when kind is "query""#)
        refuse(traffic("replication", #", "records": "3""#), #"event "tx-1": data.records: only allowed when kind is "query""#)
        refuse(traffic("stream", ""), #"event "tx-1": data.kind: must be "upload" or "download" or "query" or "replication", got "stream""#)
        // Economic rules are not checked here: replicas below 3 is the engine's refusal.
        XCTAssertNotNil(accept(traffic("upload", #", "replicas": 1"#)))
    }

    func testIdentifiersAndBooleans() {
        refuse(
            line("Transferred", #"{"from": "a", "to": "b c", "amount": "1"}"#),
            #"event "tx-1": data.to: must be 1–128 printable ASCII characters without spaces, got "b c""#)
        refuse(
            line("Transferred", #"{"from": 7, "to": "b", "amount": "1"}"#),
            #"event "tx-1": data.from: must be a JSON string, got a JSON number"#)
        refuse(
            line("MetaNodeVoted", #"{"node": "m", "voter": "v", "approve": "yes"}"#),
            #"event "tx-1": data.approve: must be true or false, got a JSON string"#)
        refuse(
            line("MetaNodeVoted", #"{"node": "m", "voter": "", "approve": true}"#),
            #"event "tx-1": data.voter: must be 1–128 printable ASCII characters without spaces, got """#)
    }

    func testGenesisNodes() {
        refuse(line("Genesis", #"{"ozoneLimit": "1", "nodes": []}"#), #"event "tx-1": data.nodes: must list at least one node"#)
        refuse(
            line("Genesis", #"{"ozoneLimit": "1", "nodes": {}}"#),
            #"event "tx-1": data.nodes: must be a JSON array of nodes, got a JSON object"#)
        let good = #"{"node": "n1", "kind": "resource", "owner": "o", "deposit": "5"}"#
        refuse(
            line("Genesis", #"{"ozoneLimit": "1", "nodes": [\#(good), \#(good), "n3"]}"#),
            #"event "tx-1": data.nodes[2]: must be a JSON object, got a JSON string"#)
        refuse(
            line("Genesis", #"{"ozoneLimit": "1", "nodes": [\#(good), \#(good), {"node": "n3", "kind": "meta", "owner": "o", "deposit": 5}]}"#),
            #"event "tx-1": data.nodes[2].deposit: must be a string of decimal digits, got a JSON number"#)
        refuse(
            line("Genesis", #"{"ozoneLimit": "1", "nodes": [{"node": "n3", "kind": "meta", "owner": "o"}]}"#),
            #"event "tx-1": data.nodes[0].deposit: missing"#)
        refuse(
            line("Genesis", #"{"ozoneLimit": "1", "nodes": [{"node": "n3", "kind": "validator", "owner": "o", "deposit": "1"}]}"#),
            #"event "tx-1": data.nodes[0].kind: must be "resource" or "meta", got "validator""#)
        refuse(
            line("Genesis", #"{"ozoneLimit": "1", "nodes": [{"node": "n3", "kind": "meta", "owner": "o", "deposit": "1", "x": 1}]}"#),
            #"event "tx-1": data.nodes[0].x: unknown field for a genesis node (expected node, kind, owner, deposit)"#)
    }

    func testErrorCarriesStructuredFields() {
        do {
            _ = try LedgerEvent.parse(line: line("Funded", #"{"account": "a", "amount": 1}"#))
            XCTFail("accepted")
        } catch {
            XCTAssertEqual(error.eventID, "tx-1")
            XCTAssertEqual(error.field, "data.amount")
            XCTAssertEqual(error.reason, "must be a string of decimal digits, got a JSON number")
            XCTAssertNil(error.jsonError)
        }
        do {
            _ = try LedgerEvent.parse(line: "{")
            XCTFail("accepted")
        } catch {
            XCTAssertNil(error.eventID)
            XCTAssertEqual(error.field, "")
            XCTAssertEqual(error.jsonError, JSONParseError(.unexpectedEnd, at: 1))
        }
    }
}
