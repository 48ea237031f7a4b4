import Foundation
import LedgerEvents
import StratosEconomics

/// The rules engine alone (no database): events applied per second on one core for a realistic
/// mix, and the time to settle one large epoch.
enum EconomicsBench: BenchSuite {
    static let name = "economics"

    static let resourceNodes = 1_000, metaNodes = 10, validators = 100, delegators = 10_000, users = 1_000
    static let stos: UInt128 = 1_000_000_000_000_000_000
    static let genesisMicros: Int64 = 1_767_225_600_000_000

    static func run(databaseURL: String?) async throws -> [BenchFigure] {
        var figures: [BenchFigure] = []
        var clock = EventClock()
        var economy = try network(&clock)

        // 1. A realistic mix, mostly traffic and prepays, applied in the open epoch.
        let mix = mixedEvents(count: BenchScale.size(1_000_000, quick: 100_000), epoch: economy.openEpoch, &clock)
        let trafficShare = Double(mix.filter { $0.type == .trafficServed }.count) / Double(mix.count)
        var copy = economy
        let (mixWall, mixCPU, checksum) = try measureBoth { () throws(RuleViolation) -> Int64 in
            var sum: Int64 = 0
            for e in mix { sum &+= try copy.apply(e).position }
            return sum
        }
        precondition(checksum > 0)
        let mixName = "apply, \(mix.count / 1000)k mix (\(Int(trafficShare * 100))% traffic, rest prepay/transfer/fund)"
        figures.append(
            BenchFigure(
                suite: name, name: mixName + ", CPU time", value: Double(mix.count) / mixCPU,
                unit: "events/s", target: ">= 1000000"))
        figures.append(
            BenchFigure(
                suite: name, name: mixName + ", wall time", value: Double(mix.count) / mixWall,
                unit: "events/s", target: nil))
        let trafficOnly = mix.filter { $0.type == .trafficServed }
        copy = economy
        let (_, trafficCPU, _) = try measureBoth { () throws(RuleViolation) -> Int64 in
            var sum: Int64 = 0
            for e in trafficOnly { sum &+= try copy.apply(e).position }
            return sum
        }
        figures.append(
            BenchFigure(
                suite: name, name: "apply, traffic only, CPU time", value: Double(trafficOnly.count) / trafficCPU,
                unit: "events/s", target: ">= 1000000"))

        // 2. Settling one epoch: every resource node served traffic; 10 meta nodes, 100 validators,
        // 10,000 delegators. Traffic is applied untimed before each close; the median close is reported.
        var closes: [Double] = []
        var closesCPU: [Double] = []
        var rewards = 0
        for _ in 0..<BenchScale.size(15, quick: 5) {
            for i in 0..<resourceNodes {
                _ = try economy.apply(
                    clock.next(
                        .trafficServed(
                            TrafficRecord(
                                epoch: economy.openEpoch, node: NodeID(unchecked: "stsds1res\(i)"),
                                account: AccountID(unchecked: "st1user\(i % users)"),
                                kind: .download, bytes: UInt128(1_000_000 + i * 1_000)))))
            }
            let close = clock.next(.epochClosed(epoch: economy.openEpoch), advance: 600_000_000)
            let (wall, cpu, report) = try measureBoth { () throws(RuleViolation) -> SettlementReport? in
                try economy.apply(close).settlement
            }
            rewards = report?.rewards.count ?? 0
            closes.append(wall)
            closesCPU.append(cpu)
        }
        closes.sort()
        closesCPU.sort()
        let settleName = "settle one epoch (1,000 resource, 10 meta, 100 validators, 10,000 delegators; \(rewards) rewards), median"
        figures.append(
            BenchFigure(
                suite: name, name: settleName + ", CPU time", value: closesCPU[closesCPU.count / 2] * 1_000,
                unit: "ms", target: "<= 5"))
        figures.append(
            BenchFigure(
                suite: name, name: settleName + ", wall time", value: closes[closes.count / 2] * 1_000,
                unit: "ms", target: nil))
        let checkpoint = economy.encodeCheckpoint()
        let (decodeTime, _) = try measure { try Economy(checkpoint: checkpoint) }
        figures.append(
            BenchFigure(
                suite: name, name: "checkpoint decode + verify (\(checkpoint.count / 1024) KiB)",
                value: decodeTime * 1_000, unit: "ms", target: nil))
        return figures
    }

    /// Wall time and this thread's CPU time of `body`. On a shared machine the CPU time is the
    /// figure to compare with the targets ("on one core"); the wall time includes waiting for it.
    static func measure<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> (seconds: Double, result: T) {
        let (wall, _, result) = try measureBoth(body)
        return (wall, result)
    }

