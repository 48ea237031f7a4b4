import LedgerEvents

// Rule-set files (docs/RULE-SETS.md): parsing with errors that name the file and the key path,
// validation, `extends`, and the canonical JSON a rule set is identified by.

/// A rule-set file that cannot be used: `file: key.path: what is wrong`.
public struct RuleSetError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file as it was given (nil: text without a file, e.g. a stored rule set).
    public var file: String?
    /// The key path inside the file (`changes[0].set.tiers[2].resourceBp`), empty for the whole file.
    public var path: String
    public var message: String

    public init(file: String?, path: String, message: String) {
        self.file = file
        self.path = path
        self.message = message
    }

    public var description: String {
        [file, path.isEmpty ? nil : path, message].compactMap { $0 }.joined(separator: ": ")
    }
}

/// One parsed file, before `extends` is resolved.
public struct RuleSetFile: Sendable, Hashable {
    public var file: String?
    public var name: String
    public var extends: String?
    /// Without `extends`: every parameter; with it: the base parameters it overrides.
    public var parameters: RuleParameterChanges
    public var changes: [RuleChange]
}

extension RuleSet {
    // MARK: Loading

    /// Parses and resolves rule-set files given together: `extends` names a built-in set or
    /// another of these files' `name`. Returns one rule set per file, in the order given.
    public static func load(_ files: [(file: String?, text: String)], builtIns: [RuleSet] = RuleSet.all) throws(RuleSetError) -> [RuleSet] {
        var parsed: [RuleSetFile] = []
        for f in files { parsed.append(try parseFile(f.text, file: f.file)) }
        return try resolve(parsed, builtIns: builtIns)
    }

    /// Resolves parsed files (see `load`).
    public static func resolve(_ files: [RuleSetFile], builtIns: [RuleSet] = RuleSet.all) throws(RuleSetError) -> [RuleSet] {
        var byName: [String: Int] = [:]
        for (i, f) in files.enumerated() {
            if let j = byName[f.name] {
                throw RuleSetError(file: f.file, path: "name", message: "'\(f.name)' is also the name of \(files[j].file ?? "another file")")
            }
            byName[f.name] = i
        }
        var done: [Int: RuleSet] = [:]
        func resolve(_ i: Int, _ chain: [Int]) throws(RuleSetError) -> RuleSet {
            if let r = done[i] { return r }
            let f = files[i]
            var base: RuleSet?
            if let parent = f.extends {
                if let j = byName[parent], j != i {
                    if chain.contains(j) {
                        let cycle = (chain + [i, j]).drop { $0 != j }.map { files[$0].name }.joined(separator: " → ")
                        throw RuleSetError(file: f.file, path: "extends", message: "cycle: \(cycle)")
                    }
                    base = try resolve(j, chain + [i])
                } else if let b = builtIns.first(where: { $0.name == parent }) {
                    base = b
                } else if parent == f.name {
                    throw RuleSetError(file: f.file, path: "extends", message: "cycle: \(f.name) extends itself")
                } else {
                    let known = (builtIns.map(\.name) + files.map(\.name).filter { $0 != f.name }).joined(separator: ", ")
                    throw RuleSetError(file: f.file, path: "extends", message: "unknown rule set '\(parent)' (known: \(known))")
                }
            }
            let r = try build(f, extending: base)
            if let builtIn = builtIns.first(where: { $0.name == r.name }), builtIn != r {
                throw RuleSetError(
                    file: f.file, path: "name",
                    message:
                        "'\(r.name)' is a built-in rule set with other parameters (sha256 \(builtIn.sha256), this file's \(r.sha256)): give it another name"
                )
            }
            done[i] = r
            return r
        }
        var out: [RuleSet] = []
        for i in files.indices { out.append(try resolve(i, [])) }
        return out
    }

