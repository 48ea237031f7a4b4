import XCTest

@testable import LedgerEvents

final class JSONParserTests: XCTestCase {
    func parse(_ text: String) throws -> JSONValue { try JSONValue.parse(text) }

    func assertRefused(
        _ text: String, _ kind: JSONParseError.Kind, at offset: Int,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        do {
            let v = try JSONValue.parse(text)
            XCTFail("accepted \(text) as \(v)", file: file, line: line)
        } catch {
            XCTAssertEqual(error.kind, kind, "\(text)", file: file, line: line)
            XCTAssertEqual(error.offset, offset, "\(text)", file: file, line: line)
        }
    }

    func testScalarsAndStructures() throws {
        XCTAssertEqual(try parse("null"), .null)
        XCTAssertEqual(try parse(" true "), .bool(true))
        XCTAssertEqual(try parse("false"), .bool(false))
        XCTAssertEqual(try parse("[]"), .array([]))
        XCTAssertEqual(try parse("{}"), .object([:]))
        XCTAssertEqual(
            try parse(#"[1, "a", {"b": [null]}]"#),
            .array([.number("1"), .string("a"), .object(["b": .array([.null])])]))
        XCTAssertEqual(try parse("\t\r\n{ \"a\" :\n1 }\n"), .object(["a": .number("1")]))
    }

    func testNumbersKeepTheirLiteralText() throws {
        for literal in [
            "0", "-0", "12", "-12", "1.5", "1.50", "1e3", "1E+3", "2.5e-10",
            "340282366920938463463374607431768211456123456789",
        ] {
            XCTAssertEqual(try parse(literal), .number(literal))
        }
    }

    func testInvalidNumbers() {
        assertRefused("01", .invalidNumber, at: 0)
        assertRefused("-", .invalidNumber, at: 1)
        assertRefused("-a", .invalidNumber, at: 1)
        assertRefused("1.", .invalidNumber, at: 2)
        assertRefused("1.e3", .invalidNumber, at: 2)
        assertRefused("1e", .invalidNumber, at: 2)
        assertRefused("1e+", .invalidNumber, at: 3)
        assertRefused(".5", .unexpectedByte(UInt8(ascii: ".")), at: 0)
        assertRefused("+1", .unexpectedByte(UInt8(ascii: "+")), at: 0)
        assertRefused("[1x]", .unexpectedByte(UInt8(ascii: "x")), at: 2)
    }

    func testStringEscapes() throws {
        XCTAssertEqual(try parse(#""a\"b\\c\/d\b\f\n\r\t""#), .string("a\"b\\c/d\u{8}\u{c}\n\r\t"))
        XCTAssertEqual(try parse(#""\u0041\u00e9\u20AC""#), .string("Aé€"))
        XCTAssertEqual(try parse(#""\ud83d\ude00""#), .string("😀"))
        XCTAssertEqual(try parse(#""\u0000""#), .string("\u{0}"))
        XCTAssertEqual(try parse("\"héllo 😀\""), .string("héllo 😀"))
    }

    func testInvalidStrings() {
        assertRefused(#""\x""#, .invalidEscape, at: 1)
        assertRefused(#""\u12""#, .invalidUnicodeEscape, at: 1)
        assertRefused(#""\u12G4""#, .invalidUnicodeEscape, at: 1)
        assertRefused(#""\ud83d""#, .invalidUnicodeEscape, at: 1) // lone high surrogate
        assertRefused(#""\ud83dx""#, .invalidUnicodeEscape, at: 1)
        assertRefused(#""\ud83d\u0041""#, .invalidUnicodeEscape, at: 1) // high + non-low
        assertRefused(#""\ude00""#, .invalidUnicodeEscape, at: 1) // lone low surrogate
        assertRefused("\"a\tb\"", .controlCharacterInString, at: 2)
        assertRefused("\"abc", .unexpectedEnd, at: 4)
    }

    func testInvalidUTF8() {
        func refused(_ bytes: [UInt8], at offset: Int, line: UInt = #line) {
            XCTAssertThrowsError(try JSONValue.parse(bytes), line: line) { error in
                XCTAssertEqual((error as? JSONParseError)?.kind, .invalidUTF8, line: line)
                XCTAssertEqual((error as? JSONParseError)?.offset, offset, line: line)
            }
        }
        refused([0x22, 0xFF, 0x22], at: 1)
        refused([0x22, 0x61, 0xC3, 0x22], at: 2) // truncated 2-byte sequence
        refused([0x22, 0xC0, 0xAF, 0x22], at: 1) // overlong "/"
        refused([0x22, 0xE0, 0x80, 0xAF, 0x22], at: 1) // overlong 3-byte
        refused([0x22, 0xED, 0xA0, 0x80, 0x22], at: 1) // encoded surrogate
        refused([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], at: 1) // above U+10FFFF
        XCTAssertEqual(try JSONValue.parse([0x22, 0xF0, 0x9F, 0x98, 0x80, 0x22]), .string("😀"))
    }

    func testDuplicateKeysAreRefused() {
        assertRefused(#"{"a": 1, "a": 2}"#, .duplicateKey("a"), at: 9)
        assertRefused(#"{"x": {"a": 1, "b": 2, "a": 3}}"#, .duplicateKey("a"), at: 23)
        // Escapes are resolved before comparing keys.
        assertRefused(#"{"a": 1, "\u0061": 2}"#, .duplicateKey("a"), at: 9)
    }

    func testDepthLimit() throws {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        XCTAssertNoThrow(try parse(ok))
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        assertRefused(deep, .tooDeep(limit: 64), at: 64)
    }

    func testTrailingGarbageAndTruncation() {
        assertRefused("{} x", .trailingCharacters, at: 3)
        assertRefused("1 2", .trailingCharacters, at: 2)
        assertRefused("", .unexpectedEnd, at: 0)
        assertRefused("   ", .unexpectedEnd, at: 3)
        assertRefused(#"{"a": 1"#, .unexpectedEnd, at: 7)
        assertRefused(#"{"a" 1}"#, .unexpectedByte(UInt8(ascii: "1")), at: 5)
        assertRefused(#"{"a": 1,}"#, .unexpectedByte(UInt8(ascii: "}")), at: 8)
        assertRefused("[1,]", .unexpectedByte(UInt8(ascii: "]")), at: 3)
        assertRefused("[1 2]", .unexpectedByte(UInt8(ascii: "2")), at: 3)
        assertRefused("tru", .unexpectedEnd, at: 3)
        assertRefused("nul1", .unexpectedByte(UInt8(ascii: "1")), at: 3)
        assertRefused("{a: 1}", .unexpectedByte(UInt8(ascii: "a")), at: 1)
    }

    func testErrorDescriptionNamesTheOffset() {
        XCTAssertEqual(JSONParseError(.duplicateKey("a"), at: 9).description, #"duplicate key "a" at byte 9"#)
        XCTAssertEqual(JSONParseError(.unexpectedByte(0x01), at: 3).description, "unexpected byte 0x01 at byte 3")
        XCTAssertEqual(
            JSONParseError(.unexpectedByte(UInt8(ascii: "x")), at: 3).description,
            "unexpected character 'x' at byte 3")
    }

    func testNonContiguousInputIsParsedToo() throws {
        let bytes = Array(#"{"a": ["b"]}"#.utf8)
        XCTAssertEqual(try JSONValue.parse(bytes.lazy.map { $0 }), .object(["a": .array([.string("b")])]))
        XCTAssertEqual(try JSONValue.parse(bytes[0...]), .object(["a": .array([.string("b")])]))
    }
}
