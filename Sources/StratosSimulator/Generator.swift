import LedgerEvents
import StratosEconomics

// The generator behind `Simulator`: one class holding the clock, the economy and the event
// outbox, and one shadow per actor (users, resource nodes, meta nodes, validators and
// delegators), each in a file of its own with the actions it proposes (Generator+*.swift), as
// Economy+*.swift splits the engine.

/// Ten minutes in microseconds, the epoch length.
let epochMicros: Int64 = 600_000_000
let epochsPerDay = 144
let weiPerSTOS = Wei.perSTOS

/// Background actions drawn every epoch, and lifecycle actions scheduled for an epoch.
enum Action {
    case traffic, prepay, transfer, withdraw, delegate, undelegate, gasFees, suspend
    case activateResource(Int)
    case resumeResource(Int)
    case deactivate(shutdownAfterCoolingOff: Bool)
    case shutDown(Int)
    case createValidator(Int)
    case firstDelegation(Int)
    case metaRequest
    case metaVote
}

final class Generator {
    let config: SimulationConfig
    var rng: Xoshiro256StarStar
    var economy: Economy
    var summary = SimulationSummary()

    /// `s`, `p`, `l`, `mined` after the last accepted event: users size their purchases by
    /// the price `(s + p) / l` like real users would.
    var supply = Supply(s: .zero, p: .zero, l: .zero, mined: .zero)

    /// Events accepted but not yet handed to `emit` (one action's worth at most).
    var outbox: [LedgerEvent] = []
    var eventCounter = 0
    let idPrefix: String

    // Time: the current action's time, and a sub-step so events of one action stay ordered.
    var epoch = 1
    var now = Timestamp(microsecondsSinceEpoch: 0)

    var users: UserPopulation
    var resources: ResourceFleet
    var metas: MetaCouncil
    var staking: StakingBook

    /// Lifecycle actions by epoch.
    var schedule: [Int: [Action]] = [:]
    /// The current epoch's actions (reused buffer).
    var actions: [Action] = []

    /// `s`, constant under paper-v1; later deposits stay below half of it, so that no
    /// deactivation can take the Ozone limit to zero (RULES §9).
    var genesisDeposit: UInt128 = 0

    init(config: SimulationConfig) {
        self.config = config
        var rng = Xoshiro256StarStar(seed: config.seed)
        idPrefix = "sim\(String(config.seed, radix: 16))-"
        // The order of these draws is part of the output: users, resource nodes, validators,
        // delegators.
        users = UserPopulation(count: config.users, &rng)
        resources = ResourceFleet(count: config.resourceNodes, &rng)
        metas = MetaCouncil(activeAtEnd: config.metaNodes)
        staking = StakingBook(validators: config.validators, delegators: config.delegators, &rng)
        economy = makeSimulationEconomy()
        self.rng = rng
        planLifecycle(candidates: metas.candidateCount)
    }

    // MARK: Plan

    /// Fixes, before the first event, when nodes join and leave, when validators are created,
    /// when delegators first delegate and when meta candidates apply.
    func planLifecycle(candidates: Int) {
        let lastEpoch = config.epochs
        // Resource nodes after genesis join over the first two thirds of the run.
        let genesisResources = genesisResourceCount
        let joinWindow = max(1, lastEpoch * 2 / 3)
        var joinEpochs = (genesisResources..<config.resourceNodes).map { _ in 1 + rng.index(joinWindow) }
        joinEpochs.sort()
        for (offset, node) in (genesisResources..<config.resourceNodes).enumerated() {
            add(.activateResource(node), at: joinEpochs[offset])
        }

        // Deactivations: about a quarter of the nodes (at least two when there are three or
        // more), alternating shutdowns inside and after the 14-day cooling-off. Node 0 never
        // leaves, so traffic always has somewhere to go.
        let leaving = config.resourceNodes >= 3 ? max(2, (config.resourceNodes - 1) / 4) : config.resourceNodes - 1
        let coolingOffEpochs = 14 * epochsPerDay
        for j in 0..<leaving {
            let afterCoolingOff = j % 2 == 0 && lastEpoch > coolingOffEpochs + 3 * epochsPerDay
            let epoch: Int
            if afterCoolingOff {
                // Early enough that the shutdown 15–16 days later still falls inside the run.
                let latest = lastEpoch - coolingOffEpochs - 2 * epochsPerDay
                let earliest = min(latest, max(2, lastEpoch / 8))
                epoch = earliest + rng.index(latest - earliest + 1)
            } else {
                // Before the last epoch, so that the shutdown fits in the run.
                let earliest = max(1, lastEpoch / 4)
                epoch = earliest + rng.index(max(1, lastEpoch - 1 - earliest))
            }
            add(.deactivate(shutdownAfterCoolingOff: afterCoolingOff), at: epoch)
        }

        // Validators: one every few epochs from the start.
        for v in 0..<config.validators {
            add(.createValidator(v), at: min(lastEpoch, 1 + 3 * v))
        }
        // Delegators: first delegation within the first two days (or the run).
        let window = min(lastEpoch, 2 * epochsPerDay)
        for d in 0..<config.delegators {
            add(.firstDelegation(d), at: 1 + rng.index(window))
        }

        // Meta candidates apply one after another over the first three quarters of the run.
        for c in 0..<candidates {
            let epoch = 1 + (lastEpoch * 3 / 4) * (c + 1) / (candidates + 1)
            metas.candidateQueue.append((metas.genesisCount + c, max(1, epoch)))
        }
    }

