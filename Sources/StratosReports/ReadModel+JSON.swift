import LedgerEvents
import StratosEconomics
import StratosProjections

// The JSON of the read model's values (docs/EVENTS.md and docs/openapi.yaml shapes), in one
// place: amounts are decimal strings of base units, counts and epochs JSON integers
// (`JSONValue.integer`). The service's reads and the CLI print these.

public enum ReadJSON {
    public static func account(_ id: AccountID, _ b: AccountBalances) -> JSONValue {
        .object([
            "account": .string(id.rawValue), "wallet": .string(b.wallet.description), "ozone": .string(b.ozone.description),
            "vesting": .string(b.vesting.description), "bonded": .string(b.bonded.description),
            "unbonding": .string(b.unbonding.description), "escrow": .string(b.escrow.description),
        ])
    }

    public static func vesting(_ v: VestingSchedule) -> JSONValue {
        .object([
            "account": .string(v.account.rawValue), "entries": .array(v.entries.map(json)),
            "releases": .array(v.releases.map(json)),
        ])
    }

    static func json(_ e: VestingScheduleEntry) -> JSONValue {
        var o: [String: JSONValue] = [:]
        o["entry"] = .integer(e.entry.rawValue)
        o["node"] = e.node.map { .string($0.rawValue) } ?? .null
        o["validator"] = e.validator.map { .string($0.rawValue) } ?? .null
        o["role"] = .string(e.role.rawValue)
        o["source"] = .string(e.source.rawValue)
        o["amount"] = .string(e.amount.description)
        o["epochEarned"] = .integer(e.epochEarned)
        o["matureEpoch"] = .integer(e.matureEpoch)
        o["status"] = .string(e.status.rawValue)
        o["feeTaken"] = .string(e.feeTaken.description)
        o["closedEpoch"] = e.closedEpoch.map { .integer($0) } ?? .null
        return .object(o)
    }

    static func json(_ r: ScheduledRelease) -> JSONValue {
        var o: [String: JSONValue] = [:]
        o["kind"] = .string(r.kind.rawValue)
        o["reference"] = .string(r.reference)
        o["node"] = r.node.map { .string($0.rawValue) } ?? .null
        o["validator"] = r.validator.map { .string($0.rawValue) } ?? .null
        o["amount"] = .string(r.amount.description)
        o["releaseDay"] = .integer(r.releaseDay)
        o["releasedEpoch"] = r.releasedEpoch.map { .integer($0) } ?? .null
        return .object(o)
    }

    public static func nodeRewards(_ id: NodeID, epochs: ClosedRange<Int64>, _ rows: [NodeEpochReward]) -> JSONValue {
        var total = Wei.zero
        for r in rows { total += r.amount }
        return .object([
            "node": .string(id.rawValue),
            "from": .integer(epochs.lowerBound),
            "to": epochs.upperBound == Int64.max ? .null : .integer(epochs.upperBound),
            "total": .string(total.description),
            "rewards": .array(
                rows.map { r in
                    .object([
                        "epoch": .integer(r.epoch), "role": .string(r.role.rawValue),
                        "source": .string(r.source.rawValue), "amount": .string(r.amount.description),
                    ])
                }),
        ])
    }

    public static func topNodes(epochs: ClosedRange<Int64>, limit: Int, _ ranked: [NodeRewardTotal]) -> JSONValue {
        .object([
            "from": .integer(epochs.lowerBound),
            "to": epochs.upperBound == Int64.max ? .null : .integer(epochs.upperBound),
            "limit": .integer(limit),
            "nodes": .array(
                ranked.enumerated().map { i, t in
                    .object([
                        "rank": .integer(i + 1), "node": .string(t.node.rawValue), "total": .string(t.total.description),
                        "lastEpoch": .integer(t.lastEpoch),
                        "byRole": .object(
                            Dictionary(
                                uniqueKeysWithValues: t.byRole.map { role, r in
                                    (
                                        role.rawValue,
                                        JSONValue.object([
                                            "amount": .string(r.amount.description),
                                            "lastEpoch": .integer(r.lastEpoch),
                                        ])
                                    )
                                })),
                    ])
                }),
        ])
    }

    public static func ozoneSeries(epochs: ClosedRange<Int64>, _ rows: [OzoneSupplyPoint]) -> JSONValue {
        .object([
            "from": .integer(epochs.lowerBound),
            "to": epochs.upperBound == Int64.max ? .null : .integer(epochs.upperBound),
            "points": .array(
                rows.map { p in
                    .object([
                        "epoch": .integer(p.epoch), "position": .integer(p.position),
                        "s": .string(p.supply.s.description), "p": .string(p.supply.p.description),
                        "l": .string(p.supply.l.description), "mined": .string(p.supply.mined.description),
                        "feeCollector": .string(p.feeCollector.description),
                        "price": .object([
                            "numeratorWei": .string(p.priceNumeratorWei.description),
                            "denominatorNoz": .string(p.priceDenominatorNoz.description),
                            "weiPerOZ": .string(pricePerOZ(p.priceNumeratorWei, p.priceDenominatorNoz)),
                        ]),
                        "bought": .string(p.bought.description), "consumed": .string(p.consumed.description),
                        "settled": .string(p.settled.description), "carriedOver": .string(p.carriedOver.description),
                    ])
                }),
        ])
    }

    /// (s + p) / l wei per noz as wei per OZ (10^9 noz), with 9 decimals, truncated — shown for
    /// humans next to the exact fraction, never booked.
    public static func pricePerOZ(_ numeratorWei: Wei, _ denominatorNoz: Noz) -> String {
        let numerator = numeratorWei.rawValue
        let denominator = denominatorNoz.rawValue
        guard denominator > 0 else { return "0" }
        let scaled = numerator.multipliedFullWidth(by: 1_000_000_000 * 1_000_000_000)
        guard scaled.high < denominator else { return "overflow" }
        return formatDecimal(denominator.dividingFullWidth(scaled).quotient, decimals: 9)
    }

    public static func stake(_ s: StakeLedger) -> JSONValue {
        func rows(_ list: [StakeReward]) -> JSONValue {
            .array(
                list.map { r in
                    .object([
                        "epoch": .integer(r.epoch), "account": .string(r.account.rawValue),
                        "validator": r.validator.map { .string($0.rawValue) } ?? .null,
                        "node": r.node.map { .string($0.rawValue) } ?? .null, "role": .string(r.role.rawValue),
                        "kind": .string(r.kind.rawValue), "source": r.source.map { .string($0.rawValue) } ?? .null,
                        "amount": .string(r.amount.description),
                    ])
                })
        }
        return .object(["id": .string(s.id), "asValidator": rows(s.asValidator), "asRecipient": rows(s.asRecipient)])
    }
}