    static func measureBoth<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> (wall: Double, cpu: Double, result: T) {
        let start = ContinuousClock.now
        let cpuStart = threadCPUSeconds()
        let result = try body()
        let cpu = threadCPUSeconds() - cpuStart
        let d = ContinuousClock.now - start
        return (d.inSeconds, cpu, result)
    }

    static func threadCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Numbers events and moves time forward.
    struct EventClock {
        var micros = genesisMicros
        var n = 0
        mutating func next(_ payload: EventPayload, advance: Int64 = 1) -> LedgerEvent {
            micros += advance
            n += 1
            return LedgerEvent(id: EventID(unchecked: "bench-\(n)"), time: Timestamp(microsecondsSinceEpoch: micros), payload: payload)
        }
    }

    /// Genesis with the resource and meta nodes, validators with delegators, users holding STOS and Ozone.
    static func network(_ clock: inout EventClock) throws -> Economy {
        var e = Economy(rules: .paperV1)
        let nodes =
            (0..<resourceNodes).map {
                GenesisNode(
                    node: NodeID(unchecked: "stsds1res\($0)"), kind: .resource, owner: AccountID(unchecked: "st1owner\($0)"),
                    deposit: Wei(UInt128(1_000 + $0) * stos))
            }
            + (0..<metaNodes).map {
                GenesisNode(
                    node: NodeID(unchecked: "stsds1meta\($0)"), kind: .meta, owner: AccountID(unchecked: "st1metaowner\($0)"),
                    deposit: Wei(10_000 * stos))
            }
        _ = try e.apply(clock.next(.genesis(ozoneLimit: Noz(100_000_000 * 1_000_000_000), nodes: nodes)))
        for v in 0..<validators {
            let op = AccountID(unchecked: "st1operator\(v)")
            _ = try e.apply(clock.next(.funded(account: op, amount: Wei(100_000 * stos))))
            _ = try e.apply(
                clock.next(
                    .validatorCreated(
                        validator: ValidatorID(unchecked: "stvaloper1v\(v)"), operator: op,
                        selfDelegation: Wei(UInt128(10_000 + v) * stos), commissionBp: Int64(v * 50 % 2_000))))
        }
        for d in 0..<delegators {
            let a = AccountID(unchecked: "st1delegator\(d)")
            _ = try e.apply(clock.next(.funded(account: a, amount: Wei(1_000 * stos))))
            _ = try e.apply(
                clock.next(
                    .delegated(
                        delegator: a, validator: ValidatorID(unchecked: "stvaloper1v\(d % validators)"),
                        amount: Wei(UInt128(100 + d % 500) * stos))))
        }
        for u in 0..<users {
            let a = AccountID(unchecked: "st1user\(u)")
            _ = try e.apply(clock.next(.funded(account: a, amount: Wei(1_000_000 * stos))))
            _ = try e.apply(clock.next(.prepaid(account: a, amount: Wei(10_000 * stos))))
        }
        return e
    }

    /// 80% traffic (mixed kinds), 15% prepays, 5% transfers and fundings, from a fixed seed.
    static func mixedEvents(count: Int, epoch: Int64, _ clock: inout EventClock) -> [LedgerEvent] {
        var state: UInt64 = 0x5EED
        func random(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        let nodeIDs = (0..<resourceNodes).map { NodeID(unchecked: "stsds1res\($0)") }
        let userIDs = (0..<users).map { AccountID(unchecked: "st1user\($0)") }
        var events: [LedgerEvent] = []
        events.reserveCapacity(count)
        for _ in 0..<count {
            let user = userIDs[random(users)]
            let roll = random(100)
            let payload: EventPayload
            switch roll {
            case 0..<80:
                let kind: TrafficKind = [.upload, .download, .download, .query][random(4)]
                payload = .trafficServed(
                    TrafficRecord(
                        epoch: epoch, node: nodeIDs[random(resourceNodes)], account: user, kind: kind,
                        bytes: UInt128(1_000 + random(1_000_000)),
                        replicas: kind == .upload ? 3 : nil, records: kind == .query ? UInt128(random(50)) : nil))
            case 80..<95:
                payload = .prepaid(account: user, amount: Wei(UInt128(1 + random(1_000)) * stos / 100))
            case 95..<98:
                payload = .transferred(from: user, to: userIDs[random(users)], amount: Wei(UInt128(1 + random(100)) * stos))
            default:
                payload = .funded(account: user, amount: Wei(UInt128(1 + random(100)) * stos))
            }
            events.append(clock.next(payload))
        }
        return events
    }
}
