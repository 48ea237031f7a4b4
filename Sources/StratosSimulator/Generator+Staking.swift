import LedgerEvents
import StratosEconomics

/// The validators' and delegators' shadow.
struct StakingBook {
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

    init(validators v: Int, delegators k: Int, _ rng: inout Xoshiro256StarStar) {
        validatorIDs = (0..<v).map { ValidatorID(unchecked: "stvaloper1val\(pad($0, v))") }
        operatorIDs = (0..<v).map { AccountID(unchecked: "st1operator\(pad($0, v))") }
        var ranks = Array(0..<v)
        shuffle(&ranks, &rng)
        validatorWeight = ranks.map { zipfWeight(rank: $0) }
        delegatorIDs = (0..<k).map { AccountID(unchecked: "st1delegator\(pad($0, k))") }
        delegatorWallet = Array(repeating: 0, count: k)
        delegation = Array(repeating: 0, count: k * v)
        delegatorStarted = Array(repeating: false, count: k)
        delegatorValidators = Array(repeating: [], count: k)
        delegatorValidatorLimit = (0..<k).map { _ in 1 + rng.index(3) }
    }
}

// MARK: Validators' and delegators' actions

extension Generator {
    func createValidator(_ v: Int) {
        let selfDelegation = stos(atLeast: 1_000, octaves: 6)
        let commission = rng.below(5) == 0 ? 0 : Int64(rng.inRange(100...2_000))
        guard propose(.funded(account: staking.operatorIDs[v], amount: Wei(selfDelegation + weiPerSTOS))),
            propose(
                .validatorCreated(
                    validator: staking.validatorIDs[v], operator: staking.operatorIDs[v],
                    selfDelegation: Wei(selfDelegation), commissionBp: commission))
        else { return }
        staking.createdValidators.append(v)
        staking.validatorPicker = WeightedPicker(staking.createdValidators.map { ($0, staking.validatorWeight[$0]) })
    }

    func delegate(delegator d: Int, first: Bool) {
        guard config.delegators > 0 else { return }
        if first {
            // A validator may not exist yet this early; try again next epoch.
            if staking.validatorPicker.isEmpty {
                add(.firstDelegation(d), at: epoch + 1)
                return
            }
            staking.delegatorStarted[d] = true
        } else if !staking.delegatorStarted[d] || staking.validatorPicker.isEmpty {
            return
        }
        let v: Int
        if staking.delegatorValidators[d].count < staking.delegatorValidatorLimit[d] {
            v = staking.validatorPicker.pick(&rng)
            if !staking.delegatorValidators[d].contains(v) { staking.delegatorValidators[d].append(v) }
        } else {
            v = staking.delegatorValidators[d][rng.index(staking.delegatorValidators[d].count)]
        }
        let amount = stos(atLeast: 10, octaves: 10)
        if staking.delegatorWallet[d] < amount {
            let topUp = amount - staking.delegatorWallet[d] + weiPerSTOS
            guard propose(.funded(account: staking.delegatorIDs[d], amount: Wei(topUp))) else { return }
            staking.delegatorWallet[d] += topUp
        }
        if propose(.delegated(delegator: staking.delegatorIDs[d], validator: staking.validatorIDs[v], amount: Wei(amount))) {
            staking.delegatorWallet[d] -= amount
            staking.delegation[d * config.validators + v] += amount
        }
    }

    func undelegate() {
        guard config.delegators > 0 else { return }
        let d = rng.index(config.delegators)
        let row = d * config.validators
        let held = (0..<config.validators).filter { staking.delegation[row + $0] > 0 }
        guard !held.isEmpty else { return }
        let v = held[rng.index(held.count)]
        let current = staking.delegation[row + v]
        // A quarter of the time everything, otherwise a random part.
        let amount = rng.below(4) == 0 ? current : 1 + rng.below128(current)
        if propose(.undelegated(delegator: staking.delegatorIDs[d], validator: staking.validatorIDs[v], amount: Wei(amount))) {
            staking.delegation[row + v] -= amount
        }
    }
}
