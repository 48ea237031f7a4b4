import LedgerEvents
import StratosConsole
import StratosEconomics
import XCTest

/// The renderer alone: escaping, exact amounts, charts. No database, no browser.
final class RendererTests: XCTestCase {
    func testEscapeMakesHostileTextInert() {
        XCTAssertEqual(HTML.escape("<script>alert('x')</script>&\""), "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;")
        XCTAssertEqual(HTML.escape("plain-id_1"), "plain-id_1")
        // Multi-byte UTF-8 is copied as it is, around escaped bytes and on the fast path.
        XCTAssertEqual(HTML.escape("é<ü>\u{1F600}'"), "é&lt;ü&gt;\u{1F600}&#39;")
        XCTAssertEqual(HTML.escape("Grüße"[...]), "Grüße")
        XCTAssertEqual(HTML.urlComponent("a/b?c#d&e=f%<\"'"), "a%2Fb%3Fc%23d%26e%3Df%25%3C%22%27")
        XCTAssertEqual(HTML.urlComponent("st1alice-._~"), "st1alice-._~")
        // A link to a hostile id: the id cannot close the attribute, add one, or leave the path.
        let hostile = "x\"><img src=x onerror=alert(1)>/../'"
        let link = HTML.link(ConsolePath.node(hostile), hostile)
        XCTAssertFalse(link.contains("<img"))
        XCTAssertFalse(link.contains("\"><"))
        XCTAssertTrue(link.hasPrefix("<a href=\"/nodes/x%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E%2F..%2F%27\">"), link)
    }

    func testHostileIdsOnEveryPageStayInert() {
        let hostile = "<b>\"'&evil"
        var node = NodePage(id: hostile)
        node.owner = hostile
        node.rewards = [.init(epoch: 3, role: "resource", source: "traffic", amountWei: 5)]
        node.vesting = [
            VestingRow(
                entry: 1, node: hostile, validator: nil, role: "resource", source: "traffic", amountWei: 5, epochEarned: 3, matureEpoch: 9,
                status: "locked")
        ]
        node.vestingTotal = 1
        node.maturity = [MaturityRow(epoch: 9, count: 1, amountWei: 5)]
        var account = AccountPage(id: hostile)
        account.ownedNodes = [hostile]
        account.journal = [
            .init(
                position: 1, eventID: hostile, type: "Funded", epoch: 1, account: "wallet:" + hostile, commodity: "STOS", negative: false, amount: 1,
                reason: hostile)
        ]
        var events = EventsPage()
        events.stream = hostile
        events.rows = [.init(position: 1, type: "Genesis", stream: hostile, streamVersion: 1, eventID: hostile, time: "t")]
        var event = EventPage(position: 1)
        event.eventID = hostile
        event.stream = hostile
        event.data = .object([hostile: .string(hostile)])
        let report = SettlementReport(
            rules: hostile, epoch: 1, T: Noz(10), Y: Noz(8), settled: [SettledNode(node: NodeID(unchecked: hostile), traffic: Noz(8))],
            trafficReward: Wei(7), miningReward: Wei(3),
            rewards: [
                SettlementReward(
                    account: AccountID(unchecked: hostile), node: NodeID(unchecked: hostile), validator: nil, role: .resource, source: .traffic,
                    amount: Wei(7), matureEpoch: 9, entry: VestingEntryID(1))
            ], trafficDust: .zero, miningDust: .zero)
        let pages = [
            node.render(), account.render(), events.render(), event.render(), EpochPage(epoch: 1, lastClosedEpoch: 1, report: report).render(),
            ErrorPage(status: 404, title: hostile, detail: hostile).render(),
        ]
        for html in pages {
            XCTAssertFalse(html.contains("<b>"), html)
            XCTAssertFalse(html.contains("\"'&evil"), html)
            XCTAssertTrue(html.contains("&lt;b&gt;&quot;&#39;&amp;evil") || html.contains("%3Cb%3E%22%27%26evil"), html)
            XCTAssertFalse(html.contains("<script"), "no script on any page")
            XCTAssertFalse(html.range(of: " on[a-z]+=", options: .regularExpression) != nil, "no inline handler")
            XCTAssertFalse(html.contains("style=\""), "no inline style (the policy forbids them)")
        }
    }

