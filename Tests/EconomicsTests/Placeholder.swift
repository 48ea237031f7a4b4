import XCTest
final class EconomicsTestsPlaceholder: XCTestCase { func testPlaceholder() {} }