    /// One file on top of its base (nil: the file sets every parameter).
    static func build(_ f: RuleSetFile, extending parent: RuleSet?) throws(RuleSetError) -> RuleSet {
        let base: RuleParameters
        var changes: [RuleChange] = []
        var inherited = 0
        if let parent {
            base = f.parameters.applied(to: parent.base)
            changes = parent.changes
            inherited = changes.count
        } else {
            guard let p = f.parameters.complete else {
                let missing = RuleSet.parameterKeys.filter { !f.parameters.has($0) }.joined(separator: ", ")
                throw RuleSetError(
                    file: f.file, path: "parameters",
                    message: "missing \(missing) (a file without \"extends\" sets every parameter)")
            }
            base = p
        }
        changes += f.changes
        if let problem = problem(base: base, changes: changes) {
            // Name the key as it is in this file.
            var path = problem.path
            if let i = problem.change {
                path =
                    i < inherited
                    ? "extends (\(parent!.name)): changes[\(i)]" + path
                    : "changes[\(i - inherited)]" + path
            }
            throw RuleSetError(file: f.file, path: path, message: problem.message)
        }
        return RuleSet(name: f.name, base: base, changes: changes)
    }

    /// A rule set stored as its canonical JSON (a projection build's state): resolved alone,
    /// checked against its recorded SHA-256 when there is one.
    public static func stored(canonicalJSON text: String, sha256: String? = nil) throws(RuleSetError) -> RuleSet {
        let r = try build(try parseFile(text, file: nil), extending: nil)
        if let sha256, r.sha256 != sha256 {
            throw RuleSetError(file: nil, path: "", message: "stored rule set \(r.name) has sha256 \(r.sha256), recorded \(sha256)")
        }
        return r
    }

    static func builtIn(_ text: String) -> RuleSet {
        do { return try stored(canonicalJSON: text) } catch { preconditionFailure("built-in rule set: \(error)") }
    }

    // MARK: Validation

    static let parameterKeys = [
        "settledShareBp", "tiers", "lockupEpochs", "depositLockDays", "coolingOffDays",
        "unbondingDays", "limitGrowthDeposit",
    ]
    static let maxEpochs: Int64 = 1_000_000_000
    static let maxDays: Int64 = 10_000_000

    /// The first thing wrong with a base and its changes: `change` is the index of the change
    /// (nil: the base), `path` the key below it (`.set.lockupEpochs` or `parameters.tiers`).
    static func problem(base: RuleParameters, changes: [RuleChange]) -> (change: Int?, path: String, message: String)? {
        if let (path, message) = parameterProblem(base) { return (nil, "parameters." + path, message) }
        var current = base
        var lastFrom: Int64 = 0
        for (i, c) in changes.enumerated() {
            guard c.fromEpoch >= 1 else { return (i, ".fromEpoch", "must be ≥ 1, not \(c.fromEpoch)") }
            guard c.fromEpoch > lastFrom else {
                return (i, ".fromEpoch", "\(c.fromEpoch) is not after the previous change's \(lastFrom): changes go in increasing fromEpoch")
            }
            lastFrom = c.fromEpoch
            let next = c.set.applied(to: current)
            if let (path, message) = parameterProblem(next) { return (i, ".set." + path, message) }
            if next.mining.cap != current.mining.cap {
                return (
                    i, ".set.tiers[\(next.mining.tiers.count - 1)].minedBelowWei",
                    "the cap (the last bound) cannot change: \(current.mining.cap) wei before, \(next.mining.cap) here"
                )
            }
            if next.limitGrowthDeposit != current.limitGrowthDeposit {
                return (
                    i, ".set.limitGrowthDeposit",
                    "cannot change from an epoch (s would have to jump): set it in the base parameters"
                )
            }
            if next.lockupEpochs < current.lockupEpochs {
                return (
                    i, ".set.lockupEpochs",
                    "cannot shorten (\(current.lockupEpochs) → \(next.lockupEpochs)): vesting entries mature in the order they were created"
                )
            }
            if next.unbondingDays < current.unbondingDays {
                return (
                    i, ".set.unbondingDays",
                    "cannot shorten (\(current.unbondingDays) → \(next.unbondingDays)): unbondings are released in the order they were made"
                )
            }
            current = next
        }
        return nil
    }

