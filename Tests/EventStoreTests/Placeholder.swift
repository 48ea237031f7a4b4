import XCTest
final class EventStoreTestsPlaceholder: XCTestCase { func testPlaceholder() {} }
