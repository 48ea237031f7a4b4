/// A byte-level, exact JSON parser (RFC 8259).
///
/// Why our own: event import is a hot path, and money must never pass through floating point.
/// Numbers are validated against the JSON grammar and kept as their literal text; strings are
/// fully unescaped (including `\uXXXX` surrogate pairs) and must be valid UTF-8; duplicate object
/// keys are refused (two readers of the same bytes could otherwise disagree on the value); nesting
/// is limited so a hostile line cannot exhaust the stack; anything after the value but whitespace
/// is refused.

/// Why a JSON text was refused, and at which byte (0-based offset into the input).
public struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The input ended inside a value (or was empty / only whitespace).
        case unexpectedEnd
        /// A byte that cannot start or continue a value here.
        case unexpectedByte(UInt8)
        /// A number literal that breaks the JSON grammar (e.g. `01`, `1.`, `-`, `1e`).
        case invalidNumber
        /// A backslash escape other than `\" \\ \/ \b \f \n \r \t \uXXXX`.
        case invalidEscape
        /// A `\u` escape without four hex digits, or a lone / mismatched UTF-16 surrogate.
        case invalidUnicodeEscape
        /// A raw control character (U+0000…U+001F) inside a string.
        case controlCharacterInString
        /// Bytes that are not well-formed UTF-8.
        case invalidUTF8
        /// The same key twice in one object.
        case duplicateKey(String)
        /// Arrays/objects nested deeper than the limit.
        case tooDeep(limit: Int)
        /// Non-whitespace after the complete value.
        case trailingCharacters
    }

    public var kind: Kind
    /// 0-based byte offset in the input where the problem was found.
    public var offset: Int

    public init(_ kind: Kind, at offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    public var description: String {
        let what: String
        switch kind {
        case .unexpectedEnd: what = "unexpected end of input"
        case .unexpectedByte(let b):
            if b >= 0x20 && b < 0x7F {
                what = "unexpected character '\(Character(Unicode.Scalar(b)))'"
            } else {
                what = "unexpected byte 0x\(hexByte(b))"
            }
        case .invalidNumber: what = "invalid number"
        case .invalidEscape: what = "invalid escape sequence in string"
        case .invalidUnicodeEscape: what = "invalid \\u escape (need 4 hex digits and paired surrogates)"
        case .controlCharacterInString: what = "unescaped control character in string"
        case .invalidUTF8: what = "invalid UTF-8"
        case .duplicateKey(let key): what = "duplicate key \"\(key)\""
        case .tooDeep(let limit): what = "nesting deeper than \(limit) levels"
        case .trailingCharacters: what = "unexpected characters after the JSON value"
        }
        return "\(what) at byte \(offset)"
    }
}

@inline(__always)
func hexByte(_ b: UInt8) -> String {
    let digits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "A", "B", "C", "D", "E", "F"]
    return String([digits[Int(b >> 4)], digits[Int(b & 0xF)]])
}

extension JSONValue {
    /// Maximum nesting of arrays and objects accepted by `parse`. Events nest 3 deep; 64 leaves
    /// room for metadata while bounding recursion.
    public static let maximumDepth = 64

    /// Parses one complete JSON text (surrounding whitespace allowed).
    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONParseError) -> JSONValue {
        let result: Result<JSONValue, JSONParseError>? = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(JSONParseError) in try parse(buffer: buffer) }
        }
        if let result { return try result.get() }
        let copy = Array(bytes)
        return try copy.withUnsafeBufferPointer { (buffer) throws(JSONParseError) in try parse(buffer: buffer) }
    }

    /// Parses one complete JSON text given as a `String`.
    public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        var text = text
        return try text.withUTF8 { buffer in
            Result { () throws(JSONParseError) in try parse(buffer: buffer) }
        }.get()
    }

    static func parse(buffer: UnsafeBufferPointer<UInt8>) throws(JSONParseError) -> JSONValue {
        var parser = JSONParser(buffer)
        return try parser.parseDocument()
    }
}

