import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import LedgerEvents
import NIOCore
import PostgresClient
import StratosConsole
import StratosEconomics
import StratosProjections
import StratosReports

/// The auditor's console: server-rendered HTML pages (`StratosConsole`) over the same reads as
/// the JSON API — the read model's JSON answers are decoded here, so a page cannot show another
/// number than `/v1` does — plus the audits and the log itself. Every read runs in one read
/// snapshot (`ReadRouter`), like the API's.
extension StratosServer {
    func addConsoleRoutes(_ routes: RouteGroup) {
        routes.get("/console.css") { _, _ in Self.asset(ConsoleAssets.stylesheet, type: "text/css; charset=utf-8") }
        routes.get("/favicon.svg") { _, _ in Self.asset(ConsoleAssets.icon, type: "image/svg+xml") }
        routes.get("/") { request, _ in try await self.overviewPage(request, searchMessage: nil) }
        routes.get("/search") { request, _ in try await self.search(request) }
        routes.get("/epochs/:epoch") { request, context in
            try await self.epochPage(request, epoch: try Self.epochParameter(context, "epoch"), recompute: false)
        }
        routes.get("/epochs/:epoch/recompute") { request, context in
            try await self.epochPage(request, epoch: try Self.epochParameter(context, "epoch"), recompute: true)
        }
        routes.get("/nodes/:id") { request, context in
            try await self.nodePage(request, id: try Self.identifier(context, "id", NodeID.init))
        }
        routes.get("/accounts/:id") { request, context in
            try await self.accountPage(request, id: try Self.identifier(context, "id", AccountID.init))
        }
        routes.get("/events") { request, _ in try await self.eventsPage(request) }
        routes.get("/events/:position") { request, context in
            let text = context.parameters.get("position") ?? ""
            guard let position = Int64(text), position >= 1 else {
                throw Problem.badParameter("position", "an event position is an integer ≥ 1, got \"\(text)\"")
            }
            return try await self.eventPage(request, position: position)
        }
        routes.get("/builds") { request, _ in try await self.buildsPage(request) }
        routes.get("/builds/diff") { request, _ in try Self.buildDiffForm(request) }
        routes.get("/builds/:a/diff/:b") { request, context in
            try await self.buildDiffPage(request, a: context.parameters.get("a") ?? "", b: context.parameters.get("b") ?? "")
        }
    }

    // MARK: Pages

    func overviewPage(_ request: Request, searchMessage: String?) async throws -> Response {
        let health = self.health()
        let cap = configuration.rules.miningCap.rawValue
        return try await consolePage(request) { c, model in
            var page = OverviewPage()
            page.searchMessage = searchMessage
            page.health = health.status.rawValue
            page.healthReasons = health.reasons
            page.capWei = cap
            page.logHead = try EventStore(connection: c).head().position
            page.projectedPosition = try model.projectedPosition()
            // The supply as the last epoch close left it, from its stored row: a snapshot of
            // the moment would rebuild the economy from a checkpoint for every overview.
            page.rules = try model.rulesName()
            page.lastClosedEpoch = try model.lastClosedEpoch()
            if page.lastClosedEpoch > 0, let s = try model.ozoneSeries(epochs: page.lastClosedEpoch...page.lastClosedEpoch).first {
                page.sWei = s.supply.s.rawValue
                page.pWei = s.supply.p.rawValue
                page.lNoz = s.supply.l.rawValue
                page.minedWei = s.supply.mined.rawValue
                page.feeCollectorWei = s.feeCollector.rawValue
            }
            page.pricePerOZ = try model.ozonePrices(epochs: Int64(1)...Int64.max).map { p in
                (p.epoch, Self.weiPerOZ(p.numeratorWei, p.denominatorNoz))
            }
            // Ranked over the last day: over the whole history the ranking sums every vesting
            // entry ever made (millions on a long history); `/v1/nodes/top` ranks any range.
            page.topEpochs = max(1, page.lastClosedEpoch - Self.topNodesEpochs + 1)...max(1, page.lastClosedEpoch)
            page.topNodes = try model.topNodes(epochs: page.topEpochs, limit: 10).enumerated().map { i, n in
                OverviewPage.TopNode(
                    rank: i + 1, node: n.node.rawValue, totalWei: n.total.rawValue,
                    byRole: n.byRole.sorted { $0.key.rawValue < $1.key.rawValue }.map {
                        (role: $0.key.rawValue, amountWei: $0.value.amount.rawValue)
                    },
                    lastEpoch: n.lastEpoch)
            }
            return page.render()
        }
    }

