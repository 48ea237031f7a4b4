import Foundation
import XCTest

/// Every relative link in README.md and docs/*.md resolves in a fresh clone: the target is inside the
/// repository, exists and is not ignored by git (so a clone has it); a `#anchor` (alone or after a
/// Markdown file) names a heading of the target by GitHub's slug rules. No database needed.
final class DocLinksTests: XCTestCase {
    /// Tests/LedgerEventsTests/DocLinksTests.swift → the repository root.
    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().standardizedFileURL

    /// The Markdown files whose links are checked.
    static func documents() throws -> [URL] {
        let docs = root.appendingPathComponent("docs")
        let names = try FileManager.default.contentsOfDirectory(atPath: docs.path)
            .filter { $0.hasSuffix(".md") }.sorted()
        return [root.appendingPathComponent("README.md")] + names.map { docs.appendingPathComponent($0) }
    }

    func testEveryRelativeLinkResolves() throws {
        let files = try Self.documents()
        XCTAssertGreaterThan(files.count, 3)
        let present = Self.filesInAClone()
        var problems: [String] = []
        var checked = 0
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            let from = Self.relative(file)
            for link in Self.links(in: text) {
                if Self.isExternal(link.target) { continue }
                checked += 1
                let (pathPart, anchor) = Self.split(link.target)
                let target: URL
                if pathPart.isEmpty {
                    target = file
                } else {
                    let decoded = pathPart.removingPercentEncoding ?? pathPart
                    target =
                        URL(fileURLWithPath: decoded, relativeTo: file.deletingLastPathComponent())
                        .standardizedFileURL
                }
                let where_ = "\(from):\(link.line): (\(link.target))"
                let rel = Self.relative(target)
                guard target.path == Self.root.path || target.path.hasPrefix(Self.root.path + "/") else {
                    problems.append("\(where_) points outside the repository")
                    continue
                }
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: target.path, isDirectory: &isDirectory) else {
                    problems.append("\(where_) does not exist")
                    continue
                }
                if let present, !isDirectory.boolValue, !present.contains(rel) {
                    problems.append("\(where_) is not in a clone (ignored by git)")
                    continue
                }
                if let anchor, target.pathExtension.lowercased() == "md" {
                    let anchors = Self.anchors(in: try String(contentsOf: target, encoding: .utf8))
                    let wanted = (anchor.removingPercentEncoding ?? anchor).lowercased()
                    if !anchors.contains(wanted) {
                        problems.append("\(where_) has no heading #\(wanted) in \(rel)")
                    }
                }
            }
        }
        XCTAssertGreaterThan(checked, 10, "the link scanner found almost nothing")
        XCTAssertEqual(problems, [], problems.joined(separator: "\n"))
    }

    /// The rules and the event contract live in the repository: no document and no source file cites
    /// the shared spec outside it.
    func testNothingCitesTheSharedSpec() throws {
        var files = try Self.documents()
        files.append(Self.root.appendingPathComponent("docs/openapi.yaml"))
        let sources = Self.root.appendingPathComponent("Sources")
        if let walker = FileManager.default.enumerator(atPath: sources.path) {
            for case let name as String in walker where name.hasSuffix(".swift") {
                files.append(sources.appendingPathComponent(name))
            }
        }
        var problems: [String] = []
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                if line.contains("shared/spec") || line.contains("ECONOMICS.md")
                    || line.range(of: #"ECONOMICS [0-9]"#, options: .regularExpression) != nil
                {
                    problems.append("\(Self.relative(file)):\(n + 1): \(line)")
                }
            }
        }
        XCTAssertEqual(problems, [], problems.joined(separator: "\n"))
    }

    func testSlugRules() {
        XCTAssertEqual(Self.slug("5. Epoch settlement (Proof-of-Traffic)"), "5-epoch-settlement-proof-of-traffic")
        XCTAssertEqual(Self.slug("§5.4 Mining reward"), "54-mining-reward")
        XCTAssertEqual(Self.slug("Rule set `paper-v1-effective-s`"), "rule-set-paper-v1-effective-s")
        XCTAssertEqual(Self.slug("Staking and gas fees"), "staking-and-gas-fees")
        XCTAssertEqual(Self.slug("A [link](x.md) and **bold**"), "a-link-and-bold")
        XCTAssertEqual(Self.slug("Units — and arithmetic"), "units--and-arithmetic")
        XCTAssertEqual(Self.anchors(in: "# A\n## A\n```\n# B\n```\n## a\n"), ["a", "a-1", "a-2"])
    }

    // MARK: - Markdown scanning

    struct Link {
        var target: String
        var line: Int
    }

    /// Inline links and images `[text](target "title")` and reference definitions `[x]: target`,
    /// outside fenced code blocks and inline code spans.
    static func links(in text: String) -> [Link] {
        var out: [Link] = []
        for (n, line) in proseLines(text) {
            let trimmed = line.drop(while: { $0 == " " })
            if trimmed.hasPrefix("["), let close = trimmed.range(of: "]:") {
                let rest = trimmed[close.upperBound...].drop(while: { $0 == " " })
                if let target = rest.split(separator: " ").first {
                    out.append(Link(target: unwrap(String(target)), line: n))
                    continue
                }
            }
            let chars = Array(line)
            var i = 0
            while i + 1 < chars.count {
                if chars[i] == "]" && chars[i + 1] == "(" {
                    var j = i + 2
                    var depth = 1
                    var target = ""
                    while j < chars.count {
                        let c = chars[j]
                        if c == "(" { depth += 1 }
                        if c == ")" {
                            depth -= 1
                            if depth == 0 { break }
                        }
                        target.append(c)
                        j += 1
                    }
                    if j < chars.count {
                        let bare = target.trimmingCharacters(in: .whitespaces)
                        let first = bare.hasPrefix("<") ? bare : String(bare.split(separator: " ").first ?? "")
                        if !first.isEmpty { out.append(Link(target: unwrap(first), line: n)) }
                    }
                    i = j
                } else {
                    i += 1
                }
            }
        }
        return out
    }

    /// The lines outside fenced code blocks, with inline code spans removed, numbered from 1.
    static func proseLines(_ text: String) -> [(Int, String)] {
        var out: [(Int, String)] = []
        var fence: String? = nil
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw)
            let trimmed = line.drop(while: { $0 == " " })
            if let f = fence {
                if trimmed.hasPrefix(f) { fence = nil }
                continue
            }
            if trimmed.hasPrefix("```") {
                fence = "```"
                continue
            }
            if trimmed.hasPrefix("~~~") {
                fence = "~~~"
                continue
            }
            out.append((n + 1, stripCodeSpans(line)))
        }
        return out
    }

    static func stripCodeSpans(_ line: String) -> String {
        var out = ""
        var inCode = false
        for c in line {
            if c == "`" {
                inCode.toggle()
                continue
            }
            if !inCode { out.append(c) }
        }
        return out
    }

    static func unwrap(_ target: String) -> String {
        var t = target
        if t.hasPrefix("<") && t.hasSuffix(">") { t = String(t.dropFirst().dropLast()) }
        return t
    }

    static func isExternal(_ target: String) -> Bool {
        let lower = target.lowercased()
        return ["http://", "https://", "mailto:", "ftp://", "//"].contains { lower.hasPrefix($0) }
    }

    /// `path#anchor` → (path, anchor); a query string is dropped.
    static func split(_ target: String) -> (String, String?) {
        var path = target
        var anchor: String? = nil
        if let hash = path.firstIndex(of: "#") {
            anchor = String(path[path.index(after: hash)...])
            path = String(path[..<hash])
        }
        if let q = path.firstIndex(of: "?") { path = String(path[..<q]) }
        return (path, anchor)
    }

    /// The anchors GitHub generates for the headings of a Markdown file (ATX headings outside code
    /// blocks; a repeated slug gets `-1`, `-2`, …), plus explicit `<a name="…">` / `id="…"` anchors.
    static func anchors(in text: String) -> Set<String> {
        var seen: [String: Int] = [:]
        var out = Set<String>()
        var fence: String? = nil
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw)
            let trimmed = line.drop(while: { $0 == " " })
            if let f = fence {
                if trimmed.hasPrefix(f) { fence = nil }
                continue
            }
            if trimmed.hasPrefix("```") {
                fence = "```"
                continue
            }
            if trimmed.hasPrefix("~~~") {
                fence = "~~~"
                continue
            }
            for attr in ["name=\"", "id=\""] {
                var rest = Substring(line)
                while let r = rest.range(of: attr), line.contains("<") {
                    let after = rest[r.upperBound...]
                    guard let end = after.firstIndex(of: "\"") else { break }
                    out.insert(String(after[..<end]).lowercased())
                    rest = after[end...]
                }
            }
            guard line.hasPrefix("#") else { continue }
            let hashes = line.prefix(while: { $0 == "#" })
            guard hashes.count <= 6 else { continue }
            let rest = line.dropFirst(hashes.count)
            guard rest.isEmpty || rest.hasPrefix(" ") || rest.hasPrefix("\t") else { continue }
            var title = rest.trimmingCharacters(in: .whitespaces)
            // A closing sequence of #s is not part of the heading.
            while title.hasSuffix("#") { title.removeLast() }
            let base = slug(title.trimmingCharacters(in: .whitespaces))
            var anchor = base
            if let count = seen[base] {
                anchor = "\(base)-\(count)"
                seen[base] = count + 1
            } else {
                seen[base] = 1
            }
            out.insert(anchor)
        }
        return out
    }

    /// GitHub's heading slug: the rendered text (links → their text, code and emphasis marks
    /// dropped), lower-cased; every character that is not a letter, a number, `_`, `-` or a space is
    /// removed; every space becomes `-`.
    static func slug(_ heading: String) -> String {
        var text = ""
        let chars = Array(heading)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "]" && i + 1 < chars.count && chars[i + 1] == "(" {
                // Skip the link target.
                var j = i + 2
                var depth = 1
                while j < chars.count {
                    if chars[j] == "(" { depth += 1 }
                    if chars[j] == ")" {
                        depth -= 1
                        if depth == 0 { break }
                    }
                    j += 1
                }
                i = j + 1
                continue
            }
            if c == "`" || c == "*" || c == "[" || c == "]" {
                i += 1
                continue
            }
            text.append(c)
            i += 1
        }
        var out = ""
        for c in text.lowercased() {
            if c == " " { out.append("-") } else if c == "-" || c == "_" || c.isLetter || c.isNumber { out.append(c) }
        }
        return out
    }

    // MARK: - The repository

    static func relative(_ url: URL) -> String {
        let path = url.standardizedFileURL.path
        if path == root.path { return "." }
        return path.hasPrefix(root.path + "/") ? String(path.dropFirst(root.path.count + 1)) : path
    }

    /// The files a clone would have (tracked, or new and not ignored), by `git ls-files`; nil when git
    /// or the repository is not available (then only existence is checked).
    static func filesInAClone() -> Set<String>? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", root.path, "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        let names = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        return names.isEmpty ? nil : Set(names)
    }
}
