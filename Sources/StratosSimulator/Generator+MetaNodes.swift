import LedgerEvents
import StratosEconomics

enum MetaStatus { case dormant, pending, active, rejected }

/// One meta node registration in progress (one at a time).
struct PendingRegistration {
    var candidate: Int
    var voters: [Int]
    var nextVoter = 0
    /// Index into `voters` of the one who votes no, for the candidate that is voted down.
    var rejectingVoter: Int?
    var nextVoteEpoch: Int
}

/// The meta nodes' shadow: genesis ones, then candidates (voted in, plus one voted down),
/// who applies when, and the registration being voted on.
struct MetaCouncil {
    let ids: [NodeID]
    let owners: [AccountID]
    var status: [MetaStatus]
    let genesisCount: Int
    /// How many apply after genesis.
    let candidateCount: Int
    /// Candidates in request order with their earliest request epoch, and which is voted down.
    var candidateQueue: [(candidate: Int, epoch: Int)] = []
    var nextCandidate = 0
    let rejectedCandidate: Int?
    var pending: PendingRegistration?

    /// `votedIn` of the `activeAtEnd` join by vote; one more candidate is voted down when
    /// there is somebody to vote.
    init(activeAtEnd: Int) {
        let votedIn = activeAtEnd >= 2 ? max(1, activeAtEnd / 3) : 0
        genesisCount = activeAtEnd - votedIn
        candidateCount = votedIn + (genesisCount > 0 ? 1 : 0)
        let total = genesisCount + candidateCount
        ids = (0..<total).map { NodeID(unchecked: "stsds1meta\(pad($0, total))") }
        owners = (0..<total).map { AccountID(unchecked: "st1metaowner\(pad($0, total))") }
        status = Array(repeating: .dormant, count: total)
        rejectedCandidate = genesisCount > 0 ? genesisCount + candidateCount / 2 : nil
    }
}

// MARK: Meta nodes' actions

extension Generator {
    func metaRequest() {
        let candidate = metas.candidateQueue[metas.nextCandidate].candidate
        let owner = metas.owners[candidate]
        let deposit = min(stos(atLeast: 10_000, octaves: 1), max(1, genesisDeposit / 2))
        guard propose(.funded(account: owner, amount: Wei(deposit))),
            propose(.metaNodeRegistrationRequested(node: metas.ids[candidate], owner: owner, deposit: Wei(deposit)))
        else { return }
        metas.nextCandidate += 1
        let voters = metas.status.indices.filter { metas.status[$0] == .active }
        if voters.isEmpty {
            metas.status[candidate] = .active // nobody to vote: approved at once (RULES §9)
            return
        }
        metas.status[candidate] = .pending
        metas.pending = PendingRegistration(
            candidate: candidate, voters: voters,
            rejectingVoter: candidate == metas.rejectedCandidate ? rng.index(voters.count) : nil,
            nextVoteEpoch: epoch + 1 + rng.index(6))
    }

    func metaVote() {
        guard var p = metas.pending else { return }
        let approve = p.rejectingVoter != p.nextVoter
        guard propose(.metaNodeVoted(node: metas.ids[p.candidate], voter: metas.ids[p.voters[p.nextVoter]], approve: approve))
        else { return }
        p.nextVoter += 1
        if !approve {
            metas.status[p.candidate] = .rejected
            metas.pending = nil
        } else if p.nextVoter == p.voters.count {
            metas.status[p.candidate] = .active
            metas.pending = nil
        } else {
            p.nextVoteEpoch = epoch + 1 + rng.index(6)
            metas.pending = p
        }
    }

}