    /// The search box: an epoch, a position, a node, an account or an event id. One match
    /// redirects to its page; several are listed on the overview; none says so there.
    func search(_ request: Request) async throws -> Response {
        let q = (request.uri.queryParameters.get("q") ?? "").trimmingCharacters(in: .whitespaces)
        guard !q.isEmpty else { return Self.redirect("/") }
        let matches: [(String, String)] = try await router.read(minPosition: nil) { [readModels] c in
            let model = try readModels.readModel(on: c)
            var found: [(String, String)] = []
            let lower = q.lowercased()
            let number: Int64? =
                Int64(q) ?? (lower.hasPrefix("epoch ") ? Int64(lower.dropFirst(6)) : nil)
                ?? (lower.hasPrefix("position ") ? Int64(lower.dropFirst(9)) : nil)
            if let n = number, n >= 1 {
                if !lower.hasPrefix("position "), try model.settlement(epoch: n) != nil { found.append(("epoch \(n)", ConsolePath.epoch(n))) }
                if !lower.hasPrefix("epoch "), n <= (try EventStore(connection: c).head().position) {
                    found.append(("event at position \(n)", ConsolePath.event(n)))
                }
            }
            if isValidIdentifier(q) {
                if try model.nodeExists(NodeID(unchecked: q)) { found.append(("node \(q)", ConsolePath.node(q))) }
                if try model.account(AccountID(unchecked: q)) != nil { found.append(("account \(q)", ConsolePath.account(q))) }
                if let p = try EventStore(connection: c).position(ofEventID: q) { found.append(("event \(q)", ConsolePath.event(p))) }
            }
            return found
        }.value
        if matches.count == 1 { return Self.redirect(matches[0].1) }
        if matches.isEmpty { return try await overviewPage(request, searchMessage: "Nothing found for “\(q)”.") }
        let body = Layout.section(
            "Matches", "<ul>" + matches.map { "<li>" + HTML.link($0.1, $0.0) + "</li>" }.joined() + "</ul>")
        return Self.html(Layout.document(title: "Search: \(q)", body: body))
    }

    func epochPage(_ request: Request, epoch: Int64, recompute: Bool) async throws -> Response {
        let q = request.uri.queryParameters
        let rewardsPage = Self.pageNumber(q.get("rewards"))
        let settledPage = Self.pageNumber(q.get("settled"))
        let cache = recomputations
        return try await consolePage(request) { c, model in
            let last = try model.lastClosedEpoch()
            guard let stored = try model.settlement(epoch: epoch) else {
                throw Problem.notFound(
                    "Epoch", epoch > last ? "epoch \(epoch) is not closed yet (the last closed epoch is \(last))" : "epoch \(epoch) is not projected")
            }
            var page = EpochPage(epoch: epoch, lastClosedEpoch: last, report: stored.report)
            page.rewardsPage = rewardsPage
            page.settledPage = settledPage
            for p in try model.ozoneSeries(epochs: max(1, epoch - 1)...epoch) {
                if p.epoch == epoch {
                    page.closePosition = p.position
                    page.carriedOverNoz = p.carriedOver.rawValue
                } else {
                    page.previousClosePosition = p.position
                }
            }
            if epoch == 1 { page.previousClosePosition = 0 }
            if recompute {
                let r = try Self.audited { try Auditor(connection: c, readModel: model, cache: cache).recompute(epoch: epoch) }
                page.recomputation = EpochPage.Recomputation(
                    report: r.report, inputs: r.before, matchesProjection: r.matchesProjection, difference: r.difference,
                    replayedFromEpoch: r.replayedFrom.epoch, replayedFromPosition: r.replayedFrom.position,
                    replayedEvents: r.replayedEvents, closePosition: r.closeEvent.position)
            }
            return page.render()
        }
    }