/// One member of a JSON object, kept in input order.
struct JSONMember {
    var key: String
    var value: JSONValue
}

/// The parser proper: a cursor over a contiguous buffer.
struct JSONParser {
    let buffer: UnsafeBufferPointer<UInt8>
    var position = 0
    var depth = 0
    /// Scratch space for strings that need unescaping, reused across strings.
    var scratch: [UInt8] = []

    init(_ buffer: UnsafeBufferPointer<UInt8>) { self.buffer = buffer }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        if position < buffer.count { throw JSONParseError(.trailingCharacters, at: position) }
        return value
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while position < buffer.count {
            switch buffer[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    /// Reads an object member's key and the colon after it, leaving `position` at its value:
    /// the one place both object parsers (the general one and the member-list one of the
    /// import hot path) read a key.
    mutating func parseMemberKey() throws(JSONParseError) -> String {
        guard try peek() == UInt8(ascii: "\"") else {
            throw JSONParseError(.unexpectedByte(buffer[position]), at: position)
        }
        let key = try parseString()
        skipWhitespace()
        guard try peek() == UInt8(ascii: ":") else {
            throw JSONParseError(.unexpectedByte(buffer[position]), at: position)
        }
        position += 1
        skipWhitespace()
        return key
    }

    @inline(__always)
    func peek() throws(JSONParseError) -> UInt8 {
        guard position < buffer.count else { throw JSONParseError(.unexpectedEnd, at: position) }
        return buffer[position]
    }

    mutating func parseValue() throws(JSONParseError) -> JSONValue {
        let byte = try peek()
        switch byte {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw JSONParseError(.unexpectedByte(byte), at: position)
        }
    }

    mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let count = literal.utf8CodeUnitCount
        let start = literal.utf8Start
        for i in 0..<count {
            guard position < buffer.count else { throw JSONParseError(.unexpectedEnd, at: position) }
            guard buffer[position] == start[i] else {
                throw JSONParseError(.unexpectedByte(buffer[position]), at: position)
            }
            position += 1
        }
    }

    mutating func enter() throws(JSONParseError) {
        depth += 1
        if depth > JSONValue.maximumDepth {
            throw JSONParseError(.tooDeep(limit: JSONValue.maximumDepth), at: position)
        }
    }

    mutating func parseObject() throws(JSONParseError) -> JSONValue {
        try enter()
        position += 1 // {
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if try peek() == UInt8(ascii: "}") {
            position += 1
            depth -= 1
            return .object(members)
        }
        while true {
            let keyOffset = position
            let key = try parseMemberKey()
            let value = try parseValue()
            if members.updateValue(value, forKey: key) != nil {
                throw JSONParseError(.duplicateKey(key), at: keyOffset)
            }
            skipWhitespace()
            let next = try peek()
            position += 1
            if next == UInt8(ascii: ",") {
                skipWhitespace()
                continue
            }
            if next == UInt8(ascii: "}") { break }
            throw JSONParseError(.unexpectedByte(next), at: position - 1)
        }
        depth -= 1
        return .object(members)
    }

    /// Parses an object into its members in input order, without hashing (the event hot path:
    /// events have a handful of keys, where a linear duplicate check beats a dictionary).
    /// The object value of `nestedKey`, if any, is itself read as a member list: it is returned
    /// in `nestedMembers` and stands as `.object([:])` in `members`.
    mutating func parseObjectMembers(nestedKey: String? = nil)
        throws(JSONParseError) -> (members: [JSONMember], nestedMembers: [JSONMember]?)
    {
        try enter()
        position += 1 // {
        var members: [JSONMember] = []
        members.reserveCapacity(8) // events have at most 7 data fields: no regrowth
        var nestedMembers: [JSONMember]?
        var seen: Set<String>? // only for large objects, to keep duplicate detection linear
        skipWhitespace()
        if try peek() == UInt8(ascii: "}") {
            position += 1
            depth -= 1
            return (members, nil)
        }
        while true {
            let keyOffset = position
            let key = try parseMemberKey()
            let value: JSONValue
            if let nestedKey, key == nestedKey, try peek() == UInt8(ascii: "{") {
                nestedMembers = try parseObjectMembers().members
                value = .object([:])
            } else {
                value = try parseValue()
            }
            if members.count < 16 {
                for m in members where m.key == key { throw JSONParseError(.duplicateKey(key), at: keyOffset) }
            } else {
                if seen == nil { seen = Set(members.map(\.key)) }
                if !seen!.insert(key).inserted { throw JSONParseError(.duplicateKey(key), at: keyOffset) }
            }
            members.append(JSONMember(key: key, value: value))
            skipWhitespace()
            let next = try peek()
            position += 1
            if next == UInt8(ascii: ",") {
                skipWhitespace()
                continue
            }
            if next == UInt8(ascii: "}") { break }
            throw JSONParseError(.unexpectedByte(next), at: position - 1)
        }
        depth -= 1
        return (members, nestedMembers)
    }

    mutating func parseArray() throws(JSONParseError) -> JSONValue {
        try enter()
        position += 1 // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if try peek() == UInt8(ascii: "]") {
            position += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            elements.append(try parseValue())
            skipWhitespace()
            let next = try peek()
            position += 1
            if next == UInt8(ascii: ",") {
                skipWhitespace()
                continue
            }
            if next == UInt8(ascii: "]") { break }
            throw JSONParseError(.unexpectedByte(next), at: position - 1)
        }
        depth -= 1
        return .array(elements)
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, returned as its literal text.
    mutating func parseNumber() throws(JSONParseError) -> String {
        let start = position
        let end = buffer.count
        @inline(__always) func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }
        if buffer[position] == UInt8(ascii: "-") { position += 1 }
        guard position < end else { throw JSONParseError(.invalidNumber, at: position) }
        if buffer[position] == UInt8(ascii: "0") {
            position += 1
        } else if isDigit(buffer[position]) {
            while position < end && isDigit(buffer[position]) { position += 1 }
        } else {
            throw JSONParseError(.invalidNumber, at: position)
        }
        if position < end && buffer[position] == UInt8(ascii: ".") {
            position += 1
            guard position < end, isDigit(buffer[position]) else { throw JSONParseError(.invalidNumber, at: position) }
            while position < end && isDigit(buffer[position]) { position += 1 }
        }
        if position < end && (buffer[position] | 0x20) == UInt8(ascii: "e") {
            position += 1
            if position < end && (buffer[position] == UInt8(ascii: "+") || buffer[position] == UInt8(ascii: "-")) {
                position += 1
            }
            guard position < end, isDigit(buffer[position]) else { throw JSONParseError(.invalidNumber, at: position) }
            while position < end && isDigit(buffer[position]) { position += 1 }
        }
        // A number glued to a letter or digit ("01", "1x") is caught by the caller as an
        // unexpected byte; "01" specifically reads better as an invalid number.
        if position < end && isDigit(buffer[position]) { throw JSONParseError(.invalidNumber, at: start) }
        return String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<position]), as: UTF8.self)
    }

    /// Parses a string starting at the opening quote. The common case (no escapes) is decoded
    /// straight from the input; otherwise the unescaped bytes are collected in `scratch`.
    mutating func parseString() throws(JSONParseError) -> String {
        position += 1 // opening quote
        let start = position
        let end = buffer.count
        // Fast scan: ASCII without escapes.
        while position < end {
            let b = buffer[position]
            if b == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<position]), as: UTF8.self)
                position += 1
                return s
            }
            if b == UInt8(ascii: "\\") || b < 0x20 || b >= 0x80 { break }
            position += 1
        }
        return try parseStringSlow(from: start)
    }

    mutating func parseStringSlow(from start: Int) throws(JSONParseError) -> String {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[start..<position]))
        let end = buffer.count
        while true {
            guard position < end else { throw JSONParseError(.unexpectedEnd, at: position) }
            let b = buffer[position]
            switch b {
            case UInt8(ascii: "\""):
                position += 1
                return String(decoding: scratch, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try parseEscape()
            case 0..<0x20:
                throw JSONParseError(.controlCharacterInString, at: position)
            case 0..<0x80:
                scratch.append(b)
                position += 1
            default:
                let length = try validateUTF8Sequence(at: position)
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[position..<position + length]))
                position += length
            }
        }
    }

    /// Checks one multi-byte UTF-8 sequence (Unicode Table 3-7) and returns its length.
    func validateUTF8Sequence(at index: Int) throws(JSONParseError) -> Int {
        let end = buffer.count
        let b0 = buffer[index]
        func cont(_ i: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) throws(JSONParseError) {
            guard i < end else { throw JSONParseError(.invalidUTF8, at: index) }
            let b = buffer[i]
            guard b >= low && b <= high else { throw JSONParseError(.invalidUTF8, at: index) }
        }
        switch b0 {
        case 0xC2...0xDF:
            try cont(index + 1)
            return 2
        case 0xE0:
            try cont(index + 1, 0xA0, 0xBF)
            try cont(index + 2)
            return 3
        case 0xE1...0xEC, 0xEE...0xEF:
            try cont(index + 1)
            try cont(index + 2)
            return 3
        case 0xED: // excludes UTF-16 surrogates
            try cont(index + 1, 0x80, 0x9F)
            try cont(index + 2)
            return 3
        case 0xF0:
            try cont(index + 1, 0x90, 0xBF)
            try cont(index + 2)
            try cont(index + 3)
            return 4
        case 0xF1...0xF3:
            try cont(index + 1)
            try cont(index + 2)
            try cont(index + 3)
            return 4
        case 0xF4:
            try cont(index + 1, 0x80, 0x8F)
            try cont(index + 2)
            try cont(index + 3)
            return 4
        default:
            throw JSONParseError(.invalidUTF8, at: index)
        }
    }

    mutating func parseEscape() throws(JSONParseError) {
        let escapeStart = position
        position += 1 // backslash
        guard position < buffer.count else { throw JSONParseError(.unexpectedEnd, at: position) }
        let e = buffer[position]
        position += 1
        switch e {
        case UInt8(ascii: "\""): scratch.append(0x22)
        case UInt8(ascii: "\\"): scratch.append(0x5C)
        case UInt8(ascii: "/"): scratch.append(0x2F)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try parseHex4(escapeStart: escapeStart)
            if scalar >= 0xD800 && scalar <= 0xDBFF {
                // A high surrogate must be followed by an escaped low surrogate.
                guard position + 1 < buffer.count,
                    buffer[position] == UInt8(ascii: "\\"), buffer[position + 1] == UInt8(ascii: "u")
                else { throw JSONParseError(.invalidUnicodeEscape, at: escapeStart) }
                position += 2
                let low = try parseHex4(escapeStart: escapeStart)
                guard low >= 0xDC00 && low <= 0xDFFF else { throw JSONParseError(.invalidUnicodeEscape, at: escapeStart) }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                throw JSONParseError(.invalidUnicodeEscape, at: escapeStart)
            }
            appendUTF8(scalar)
        default:
            throw JSONParseError(.invalidEscape, at: escapeStart)
        }
    }

    mutating func parseHex4(escapeStart: Int) throws(JSONParseError) -> UInt32 {
        guard position + 4 <= buffer.count else { throw JSONParseError(.invalidUnicodeEscape, at: escapeStart) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let b = buffer[position]
            let digit: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - 0x30
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - 0x61 + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - 0x41 + 10
            default: throw JSONParseError(.invalidUnicodeEscape, at: escapeStart)
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            scratch.append(UInt8(scalar))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | (scalar >> 6)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | (scalar >> 12)))
            scratch.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        default:
            scratch.append(UInt8(0xF0 | (scalar >> 18)))
            scratch.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
            scratch.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        }
    }
}
