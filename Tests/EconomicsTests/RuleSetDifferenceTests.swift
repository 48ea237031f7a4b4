import LedgerEvents
import StratosEconomics
import XCTest

/// `RuleSet.firstEpochWithOtherParameters(than:)`: the epoch N from which a rebuild under a fix
/// has to replay (everything before it may be taken over from the serving build).
final class RuleSetDifferenceTests: XCTestCase {
    func load(_ texts: String...) throws -> [RuleSet] {
        try RuleSet.load(texts.enumerated().map { ("f\($0.offset).json", $0.element) })
    }

    func testAChangeFromAnEpochDiffersFromThatEpoch() throws {
        let fix = try load(#"{"name": "fix", "extends": "paper-v1", "changes": [{"fromEpoch": 1001, "set": {"lockupEpochs": 4032}}]}"#)[0]
        XCTAssertEqual(RuleSet.paperV1.firstEpochWithOtherParameters(than: fix), 1001)
        XCTAssertEqual(fix.firstEpochWithOtherParameters(than: .paperV1), 1001)
        XCTAssertEqual(fix.parameters(forEpoch: 1000), RuleSet.paperV1.parameters(forEpoch: 1000))
    }

    func testEqualParametersUnderAnotherNameNeverDiffer() throws {
        let copy = try load(#"{"name": "copy", "extends": "paper-v1"}"#)[0]
        XCTAssertNotEqual(copy, .paperV1)
        XCTAssertNil(copy.firstEpochWithOtherParameters(than: .paperV1))
        XCTAssertNil(RuleSet.paperV1.firstEpochWithOtherParameters(than: .paperV1))
        // A change that sets what is already in force is dropped: still no difference.
        let noop = try load(#"{"name": "noop", "extends": "paper-v1", "changes": [{"fromEpoch": 50, "set": {"lockupEpochs": 2016}}]}"#)[0]
        XCTAssertNil(noop.firstEpochWithOtherParameters(than: .paperV1))
    }

    func testOtherBaseParametersDifferFromEpochOne() throws {
        XCTAssertEqual(RuleSet.paperV1.firstEpochWithOtherParameters(than: .paperV1EffectiveS), 1)
        let slower = try load(#"{"name": "slower", "extends": "paper-v1", "parameters": {"coolingOffDays": 20}}"#)[0]
        XCTAssertEqual(slower.firstEpochWithOtherParameters(than: .paperV1), 1)
        let fromOne = try load(#"{"name": "from-one", "extends": "paper-v1", "changes": [{"fromEpoch": 1, "set": {"settledShareBp": 7000}}]}"#)[0]
        XCTAssertEqual(fromOne.firstEpochWithOtherParameters(than: .paperV1), 1)
    }

    /// Both sets have changes: the same ones before N, then one that differs, or the same change
    /// starting at another epoch, or one set with a change more.
    func testChangesOnBothSidesCompareAtEveryStart() throws {
        let sets = try load(
            #"{"name": "a", "extends": "paper-v1", "changes": [{"fromEpoch": 10, "set": {"unbondingDays": 30}}, {"fromEpoch": 40, "set": {"settledShareBp": 7000}}]}"#,
            #"{"name": "b", "extends": "paper-v1", "changes": [{"fromEpoch": 10, "set": {"unbondingDays": 30}}, {"fromEpoch": 40, "set": {"settledShareBp": 6000}}]}"#,
            #"{"name": "c", "extends": "paper-v1", "changes": [{"fromEpoch": 10, "set": {"unbondingDays": 30}}, {"fromEpoch": 55, "set": {"settledShareBp": 7000}}]}"#,
            #"{"name": "d", "extends": "paper-v1", "changes": [{"fromEpoch": 10, "set": {"unbondingDays": 30}}, {"fromEpoch": 40, "set": {"settledShareBp": 7000}}, {"fromEpoch": 90, "set": {"coolingOffDays": 7}}]}"#,
            #"{"name": "e", "extends": "paper-v1", "changes": [{"fromEpoch": 12, "set": {"unbondingDays": 30}}, {"fromEpoch": 40, "set": {"settledShareBp": 7000}}]}"#,
            // Reaches a's parameters from epoch 40 by another path: differs only at 10–39.
            #"{"name": "f", "extends": "paper-v1", "changes": [{"fromEpoch": 40, "set": {"unbondingDays": 30, "settledShareBp": 7000}}]}"#)
        let (a, b, c, d, e, f) = (sets[0], sets[1], sets[2], sets[3], sets[4], sets[5])
        XCTAssertEqual(a.firstEpochWithOtherParameters(than: b), 40)
        XCTAssertEqual(a.firstEpochWithOtherParameters(than: c), 40)
        XCTAssertEqual(c.firstEpochWithOtherParameters(than: a), 40)
        XCTAssertEqual(a.firstEpochWithOtherParameters(than: d), 90)
        XCTAssertEqual(d.firstEpochWithOtherParameters(than: a), 90)
        XCTAssertEqual(a.firstEpochWithOtherParameters(than: e), 10)
        XCTAssertEqual(a.firstEpochWithOtherParameters(than: f), 10)
        XCTAssertEqual(RuleSet.paperV1.firstEpochWithOtherParameters(than: a), 10)
        // The answer agrees with comparing every epoch one by one.
        for (x, y) in [(a, b), (a, c), (a, d), (a, e), (a, f), (b, d), (c, e)] {
            let bruteForce = (1...200).first { x.parameters(forEpoch: $0) != y.parameters(forEpoch: $0) }
            XCTAssertEqual(x.firstEpochWithOtherParameters(than: y), bruteForce, "\(x.name) / \(y.name)")
        }
    }

    /// The head prefix is what a head starts with, and the state after it does not depend on the name.
    func testCheckpointHeadPrefixIsTheStartOfAHead() throws {
        let copy = try load(#"{"name": "a-longer-name", "extends": "paper-v1"}"#)[0]
        var d1 = Driver(rules: .paperV1)
        var d2 = Driver(rules: copy)
        for i in 0..<2 {
            var d = i == 0 ? d1 : d2
            try d.genesis(ozoneLimit: 1_000_000, [("stsds1g0", .resource, "st1owner", 5 * Wei.perSTOS)])
            try d.fund("st1user", 7 * Wei.perSTOS)
            _ = try d.closeEpoch()
            if i == 0 { d1 = d } else { d2 = d }
        }
        let h1 = d1.economy.encodeCheckpointHead()
        let h2 = d2.economy.encodeCheckpointHead()
        let p1 = Economy.checkpointHeadPrefix(rulesName: "paper-v1")
        let p2 = Economy.checkpointHeadPrefix(rulesName: "a-longer-name")
        XCTAssertEqual(Array(h1.prefix(p1.count)), p1)
        XCTAssertEqual(Array(h2.prefix(p2.count)), p2)
        XCTAssertEqual(Array(h1.dropFirst(p1.count)), Array(h2.dropFirst(p2.count)))
        let renamed = p2 + h1.dropFirst(p1.count)
        XCTAssertEqual(try Economy(checkpoint: renamed, ruleSets: [copy]).encodeCheckpointHead(), h2)
    }
}