    func nodePage(_ request: Request, id: NodeID) async throws -> Response {
        let q = request.uri.queryParameters
        let chosen = try q.get("epoch").map { try Self.epochValue($0, "epoch") }
        let rewardsPage = Self.pageNumber(q.get("rewards"))
        let vestingPage = Self.pageNumber(q.get("vesting"))
        let cache = recomputations
        // The derivation (a checkpoint decoded and an epoch replayed, mostly this process's CPU)
        // runs beside the node's reads (mostly PostgreSQL's), each on a connection of its own:
        // the page takes about the longer of the two, not their sum. Neither holds a connection
        // while it waits for another, so a busy pool delays them but cannot deadlock them. The
        // derivation is of a closed epoch, which no later event changes, so its own snapshot
        // may be at another position than the page's without the page contradicting itself.
        async let derivation = consoleRead(request) { c, model in
            try Self.nodeDerivation(id, chosen: chosen, lastClosedEpoch: try model.lastClosedEpoch(), c, model, cache)
        }
        let read = try await consoleRead(request) { c, model in
            // The node's row and the state's last epoch, not a snapshot: a snapshot rebuilds
            // the whole economy from a checkpoint.
            let lastClosedEpoch = try model.lastClosedEpoch()
            guard let node = try model.node(id) else { throw Problem.notFound("Node", "node \(id) has never been seen") }
            var page = NodePage(id: id.rawValue)
            page.kind = node.kind.rawValue
            page.owner = node.owner.rawValue
            page.status = node.status.rawValue
            page.depositWei = node.deposit.rawValue
            page.unsettledNoz = node.unsettled.rawValue
            page.lastClosedEpoch = lastClosedEpoch
            // The chart's sums and one page of lines from PostgreSQL, not every line: a node of
            // the bench history has some 15,000 (epoch, role, source) lines.
            let chart = try model.nodeRewardChart(id, through: lastClosedEpoch, maxRanges: NodePage.chartRanges)
            page.rewardLines = chart?.lines ?? 0
            page.totalWei = chart?.total.rawValue ?? 0
            page.rewardRanges = chart.map(Self.rewardRanges) ?? []
            let rpager = Pager(total: page.rewardLines, pageSize: NodePage.pageSize, page: rewardsPage)
            page.rewardsPage = rpager.page
            page.rewards = try model.nodeRewards(id, newestFirst: rpager.range.count, offset: rpager.range.lowerBound).map {
                NodePage.Reward(epoch: $0.epoch, role: $0.role.rawValue, source: $0.source.rawValue, amountWei: $0.amount.rawValue)
            }
            // One page of the node's entries and the locked sums, from PostgreSQL: the owner's
            // whole schedule can hold tens of thousands of entries.
            let summary = try model.vestingSummary(.node(id))
            let vpager = Pager(total: summary.entries, pageSize: NodePage.pageSize, page: vestingPage)
            page.vestingTotal = vpager.total
            page.vestingPage = vpager.page
            page.vesting = Self.vestingRows(
                try model.vestingEntries(node: id, newestFirst: vpager.range.count, offset: vpager.range.lowerBound))
            page.maturity = Self.maturityRows(summary.lockedByMaturity)
            page.releases = Self.releaseRows(try model.releases(account: node.owner)).filter { $0.node == id.rawValue }
            return page
        }
        var page = read.value
        (page.audit, page.auditNote) = try await derivation.value
        return Self.html(page.render(), position: read.position)
    }

