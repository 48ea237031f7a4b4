import XCTest
final class ProjectionTestsPlaceholder: XCTestCase { func testPlaceholder() {} }