    func testAmountsAreExactAtTheEdges() {
        XCTAssertEqual(Amounts.stosText(0), "0.000000000000000000 STOS")
        XCTAssertEqual(Amounts.stosText(1), "0.000000000000000001 STOS")
        XCTAssertEqual(Amounts.stosText(1_000_000_000_000_000_000), "1.000000000000000000 STOS")
        XCTAssertEqual(Amounts.stosText(1_234_567_000_000_000_000_000_001), "1,234,567.000000000000000001 STOS")
        XCTAssertEqual(UInt128.max.description, "340282366920938463463374607431768211455")
        XCTAssertEqual(Amounts.stosText(.max), "340,282,366,920,938,463,463.374607431768211455 STOS")
        XCTAssertEqual(Amounts.ozText(0), "0.000000000 OZ")
        XCTAssertEqual(Amounts.ozText(1), "0.000000001 OZ")
        XCTAssertEqual(Amounts.ozText(.max), "340,282,366,920,938,463,463,374,607,431.768211455 OZ")
        XCTAssertEqual(
            Amounts.wei(.max),
            "<span class=\"amt\" data-wei=\"340282366920938463463374607431768211455\">340,282,366,920,938,463,463.374607431768211455 STOS</span>")
        XCTAssertEqual(Amounts.noz(1), "<span class=\"amt\" data-noz=\"1\">0.000000001 OZ</span>")
        XCTAssertEqual(Amounts.count(-1234), "-1,234")
        XCTAssertEqual(Amounts.count(999), "999")
    }

    func testChartHeightsComeFromTheIntegers() {
        let chart = BarChart(
            title: "t", series: [.init(name: "a", cssClass: "s0"), .init(name: "b", cssClass: "s1")],
            bars: [.init(label: "e1", values: [1, 1]), .init(label: "e2", values: [3, 1]), .init(label: "e3", values: [0, 0])],
            format: { String($0) })
        let svg = chart.render()
        // Max 4 → 120 units; bar 1: 30 + 30; bar 2: 90 + 30 (layers add up exactly).
        XCTAssertTrue(svg.contains("<rect class=\"s0\" x=\"0\" y=\"90\" width=\"8\" height=\"30\">"), svg)
        XCTAssertTrue(svg.contains("<rect class=\"s1\" x=\"0\" y=\"60\" width=\"8\" height=\"30\">"), svg)
        XCTAssertTrue(svg.contains("<rect class=\"s0\" x=\"10\" y=\"30\" width=\"8\" height=\"90\">"), svg)
        XCTAssertTrue(svg.contains("<rect class=\"s1\" x=\"10\" y=\"0\" width=\"8\" height=\"30\">"), svg)
        // Buckets sum exactly or keep the last level.
        let points: [(key: Int64, values: [UInt128])] = (1...10).map { (Int64($0), [UInt128($0)]) }
        let summed = BarChart.bucketed(points, maxBars: 3, sum: true)
        XCTAssertEqual(summed.map(\.values), [[10], [26], [19]])
        XCTAssertEqual(summed.map(\.label), ["epochs 1–4", "epochs 5–8", "epochs 9–10"])
        XCTAssertEqual(BarChart.bucketed(points, maxBars: 3, sum: false).map(\.values), [[4], [8], [10]])
        // A huge value does not overflow: UInt128.max / 2 scaled to 120 units.
        let big = BarChart(
            title: "t", series: [.init(name: "a", cssClass: "s0")], bars: [.init(label: "x", values: [UInt128.max / 200])], format: { String($0) })
        XCTAssertTrue(big.render().contains("height=\"120\""))
    }

