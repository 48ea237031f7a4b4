/// The frame every page shares, and the small building blocks of its content.
public enum Layout {
    /// A whole document: head (stylesheet and icon, both served by the same process), the
    /// header with its navigation and search box, and `body` (already HTML).
    public static func document(title: String, body: String) -> String {
        var out = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        out += "<title>\(HTML.escape(title)) · stratos-ledger</title>"
        out += "<link rel=\"stylesheet\" href=\"\(ConsolePath.stylesheet)\">"
        out += "<link rel=\"icon\" href=\"\(ConsolePath.icon)\" type=\"image/svg+xml\"></head><body>"
        out += "<header><a class=\"brand\" href=\"/\">stratos-ledger</a><nav>"
        out += HTML.link("/", "Overview") + HTML.link(ConsolePath.events(), "Events") + HTML.link("/builds", "Builds")
        out += "</nav><form action=\"/search\" method=\"get\" role=\"search\">"
        out += "<input type=\"search\" name=\"q\" placeholder=\"node, account, epoch, event id or position\" aria-label=\"Search\">"
        out += "<button type=\"submit\">Search</button></form></header><main>"
        out += "<h1>\(HTML.escape(title))</h1>"
        out += body
        out += "</main><footer>Every amount is exact: STOS with 18 decimals, OZ with 9; each carries its integer "
        out += "as <code>data-wei</code> or <code>data-noz</code>.</footer></body></html>"
        return out
    }

    /// A titled section.
    public static func section(_ title: String, id: String? = nil, _ content: String) -> String {
        "<section\(id.map { " id=\"\(HTML.escape($0))\"" } ?? "")><h2>\(HTML.escape(title))</h2>\(content)</section>"
    }

    /// A definition list of (label, HTML value) pairs.
    public static func facts(_ pairs: [(String, String)]) -> String {
        "<dl class=\"facts\">" + pairs.map { "<dt>\(HTML.escape($0.0))</dt><dd>\($0.1)</dd>" }.joined() + "</dl>"
    }

    /// A table; `headers` are text, each cell of `rows` is HTML. `numeric` marks right-aligned columns.
    public static func table(_ headers: [String], _ rows: [[String]], numeric: Set<Int> = []) -> String {
        guard !rows.isEmpty else { return "<p class=\"muted\">none</p>" }
        var out = "<div class=\"scroll\"><table><thead><tr>"
        for (i, h) in headers.enumerated() { out += "<th\(numeric.contains(i) ? " class=\"num\"" : "")>\(HTML.escape(h))</th>" }
        out += "</tr></thead><tbody>"
        for row in rows {
            out += "<tr>"
            for (i, cell) in row.enumerated() { out += "<td\(numeric.contains(i) ? " class=\"num\"" : "")>\(cell)</td>" }
            out += "</tr>"
        }
        return out + "</tbody></table></div>"
    }

    /// Text, escaped.
    public static func text(_ s: some StringProtocol) -> String { HTML.escape(s) }

    /// A yes/no/unknown check mark.
    public static func check(_ ok: Bool?, yes: String = "yes", no: String = "NO", unknown: String = "not known") -> String {
        switch ok {
        case true?: "<strong class=\"ok\">\(HTML.escape(yes))</strong>"
        case false?: "<strong class=\"bad\">\(HTML.escape(no))</strong>"
        case nil: "<span class=\"muted\">\(HTML.escape(unknown))</span>"
        }
    }
}

/// One page of a long table: which rows to show and the links to the other pages.
public struct Pager: Sendable {
    public var total: Int
    public var pageSize: Int
    /// 1-based, clamped to the pages there are.
    public var page: Int

    public init(total: Int, pageSize: Int, page: Int) {
        self.total = total
        self.pageSize = max(1, pageSize)
        let pages = max(1, (total + self.pageSize - 1) / self.pageSize)
        self.page = min(max(1, page), pages)
    }

    public var pages: Int { max(1, (total + pageSize - 1) / pageSize) }
    public var range: Range<Int> { min(total, (page - 1) * pageSize)..<min(total, page * pageSize) }

    /// "rows a–b of n" and links to the first, previous, next and last pages; `url` makes the
    /// link of a page number.
    public func navigation(_ url: (Int) -> String) -> String {
        guard pages > 1 else { return "" }
        var out = "<nav class=\"pager\">rows \(range.lowerBound + 1)–\(range.upperBound) of \(Amounts.count(total)) "
        if page > 1 { out += HTML.link(url(1), "« first") + HTML.link(url(page - 1), "‹ previous") }
        out += "<span>page \(page) of \(pages)</span>"
        if page < pages { out += HTML.link(url(page + 1), "next ›") + HTML.link(url(pages), "last »") }
        return out + "</nav>"
    }
}