    /// The derivation of `chosen` epoch's reward of a node (by default its last reward's), or
    /// why there is none.
    static func nodeDerivation(
        _ id: NodeID, chosen: Int64?, lastClosedEpoch: Int64, _ c: PostgresConnection, _ model: ReadModel, _ cache: RecomputationCache
    ) throws -> (audit: NodePage.Audit?, note: String?) {
        guard let epoch = try chosen ?? model.nodeRewardSpan(id)?.upperBound else {
            return (nil, "node \(id) has earned no reward yet; add ?epoch=N to derive the settlement of epoch N for it")
        }
        guard epoch <= lastClosedEpoch else {
            return (nil, "epoch \(epoch) is not closed yet (the last closed epoch is \(lastClosedEpoch))")
        }
        let a = try Self.audited { try Auditor(connection: c, readModel: model, cache: cache).auditNode(id, epoch: epoch) }
        let audit = NodePage.Audit(
            epoch: epoch, text: a.text(),
            rewards: a.rewards.map {
                (
                    account: $0.account.rawValue, role: $0.role.rawValue, source: $0.source.rawValue, amountWei: $0.amount.rawValue,
                    matureEpoch: $0.matureEpoch, entry: Int64($0.entry.rawValue)
                )
            }, totalWei: a.total.rawValue, consistent: a.consistent, matchesProjection: a.recomputation.matchesProjection)
        return (audit, nil)
    }

    /// Every range of the chart's axis, oldest first, with one sum per `NodePage.layers` entry.
    static func rewardRanges(_ chart: NodeRewardChart) -> [(epochs: ClosedRange<Int64>, valuesWei: [UInt128])] {
        var values = Array(repeating: Array(repeating: UInt128(0), count: NodePage.layers.count), count: Int(chart.rangeCount))
        for b in chart.buckets {
            guard let k = NodePage.layers.firstIndex(where: { $0.role == b.role.rawValue && $0.source == b.source.rawValue }) else { continue }
            values[Int(b.index)][k] += b.amount.rawValue
        }
        return values.enumerated().map { (chart.epochs(ofRange: Int64($0.offset)), $0.element) }
    }

    func accountPage(_ request: Request, id: AccountID) async throws -> Response {
        let q = request.uri.queryParameters
        let maturityPage = Self.pageNumber(q.get("maturity"))
        let stakePage = Self.pageNumber(q.get("stake"))
        let journalEpoch = try q.get("journal").map { try Self.epochValue($0, "journal") }
        // The vesting summary (a scan of the owner's entries, the page's longest read) runs
        // beside the page's other reads, on a connection of its own (see `nodePage`).
        async let vesting = consoleRead(request) { _, model in try model.vestingSummary(.account(id)) }
        let read = try await consoleRead(request) { _, model in
            guard let balances = try model.account(id) else { throw Problem.notFound("Account", "account \(id) has never been seen") }
            var page = AccountPage(id: id.rawValue)
            page.walletWei = balances.wallet.rawValue
            page.ozoneNoz = balances.ozone.rawValue
            page.vestingWei = balances.vesting.rawValue
            page.bondedWei = balances.bonded.rawValue
            page.unbondingWei = balances.unbonding.rawValue
            page.escrowWei = balances.escrow.rawValue
            page.maturityPage = maturityPage
            page.lastClosedEpoch = try model.lastClosedEpoch()
            page.ownedNodes = try model.nodes(ownedBy: id).map(\.rawValue)
            page.releases = Self.releaseRows(try model.releases(account: id))
            // The stake rewards of one day at a time (`stake=N`: the N-th day back from the last
            // close): an owner of many nodes is paid thousands, read on its key by epoch range.
            let days = max(1, (page.lastClosedEpoch + AccountPage.stakeWindowEpochs - 1) / AccountPage.stakeWindowEpochs)
            page.stakePage = min(stakePage, Int(days))
            let upper = max(1, page.lastClosedEpoch - Int64(page.stakePage - 1) * AccountPage.stakeWindowEpochs)
            page.stakeEpochs = max(1, upper - AccountPage.stakeWindowEpochs + 1)...upper
            page.stake = try model.stakeRewards(account: id, epochs: page.stakeEpochs).map { r in
                AccountPage.StakeRow(
                    epoch: r.epoch, account: r.account.rawValue, validator: r.validator?.rawValue,
                    node: r.node?.rawValue, role: r.role.rawValue, kind: r.kind.rawValue, source: r.source?.rawValue,
                    amountWei: r.amount.rawValue)
            }
            // The journal of one epoch at a time (the last closed one by default), at most
            // `journalLines` postings: an owner of many nodes has thousands per day.
            let epoch = min(journalEpoch ?? max(1, page.lastClosedEpoch), max(1, page.lastClosedEpoch))
            page.journalEpochs = epoch...epoch
            var lines: [AccountPage.JournalLine] = []
            try model.journal(epochs: epoch...epoch) { t in
                for p in t.postings where p.owner == id && lines.count < Self.journalLines {
                    lines.append(
                        AccountPage.JournalLine(
                            position: t.position, eventID: t.eventID.rawValue, type: t.type, epoch: t.epoch, account: p.account,
                            commodity: p.commodity.rawValue, negative: p.negative, amount: p.amount.baseUnits, reason: p.reason))
                }
            }
            page.journal = lines
            return page
        }
        var page = read.value
        let summary = try await vesting.value
        page.maturity = Self.maturityRows(summary.lockedByMaturity)
        page.vestingEntries = summary.entries
        return Self.html(page.render(), position: read.position)
    }