    /// The builds' diff page: signed exact differences, hostile ids inert, links only to pages
    /// that exist, a page of each long table with a note of how many more, under 200 KB.
    func testBuildDiffPageIsExactPagedAndInert() {
        let hostile = "<b>\"'&evil"
        func build(_ name: String, serving: Bool) -> BuildsPage.Build {
            BuildsPage.Build(
                name: name, rules: hostile, rulesSha256: String(repeating: "ab", count: 32), status: "ready", position: 1_234,
                serving: serving, createdAt: "2026-01-01T00:00:00Z")
        }
        var page = BuildDiffPage(a: build("projection", serving: true), b: build("eff", serving: false))
        page.buildNames = ["projection", "eff"]
        let big = UInt128.max / 3
        func wei(_ field: String, _ a: UInt128, _ b: UInt128) -> BuildDiffPage.Change {
            BuildDiffPage.Change(
                field: field, a: .wei(a), b: .wei(b), difference: .init(negative: b < a, magnitude: b < a ? a - b : b - a))
        }
        page.totals = [wei("wallet", big, big - 1), .init(field: "ozone", a: .noz(5), b: .noz(7), difference: .init(negative: false, magnitude: 2))]
        page.rewardTotals = [.init(role: hostile, source: "traffic", change: wei("rewards", 3, 3))]
        page.accounts = (0..<1_000).map { i in
            .init(key: i == 0 ? hostile : "st1account\(i)", changes: [wei("wallet", big, big - UInt128(i)), wei("vesting", 1, UInt128(i) + 10)])
        }
        page.nodes = [.init(key: hostile, changes: [.init(field: "status", a: .other("active"), b: .other(""), difference: nil)])]
        page.epochs = (1...200).map { .init(key: Int64($0), changes: [wei("trafficReward", 10, 9)]) }
        page.refusedOnlyByB = [.init(position: 42, eventID: hostile, type: "Funded", rule: hostile, message: hostile)]
        page.refusedByB = 3
        page.pages = [.epochs: 2]
        page.accountsWithPage = ["st1account3"]
        page.epochsWithPage = Set(page.shownEpochs.filter { $0 < 30 })
        XCTAssertEqual(page.shownAccounts.count, BuildDiffPage.pageSize)
        XCTAssertEqual(page.shownEpochs, Array(21...40))
        let html = page.render()
        XCTAssertLessThan(html.utf8.count, 200_000, "a page of each table stays small")
        XCTAssertFalse(html.contains("<b>"))
        XCTAssertFalse(html.contains("\"'&evil"))
        XCTAssertFalse(html.range(of: " on[a-z]+=", options: .regularExpression) != nil, "no inline handler")
        XCTAssertFalse(html.contains("style=\""))
        // Exact and signed: B − A of the wallet total is -1 wei, of the Ozone +2 noz.
        XCTAssertTrue(html.contains("<span class=\"amt\" data-wei=\"-1\">-0.000000000000000001 STOS</span>"), html)
        XCTAssertTrue(html.contains("<span class=\"amt\" data-noz=\"2\">+0.000000002 OZ</span>"))
        XCTAssertTrue(html.contains("data-wei=\"\(big)\""))
        XCTAssertTrue(html.contains("<span class=\"amt\" data-wei=\"0\">0.000000000000000000 STOS</span>"), "no sign on zero")
        // Paged: 980 more accounts, the epochs on their second page, links kept to what exists.
        XCTAssertTrue(html.contains("980 more on the next pages"), html)
        XCTAssertTrue(html.contains("href=\"/builds/projection/diff/eff?accounts=2&amp;epochs=2#accounts\""), html)
        XCTAssertTrue(html.contains("href=\"/accounts/st1account3\""))
        XCTAssertFalse(html.contains("href=\"/accounts/st1account4\""), "no link to an account without a page")
        XCTAssertTrue(html.contains("href=\"/epochs/29\""))
        XCTAssertFalse(html.contains("href=\"/epochs/30\""))
        XCTAssertTrue(html.contains("href=\"/events/42\""))
        XCTAssertTrue(html.contains("href=\"/v1/builds/projection/diff/eff\""), "the JSON it shows")
        XCTAssertTrue(html.contains("href=\"/builds/eff/diff/projection\""), "swapped")
        XCTAssertTrue(html.contains("<option value=\"eff\" selected>"), "the form keeps the builds chosen")

        var builds = BuildsPage()
        builds.builds = [page.a, page.b]
        let list = builds.render()
        XCTAssertTrue(list.contains("<a href=\"/builds/projection/diff/eff\">diff with the serving build</a>"), list)
        XCTAssertTrue(list.contains("<form class=\"filters\" action=\"/builds/diff\" method=\"get\">"))
        XCTAssertTrue(list.contains("<select name=\"a\"><option value=\"projection\" selected>"), list)
        XCTAssertTrue(list.contains("<option value=\"eff\" selected>eff</option>"), list)
    }

    func testPagerClampsAndLinks() {
        let p = Pager(total: 250, pageSize: 100, page: 9)
        XCTAssertEqual(p.page, 3)
        XCTAssertEqual(p.range, 200..<250)
        let nav = p.navigation { "/x?page=\($0)" }
        XCTAssertTrue(nav.contains("href=\"/x?page=2\""))
        XCTAssertFalse(nav.contains("next"))
        XCTAssertEqual(Pager(total: 0, pageSize: 10, page: 1).navigation { "\($0)" }, "")
    }
}
