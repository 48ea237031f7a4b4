/// The one place where text becomes HTML.
///
/// Why one function: every id on these pages (node, account, event, stream) is chosen by whoever
/// appended the event, and an id may hold `<`, `"`, `&` or `'` (the event contract allows any
/// printable ASCII). Every piece of text and every attribute value goes through `HTML.escape`,
/// every URL path segment or query value through `HTML.urlComponent` and then `escape`; nothing
/// else writes user text into a page.
public enum HTML {
    /// Text or an attribute value (double- or single-quoted) made inert: `& < > " '` become
    /// character references.
    ///
    /// Works on UTF-8 bytes: the five characters are ASCII, and no byte of a multi-byte UTF-8
    /// sequence is ASCII, so bytes other than these five are copied as they are. Most text on a
    /// page (amounts, epochs, ids) holds none of them and is returned without a byte-wise rebuild;
    /// a node page escapes some tens of thousands of strings, so this is where its time went.
    public static func escape(_ text: some StringProtocol) -> String {
        let utf8 = text.utf8
        guard utf8.contains(where: isSpecial) else { return String(text) }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count + 16)
        for b in utf8 {
            switch b {
            case UInt8(ascii: "&"): out.append(contentsOf: "&amp;".utf8)
            case UInt8(ascii: "<"): out.append(contentsOf: "&lt;".utf8)
            case UInt8(ascii: ">"): out.append(contentsOf: "&gt;".utf8)
            case UInt8(ascii: "\""): out.append(contentsOf: "&quot;".utf8)
            case UInt8(ascii: "'"): out.append(contentsOf: "&#39;".utf8)
            default: out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    @inline(__always)
    private static func isSpecial(_ b: UInt8) -> Bool {
        b == UInt8(ascii: "&") || b == UInt8(ascii: "<") || b == UInt8(ascii: ">") || b == UInt8(ascii: "\"")
            || b == UInt8(ascii: "'")
    }

    /// A URL path segment or query value: every byte outside RFC 3986's unreserved set
    /// (`A–Z a–z 0–9 - . _ ~`) percent-encoded, so `/`, `?`, `#`, `&` in an id cannot change
    /// where a link points.
    public static func urlComponent(_ text: some StringProtocol) -> String {
        var out = ""
        for b in text.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%"
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(b >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(b & 15)]))
            }
        }
        return out
    }

    /// A link: `href` is a path the caller built with `urlComponent`; both are escaped here.
    public static func link(_ href: String, _ text: some StringProtocol, class cls: String? = nil) -> String {
        "<a href=\"\(escape(href))\"\(cls.map { " class=\"\(escape($0))\"" } ?? "")>\(escape(text))</a>"
    }

    /// A query string from pairs (values encoded), "" when there are none.
    public static func query(_ pairs: [(String, String?)]) -> String {
        let parts = pairs.compactMap { k, v in v.map { "\(urlComponent(k))=\(urlComponent($0))" } }
        return parts.isEmpty ? "" : "?" + parts.joined(separator: "&")
    }
}

/// The console's URLs, in one place, so that every link of every page is built the same way.
public enum ConsolePath {
    public static func node(_ id: String, epoch: Int64? = nil) -> String {
        "/nodes/" + HTML.urlComponent(id) + HTML.query([("epoch", epoch.map(String.init))])
    }
    public static func account(_ id: String) -> String { "/accounts/" + HTML.urlComponent(id) }
    public static func epoch(_ n: Int64) -> String { "/epochs/\(n)" }
    public static func recompute(_ n: Int64) -> String { "/epochs/\(n)/recompute" }
    public static func event(_ position: Int64) -> String { "/events/\(position)" }
    public static func events(after: Int64? = nil, through: Int64? = nil, type: String? = nil, stream: String? = nil) -> String {
        "/events"
            + HTML.query([
                ("after", after.map(String.init)), ("through", through.map(String.init)), ("type", type), ("stream", stream),
            ])
    }
    public static func export(_ format: String, from: Int64, to: Int64, account: String? = nil) -> String {
        "/v1/export" + HTML.query([("format", format), ("from", String(from)), ("to", String(to)), ("account", account)])
    }
    public static let builds = "/builds"
    /// Where the builds' form submits (it redirects to `buildDiff`).
    public static let buildDiffForm = "/builds/diff"
    /// `/builds/{a}/diff/{b}` with its filter; `extra` are more query pairs (page numbers).
    public static func buildDiff(
        _ a: String, _ b: String, node: String? = nil, account: String? = nil, from: Int64? = nil, to: Int64? = nil,
        extra: [(String, String?)] = []
    ) -> String {
        "/builds/\(HTML.urlComponent(a))/diff/\(HTML.urlComponent(b))"
            + HTML.query([("node", node), ("account", account), ("from", from.map(String.init)), ("to", to.map(String.init))] + extra)
    }
    /// The same diff from the JSON API.
    public static func buildDiffJSON(
        _ a: String, _ b: String, node: String? = nil, account: String? = nil, from: Int64? = nil, to: Int64? = nil
    ) -> String {
        "/v1" + buildDiff(a, b, node: node, account: account, from: from, to: to)
    }
    public static let stylesheet = "/console.css"
    public static let icon = "/favicon.svg"
}