    func eventsPage(_ request: Request) async throws -> Response {
        let q = request.uri.queryParameters
        func position(_ name: String) throws -> Int64? {
            try q.get(name).flatMap { $0.isEmpty ? nil : $0 }.map { text in
                guard let v = Int64(text), v >= 0 else { throw Problem.badParameter(name, "\(name) must be a log position ≥ 0, got \"\(text)\"") }
                return v
            }
        }
        let after = try position("after") ?? 0
        let through = try position("through")
        let type = q.get("type").flatMap { $0.isEmpty ? nil : $0 }
        let stream = q.get("stream").flatMap { $0.isEmpty ? nil : $0 }
        if let type, EventType(rawValue: type) == nil {
            throw Problem.badParameter("type", "unknown event type \"\(type)\" (docs/EVENTS.md lists them)")
        }
        return try await consolePage(request) { c, _ in
            let store = EventStore(connection: c)
            var page = EventsPage()
            page.after = after
            page.through = through
            page.type = type
            page.stream = stream
            page.head = try store.head().position
            let last = min(page.head, through ?? Int64.max)
            // A filtered page looks at most `eventsScanWindow` positions of the log (filtered by
            // PostgreSQL): bounded work per request however rare the match; "later" goes on
            // from where it stopped.
            let window = type == nil && stream == nil ? last : min(last, after + Self.eventsScanWindow)
            let headers = try store.headers(after: after, through: window, type: type, stream: stream, limit: EventsPage.pageSize)
            page.rows = headers.map { e in
                EventsPage.Row(
                    position: e.position, type: e.type, stream: e.stream, streamVersion: e.streamVersion, eventID: e.eventID,
                    time: e.time.rfc3339)
            }
            page.scannedThrough = max(after, headers.count == EventsPage.pageSize ? headers[headers.count - 1].position : window)
            return page.render()
        }
    }

