/// A reader for the YAML subset `docs/openapi.yaml` is written in: block mappings and block
/// sequences by indentation, `key: value` scalars (plain, single- or double-quoted), flow
/// sequences `[a, b]`, `>-` folded scalars, comments. Enough to check the document against live
/// responses without a YAML dependency; anything else is a parse error.
indirect enum YAML: Equatable {
    case scalar(String)
    case list([YAML])
    case map([(String, YAML)])

    static func == (a: YAML, b: YAML) -> Bool {
        switch (a, b) {
        case (.scalar(let x), .scalar(let y)): x == y
        case (.list(let x), .list(let y)): x == y
        case (.map(let x), .map(let y)): x.map(\.0) == y.map(\.0) && x.map(\.1) == y.map(\.1)
        default: false
        }
    }

    subscript(_ key: String) -> YAML? {
        if case .map(let m) = self { return m.first { $0.0 == key }?.1 }
        return nil
    }
    var scalar: String? { if case .scalar(let s) = self { s } else { nil } }
    var list: [YAML] { if case .list(let l) = self { l } else { [] } }
    var entries: [(String, YAML)] { if case .map(let m) = self { m } else { [] } }

    struct ParseError: Error, CustomStringConvertible { var description: String }

    static func parse(_ text: String) throws -> YAML {
        var lines: [(indent: Int, text: String, number: Int)] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = raw.drop { $0 == " " }
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            lines.append((raw.count - trimmed.count, String(trimmed), i + 1))
        }
        var index = 0
        let value = try block(&lines, &index, indent: lines.first?.indent ?? 0)
        guard index == lines.count else { throw ParseError(description: "line \(lines[index].number): unexpected indentation") }
        return value
    }

    private static func block(_ lines: inout [(indent: Int, text: String, number: Int)], _ i: inout Int, indent: Int) throws -> YAML {
        if lines[i].text.hasPrefix("- ") || lines[i].text == "-" {
            var items: [YAML] = []
            while i < lines.count, lines[i].indent == indent, lines[i].text.hasPrefix("-") {
                let rest = String(lines[i].text.dropFirst(1).drop { $0 == " " })
                if rest.isEmpty {
                    i += 1
                    items.append(try block(&lines, &i, indent: lines[i].indent))
                } else {
                    // "- key: value" starts a mapping whose further keys are indented by 2.
                    lines[i] = (indent + 2, rest, lines[i].number)
                    items.append(try block(&lines, &i, indent: indent + 2))
                }
            }
            return .list(items)
        }
        var entries: [(String, YAML)] = []
        while i < lines.count, lines[i].indent == indent, !lines[i].text.hasPrefix("- ") {
            let line = lines[i]
            guard let colon = keyColon(line.text) else { throw ParseError(description: "line \(line.number): expected key: value") }
            let key = unquote(String(line.text[..<colon]))
            let rest = String(line.text[line.text.index(after: colon)...]).trimmingSpaces()
            i += 1
            if rest.isEmpty {
                if i < lines.count, lines[i].indent > indent || (lines[i].indent == indent && lines[i].text.hasPrefix("- ")) {
                    entries.append((key, try block(&lines, &i, indent: lines[i].indent)))
                } else {
                    entries.append((key, .scalar("")))
                }
            } else if rest == ">-" || rest == ">" || rest == "|" {
                var parts: [String] = []
                while i < lines.count, lines[i].indent > indent {
                    parts.append(lines[i].text)
                    i += 1
                }
                entries.append((key, .scalar(parts.joined(separator: " "))))
            } else {
                entries.append((key, flow(rest)))
            }
        }
        return .map(entries)
    }

    private static func keyColon(_ s: String) -> String.Index? {
        var inQuote: Character?
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            if let q = inQuote {
                if c == q { inQuote = nil }
            } else if c == "\"" || c == "'" {
                inQuote = c
            } else if c == ":" {
                let next = s.index(after: i)
                if next == s.endIndex || s[next] == " " { return i }
            }
            i = s.index(after: i)
        }
        return nil
    }

    private static func flow(_ s: String) -> YAML {
        if s.hasPrefix("[") && s.hasSuffix("]") {
            let inner = s.dropFirst().dropLast()
            return .list(inner.split(separator: ",").map { .scalar(unquote(String($0).trimmingSpaces())) })
        }
        return .scalar(unquote(s))
    }

    private static func unquote(_ s: String) -> String {
        if s.count >= 2, let f = s.first, f == "\"" || f == "'", s.last == f { return String(s.dropFirst().dropLast()) }
        return s
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