    var genesisResourceCount: Int { max(1, (config.resourceNodes + 2) / 3) }

    func add(_ action: Action, at epoch: Int) {
        schedule[epoch, default: []].append(action)
    }

    // MARK: Run

    func run(emit: (LedgerEvent) throws -> Void) throws {
        outbox.reserveCapacity(8)
        now = config.genesisTime
        guard genesis() else {
            throw SimulationError.genesisRefused(summary.refusalSamples.first ?? "Genesis refused")
        }
        try flush(emit)
        for e in 1...config.epochs {
            epoch = e
            planEpoch()
            let startMicros = config.genesisTime.microsecondsSinceEpoch + Int64(e - 1) * epochMicros
            // n actions share the epoch in n+1 equal slots, each at a random point in the
            // first half of its slot, so times rise through the epoch and never reach its close.
            let slot = epochMicros / Int64(actions.count + 1)
            for (i, action) in actions.enumerated() {
                let jitter = slot >= 16 ? Int64(rng.below(UInt64(slot / 2))) : 0
                now = Timestamp(microsecondsSinceEpoch: startMicros + Int64(i + 1) * slot + jitter)
                perform(action)
                try flush(emit)
            }
            now = Timestamp(microsecondsSinceEpoch: startMicros + epochMicros)
            propose(.epochClosed(epoch: Int64(e)))
            try flush(emit)
            summary.lastClosedEpoch = Int64(e)
        }
    }

    func flush(_ emit: (LedgerEvent) throws -> Void) throws {
        for event in outbox { try emit(event) }
        outbox.removeAll(keepingCapacity: true)
    }

    /// This epoch's actions: scheduled lifecycle, meta steps and the background mix, shuffled.
    func planEpoch() {
        actions.removeAll(keepingCapacity: true)
        if let scheduled = schedule.removeValue(forKey: epoch) { actions.append(contentsOf: scheduled) }
        if let p = metas.pending {
            if p.nextVoteEpoch <= epoch { actions.append(.metaVote) }
        } else if metas.nextCandidate < metas.candidateQueue.count, metas.candidateQueue[metas.nextCandidate].epoch <= epoch {
            actions.append(.metaRequest)
        }
        let level = config.trafficPerEpoch
        // Traffic follows the time of day (busiest in the afternoon), ±25% from epoch to epoch.
        let hour = ((epoch - 1) % epochsPerDay) / 6
        let milli = UInt64(level) * diurnalPercent[hour] * (750 + rng.below(501)) / 100
        appendCount(.traffic, milli: milli)
        appendCount(.prepay, milli: UInt64(level) * 10)
        appendCount(.transfer, milli: UInt64(level) * 25)
        appendCount(.withdraw, milli: UInt64(config.users) * 5)
        appendCount(.gasFees, milli: 167)
        appendCount(.suspend, milli: UInt64(config.resourceNodes))
        if config.validators > 0 {
            appendCount(.delegate, milli: UInt64(config.delegators) * 2)
            appendCount(.undelegate, milli: UInt64(config.delegators))
        }
        shuffle(&actions, &rng)
    }

    /// Appends `milli / 1000` actions, the fraction decided by a draw.
    func appendCount(_ action: Action, milli: UInt64) {
        var n = milli / 1000
        if rng.below(1000) < milli % 1000 { n += 1 }
        for _ in 0..<n { actions.append(action) }
    }

