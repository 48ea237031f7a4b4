/// `/builds/{a}/diff/{b}`: what differs between two projection builds — typically the serving
/// one and a rebuild under fixed rules — as `GET /v1/builds/{a}/diff/{b}` computes it
/// (`BuildDiff`; the service converts its answer, this page only shows it).
///
/// Why paged: a rule fix can change every account, node and epoch of a long history; the page
/// shows at most `pageSize` of each (with links to the others and a note saying how many more)
/// so that it stays well under the console's 200 KB, and the JSON link has them all.
public struct BuildDiffPage: Sendable {
    /// One build's value of a field: an amount in base units, or something else (a node's status).
    public enum Value: Sendable, Hashable {
        case wei(UInt128)
        case noz(UInt128)
        case other(String)
    }

    /// B − A in the unit of the values (a difference may be negative).
    public struct Difference: Sendable, Hashable {
        public var negative: Bool
        public var magnitude: UInt128
        public init(negative: Bool, magnitude: UInt128) {
            self.negative = negative
            self.magnitude = magnitude
        }
    }

    /// A field whose values differ (or, for the totals, any field): A's value, B's and B − A
    /// (nil for values that are not amounts).
    public struct Change: Sendable, Hashable {
        public var field: String
        public var a: Value
        public var b: Value
        public var difference: Difference?
        public init(field: String, a: Value, b: Value, difference: Difference?) {
            self.field = field
            self.a = a
            self.b = b
            self.difference = difference
        }
    }

    /// An account, node or epoch and its fields that differ.
    public struct Keyed<Key: Sendable & Hashable>: Sendable, Hashable {
        public var key: Key
        public var changes: [Change]
        public init(key: Key, changes: [Change]) {
            self.key = key
            self.changes = changes
        }
    }

    /// The rewards of one (role, source) in both builds.
    public struct RewardTotal: Sendable, Hashable {
        public var role: String
        public var source: String
        public var change: Change
        public init(role: String, source: String, change: Change) {
            self.role = role
            self.source = source
            self.change = change
        }
    }

    /// An event one build refused (its `exceptions` row).
    public struct Refusal: Sendable, Hashable {
        public var position: Int64
        public var eventID: String
        public var type: String
        public var rule: String
        public var message: String
        public init(position: Int64, eventID: String, type: String, rule: String, message: String) {
            self.position = position
            self.eventID = eventID
            self.type = type
            self.rule = rule
            self.message = message
        }
    }

    /// The long tables, each paged by its own query parameter (`?accounts=2`).
    public enum Section: String, Sendable, CaseIterable {
        case accounts, nodes, epochs, refusedA, refusedB
    }

    public var a: BuildsPage.Build
    public var b: BuildsPage.Build
    /// Every build's name, for the form that chooses two others.
    public var buildNames: [String] = []
    public var node: String?
    public var account: String?
    public var fromEpoch: Int64?
    public var toEpoch: Int64?
    /// Network-wide totals (`field` is the total's name).
    public var totals: [Change] = []
    public var rewardTotals: [RewardTotal] = []
    public var accounts: [Keyed<String>] = []
    public var nodes: [Keyed<String>] = []
    public var epochs: [Keyed<Int64>] = []
    public var refusedByA: Int64 = 0
    public var refusedByB: Int64 = 0
    public var refusedOnlyByA: [Refusal] = []
    public var refusedOnlyByB: [Refusal] = []
    /// The page (1-based) shown of each long table.
    public var pages: [Section: Int] = [:]
    /// The shown accounts, nodes and epochs that have a page in the serving build (the console
    /// reads that one): only those are links, so that no link of the page answers 404.
    public var accountsWithPage: Set<String> = []
    public var nodesWithPage: Set<String> = []
    public var epochsWithPage: Set<Int64> = []

    public static let pageSize = 20

    public init(a: BuildsPage.Build, b: BuildsPage.Build) {
        self.a = a
        self.b = b
    }

    func pager(_ section: Section, total: Int) -> Pager { Pager(total: total, pageSize: Self.pageSize, page: pages[section] ?? 1) }

    /// The accounts, nodes and epochs this page shows (the service looks up which have a page).
    public var shownAccounts: [String] { accounts[pager(.accounts, total: accounts.count).range].map(\.key) }
    public var shownNodes: [String] { nodes[pager(.nodes, total: nodes.count).range].map(\.key) }
    public var shownEpochs: [Int64] { epochs[pager(.epochs, total: epochs.count).range].map(\.key) }

    /// Nothing differs in the scope compared.
    public var isEmpty: Bool {
        accounts.isEmpty && nodes.isEmpty && epochs.isEmpty && refusedOnlyByA.isEmpty && refusedOnlyByB.isEmpty
            && rewardTotals.allSatisfy { $0.change.a == $0.change.b } && totals.allSatisfy { $0.a == $0.b }
    }

