import LedgerEvents
import StratosEconomics

/// The users' shadow: exact wallets (only Funded, Transferred, Prepaid and Withdrawn touch
/// them) and Ozone (prepays add what the economy says they bought, traffic subtracts its
/// charge).
struct UserPopulation {
    let ids: [AccountID]
    var wallet: [UInt128]
    var ozone: [UInt128]
    /// 1…16: how big a user's purchases are; heavy users buy more at a time.
    let scale: [UInt64]
    let picker: WeightedPicker

    /// Zipf weights over a random permutation of ranks.
    init(count: Int, _ rng: inout Xoshiro256StarStar) {
        ids = (0..<count).map { AccountID(unchecked: "st1user\(pad($0, count))") }
        var ranks = Array(0..<count)
        shuffle(&ranks, &rng)
        let weights = ranks.map { zipfWeight(rank: $0) }
        picker = WeightedPicker(weights.enumerated().map { ($0.offset, $0.element) })
        scale = ranks.map { rank in 1 + 15 / UInt64(rank + 1) }
        wallet = Array(repeating: 0, count: count)
        ozone = Array(repeating: 0, count: count)
    }
}

// MARK: Users' actions

extension Generator {
    func fund(user: Int, atLeast amount: UInt128) {
        let extra = stos(atLeast: 5 * users.scale[user], octaves: 6)
        let total = amount + extra
        if propose(.funded(account: users.ids[user], amount: Wei(total))) { users.wallet[user] += total }
    }

    /// Buys Ozone for `needNoz` plus a stock for the user's next uploads and downloads (10 to
    /// 100 typical transfers, heavier users buying more), at the current marginal price plus
    /// 0–50% for slippage and rounding; funds the wallet first if needed.
    @discardableResult
    func prepay(user: Int, needNoz: UInt128 = 0) -> Bool {
        let typicalNoz = UInt128(512 << 20) * UInt128(users.scale[user])
        let stockNoz = needNoz + typicalNoz * UInt128(rng.inRange(10...100))
        let weiPerNoz = supply.l.isZero ? 1 : (supply.s.rawValue + supply.p.rawValue) / supply.l.rawValue + 1
        let amount =
            max(weiPerSTOS / 100, weiPerNoz * stockNoz / 100 * UInt128(rng.inRange(100...150)))
            + rng.below128(weiPerSTOS / 1000)
        if users.wallet[user] < amount { fund(user: user, atLeast: amount - users.wallet[user]) }
        guard users.wallet[user] >= amount else { return false }
        guard let applied = proposeReturningEffects(.prepaid(account: users.ids[user], amount: Wei(amount))) else {
            return false
        }
        users.wallet[user] -= amount
        let bought = ozoneBought(by: users.ids[user], in: applied)
        precondition(bought > 0, "a prepay of \(amount) wei by \(users.ids[user]) bought no Ozone, yet was accepted")
        users.ozone[user] += bought
        return true
    }

    func traffic() {
        if resources.activePickerStale { resources.rebuildActivePicker() }
        let user = users.picker.pick(&rng)
        let node = resources.activePicker.pick(&rng)
        let kindDraw = rng.below(100)
        let kind: TrafficKind
        var bytes: UInt128
        var replicas: Int64? = nil
        var records: UInt128? = nil
        switch kindDraw {
        case 0..<30:
            kind = .upload
            bytes = UInt128(rng.heavyTail(minimum: 32 << 20, octaves: 12))
            let r = rng.below(10)
            replicas = r < 3 ? nil : (r < 8 ? 3 : Int64(4 + rng.below(3)))
        case 30..<75:
            kind = .download
            bytes = UInt128(rng.heavyTail(minimum: 32 << 20, octaves: 12))
        case 75..<95:
            kind = .query
            bytes = UInt128(rng.heavyTail(minimum: 16 << 10, octaves: 12))
            records = UInt128(rng.heavyTail(minimum: 1, octaves: 16))
        default:
            kind = .replication
            bytes = UInt128(rng.heavyTail(minimum: 32 << 20, octaves: 10))
        }
        func charge() -> UInt128 {
            switch kind {
            case .upload: bytes * UInt128(replicas ?? 3)
            case .download: bytes
            case .query: bytes + 1_000 * (records ?? 0)
            case .replication: 0
            }
        }
        // Short of Ozone: buy some (up to twice), then serve what the user can pay for.
        var attempts = 0
        while charge() > users.ozone[user] && attempts < 2 {
            if !prepay(user: user, needNoz: charge() - users.ozone[user]) { break }
            attempts += 1
        }
        let ozone = users.ozone[user]
        if charge() > ozone {
            switch kind {
            case .upload: bytes = ozone / UInt128(replicas ?? 3)
            case .download: bytes = ozone
            case .query:
                records = min(records ?? 0, ozone / 2_000)
                bytes = ozone - 1_000 * (records ?? 0)
                if records == 0 { records = nil }
            case .replication: break
            }
        }
        guard bytes > 0 else { return }
        let record = TrafficRecord(
            epoch: Int64(epoch), node: resources.ids[node], account: users.ids[user],
            kind: kind, bytes: bytes, replicas: replicas, records: records)
        let cost = charge()
        if propose(.trafficServed(record)) {
            users.ozone[user] -= cost
            if kind == .upload { resources.storedBytes[node] += bytes }
        }
    }

    func transfer() {
        guard config.users >= 2 else { return }
        let from = users.picker.pick(&rng)
        var to = rng.index(config.users - 1)
        if to >= from { to += 1 }
        let wallet = users.wallet[from]
        guard wallet > 0 else { return }
        let amount = 1 + rng.below128(wallet / 4 + 1)
        guard amount <= wallet else { return }
        if propose(.transferred(from: users.ids[from], to: users.ids[to], amount: Wei(amount))) {
            users.wallet[from] -= amount
            users.wallet[to] += amount
        }
    }

    func withdraw() {
        let user = rng.index(config.users)
        let wallet = users.wallet[user]
        let amount = wallet / 100 * UInt128(rng.inRange(5...50))
        guard amount > 0 else { return }
        if propose(.withdrawn(account: users.ids[user], amount: Wei(amount))) { users.wallet[user] -= amount }
    }

}
