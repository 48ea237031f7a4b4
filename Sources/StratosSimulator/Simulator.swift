import LedgerEvents
import StratosEconomics

/// A deterministic generator of realistic, valid Stratos network histories (docs/EVENTS.md events).
///
/// Validity is by construction: every proposed event is applied to a real `Economy` and
/// emitted only if it is accepted, so a history from `run` imports without a refusal under
/// `paper-v1`. The generator keeps a small shadow of what it needs to propose sensible events
/// (wallets of users, who is active, who delegated what); where it needs a figure only the
/// rules can give (the Ozone a prepay bought), it asks the economy.
///
/// Determinism: one xoshiro256** stream seeded from `config.seed`, integer draws only, no
/// dictionary or set iteration, no clock. The same configuration writes the same bytes.
///
/// ```swift
/// let summary = try Simulator(.small).run { event in try writer.write(event) }
/// ```
public struct Simulator: Sendable {
    public let config: SimulationConfig

    public init(_ config: SimulationConfig) throws(SimulationConfigError) {
        try config.validate()
        self.config = config
    }

    /// Generates the history event by event, in log order, calling `emit` for each accepted
    /// event (memory stays bounded by the network's size, not the history's length).
    /// Errors thrown by `emit` stop the run and are rethrown.
    @discardableResult
    public func run(emit: (LedgerEvent) throws -> Void) throws -> SimulationSummary {
        let generator = Generator(config: config)
        try generator.run(emit: emit)
        return generator.summary
    }

    /// Generates into an `Economy` too, and returns it with the summary (for tests that check
    /// the end state, and for benchmarks that want a populated economy).
    public func runReturningEconomy(emit: (LedgerEvent) throws -> Void) throws -> (SimulationSummary, Economy) {
        let generator = Generator(config: config)
        try generator.run(emit: emit)
        return (generator.summary, generator.economy)
    }
}

/// A run that cannot produce a valid history.
public enum SimulationError: Error, CustomStringConvertible, Sendable {
    /// The economy refused the generated `Genesis`, so no later event could be valid.
    case genesisRefused(String)
    public var description: String {
        switch self {
        case .genesisRefused(let reason): "the rules refused the simulated Genesis: \(reason)"
        }
    }
}

/// What a run produced.
public struct SimulationSummary: Sendable, Hashable, CustomStringConvertible {
    /// Events emitted, in total and by type.
    public var eventsWritten: Int = 0
    public var countsByType: [EventType: Int] = [:]
    /// Proposals the economy refused (not emitted). Zero unless the generator's shadow of the
    /// state has drifted from the rules; the tests hold it at zero.
    public var refused: Int = 0
    /// The first few refusals, for diagnosis.
    public var refusalSamples: [String] = []
    public var lastClosedEpoch: Int64 = 0

    public func count(_ type: EventType) -> Int { countsByType[type] ?? 0 }

    public var description: String {
        var lines = ["\(eventsWritten) events, epochs 1–\(lastClosedEpoch) closed"]
        for type in EventType.allCases where count(type) > 0 {
            lines.append("  \(type.rawValue): \(count(type))")
        }
        if refused > 0 { lines.append("  refused proposals (not written): \(refused)") }
        return lines.joined(separator: "\n")
    }
}

// MARK: - The generator

/// Ten minutes in microseconds, the epoch length.
private let epochMicros: Int64 = 600_000_000
private let epochsPerDay = 144
private let weiPerSTOS = Wei.perSTOS

/// Background actions drawn every epoch, and lifecycle actions scheduled for an epoch.
private enum Action {
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

private enum ResourceStatus { case dormant, active, suspended, deactivated, shutDown }
private enum MetaStatus { case dormant, pending, active, rejected }

/// One meta node registration in progress (one at a time).
private struct PendingRegistration {
    var candidate: Int
    var voters: [Int]
    var nextVoter = 0
    /// Index into `voters` of the one who votes no, for the candidate that is voted down.
    var rejectingVoter: Int?
    var nextVoteEpoch: Int
}

private final class Generator {
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