    /// This page's URL with other page numbers (and the same builds and filter).
    func url(_ overrides: [Section: Int] = [:], anchor: Section? = nil) -> String {
        let chosen = pages.merging(overrides) { $1 }
        let extra = Section.allCases.compactMap { s in chosen[s].flatMap { $0 > 1 ? (s.rawValue, String($0)) : nil } }
        return ConsolePath.buildDiff(a.name, b.name, node: node, account: account, from: fromEpoch, to: toEpoch, extra: extra)
            + (anchor.map { "#" + $0.rawValue } ?? "")
    }

    public func render() -> String {
        var nav = "<nav class=\"links\">" + HTML.link(ConsolePath.builds, "‹ all builds")
        nav += HTML.link(ConsolePath.buildDiff(b.name, a.name, node: node, account: account, from: fromEpoch, to: toEpoch), "swap A and B")
        nav += HTML.link(ConsolePath.buildDiffJSON(a.name, b.name, node: node, account: account, from: fromEpoch, to: toEpoch), "JSON")
        nav += "</nav>"
        var body = nav
        body += "<div class=\"grid\">" + Self.buildFacts("A", a) + Self.buildFacts("B", b) + "</div>"
        var scope: [String] = []
        if let node { scope.append("node " + HTML.link(ConsolePath.node(node), node)) }
        if let account { scope.append("account " + HTML.link(ConsolePath.account(account), account)) }
        if fromEpoch != nil || toEpoch != nil {
            scope.append("epochs \(fromEpoch.map(String.init) ?? "1")–\(toEpoch.map(String.init) ?? "last")")
        }
        var about = "<p>Compared: " + (scope.isEmpty ? "everything both builds hold" : scope.joined(separator: ", ")) + ". "
        about += "Balances as they are now" + (toEpoch.map { " (at the close of epoch \($0))" } ?? "")
        about += "; rewards, settlements and refused events over the epoch range. B − A is B's value minus A's.</p>"
        if isEmpty { about += "<p><strong class=\"ok\">The two builds do not differ here.</strong></p>" }
        about += Self.form(builds: buildNames, a: a.name, b: b.name, node: node, account: account, from: fromEpoch, to: toEpoch)
        body += Layout.section("What is compared", about)

        let amountHeaders = ["A", "B", "B − A"]
        body += Layout.section(
            "Totals", id: "totals",
            Self.table(["total"] + amountHeaders, totals.map { [HTML.escape($0.field)] + Self.cells($0) }, numeric: [1, 2, 3]))
        body += Layout.section(
            "Rewards per role and source", id: "rewards",
            Self.table(
                ["role", "source"] + amountHeaders, rewardTotals.map { [HTML.escape($0.role), HTML.escape($0.source)] + Self.cells($0.change) },
                numeric: [2, 3, 4]))
        body += changes("Accounts", .accounts, "account", accounts) {
            accountsWithPage.contains($0) ? HTML.link(ConsolePath.account($0), $0) : HTML.escape($0)
        }
        body += changes("Nodes", .nodes, "node", nodes) { nodesWithPage.contains($0) ? HTML.link(ConsolePath.node($0), $0) : HTML.escape($0) }
        body += changes("Epochs", .epochs, "epoch", epochs) {
            epochsWithPage.contains($0) ? HTML.link(ConsolePath.epoch($0), String($0)) : String($0)
        }
        body += refusals("Refused by A only", .refusedA, refusedOnlyByA, all: refusedByA, build: a.name)
        body += refusals("Refused by B only", .refusedB, refusedOnlyByB, all: refusedByB, build: b.name)
        return Layout.document(title: "Builds \(a.name) → \(b.name)", body: body)
    }

    /// One build's header: name, rules, rules sha256, status, position.
    static func buildFacts(_ letter: String, _ b: BuildsPage.Build) -> String {
        Layout.section(
            "\(letter): \(b.name)",
            Layout.facts([
                ("rules", HTML.escape(b.rules)), ("rules sha256", "<code>\(HTML.escape(b.rulesSha256 ?? "not recorded"))</code>"),
                ("status", HTML.escape(b.status) + (b.serving && b.status != "serving" ? " · <strong class=\"ok\">serving</strong>" : "")),
                ("position", Amounts.count(b.position)), ("created", HTML.escape(b.createdAt)),
            ]))
    }