    /// The first thing wrong with one complete set of parameters (path relative to it).
    static func parameterProblem(_ p: RuleParameters) -> (String, String)? {
        guard (1...10_000).contains(p.settledShareBp) else { return ("settledShareBp", "must be 1–10,000 bp, not \(p.settledShareBp)") }
        guard (1...maxEpochs).contains(p.lockupEpochs) else { return ("lockupEpochs", "must be 1–\(maxEpochs), not \(p.lockupEpochs)") }
        guard (1...maxDays).contains(p.depositLockDays) else { return ("depositLockDays", "must be 1–\(maxDays), not \(p.depositLockDays)") }
        guard (0...maxDays).contains(p.coolingOffDays) else { return ("coolingOffDays", "must be 0–\(maxDays), not \(p.coolingOffDays)") }
        guard (0...maxDays).contains(p.unbondingDays) else { return ("unbondingDays", "must be 0–\(maxDays), not \(p.unbondingDays)") }
        return tiersProblem(p.mining.tiers).map { ("tiers" + $0.0, $0.1) }
    }

    static func tiersProblem(_ tiers: [MiningSchedule.Tier]) -> (String, String)? {
        guard !tiers.isEmpty else { return ("", "at least one tier") }
        var previous: UInt128 = 0
        for (i, t) in tiers.enumerated() {
            let sum = t.resourceBp + t.metaBp + t.stakeBp
            if sum != 10_000 {
                return ("[\(i)].resourceBp", "splits add up to \(grouped(sum)) bp, not 10,000")
            }
            if t.minedBelow.rawValue <= previous {
                return ("[\(i)].minedBelowWei", "bounds must increase: \(t.minedBelow) is not above \(previous)")
            }
            previous = t.minedBelow.rawValue
        }
        // The books hold every STOS below Economy.maxTotalWei, the mining pool included.
        if previous > Economy.maxTotalWei / 2 {
            return ("[\(tiers.count - 1)].minedBelowWei", "the cap \(previous) wei is above 2^111 wei")
        }
        return nil
    }