    func eventPage(_ request: Request, position: Int64) async throws -> Response {
        try await consolePage(request) { c, _ in
            let store = EventStore(connection: c)
            let head = try store.head().position
            let around = try store.read(from: max(1, position - 1), limit: 3)
            guard let event = around.first(where: { $0.position == position }) else {
                throw Problem.notFound("Event", "there is no event at position \(position) (the log head is at \(head))")
            }
            let previous = around.first { $0.position == position - 1 }?.hash ?? HashChain.initial
            var page = EventPage(position: position)
            page.head = head
            page.stream = event.stream
            page.streamVersion = event.streamVersion
            page.eventID = event.eventID
            page.type = event.type
            page.time = event.time.rfc3339
            page.appendedAt = event.appendedAt.rfc3339
            page.data = event.data
            page.metadata = event.metadata
            page.hashHex = SHA256.hex(event.hash)
            page.previousHashHex = SHA256.hex(previous)
            page.linkVerifies = HashChain.next(previous: previous, position: position, canonicalEvent: event.canonicalUTF8) == event.hash
            if let next = around.first(where: { $0.position == position + 1 }) {
                page.nextLinkVerifies = HashChain.next(previous: event.hash, position: next.position, canonicalEvent: next.canonicalUTF8) == next.hash
            }
            return page.render()
        }
    }

    func buildsPage(_ request: Request) async throws -> Response {
        let catalog = BuildCatalog(schemas: ProjectionSchemas(serving: configuration.schema), sql: router.sql)
        return try await consolePage(request) { c, _ in
            var page = BuildsPage()
            page.builds = try catalog.list(c).map(Self.consoleBuild)
            return page.render()
        }
    }

    static func consoleBuild(_ b: BuildInfo) -> BuildsPage.Build {
        BuildsPage.Build(
            name: b.name, rules: b.rules, rulesSha256: b.rulesSha256, status: b.status.rawValue, position: b.position, serving: b.serving,
            createdAt: b.createdAt)
    }

    /// The builds page's form (a plain GET, so its fields arrive as a query): redirects to the
    /// diff's own URL, which names the builds in its path and leaves out the fields left empty;
    /// that URL then checks them as the API does.
    static func buildDiffForm(_ request: Request) throws -> Response {
        let q = request.uri.queryParameters
        func field(_ name: String) -> String? {
            q.get(name).map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
        }
        let a = try buildName(field("a") ?? "", "a")
        let b = try buildName(field("b") ?? "", "b")
        let path =
            "/builds/\(HTML.urlComponent(a))/diff/\(HTML.urlComponent(b))"
            + HTML.query(["node", "account", "from", "to"].map { ($0, field($0)) })
        return redirect(path)
    }

    /// `/builds/{a}/diff/{b}`: the diff `GET /v1/builds/{a}/diff/{b}` computes (the same
    /// function, so the same checks and refusals), shown a page of each table at a time; in the
    /// same snapshot, which of the shown accounts, nodes and epochs have a page in the serving
    /// build, so that only those are links.
    func buildDiffPage(_ request: Request, a: String, b: String) async throws -> Response {
        let q = request.uri.queryParameters
        var pages: [BuildDiffPage.Section: Int] = [:]
        for s in BuildDiffPage.Section.allCases { pages[s] = Self.pageNumber(q.get(s.rawValue)) }
        let catalog = BuildCatalog(schemas: ProjectionSchemas(serving: configuration.schema), sql: router.sql)
        let models = readModels
        let r = try await buildDiff(request, a: a, b: b) { [pages] c, d in
            var page = Self.consoleDiff(d)
            page.pages = pages
            page.buildNames = try catalog.list(c).map(\.name)
            let model = try models.readModel(on: c)
            page.accountsWithPage = Set(try page.shownAccounts.filter { try model.account(AccountID(unchecked: $0)) != nil })
            page.nodesWithPage = Set(try page.shownNodes.filter { try model.nodeExists(NodeID(unchecked: $0)) })
            let last = try model.lastClosedEpoch()
            page.epochsWithPage = Set(page.shownEpochs.filter { $0 <= last })
            return page.render()
        }
        return Self.html(r.value, position: r.position)
    }