    // Users: exact wallets (only Funded, Transferred, Prepaid and Withdrawn touch them) and
    // Ozone (prepays add what the economy says they bought, traffic subtracts its charge).
    let userIDs: [AccountID]
    var userWallet: [UInt128]
    var userOzone: [UInt128]
    /// 1…16: how big a user's purchases are; heavy users buy more at a time.
    let userScale: [UInt64]
    let userPicker: WeightedPicker

    // Resource nodes.
    let resourceIDs: [NodeID]
    let resourceOwners: [AccountID]
    var resourceStatus: [ResourceStatus]
    var resourceStoredBytes: [UInt128]
    let resourceWeight: [UInt64]
    var activePicker = WeightedPicker()
    var activePickerStale = true

    // Meta nodes: genesis ones, then candidates (voted in, plus one voted down).
    let metaIDs: [NodeID]
    let metaOwners: [AccountID]
    var metaStatus: [MetaStatus]
    let genesisMeta: Int
    /// Candidates in request order with their earliest request epoch, and which is voted down.
    var candidateQueue: [(candidate: Int, epoch: Int)] = []
    var nextCandidate = 0
    let rejectedCandidate: Int?
    var pending: PendingRegistration?

    // Validators and delegators.
    let validatorIDs: [ValidatorID]
    let operatorIDs: [AccountID]
    var createdValidators: [Int] = []
    var validatorPicker = WeightedPicker()
    let validatorWeight: [UInt64]
    let delegatorIDs: [AccountID]
    /// A lower bound of each delegator's wallet: what it was funded minus what it delegated
    /// (rewards and released unbondings only add to the real wallet).
    var delegatorWallet: [UInt128]
    /// delegation[d * validators + v], exactly as the economy has it.
    var delegation: [UInt128]
    var delegatorStarted: [Bool]
    /// The validators each delegator delegates to: real delegators stay with one to three, and
    /// each (delegator, validator) pair is a reward recipient every epoch, so spreading over all
    /// validators would multiply the economy's vesting entries unrealistically.
    var delegatorValidators: [[Int]]
    let delegatorValidatorLimit: [Int]

    /// Lifecycle actions by epoch.
    var schedule: [Int: [Action]] = [:]
    /// The current epoch's actions (reused buffer).
    var actions: [Action] = []

    init(config: SimulationConfig) {
        self.config = config
        var rng = Xoshiro256StarStar(seed: config.seed)
        idPrefix = "sim\(String(config.seed, radix: 16))-"

        // Users: Zipf weights over a random permutation of ranks.
        let users = config.users
        userIDs = (0..<users).map { AccountID(unchecked: "st1user\(pad($0, users))") }
        var userRanks = Array(0..<users)
        shuffle(&userRanks, &rng)
        let userWeights = userRanks.map { zipfWeight(rank: $0) }
        userPicker = WeightedPicker(userWeights.enumerated().map { ($0.offset, $0.element) })
        userScale = userRanks.map { rank in 1 + 15 / UInt64(rank + 1) }
        userWallet = Array(repeating: 0, count: users)
        userOzone = Array(repeating: 0, count: users)

        // Resource nodes.
        let r = config.resourceNodes
        resourceIDs = (0..<r).map { NodeID(unchecked: "stsds1res\(pad($0, r))") }
        resourceOwners = (0..<r).map { AccountID(unchecked: "st1resowner\(pad($0, r))") }
        var nodeRanks = Array(0..<r)
        shuffle(&nodeRanks, &rng)
        resourceWeight = nodeRanks.map { zipfWeight(rank: $0) }
        resourceStatus = Array(repeating: .dormant, count: r)
        resourceStoredBytes = Array(repeating: 0, count: r)

        // Meta nodes: `votedIn` of them join by vote; one more candidate is voted down when
        // there is somebody to vote.
        let m = config.metaNodes
        let votedIn = m >= 2 ? max(1, m / 3) : 0
        genesisMeta = m - votedIn
        let candidates = votedIn + (genesisMeta > 0 ? 1 : 0)
        let totalMeta = genesisMeta + candidates
        metaIDs = (0..<totalMeta).map { NodeID(unchecked: "stsds1meta\(pad($0, totalMeta))") }
        metaOwners = (0..<totalMeta).map { AccountID(unchecked: "st1metaowner\(pad($0, totalMeta))") }
        metaStatus = Array(repeating: .dormant, count: totalMeta)
        rejectedCandidate = genesisMeta > 0 ? genesisMeta + candidates / 2 : nil

        // Validators and delegators.
        let v = config.validators
        validatorIDs = (0..<v).map { ValidatorID(unchecked: "stvaloper1val\(pad($0, v))") }
        operatorIDs = (0..<v).map { AccountID(unchecked: "st1operator\(pad($0, v))") }
        var validatorRanks = Array(0..<v)
        shuffle(&validatorRanks, &rng)
        validatorWeight = validatorRanks.map { zipfWeight(rank: $0) }
        let k = config.delegators
        delegatorIDs = (0..<k).map { AccountID(unchecked: "st1delegator\(pad($0, k))") }
        delegatorWallet = Array(repeating: 0, count: k)
        delegation = Array(repeating: 0, count: k * v)
        delegatorStarted = Array(repeating: false, count: k)
        delegatorValidators = Array(repeating: [], count: k)
        delegatorValidatorLimit = (0..<k).map { _ in 1 + rng.index(3) }

        economy = makeSimulationEconomy()
        self.rng = rng

        planLifecycle(candidates: candidates)
    }

