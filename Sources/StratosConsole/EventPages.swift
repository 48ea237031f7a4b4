import LedgerEvents

/// `/events`: the log, paged by position, filtered by type and stream.
public struct EventsPage: Sendable {
    public struct Row: Sendable {
        public var position: Int64
        public var type: String
        public var stream: String
        public var streamVersion: Int64
        public var eventID: String
        public var time: String
        public init(position: Int64, type: String, stream: String, streamVersion: Int64, eventID: String, time: String) {
            self.position = position
            self.type = type
            self.stream = stream
            self.streamVersion = streamVersion
            self.eventID = eventID
            self.time = time
        }
    }

    public var rows: [Row] = []
    public var after: Int64 = 0
    public var through: Int64?
    public var type: String?
    public var stream: String?
    /// The last position looked at (a filtered page scans a bounded window of the log).
    public var scannedThrough: Int64 = 0
    public var head: Int64 = 0
    public static let pageSize = 50

    public init() {}

    public func render() -> String {
        var form = "<form class=\"filters\" action=\"/events\" method=\"get\">"
        form += "<label>type<select name=\"type\"><option value=\"\">any</option>"
        for t in EventType.allCases {
            form += "<option value=\"\(HTML.escape(t.rawValue))\"\(t.rawValue == type ? " selected" : "")>\(HTML.escape(t.rawValue))</option>"
        }
        form += "</select></label>"
        form += "<label>stream<input name=\"stream\" value=\"\(HTML.escape(stream ?? ""))\" placeholder=\"e.g. node/…\"></label>"
        form += "<label>after position<input name=\"after\" inputmode=\"numeric\" value=\"\(after)\"></label>"
        if let through { form += "<input type=\"hidden\" name=\"through\" value=\"\(through)\">" }
        form += "<button type=\"submit\">Show</button></form>"
        let table = Layout.table(
            ["position", "type", "stream", "version", "id", "time"],
            rows.map { r in
                [
                    HTML.link(ConsolePath.event(r.position), String(r.position)), HTML.escape(r.type),
                    HTML.link(ConsolePath.events(type: type, stream: r.stream), r.stream), String(r.streamVersion),
                    "<code>\(HTML.escape(r.eventID))</code>", HTML.escape(r.time),
                ]
            }, numeric: [0, 3])
        var nav = "<nav class=\"pager\">"
        nav += "<span>positions \(after + 1)–\(scannedThrough) of \(Amounts.count(head))\(through.map { " (through \($0))" } ?? "")</span>"
        if after > 0 {
            nav += HTML.link(
                ConsolePath.events(after: max(0, after - Int64(Self.pageSize)), through: through, type: type, stream: stream), "‹ earlier")
        }
        if scannedThrough < min(head, through ?? Int64.max) {
            nav += HTML.link(ConsolePath.events(after: scannedThrough, through: through, type: type, stream: stream), "later ›")
        }
        nav += "</nav>"
        let note =
            type != nil || stream != nil
            ? "<p class=\"muted\">A filtered page looks at a bounded window of the log; “later” continues after it.</p>" : ""
        return Layout.document(title: "Events", body: Layout.section("The log", form + nav + table + nav + note))
    }
}

/// `/events/{position}`: one event as stored, its hash and whether its link of the chain verifies.
public struct EventPage: Sendable {
    public var position: Int64
    public var stream = ""
    public var streamVersion: Int64 = 0
    public var eventID = ""
    public var type = ""
    public var time = ""
    public var appendedAt = ""
    /// The event as stored: `data` and `metadata` as JSON.
    public var data: JSONValue = .null
    public var metadata: JSONValue = .null
    public var hashHex = ""
    public var previousHashHex = ""
    /// The stored hash equals the one recomputed from the stored columns and the previous hash.
    public var linkVerifies = false
    /// The next event's link, when there is one.
    public var nextLinkVerifies: Bool?
    public var head: Int64 = 0

    public init(position: Int64) { self.position = position }

