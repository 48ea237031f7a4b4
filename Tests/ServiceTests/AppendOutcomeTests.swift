import LedgerEvents
import XCTest

@testable import StratosService

/// `AppendOutcome.canonicalUTF8`, written by hand for speed, is the canonical JSON of the
/// answer as a `JSONValue` would write it.
final class AppendOutcomeTests: XCTestCase {
    func testTheAnswerIsTheCanonicalJSON() {
        let ids = ["a", #"quote " and \ backslash"#, "tab\tand\u{1}control", "ünï-cødé 💸", ""]
        let outcomes = [
            AppendOutcome(items: [.init(eventID: "e-1", position: 7, duplicate: false)], appended: 1, duplicates: 0, head: 7),
            AppendOutcome(items: [.init(eventID: "e-1", position: 7, duplicate: true)], appended: 0, duplicates: 1, head: 9),
            AppendOutcome(
                items: ids.enumerated().map { .init(eventID: $0.element, position: Int64(100 + $0.offset), duplicate: $0.offset % 2 == 1) },
                appended: 3, duplicates: 2, head: Int64.max),
            AppendOutcome(items: [], appended: 0, duplicates: 0, head: 0),
        ]
        for outcome in outcomes {
            let reference = JSONValue.object([
                "appended": .integer(outcome.appended),
                "duplicates": .integer(outcome.duplicates),
                "head": .integer(outcome.head),
                "events": .array(
                    outcome.items.map {
                        .object([
                            "id": .string($0.eventID), "position": .integer($0.position),
                            "status": .string($0.duplicate ? "duplicate" : "appended"),
                        ])
                    }),
            ])
            XCTAssertEqual(String(decoding: outcome.canonicalUTF8, as: UTF8.self), reference.canonicalText)
        }
    }
}
