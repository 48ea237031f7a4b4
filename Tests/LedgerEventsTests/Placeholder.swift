import XCTest
final class LedgerEventsTestsPlaceholder: XCTestCase { func testPlaceholder() {} }