    // MARK: Plan

    /// Fixes, before the first event, when nodes join and leave, when validators are created,
    /// when delegators first delegate and when meta candidates apply.
    private func planLifecycle(candidates: Int) {
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
            candidateQueue.append((genesisMeta + c, max(1, epoch)))
        }
    }

    var genesisResourceCount: Int { max(1, (config.resourceNodes + 2) / 3) }

    private func add(_ action: Action, at epoch: Int) {
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

    private func flush(_ emit: (LedgerEvent) throws -> Void) throws {
        for event in outbox { try emit(event) }
        outbox.removeAll(keepingCapacity: true)
    }

    /// This epoch's actions: scheduled lifecycle, meta steps and the background mix, shuffled.
    private func planEpoch() {
        actions.removeAll(keepingCapacity: true)
        if let scheduled = schedule.removeValue(forKey: epoch) { actions.append(contentsOf: scheduled) }
        if let p = pending {
            if p.nextVoteEpoch <= epoch { actions.append(.metaVote) }
        } else if nextCandidate < candidateQueue.count, candidateQueue[nextCandidate].epoch <= epoch {
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
    private func appendCount(_ action: Action, milli: UInt64) {
        var n = milli / 1000
        if rng.below(1000) < milli % 1000 { n += 1 }
        for _ in 0..<n { actions.append(action) }
    }

    private func perform(_ action: Action) {
        switch action {
        case .traffic: traffic()
        case .prepay: prepay(user: userPicker.pick(&rng))
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
    private func propose(_ payload: EventPayload) -> Bool { proposeReturningEffects(payload) != nil }

    /// Applies the event to the economy; what it did (and queued for emission) if accepted.
    private func proposeReturningEffects(_ payload: EventPayload) -> AppliedEvent? {
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
    private func stos(atLeast minimum: UInt64, octaves: Int) -> UInt128 {
        UInt128(rng.heavyTail(minimum: minimum, octaves: octaves)) * weiPerSTOS + rng.below128(weiPerSTOS)
    }

    // MARK: Genesis

    /// Proposes `Genesis`; false if the rules refuse it (then nothing else can be valid).
    private func genesis() -> Bool {
        var nodes: [GenesisNode] = []
        var s: UInt128 = 0
        for node in 0..<genesisResourceCount {
            let deposit = stos(atLeast: 1_000, octaves: 3)
            nodes.append(GenesisNode(node: resourceIDs[node], kind: .resource, owner: resourceOwners[node], deposit: Wei(deposit)))
            s += deposit
        }
        for meta in 0..<genesisMeta {
            let deposit = stos(atLeast: 10_000, octaves: 1)
            nodes.append(GenesisNode(node: metaIDs[meta], kind: .meta, owner: metaOwners[meta], deposit: Wei(deposit)))
            s += deposit
        }
        // Initial price 0.01–0.04 STOS per OZ, i.e. 10^7–4·10^7 wei per noz.
        let weiPerNoz = UInt128(rng.inRange(10_000_000...40_000_000))
        genesisDeposit = s
        guard propose(.genesis(ozoneLimit: Noz(s / weiPerNoz), nodes: nodes)) else { return false }
        for node in 0..<genesisResourceCount { resourceStatus[node] = .active }
        for meta in 0..<genesisMeta { metaStatus[meta] = .active }
        activePickerStale = true
        return true
    }

    /// `s`, constant under paper-v1; later deposits stay below half of it, so that no
    /// deactivation can take the Ozone limit to zero (RULES §9).
    var genesisDeposit: UInt128 = 0

    // MARK: Users

    private func fund(user: Int, atLeast amount: UInt128) {
        let extra = stos(atLeast: 5 * userScale[user], octaves: 6)
        let total = amount + extra
        if propose(.funded(account: userIDs[user], amount: Wei(total))) { userWallet[user] += total }
    }

    /// Buys Ozone for `needNoz` plus a stock for the user's next uploads and downloads (10 to
    /// 100 typical transfers, heavier users buying more), at the current marginal price plus
    /// 0–50% for slippage and rounding; funds the wallet first if needed.
    @discardableResult
    private func prepay(user: Int, needNoz: UInt128 = 0) -> Bool {
        let typicalNoz = UInt128(512 << 20) * UInt128(userScale[user])
        let stockNoz = needNoz + typicalNoz * UInt128(rng.inRange(10...100))
        let weiPerNoz = supply.l.isZero ? 1 : (supply.s.rawValue + supply.p.rawValue) / supply.l.rawValue + 1
        let amount =
            max(weiPerSTOS / 100, weiPerNoz * stockNoz / 100 * UInt128(rng.inRange(100...150)))
            + rng.below128(weiPerSTOS / 1000)
        if userWallet[user] < amount { fund(user: user, atLeast: amount - userWallet[user]) }
        guard userWallet[user] >= amount else { return false }
        guard let applied = proposeReturningEffects(.prepaid(account: userIDs[user], amount: Wei(amount))) else {
            return false
        }
        userWallet[user] -= amount
        let bought = ozoneBought(by: userIDs[user], in: applied)
        precondition(bought > 0, "a prepay of \(amount) wei by \(userIDs[user]) bought no Ozone, yet was accepted")
        userOzone[user] += bought
        return true
    }

    private func traffic() {
        if activePickerStale { rebuildActivePicker() }
        let user = userPicker.pick(&rng)
        let node = activePicker.pick(&rng)
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
        while charge() > userOzone[user] && attempts < 2 {
            if !prepay(user: user, needNoz: charge() - userOzone[user]) { break }
            attempts += 1
        }
        let ozone = userOzone[user]
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
            epoch: Int64(epoch), node: resourceIDs[node], account: userIDs[user],
            kind: kind, bytes: bytes, replicas: replicas, records: records)
        let cost = charge()
        if propose(.trafficServed(record)) {
            userOzone[user] -= cost
            if kind == .upload { resourceStoredBytes[node] += bytes }
        }
    }

    private func transfer() {
        guard config.users >= 2 else { return }
        let from = userPicker.pick(&rng)
        var to = rng.index(config.users - 1)
        if to >= from { to += 1 }
        let wallet = userWallet[from]
        guard wallet > 0 else { return }
        let amount = 1 + rng.below128(wallet / 4 + 1)
        guard amount <= wallet else { return }
        if propose(.transferred(from: userIDs[from], to: userIDs[to], amount: Wei(amount))) {
            userWallet[from] -= amount
            userWallet[to] += amount
        }
    }

    private func withdraw() {
        let user = rng.index(config.users)
        let wallet = userWallet[user]
        let amount = wallet / 100 * UInt128(rng.inRange(5...50))
        guard amount > 0 else { return }
        if propose(.withdrawn(account: userIDs[user], amount: Wei(amount))) { userWallet[user] -= amount }
    }

    // MARK: Resource nodes

    private func rebuildActivePicker() {
        activePicker = WeightedPicker(
            resourceStatus.indices.compactMap {
                resourceStatus[$0] == .active ? ($0, resourceWeight[$0]) : nil
            })
        activePickerStale = false
        precondition(!activePicker.isEmpty, "resource node 0 is never suspended or deactivated")
    }

    private func activate(_ node: Int) {
        var deposit = stos(atLeast: 1_000, octaves: 3)
        if deposit > genesisDeposit / 2 { deposit = genesisDeposit / 2 }
        guard deposit > 0 else { return }
        let owner = resourceOwners[node]
        guard propose(.funded(account: owner, amount: Wei(deposit + 10 * weiPerSTOS))) else { return }
        if propose(.resourceNodeActivated(node: resourceIDs[node], owner: owner, deposit: Wei(deposit))) {
            resourceStatus[node] = .active
            activePickerStale = true
        }
    }

    /// Nodes that may be suspended or deactivated: everything but node 0.
    private func pickNode(where predicate: (ResourceStatus) -> Bool) -> Int? {
        let eligible = (1..<max(1, config.resourceNodes)).filter { predicate(resourceStatus[$0]) }
        return eligible.isEmpty ? nil : eligible[rng.index(eligible.count)]
    }

    private func suspend() {
        guard let node = pickNode(where: { $0 == .active }) else { return }
        if propose(.resourceNodeSuspended(node: resourceIDs[node])) {
            resourceStatus[node] = .suspended
            activePickerStale = true
            add(.resumeResource(node), at: epoch + 6 + rng.index(139))
        }
    }

    private func resume(_ node: Int) {
        guard resourceStatus[node] == .suspended else { return }
        if propose(.resourceNodeResumed(node: resourceIDs[node])) {
            resourceStatus[node] = .active
            activePickerStale = true
        }
    }

    private func deactivate(shutdownAfterCoolingOff: Bool) {
        guard let node = pickNode(where: { $0 == .active || $0 == .suspended }) else { return }
        guard propose(.nodeDeactivated(node: resourceIDs[node], storedBytes: resourceStoredBytes[node])) else { return }
        resourceStatus[node] = .deactivated
        activePickerStale = true
        // Inside the cooling-off: at most 12 days later, so that day(t) < d + 14 wherever in
        // its epoch either event falls. After it: at least 15 days later.
        let delay =
            shutdownAfterCoolingOff
            ? 15 * epochsPerDay + rng.index(epochsPerDay)
            : 1 + rng.index(max(1, min(12 * epochsPerDay, config.epochs - epoch)))
        if epoch + delay <= config.epochs { add(.shutDown(node), at: epoch + delay) }
    }

    private func shutDown(_ node: Int) {
        guard resourceStatus[node] == .deactivated else { return }
        if propose(.nodeShutDown(node: resourceIDs[node])) { resourceStatus[node] = .shutDown }
    }

    // MARK: Meta nodes

    private func metaRequest() {
        let candidate = candidateQueue[nextCandidate].candidate
        let owner = metaOwners[candidate]
        let deposit = min(stos(atLeast: 10_000, octaves: 1), max(1, genesisDeposit / 2))
        guard propose(.funded(account: owner, amount: Wei(deposit))),
            propose(.metaNodeRegistrationRequested(node: metaIDs[candidate], owner: owner, deposit: Wei(deposit)))
        else { return }
        nextCandidate += 1
        let voters = metaStatus.indices.filter { metaStatus[$0] == .active }
        if voters.isEmpty {
            metaStatus[candidate] = .active // nobody to vote: approved at once (RULES §9)
            return
        }
        metaStatus[candidate] = .pending
        pending = PendingRegistration(
            candidate: candidate, voters: voters,
            rejectingVoter: candidate == rejectedCandidate ? rng.index(voters.count) : nil,
            nextVoteEpoch: epoch + 1 + rng.index(6))
    }

    private func metaVote() {
        guard var p = pending else { return }
        let approve = p.rejectingVoter != p.nextVoter
        guard propose(.metaNodeVoted(node: metaIDs[p.candidate], voter: metaIDs[p.voters[p.nextVoter]], approve: approve))
        else { return }
        p.nextVoter += 1
        if !approve {
            metaStatus[p.candidate] = .rejected
            pending = nil
        } else if p.nextVoter == p.voters.count {
            metaStatus[p.candidate] = .active
            pending = nil
        } else {
            p.nextVoteEpoch = epoch + 1 + rng.index(6)
            pending = p
        }
    }

    // MARK: Staking

    private func createValidator(_ v: Int) {
        let selfDelegation = stos(atLeast: 1_000, octaves: 6)
        let commission = rng.below(5) == 0 ? 0 : Int64(rng.inRange(100...2_000))
        guard propose(.funded(account: operatorIDs[v], amount: Wei(selfDelegation + weiPerSTOS))),
            propose(
                .validatorCreated(
                    validator: validatorIDs[v], operator: operatorIDs[v],
                    selfDelegation: Wei(selfDelegation), commissionBp: commission))
        else { return }
        createdValidators.append(v)
        validatorPicker = WeightedPicker(createdValidators.map { ($0, validatorWeight[$0]) })
    }

    private func delegate(delegator d: Int, first: Bool) {
        guard config.delegators > 0 else { return }
        if first {
            // A validator may not exist yet this early; try again next epoch.
            if validatorPicker.isEmpty {
                add(.firstDelegation(d), at: epoch + 1)
                return
            }
            delegatorStarted[d] = true
        } else if !delegatorStarted[d] || validatorPicker.isEmpty {
            return
        }
        let v: Int
        if delegatorValidators[d].count < delegatorValidatorLimit[d] {
            v = validatorPicker.pick(&rng)
            if !delegatorValidators[d].contains(v) { delegatorValidators[d].append(v) }
        } else {
            v = delegatorValidators[d][rng.index(delegatorValidators[d].count)]
        }
        let amount = stos(atLeast: 10, octaves: 10)
        if delegatorWallet[d] < amount {
            let topUp = amount - delegatorWallet[d] + weiPerSTOS
            guard propose(.funded(account: delegatorIDs[d], amount: Wei(topUp))) else { return }
            delegatorWallet[d] += topUp
        }
        if propose(.delegated(delegator: delegatorIDs[d], validator: validatorIDs[v], amount: Wei(amount))) {
            delegatorWallet[d] -= amount
            delegation[d * config.validators + v] += amount
        }
    }

    private func undelegate() {
        guard config.delegators > 0 else { return }
        let d = rng.index(config.delegators)
        let row = d * config.validators
        let held = (0..<config.validators).filter { delegation[row + $0] > 0 }
        guard !held.isEmpty else { return }
        let v = held[rng.index(held.count)]
        let current = delegation[row + v]
        // A quarter of the time everything, otherwise a random part.
        let amount = rng.below(4) == 0 ? current : 1 + rng.below128(current)
        if propose(.undelegated(delegator: delegatorIDs[d], validator: validatorIDs[v], amount: Wei(amount))) {
            delegation[row + v] -= amount
        }
    }
}

/// Percent of the mean traffic level by hour of the day (UTC): quiet at night, busy in the
/// afternoon. Averages 100.
private let diurnalPercent: [UInt64] = [
    55, 45, 40, 40, 45, 55, 70, 90, 110, 125, 135, 140,
    145, 150, 150, 145, 140, 135, 130, 120, 110, 95, 80, 65,
]

/// Zero-padded decimal, as wide as the largest index of the group, so ids sort numerically.
private func pad(_ i: Int, _ count: Int) -> String {
    let width = String(max(count - 1, 0)).count
    let digits = String(i)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}

/// Fisher–Yates with the simulator's own draws (the standard library's `shuffle` algorithm
/// is not promised to stay the same across releases).
private func shuffle<T>(_ array: inout [T], _ rng: inout Xoshiro256StarStar) {
    guard array.count > 1 else { return }
    for i in stride(from: array.count - 1, to: 0, by: -1) {
        let j = rng.index(i + 1)
        if i != j { array.swapAt(i, j) }
    }
}