    static func grouped(_ v: UInt128) -> String {
        let digits = Array(String(v))
        var out = ""
        for (i, d) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(d)
        }
        return out
    }

    // MARK: Parsing

    /// Parses one file (its `extends` unresolved). Unknown keys are errors.
    public static func parseFile(_ text: String, file: String?) throws(RuleSetError) -> RuleSetFile {
        func fail(_ path: String, _ message: String) -> RuleSetError { RuleSetError(file: file, path: path, message: message) }
        let root: JSONValue
        do { root = try JSONValue.parse(text) } catch { throw fail("", "not JSON: \(error)") }
        let top = try object(root, "", file, allowed: ["name", "extends", "parameters", "changes"])
        guard let nameValue = top["name"] else { throw fail("name", "missing") }
        let name = try string(nameValue, "name", file)
        guard !name.isEmpty, name.count <= 64,
            name.unicodeScalars.allSatisfy({
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0)
            })
        else { throw fail("name", "'\(name)': 1–64 letters, digits, '.', '_' or '-'") }
        let extends = try top["extends"].map { v throws(RuleSetError) in try string(v, "extends", file) }
        var parameters = RuleParameterChanges()
        if let p = top["parameters"] { parameters = try parameterChanges(p, "parameters", file) }
        var changes: [RuleChange] = []
        if let c = top["changes"] {
            guard case .array(let items) = c else { throw fail("changes", "expected an array, got \(describe(c))") }
            for (i, item) in items.enumerated() {
                let path = "changes[\(i)]"
                let o = try object(item, path, file, allowed: ["fromEpoch", "set"])
                guard let from = o["fromEpoch"] else { throw fail(path + ".fromEpoch", "missing") }
                guard let set = o["set"] else { throw fail(path + ".set", "missing") }
                let fromEpoch = try integer(from, path + ".fromEpoch", file, 1...Int64.max / 4)
                let changes_ = try parameterChanges(set, path + ".set", file)
                if changes_.isEmpty { throw fail(path + ".set", "sets nothing") }
                changes.append(RuleChange(fromEpoch: fromEpoch, set: changes_))
            }
        }
        return RuleSetFile(file: file, name: name, extends: extends, parameters: parameters, changes: changes)
    }

    static func parameterChanges(_ v: JSONValue, _ path: String, _ file: String?) throws(RuleSetError) -> RuleParameterChanges {
        let o = try object(v, path, file, allowed: Set(parameterKeys))
        var c = RuleParameterChanges()
        if let x = o["settledShareBp"] { c.settledShareBp = UInt128(try integer(x, path + ".settledShareBp", file, 1...10_000)) }
        if let x = o["lockupEpochs"] { c.lockupEpochs = try integer(x, path + ".lockupEpochs", file, 1...maxEpochs) }
        if let x = o["depositLockDays"] { c.depositLockDays = try integer(x, path + ".depositLockDays", file, 1...maxDays) }
        if let x = o["coolingOffDays"] { c.coolingOffDays = try integer(x, path + ".coolingOffDays", file, 0...maxDays) }
        if let x = o["unbondingDays"] { c.unbondingDays = try integer(x, path + ".unbondingDays", file, 0...maxDays) }
        if let x = o["limitGrowthDeposit"] {
            let s = try string(x, path + ".limitGrowthDeposit", file)
            // "total" is accepted for "genesis" (the name the rule-fix issue used): paper-v1's `s` is
            // the total of the genesis deposits. Files are written with "genesis".
            guard let rule = DepositConstantRule(rawValue: s == "total" ? "genesis" : s) else {
                throw RuleSetError(
                    file: file, path: path + ".limitGrowthDeposit",
                    message: "'\(s)' is not one of \(DepositConstantRule.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
            }
            c.limitGrowthDeposit = rule
        }
        if let x = o["tiers"] {
            let tp = path + ".tiers"
            guard case .array(let items) = x else { throw RuleSetError(file: file, path: tp, message: "expected an array, got \(describe(x))") }
            var tiers: [MiningSchedule.Tier] = []
            for (i, item) in items.enumerated() {
                let ip = "\(tp)[\(i)]"
                let t = try object(item, ip, file, allowed: ["minedBelowWei", "rewardWei", "resourceBp", "metaBp", "stakeBp"])
                func need(_ key: String) throws(RuleSetError) -> JSONValue {
                    guard let v = t[key] else { throw RuleSetError(file: file, path: ip + "." + key, message: "missing") }
                    return v
                }
                let below = try amount(try need("minedBelowWei"), ip + ".minedBelowWei", file)
                let reward = try amount(try need("rewardWei"), ip + ".rewardWei", file)
                let r = UInt128(try integer(try need("resourceBp"), ip + ".resourceBp", file, 0...10_000))
                let m = UInt128(try integer(try need("metaBp"), ip + ".metaBp", file, 0...10_000))
                let s = UInt128(try integer(try need("stakeBp"), ip + ".stakeBp", file, 0...10_000))
                tiers.append(MiningSchedule.Tier(minedBelow: below, rewardPerEpoch: reward, resourceBp: r, metaBp: m, stakeBp: s))
            }
            if let (sub, message) = tiersProblem(tiers) { throw RuleSetError(file: file, path: tp + sub, message: message) }
            c.mining = MiningSchedule(tiers: tiers)
        }
        return c
    }

    static func object(_ v: JSONValue, _ path: String, _ file: String?, allowed: Set<String>) throws(RuleSetError) -> [String: JSONValue] {
        guard case .object(let o) = v else {
            throw RuleSetError(file: file, path: path, message: "expected an object, got \(describe(v))")
        }
        if let unknown = o.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw RuleSetError(
                file: file, path: path.isEmpty ? unknown : path + "." + unknown,
                message: "unknown key (known: \(allowed.sorted().joined(separator: ", ")))")
        }
        return o
    }

    static func string(_ v: JSONValue, _ path: String, _ file: String?) throws(RuleSetError) -> String {
        guard case .string(let s) = v else { throw RuleSetError(file: file, path: path, message: "expected a string, got \(describe(v))") }
        return s
    }

    static func integer(_ v: JSONValue, _ path: String, _ file: String?, _ range: ClosedRange<Int64>) throws(RuleSetError) -> Int64 {
        guard case .number(let text) = v else { throw RuleSetError(file: file, path: path, message: "expected an integer, got \(describe(v))") }
        guard let n = parseDecimalUInt128(text), n <= UInt128(Int64.max), range.contains(Int64(n)) else {
            throw RuleSetError(file: file, path: path, message: "expected an integer \(range.lowerBound)–\(range.upperBound), got \(text)")
        }
        return Int64(n)
    }

    static func amount(_ v: JSONValue, _ path: String, _ file: String?) throws(RuleSetError) -> Wei {
        guard case .string(let text) = v else {
            throw RuleSetError(
                file: file, path: path, message: "expected an amount in wei as a decimal string (\"80000000000000000000\"), got \(describe(v))")
        }
        guard let w = Wei(decimal: text) else {
            throw RuleSetError(file: file, path: path, message: "'\(text)' is not a decimal amount of wei that fits 128 bits")
        }
        return w
    }

    static func describe(_ v: JSONValue) -> String {
        switch v {
        case .null: "null"
        case .bool: "a boolean"
        case .number(let n): "the number \(n)"
        case .string(let s): "the string \"\(s)\""
        case .array: "an array"
        case .object: "an object"
        }
    }

    // MARK: Canonical JSON

    /// The rule set fully resolved (base parameters and changes, no `extends`) as a file, as a
    /// JSON value: `changes` always present, each change only with what it changes.
    public var fileJSON: JSONValue {
        .object([
            "name": .string(name),
            "parameters": RuleSet.json(RuleParameterChanges.all(base)),
            "changes": .array(changes.map { .object(["fromEpoch": .number(String($0.fromEpoch)), "set": RuleSet.json($0.set)]) }),
        ])
    }

    static func canonicalJSON(name: String, base: RuleParameters, changes: [RuleChange]) -> String {
        JSONValue.object([
            "name": .string(name),
            "parameters": json(RuleParameterChanges.all(base)),
            "changes": .array(changes.map { .object(["fromEpoch": .number(String($0.fromEpoch)), "set": json($0.set)]) }),
        ]).canonicalText
    }

    static func json(_ c: RuleParameterChanges) -> JSONValue {
        var o: [String: JSONValue] = [:]
        if let v = c.settledShareBp { o["settledShareBp"] = .number(String(v)) }
        if let v = c.mining { o["tiers"] = .array(v.tiers.map(json)) }
        if let v = c.lockupEpochs { o["lockupEpochs"] = .number(String(v)) }
        if let v = c.depositLockDays { o["depositLockDays"] = .number(String(v)) }
        if let v = c.coolingOffDays { o["coolingOffDays"] = .number(String(v)) }
        if let v = c.unbondingDays { o["unbondingDays"] = .number(String(v)) }
        if let v = c.limitGrowthDeposit { o["limitGrowthDeposit"] = .string(v.rawValue) }
        return .object(o)
    }

    static func json(_ t: MiningSchedule.Tier) -> JSONValue {
        .object([
            "minedBelowWei": .string(t.minedBelow.description), "rewardWei": .string(t.rewardPerEpoch.description),
            "resourceBp": .number(String(t.resourceBp)), "metaBp": .number(String(t.metaBp)),
            "stakeBp": .number(String(t.stakeBp)),
        ])
    }

    // MARK: Human forms

    /// The file form, indented (keys sorted), ending with a newline: what `rules show --format json` prints.
    public var prettyJSON: String {
        var out = ""
        RuleSet.pretty(fileJSON, indent: "", into: &out)
        return out + "\n"
    }

    static func pretty(_ v: JSONValue, indent: String, into out: inout String) {
        let inner = indent + "  "
        switch v {
        case .object(let o) where !o.isEmpty:
            // Tiers stay on one line each: a table reads better than a column.
            if o.keys.contains("minedBelowWei") {
                out += v.canonicalText
                return
            }
            out += "{\n"
            for (i, key) in o.keys.sorted().enumerated() {
                out += inner + JSONValue.string(key).canonicalText + ": "
                pretty(o[key]!, indent: inner, into: &out)
                out += i == o.count - 1 ? "\n" : ",\n"
            }
            out += indent + "}"
        case .array(let a) where !a.isEmpty:
            out += "[\n"
            for (i, item) in a.enumerated() {
                out += inner
                pretty(item, indent: inner, into: &out)
                out += i == a.count - 1 ? "\n" : ",\n"
            }
            out += indent + "]"
        default:
            out += v.canonicalText
        }
    }

    /// A readable table of every parameter and change (`rules show --format text`).
    public var textTable: String {
        var out = "rule set \(name)\nsha256   \(sha256)\n\n"
        func block(_ title: String, _ p: RuleParameters, only: RuleParameterChanges?) {
            out += title + "\n"
            func row(_ key: String, _ value: String, _ changed: Bool) {
                guard only == nil || changed else { return }
                out += "  " + key.rightPad(20) + value + "\n"
            }
            let bp = p.settledShareBp
            let percent = bp % 100 == 0 ? "\(bp / 100)" : "\(bp / 100)." + String(String(100 + bp % 100).dropFirst()).trimmingZeros
            row("settledShareBp", "\(bp) bp (the top \(percent) % of traffic)", only?.settledShareBp != nil)
            row("lockupEpochs", "\(p.lockupEpochs) epochs", only?.lockupEpochs != nil)
            row("depositLockDays", "\(p.depositLockDays) days", only?.depositLockDays != nil)
            row("coolingOffDays", "\(p.coolingOffDays) days", only?.coolingOffDays != nil)
            row("unbondingDays", "\(p.unbondingDays) days", only?.unbondingDays != nil)
            row(
                "limitGrowthDeposit",
                p.limitGrowthDeposit == .genesisOnly
                    ? "genesis (s = the genesis deposits, constant)"
                    : "effective (s = the effective total deposit)", only?.limitGrowthDeposit != nil)
            if only == nil || only?.mining != nil {
                out += "  tiers               mined below (wei)            reward per epoch (wei)   resource / meta / stake bp\n"
                for t in p.mining.tiers {
                    out +=
                        "    " + RuleSet.grouped(t.minedBelow.rawValue).leftPad(38) + "  " + RuleSet.grouped(t.rewardPerEpoch.rawValue).leftPad(26)
                        + "   \(t.resourceBp) / \(t.metaBp) / \(t.stakeBp)\n"
                }
            }
        }
        block("parameters (from epoch 1)", base, only: nil)
        var current = base
        for c in changes {
            current = c.set.applied(to: current)
            out += "\n"
            block("from epoch \(c.fromEpoch)", current, only: c.set)
        }
        return out
    }
}

