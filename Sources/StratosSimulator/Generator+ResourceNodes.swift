import LedgerEvents
import StratosEconomics

enum ResourceStatus { case dormant, active, suspended, deactivated, shutDown }

/// The resource nodes' shadow: who is active (and the weighted picker of traffic's nodes over
/// them, rebuilt when that changes) and what each stores, for its deactivation.
struct ResourceFleet {
    let ids: [NodeID]
    let owners: [AccountID]
    var status: [ResourceStatus]
    var storedBytes: [UInt128]
    let weight: [UInt64]
    var activePicker = WeightedPicker()
    var activePickerStale = true

    init(count: Int, _ rng: inout Xoshiro256StarStar) {
        ids = (0..<count).map { NodeID(unchecked: "stsds1res\(pad($0, count))") }
        owners = (0..<count).map { AccountID(unchecked: "st1resowner\(pad($0, count))") }
        var ranks = Array(0..<count)
        shuffle(&ranks, &rng)
        weight = ranks.map { zipfWeight(rank: $0) }
        status = Array(repeating: .dormant, count: count)
        storedBytes = Array(repeating: 0, count: count)
    }

    mutating func rebuildActivePicker() {
        activePicker = WeightedPicker(status.indices.compactMap { status[$0] == .active ? ($0, weight[$0]) : nil })
        activePickerStale = false
        precondition(!activePicker.isEmpty, "resource node 0 is never suspended or deactivated")
    }
}

// MARK: Resource nodes' actions

extension Generator {
    func activate(_ node: Int) {
        var deposit = stos(atLeast: 1_000, octaves: 3)
        if deposit > genesisDeposit / 2 { deposit = genesisDeposit / 2 }
        guard deposit > 0 else { return }
        let owner = resources.owners[node]
        guard propose(.funded(account: owner, amount: Wei(deposit + 10 * weiPerSTOS))) else { return }
        if propose(.resourceNodeActivated(node: resources.ids[node], owner: owner, deposit: Wei(deposit))) {
            resources.status[node] = .active
            resources.activePickerStale = true
        }
    }

    /// Nodes that may be suspended or deactivated: everything but node 0.
    func pickNode(where predicate: (ResourceStatus) -> Bool) -> Int? {
        let eligible = (1..<max(1, config.resourceNodes)).filter { predicate(resources.status[$0]) }
        return eligible.isEmpty ? nil : eligible[rng.index(eligible.count)]
    }

    func suspend() {
        guard let node = pickNode(where: { $0 == .active }) else { return }
        if propose(.resourceNodeSuspended(node: resources.ids[node])) {
            resources.status[node] = .suspended
            resources.activePickerStale = true
            add(.resumeResource(node), at: epoch + 6 + rng.index(139))
        }
    }

    func resume(_ node: Int) {
        guard resources.status[node] == .suspended else { return }
        if propose(.resourceNodeResumed(node: resources.ids[node])) {
            resources.status[node] = .active
            resources.activePickerStale = true
        }
    }

    func deactivate(shutdownAfterCoolingOff: Bool) {
        guard let node = pickNode(where: { $0 == .active || $0 == .suspended }) else { return }
        guard propose(.nodeDeactivated(node: resources.ids[node], storedBytes: resources.storedBytes[node])) else { return }
        resources.status[node] = .deactivated
        resources.activePickerStale = true
        // Inside the cooling-off: at most 12 days later, so that day(t) < d + 14 wherever in
        // its epoch either event falls. After it: at least 15 days later.
        let delay =
            shutdownAfterCoolingOff
            ? 15 * epochsPerDay + rng.index(epochsPerDay)
            : 1 + rng.index(max(1, min(12 * epochsPerDay, config.epochs - epoch)))
        if epoch + delay <= config.epochs { add(.shutDown(node), at: epoch + delay) }
    }

    func shutDown(_ node: Int) {
        guard resources.status[node] == .deactivated else { return }
        if propose(.nodeShutDown(node: resources.ids[node])) { resources.status[node] = .shutDown }
    }

}
