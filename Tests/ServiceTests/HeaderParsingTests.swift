import HTTPTypes
import Hummingbird
import XCTest

@testable import StratosService

/// The header helpers of the append path, written without Foundation (BearerAuth.swift).
final class HeaderParsingTests: XCTestCase {
    func testTrimmedBlanks() {
        XCTAssertEqual(trimmedBlanks("  token \t"), "token")
        XCTAssertEqual(trimmedBlanks("token"), "token")
        XCTAssertEqual(trimmedBlanks(" a b "), "a b")
        XCTAssertEqual(trimmedBlanks(" \t "), "")
        XCTAssertEqual(trimmedBlanks(""), "")
        XCTAssertEqual(trimmedBlanks("application/json ".split(separator: ";")[0]), "application/json")
    }

    func testTheSchemeIsCaseInsensitive() {
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            XCTAssertTrue(scheme.utf8.elementsEqual("bearer".utf8, by: asciiCaseInsensitive), scheme)
        }
        for other in ["Basic", "bearerx", "beare", "bearer "] {
            XCTAssertFalse(other.utf8.elementsEqual("bearer".utf8, by: asciiCaseInsensitive), other)
        }
    }

    func testAuthorization() throws {
        let auth = BearerAuthMiddleware(access: .write, tokens: .init(write: "secret", read: nil))
        func request(_ value: String) -> Request {
            var head = HTTPRequest(method: .post, scheme: "http", authority: "localhost", path: "/v1/events")
            head.headerFields[.authorization] = value
            return Request(head: head, body: .init(buffer: .init()))
        }
        XCTAssertNoThrow(try auth.authorize(request("Bearer secret")))
        XCTAssertNoThrow(try auth.authorize(request("bearer   secret \t")))
        XCTAssertThrowsError(try auth.authorize(request("Bearer secre")))
        XCTAssertThrowsError(try auth.authorize(request("Basic secret")))
        XCTAssertThrowsError(try auth.authorize(request("Bearer")))
    }
}