extension RuleParameterChanges {
    /// Every parameter of `p`.
    static func all(_ p: RuleParameters) -> RuleParameterChanges {
        var c = RuleParameterChanges()
        c.settledShareBp = p.settledShareBp
        c.mining = p.mining
        c.lockupEpochs = p.lockupEpochs
        c.depositLockDays = p.depositLockDays
        c.coolingOffDays = p.coolingOffDays
        c.unbondingDays = p.unbondingDays
        c.limitGrowthDeposit = p.limitGrowthDeposit
        return c
    }

    /// The parameters when every one is set.
    var complete: RuleParameters? {
        guard let settledShareBp, let mining, let lockupEpochs, let depositLockDays, let coolingOffDays,
            let unbondingDays, let limitGrowthDeposit
        else { return nil }
        return RuleParameters(
            settledShareBp: settledShareBp, mining: mining, lockupEpochs: lockupEpochs,
            depositLockDays: depositLockDays, coolingOffDays: coolingOffDays,
            unbondingDays: unbondingDays, limitGrowthDeposit: limitGrowthDeposit)
    }

    func has(_ key: String) -> Bool {
        switch key {
        case "settledShareBp": settledShareBp != nil
        case "tiers": mining != nil
        case "lockupEpochs": lockupEpochs != nil
        case "depositLockDays": depositLockDays != nil
        case "coolingOffDays": coolingOffDays != nil
        case "unbondingDays": unbondingDays != nil
        case "limitGrowthDeposit": limitGrowthDeposit != nil
        default: false
        }
    }
}

extension String {
    fileprivate func leftPad(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
    fileprivate func rightPad(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    fileprivate var trimmingZeros: String {
        var s = self
        while s.hasSuffix("0") { s.removeLast() }
        return s
    }
}