    func perform(_ action: Action) {
        switch action {
        case .traffic: traffic()
        case .prepay: prepay(user: users.picker.pick(&rng))
        case .transfer: transfer()
        case .withdraw: withdraw()
        case .delegate: delegate(delegator: rng.index(max(1, config.delegators)), first: false)
        case .undelegate: undelegate()
        case .gasFees: propose(.gasFeesCollected(amount: Wei(UInt128(rng.heavyTail(minimum: 1_000_000_000_000_000, octaves: 12)))))
        case .suspend: suspend()
        case .activateResource(let node): activate(node)
        case .resumeResource(let node): resume(node)
        case .deactivate(let after): deactivate(shutdownAfterCoolingOff: after)
        case .shutDown(let node): shutDown(node)
        case .createValidator(let v): createValidator(v)
        case .firstDelegation(let d): delegate(delegator: d, first: true)
        case .metaRequest: metaRequest()
        case .metaVote: metaVote()
        }
    }

    // MARK: Proposing

    /// Applies the event to the economy; true (and queued for emission) if accepted.
    @discardableResult
    func propose(_ payload: EventPayload) -> Bool { proposeReturningEffects(payload) != nil }

    /// Applies the event to the economy; what it did (and queued for emission) if accepted.
    func proposeReturningEffects(_ payload: EventPayload) -> AppliedEvent? {
        let event = LedgerEvent(
            id: EventID(unchecked: idPrefix + String(eventCounter + 1)),
            time: now, payload: payload)
        let applied: AppliedEvent
        do {
            applied = try economy.apply(event)
        } catch {
            summary.refused += 1
            if summary.refusalSamples.count < 5 {
                summary.refusalSamples.append("epoch \(epoch), \(payload.type.rawValue): \(error)")
            }
            return nil
        }
        eventCounter += 1
        supply = applied.supply
        summary.eventsWritten += 1
        summary.countsByType[payload.type, default: 0] += 1
        outbox.append(event)
        return applied
    }

    /// A whole number of STOS from a heavy-tailed draw plus a random fraction, in wei: the
    /// fraction keeps amounts from being round, so rounding mistakes downstream show.
    func stos(atLeast minimum: UInt64, octaves: Int) -> UInt128 {
        UInt128(rng.heavyTail(minimum: minimum, octaves: octaves)) * weiPerSTOS + rng.below128(weiPerSTOS)
    }

    // MARK: Genesis

    /// Proposes `Genesis`; false if the rules refuse it (then nothing else can be valid).
    func genesis() -> Bool {
        var nodes: [GenesisNode] = []
        var s: UInt128 = 0
        for node in 0..<genesisResourceCount {
            let deposit = stos(atLeast: 1_000, octaves: 3)
            nodes.append(GenesisNode(node: resources.ids[node], kind: .resource, owner: resources.owners[node], deposit: Wei(deposit)))
            s += deposit
        }
        for meta in 0..<metas.genesisCount {
            let deposit = stos(atLeast: 10_000, octaves: 1)
            nodes.append(GenesisNode(node: metas.ids[meta], kind: .meta, owner: metas.owners[meta], deposit: Wei(deposit)))
            s += deposit
        }
        // Initial price 0.01–0.04 STOS per OZ, i.e. 10^7–4·10^7 wei per noz.
        let weiPerNoz = UInt128(rng.inRange(10_000_000...40_000_000))
        genesisDeposit = s
        guard propose(.genesis(ozoneLimit: Noz(s / weiPerNoz), nodes: nodes)) else { return false }
        for node in 0..<genesisResourceCount { resources.status[node] = .active }
        for meta in 0..<metas.genesisCount { metas.status[meta] = .active }
        resources.activePickerStale = true
        return true
    }
}

/// Percent of the mean traffic level by hour of the day (UTC): quiet at night, busy in the
/// afternoon. Averages 100.
let diurnalPercent: [UInt64] = [
    55, 45, 40, 40, 45, 55, 70, 90, 110, 125, 135, 140,
    145, 150, 150, 145, 140, 135, 130, 120, 110, 95, 80, 65,
]

/// Zero-padded decimal, as wide as the largest index of the group, so ids sort numerically.
func pad(_ i: Int, _ count: Int) -> String {
    let width = String(max(count - 1, 0)).count
    let digits = String(i)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}

/// Fisher–Yates with the simulator's own draws (the standard library's `shuffle` algorithm
/// is not promised to stay the same across releases).
func shuffle<T>(_ array: inout [T], _ rng: inout Xoshiro256StarStar) {
    guard array.count > 1 else { return }
    for i in stride(from: array.count - 1, to: 0, by: -1) {
        let j = rng.index(i + 1)
        if i != j { array.swapAt(i, j) }
    }
}