    public func render() -> String {
        var nav = "<nav class=\"links\">"
        if position > 1 { nav += HTML.link(ConsolePath.event(position - 1), "‹ position \(position - 1)") }
        if position < head { nav += HTML.link(ConsolePath.event(position + 1), "position \(position + 1) ›") }
        nav += HTML.link(ConsolePath.events(after: max(0, position - 1)), "in the log")
        nav += HTML.link(ConsolePath.events(stream: stream), "its stream") + "</nav>"
        let facts = Layout.facts([
            ("position", String(position)), ("id", "<code>\(HTML.escape(eventID))</code>"), ("type", HTML.escape(type)),
            ("stream", HTML.link(ConsolePath.events(stream: stream), stream) + " version \(streamVersion)"),
            ("time", HTML.escape(time)), ("appended at", HTML.escape(appendedAt)),
            ("hash", "<code>\(HTML.escape(hashHex))</code>"), ("previous hash", "<code>\(HTML.escape(previousHashHex))</code>"),
            ("this link of the chain", Layout.check(linkVerifies, yes: "verifies", no: "BROKEN: the stored hash is not the recomputed one")),
            ("the next link", Layout.check(nextLinkVerifies, yes: "verifies", no: "BROKEN", unknown: "this is the head")),
        ])
        var body = nav + Layout.section("Event", facts)
        body += Layout.section("data", "<pre>\(HTML.escape(PrettyJSON.text(data)))</pre>")
        body += Layout.section("metadata (not covered by the hash)", "<pre>\(HTML.escape(PrettyJSON.text(metadata)))</pre>")
        body += "<p class=\"muted\">The whole chain: <code>stratos-ledger verify</code> walks it from Genesis.</p>"
        return Layout.document(title: "Event \(position)", body: body)
    }
}

/// JSON indented for reading (keys sorted; numbers and strings exactly as stored).
enum PrettyJSON {
    static func text(_ v: JSONValue, indent: String = "") -> String {
        switch v {
        case .object(let o):
            if o.isEmpty { return "{}" }
            let inner = indent + "  "
            return "{\n"
                + o.keys.sorted().map { "\(inner)\(JSONValue.string($0).canonicalText): \(text(o[$0]!, indent: inner))" }
                .joined(separator: ",\n") + "\n\(indent)}"
        case .array(let a):
            if a.isEmpty { return "[]" }
            let inner = indent + "  "
            return "[\n" + a.map { inner + text($0, indent: inner) }.joined(separator: ",\n") + "\n\(indent)]"
        default: return v.canonicalText
        }
    }
}

/// `/builds`: the projection builds kept side by side.
public struct BuildsPage: Sendable {
    public struct Build: Sendable {
        public var name: String
        public var rules: String
        public var rulesSha256: String?
        public var status: String
        public var position: Int64
        public var serving: Bool
        public var createdAt: String
        public init(name: String, rules: String, rulesSha256: String?, status: String, position: Int64, serving: Bool, createdAt: String) {
            self.name = name
            self.rules = rules
            self.rulesSha256 = rulesSha256
            self.status = status
            self.position = position
            self.serving = serving
            self.createdAt = createdAt
        }
    }
    public var builds: [Build] = []
    public init() {}

    public func render() -> String {
        let serving = builds.first(where: \.serving)
        let rows = builds.map { b -> [String] in
            [
                "<code>\(HTML.escape(b.name))</code>", HTML.escape(b.rules), "<code>\(HTML.escape(String((b.rulesSha256 ?? "").prefix(16))))</code>",
                HTML.escape(b.status), Amounts.count(b.position), b.serving ? "<strong class=\"ok\">serving</strong>" : "",
                HTML.escape(b.createdAt),
                serving.map { s in b.serving ? "" : HTML.link(ConsolePath.buildDiff(s.name, b.name), "diff with the serving build") } ?? "",
            ]
        }
        var body = Layout.section(
            "Projection builds",
            Layout.table(["build", "rules", "rules sha256", "status", "position", "", "created", ""], rows, numeric: [4])
                + "<p class=\"muted\"><code>stratos-ledger builds switch BUILD</code> serves another one; "
                + "<code>stratos-ledger rebuild --rules … --diff</code> makes a new one.</p>")
        if !builds.isEmpty {
            let names = builds.map(\.name)
            let a = serving?.name ?? names[0]
            let b = builds.first { !$0.serving }?.name ?? a
            body += Layout.section(
                "Compare two builds", id: "diff",
                "<p class=\"muted\">What differs between build A and build B: per account, node and epoch, the rewards per role "
                    + "and source, the totals and the events one refused and not the other; optionally for one node or account and "
                    + "an epoch range.</p>" + BuildDiffPage.form(builds: names, a: a, b: b))
        }
        return Layout.document(title: "Builds", body: body)
    }
}

/// What a console page answers when it cannot show what was asked: the status and what was not found.
public struct ErrorPage: Sendable {
    public var status: Int
    public var title: String
    public var detail: String
    public init(status: Int, title: String, detail: String) {
        self.status = status
        self.title = title
        self.detail = detail
    }

    public func render() -> String {
        Layout.document(
            title: title,
            body: Layout.section("\(status)", "<p>\(HTML.escape(detail))</p><p>" + HTML.link("/", "Back to the overview") + "</p>"))
    }
}