    /// The diff as the page's typed values: amounts parsed from `BuildDiff`'s exact decimal
    /// strings in the unit `BuildDiff.unit(of:)` gives each field (a value that is not an
    /// integer is shown as it is, never rounded).
    static func consoleDiff(_ d: BuildDiff) -> BuildDiffPage {
        func value(_ text: String, _ unit: BuildDiff.Unit) -> BuildDiffPage.Value {
            switch unit {
            case .wei: UInt128(text).map { .wei($0) } ?? .other(text)
            case .noz: UInt128(text).map { .noz($0) } ?? .other(text)
            case .other: .other(text)
            }
        }
        func difference(_ text: String?) -> BuildDiffPage.Difference? {
            guard let text else { return nil }
            let negative = text.hasPrefix("-")
            return UInt128(negative ? String(text.dropFirst()) : text).map { BuildDiffPage.Difference(negative: negative, magnitude: $0) }
        }
        func change(_ field: String, _ a: String, _ b: String, _ diff: String?, unit: BuildDiff.Unit? = nil) -> BuildDiffPage.Change {
            let u = unit ?? BuildDiff.unit(of: field)
            return BuildDiffPage.Change(field: field, a: value(a, u), b: value(b, u), difference: difference(diff))
        }
        func keyed<K>(_ xs: [BuildDiff.Keyed<K>]) -> [BuildDiffPage.Keyed<K>] {
            xs.map { k in BuildDiffPage.Keyed(key: k.key, changes: k.changes.map { change($0.field, $0.a, $0.b, $0.difference) }) }
        }
        func refusals(_ xs: [ProjectionException]) -> [BuildDiffPage.Refusal] {
            xs.map { BuildDiffPage.Refusal(position: $0.position, eventID: $0.eventID, type: $0.type, rule: $0.rule, message: $0.message) }
        }
        var page = BuildDiffPage(a: consoleBuild(d.a), b: consoleBuild(d.b))
        page.node = d.filter.node
        page.account = d.filter.account
        page.fromEpoch = d.filter.fromEpoch
        page.toEpoch = d.filter.toEpoch
        page.totals = d.totals.map { change($0.name, $0.a, $0.b, $0.difference) }
        page.rewardTotals = d.rewardTotals.map {
            BuildDiffPage.RewardTotal(role: $0.role, source: $0.source, change: change("rewards", $0.a, $0.b, $0.difference, unit: .wei))
        }
        page.accounts = keyed(d.accounts)
        page.nodes = keyed(d.nodes)
        page.epochs = keyed(d.epochs)
        page.refusedByA = d.refusedByA
        page.refusedByB = d.refusedByB
        page.refusedOnlyByA = refusals(d.refusedOnlyByA)
        page.refusedOnlyByB = refusals(d.refusedOnlyByB)
        return page
    }

    // MARK: Plumbing

    /// The overview ranks the nodes over this many last epochs (a day).
    static let topNodesEpochs: Int64 = 144
    /// At most this many journal postings on an account page.
    static let journalLines = 200
    /// A filtered events page reads at most this many events.
    static let eventsScanWindow: Int64 = 5_000

    /// Renders a page in one read snapshot; `X-Stratos-Position` says which.
    func consolePage(
        _ request: Request, _ render: @escaping @Sendable (PostgresConnection, ReadModel) throws -> String
    ) async throws -> Response {
        let r = try await consoleRead(request, render)
        return Self.html(r.value, position: r.position)
    }

    /// One snapshot read of the serving build for a console page (`?minPosition=` honoured).
    func consoleRead<T: Sendable>(
        _ request: Request, _ body: @escaping @Sendable (PostgresConnection, ReadModel) throws -> T
    ) async throws -> ReadRouter.Positioned<T> {
        let models = readModels
        return try await router.read(minPosition: try Self.minPosition(request)) { c in try body(c, try models.readModel(on: c)) }
    }

