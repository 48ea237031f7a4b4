import PostgresClient
import StratosEconomics

/// What can go wrong in projections, naming what and where.
public enum ProjectionError: Error, CustomStringConvertible, Sendable {
    /// Missing SQL folder, bad option.
    case configuration(String)
    /// Another worker holds the advisory lock of this projection schema.
    case locked(schema: String, holderPID: Int32?)
    /// The projection schema does not exist (nothing was projected yet).
    case notBuilt(schema: String)
    /// The schema was built by a release with another table layout (`ProjectionSQL.layout`).
    case outdatedLayout(schema: String, rules: String, found: Int64, expected: Int64)
    /// The server's text hash function gives other values than when the schema's keys were built.
    case textHashChanged(schema: String, rules: String)
    /// A query about an epoch that is not closed in the projection yet.
    case epochNotClosed(epoch: Int64, lastClosedEpoch: Int64)
    /// A position beyond what the projection has applied.
    case positionNotProjected(position: Int64, lastPosition: Int64)
    /// The schema was switched or advanced by someone else while this worker held a batch.
    case buildChanged(schema: String)
    /// A stored row or checkpoint that cannot be decoded.
    case corrupt(String)
    /// The rule set a schema records is unknown to this build.
    case unknownRules(String)
    /// `--rules` names another rule set than the one the existing schema was built with.
    case rulesMismatch(schema: String, built: String, builtSha256: String?, given: String, givenSha256: String)
    /// `Economy.checkInvariants()` failed after a build.
    case invariant(InvariantViolation)
    /// A journal transaction that does not balance, or journal totals that differ from balances.
    case journal(String)
    case database(PostgresError)

    public var description: String {
        switch self {
        case .configuration(let m): return m
        case .locked(let schema, let pid):
            return "another projection worker holds the lock of schema \(schema)"
                + (pid.map { " (backend pid \($0))" } ?? "") + "; stop it or run with --wait"
        case .notBuilt(let schema):
            return "projection schema \(schema) does not exist yet: run `stratos-ledger project --once` first"
        case .outdatedLayout(let schema, let rules, let found, let expected):
            return "projection schema \(schema) has table layout \(found), this stratos-ledger reads layout \(expected): "
                + "rebuild it with `stratos-ledger rebuild --rules \(rules)` (the serving schema keeps its place until the switch)"
        case .textHashChanged(let schema, let rules):
            return "projection schema \(schema) has keys on PostgreSQL's text hash, which this server computes differently "
                + "(a major-version upgrade?): rebuild it with `stratos-ledger rebuild --rules \(rules)`"
        case .epochNotClosed(let epoch, let last):
            return "epoch \(epoch) is not closed yet (the projection's last closed epoch is \(last))"
        case .positionNotProjected(let p, let last):
            return "position \(p) is not projected yet (the projection is at position \(last))"
        case .buildChanged(let schema):
            return "projection schema \(schema) was switched or advanced by another process"
        case .corrupt(let m): return "corrupt projection data: \(m)"
        case .unknownRules(let name):
            return "unknown rule set '\(name)' (known: \(RuleSet.all.map(\.name).joined(separator: ", ")))"
        case .rulesMismatch(let schema, let built, let builtSha, let given, let givenSha):
            return "projection schema \(schema) was built with rule set \(built)" + (builtSha.map { " (sha256 \($0))" } ?? "")
                + ", not \(given) (sha256 \(givenSha)): leave out --rules to keep it, or rebuild with `stratos-ledger rebuild --rules \(given)`"
        case .invariant(let v): return "\(v)"
        case .journal(let m): return "journal check failed: \(m)"
        case .database(let e): return "\(e)"
        }
    }
}