    /// A table as `Layout.table` makes it, each cell also carrying its column's header
    /// (`data-label`): under 700 px the stylesheet shows each row as a block of labelled lines
    /// (`table.stack`), as three 18-decimal amounts side by side do not fit a phone's width.
    static func table(_ headers: [String], _ rows: [[String]], numeric: Set<Int> = []) -> String {
        guard !rows.isEmpty else { return "<p class=\"muted\">none</p>" }
        var out = "<div class=\"scroll\"><table class=\"stack\"><thead><tr>"
        for (i, h) in headers.enumerated() { out += "<th\(numeric.contains(i) ? " class=\"num\"" : "")>\(HTML.escape(h))</th>" }
        out += "</tr></thead><tbody>"
        for row in rows {
            out += "<tr>"
            for (i, cell) in row.enumerated() {
                let label = i < headers.count ? HTML.escape(headers[i]) : ""
                out += "<td data-label=\"\(label)\"\(numeric.contains(i) ? " class=\"num\"" : "")>\(cell)</td>"
            }
            out += "</tr>"
        }
        return out + "</tbody></table></div>"
    }

    /// A, B and B − A as table cells.
    static func cells(_ c: Change) -> [String] { [value(c.a), value(c.b), difference(c)] }

    static func value(_ v: Value) -> String {
        switch v {
        case .wei(let x): Amounts.wei(x)
        case .noz(let x): Amounts.noz(x)
        case .other(let s): s.isEmpty ? "<span class=\"muted\">none</span>" : HTML.escape(s)
        }
    }

    static func difference(_ c: Change) -> String {
        guard let d = c.difference else { return "" }
        switch c.a {
        case .wei: return Amounts.signedWei(d.magnitude, negative: d.negative)
        case .noz: return Amounts.signedNoz(d.magnitude, negative: d.negative)
        case .other: return HTML.escape((d.negative && d.magnitude != 0 ? "-" : "") + String(d.magnitude))
        }
    }

    /// One long table of keyed changes: a row per field that differs, one page of keys.
    func changes<K>(_ title: String, _ section: Section, _ keyHeader: String, _ items: [Keyed<K>], _ key: (K) -> String) -> String {
        let pager = pager(section, total: items.count)
        var rows: [[String]] = []
        for item in items[pager.range] {
            for (i, c) in item.changes.enumerated() { rows.append([i == 0 ? key(item.key) : "", HTML.escape(c.field)] + Self.cells(c)) }
        }
        let nav = pager.navigation { url([section: $0], anchor: section) }
        return Layout.section(
            "\(title) that differ: \(Amounts.count(items.count))", id: section.rawValue,
            nav + Self.table([keyHeader, "field", "A", "B", "B − A"], rows, numeric: [2, 3, 4]) + nav + more(items.count, pager))
    }

    func refusals(_ title: String, _ section: Section, _ items: [Refusal], all: Int64, build: String) -> String {
        let pager = pager(section, total: items.count)
        let rows = items[pager.range].map { x in
            [
                HTML.link(ConsolePath.event(x.position), String(x.position)), "<code>\(HTML.escape(x.eventID))</code>", HTML.escape(x.type),
                HTML.escape(x.rule), HTML.escape(x.message),
            ]
        }
        let nav = pager.navigation { url([section: $0], anchor: section) }
        return Layout.section(
            "\(title): \(Amounts.count(items.count))", id: section.rawValue,
            "<p class=\"muted\">\(HTML.escape(build)) refused \(Amounts.count(all)) events in the range in all.</p>" + nav
                + Self.table(["position", "event", "type", "rule", "why"], rows, numeric: [0]) + nav + more(items.count, pager))
    }

    /// "N more": how many rows lie beyond this page, and how to see fewer.
    func more(_ total: Int, _ pager: Pager) -> String {
        let beyond = total - pager.range.upperBound
        guard beyond > 0 else { return "" }
        return "<p class=\"muted\">\(Amounts.count(beyond)) more on the next pages; narrow the comparison with from/to, a node or an account.</p>"
    }

    /// The form choosing two builds and the scope (a plain GET: `/builds/diff` redirects to the
    /// diff's own URL, leaving out the fields left empty).
    public static func form(
        builds: [String], a: String?, b: String?, node: String? = nil, account: String? = nil, from: Int64? = nil, to: Int64? = nil
    ) -> String {
        func select(_ name: String, _ chosen: String?) -> String {
            "<label>build \(name.uppercased())<select name=\"\(name)\">"
                + builds.map { "<option value=\"\(HTML.escape($0))\"\($0 == chosen ? " selected" : "")>\(HTML.escape($0))</option>" }.joined()
                + "</select></label>"
        }
        var out = "<form class=\"filters\" action=\"\(ConsolePath.buildDiffForm)\" method=\"get\">"
        out += select("a", a) + select("b", b)
        out += "<label>node<input name=\"node\" value=\"\(HTML.escape(node ?? ""))\"></label>"
        out += "<label>account<input name=\"account\" value=\"\(HTML.escape(account ?? ""))\"></label>"
        out += "<label>from epoch<input name=\"from\" inputmode=\"numeric\" value=\"\(from.map(String.init) ?? "")\"></label>"
        out += "<label>to epoch<input name=\"to\" inputmode=\"numeric\" value=\"\(to.map(String.init) ?? "")\"></label>"
        return out + "<button type=\"submit\">Compare</button></form>"
    }
}