    /// An audit's refusals as the problems the console shows.
    static func audited<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as AuditError {
            switch e {
            case .epochNotClosed(let epoch, let last):
                throw Problem.notFound("Epoch", "epoch \(epoch) is not closed yet (the last closed epoch is \(last))")
            case .unknownNode(let n): throw Problem.notFound("Node", "node \(n) has never been seen")
            case .corruptLog: throw Problem("corrupt-log", status: 500, title: "The event log cannot be replayed", detail: e.description)
            }
        }
    }

    /// The headers of every console page: HTML, a policy that lets nothing but this origin's
    /// stylesheet and icon load (no script at all), no sniffing, no referrer.
    static func html(_ text: String, status: HTTPResponse.Status = .ok, position: Int64? = nil) -> Response {
        var headers: HTTPFields = [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"]
        headers[HTTPField.Name("Content-Security-Policy")!] = ConsoleAssets.contentSecurityPolicy
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        if let position { headers[positionHeader] = String(position) }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func asset(_ text: String, type: String) -> Response {
        var headers: HTTPFields = [.contentType: type, .cacheControl: "public, max-age=3600"]
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location], body: ResponseBody())
    }

    /// `?page=` style numbers: 1 when absent or not a positive integer (a bad page number shows
    /// the first page rather than an error).
    static func pageNumber(_ text: String?) -> Int { text.flatMap(Int.init).map { max(1, $0) } ?? 1 }

    /// The price (s + p) / l wei per noz as whole wei per OZ (10^9 noz), floored.
    static func weiPerOZ(_ numerator: Wei, _ denominator: Noz) -> UInt128 {
        guard !denominator.isZero else { return 0 }
        let scaled = numerator.rawValue.multipliedFullWidth(by: 1_000_000_000)
        guard scaled.high < denominator.rawValue else { return UInt128.max }
        return denominator.rawValue.dividingFullWidth(scaled).quotient
    }

    static func vestingRows(_ entries: [VestingScheduleEntry]) -> [VestingRow] {
        entries.map { e in
            VestingRow(
                entry: Int64(e.entry.rawValue), node: e.node?.rawValue, validator: e.validator?.rawValue, role: e.role.rawValue,
                source: e.source.rawValue, amountWei: e.amount.rawValue, epochEarned: e.epochEarned,
                matureEpoch: e.matureEpoch, status: e.status.rawValue)
        }
    }

    static func maturityRows(_ totals: [MaturityTotal]) -> [MaturityRow] {
        totals.map { MaturityRow(epoch: $0.matureEpoch, count: $0.entries, amountWei: $0.amount.rawValue) }
    }

    static func releaseRows(_ releases: [ScheduledRelease]) -> [ReleaseRow] {
        releases.map { r in
            ReleaseRow(
                kind: r.kind.rawValue, reference: r.reference, node: r.node?.rawValue, amountWei: r.amount.rawValue,
                releaseDay: r.releaseDay, releasedEpoch: r.releasedEpoch)
        }
    }
}

/// The console's HTML refusals: a page, with the status, saying what was not found or refused,
/// instead of the API's problem+json; the read token is checked as for `/v1` reads.
struct ConsoleMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let auth: BearerAuthMiddleware

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            try auth.authorize(request)
            return try await next(request, context)
        } catch let problem as Problem {
            if problem.statusCode >= 500 && problem.statusCode != 503 { context.logger.error("\(request.method) \(request.uri.path): \(problem)") }
            return Self.page(problem)
        } catch let error as PoolError {
            return Self.page(.unavailable("\(error)"))
        } catch let error as PostgresError where error.isTransient {
            return Self.page(.unavailable("PostgreSQL cannot answer now: \(error.message)"))
        }
    }

    static func page(_ problem: Problem) -> Response {
        var r = StratosServer.html(
            ErrorPage(status: problem.statusCode, title: problem.title, detail: problem.detail).render(),
            status: HTTPResponse.Status(code: problem.statusCode))
        if let s = problem.retryAfterSeconds { r.headers[.retryAfter] = String(s) }
        if problem.statusCode == 401 { r.headers[.wwwAuthenticate] = "Bearer" }
        return r
    }
}
