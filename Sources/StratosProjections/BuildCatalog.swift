import Foundation
import LedgerEvents
import PostgresClient
import StratosEconomics

/// One build of the projections (a schema with a state row), as `stratos-ledger builds` and
/// `GET /v1/builds` list it.
public struct BuildInfo: Sendable, Hashable {
    /// The build's name: recorded in its state row (`rebuild --as NAME`, or made from its rules),
    /// so it stays the same whatever schema a switch renames the build to. A build made before
    /// names were recorded, or by `project`, is called by its schema until a switch names it.
    public var name: String
    /// Where the build is now: the serving schema, `_previous`, `_kept_<n>` or `_next`.
    public var schema: String
    /// Whether `name` is recorded (false: it is the schema's name).
    public var named: Bool
    public var buildID: String
    public var rules: String
    /// Absent in schemas built before it was recorded.
    public var rulesSha256: String?
    public var status: BuildStatus
    public var position: Int64
    public var serving: Bool
    /// ISO 8601, UTC.
    public var createdAt: String
    /// When it last stopped serving (ISO 8601, UTC, microseconds); nil when it never did, or
    /// when a rebuild under the same rules replaced it (it is no switch-back target then).
    public var servedUntil: String?
    /// `servedUntil` in microseconds since 1970, for ordering the switch history.
    var servedUntilMicros: Int64?
    /// The build this one took over (`rebuild` replaying only what changed): it reads that
    /// build's rows through the close of `epoch` (log position `position`), so that build cannot
    /// be dropped while this one exists. nil for a build replayed from Genesis.
    public var base: Base?

    public struct Base: Sendable, Hashable {
        /// The base build's name (its build id if it was dropped by other means than `builds drop`).
        public var build: String
        public var epoch: Int64
        public var position: Int64
        public init(build: String, epoch: Int64, position: Int64) {
            self.build = build
            self.epoch = epoch
            self.position = position
        }
    }

    /// The JSON of `builds --format json` and `GET /v1/builds` (one element of the array).
    public var json: JSONValue {
        var o: [String: JSONValue] = [
            "name": .string(name), "schema": .string(schema), "rules": .string(rules), "status": .string(status.rawValue),
            "position": .integer(position), "serving": .bool(serving), "createdAt": .string(createdAt),
            "servedUntil": servedUntil.map { .string($0) } ?? .null,
        ]
        if let rulesSha256 { o["rulesSha256"] = .string(rulesSha256) }
        o["base"] =
            base.map {
                .object(["build": .string($0.build), "epoch": .integer($0.epoch), "position": .integer($0.position)])
            } ?? .null
        return .object(o)
    }

    /// The JSON array of a listing.
    public static func json(_ builds: [BuildInfo]) -> JSONValue { .array(builds.map(\.json)) }
}

/// What a request about builds got wrong: the CLI prints it, the service answers 404 (unknown)
/// or 400 (the others).
public enum BuildError: Error, CustomStringConvertible, Sendable, Equatable {
    case unknown(name: String, known: [String])
    case invalidName(String, reason: String)
    case nameTaken(String, schema: String)
    case refused(String)

    public var description: String {
        switch self {
        case .unknown(let name, let known):
            return "there is no build \(name) (known: \(known.isEmpty ? "none" : known.joined(separator: ", ")); see `stratos-ledger builds`)"
        case .invalidName(let name, let reason): return "build name '\(name)': \(reason)"
        case .nameTaken(let name, let schema):
            return "build name '\(name)' is taken (by the build in schema \(schema)): choose another with --as, or drop that build"
        case .refused(let m): return m
        }
    }
}

/// The builds kept side by side for one serving schema: their names and the switch history,
/// both recorded in each build's own state row (`build_name`, `served_until` in
/// Projections/tables.sql), so that a build's name and history travel with it through every
/// rename and disappear with it when it is dropped; no other build's row refers to it. A
/// build that took another over reads that one's rows through views (which follow renames:
/// PostgreSQL binds them to the tables, not to their names), so `drop` refuses a build that
/// others read: dropping one never breaks another.
///
/// Why the state row rather than a catalog table: the schemas are renamed by every switch and
/// dropped by hand; a table of their own keeps nothing that can go stale. A schema made before
/// these columns existed gets them (`builds.add_catalog_columns`) the first time a rebuild or a
/// switch writes them; reads take them through `to_jsonb`, so an old schema is listed as it is.
public struct BuildCatalog: Sendable {
    public let schemas: ProjectionSchemas
    let sql: ProjectionSQL

    public init(schemas: ProjectionSchemas = ProjectionSchemas(), sql: ProjectionSQL) {
        self.schemas = schemas
        self.sql = sql
    }

    /// The longest build name.
    public static let maxNameLength = 64
    /// The most `-<n>` suffixes tried for a default name.
    static let maxSuffix = 10_000

    /// The rule for a build name, as the errors state it.
    public var nameRule: String {
        "a build name is 1–\(Self.maxNameLength) characters, letters, digits, '.', '_' or '-', starting with a letter or "
            + "digit; '\(schemas.serving)' and names starting with '\(schemas.serving)_' are the schemas' own names"
    }

    /// Refuses a name that breaks `nameRule`, naming what is wrong.
    public func validate(name: String) throws(BuildError) {
        let bytes = Array(name.utf8)
        func isAlnum(_ b: UInt8) -> Bool { (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) }
        guard !bytes.isEmpty, bytes.count <= Self.maxNameLength else {
            throw .invalidName(name, reason: "\(bytes.count) characters (\(nameRule))")
        }
        guard isAlnum(bytes[0]) else { throw .invalidName(name, reason: "it must start with a letter or digit (\(nameRule))") }
        if let bad = bytes.first(where: { !(isAlnum($0) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D) }) {
            throw .invalidName(name, reason: "'\(Character(Unicode.Scalar(bad)))' is not allowed (\(nameRule))")
        }
        if name == schemas.serving || name.hasPrefix(schemas.serving + "_") {
            throw .invalidName(name, reason: "reserved (\(nameRule))")
        }
    }

    /// Every build of the serving schema, by schema name (`builds.schemas`, then each state row).
    public func list(_ c: PostgresConnection) throws -> [BuildInfo] {
        let names = try c.query(sql("builds.schemas"), binding: schemas.serving)
        var out: [BuildInfo] = []
        for i in 0..<names.rowCount {
            let schema = try names.string(i, 0)
            let r = try c.query(try sql.render("builds.state_in", on: c, ["schema": schema]))
            guard r.rowCount > 0 else { continue }
            let recorded = r.optionalString(0, 5)
            out.append(
                BuildInfo(
                    name: recorded ?? schema, schema: schema, named: recorded != nil, buildID: try r.string(0, 6),
                    rules: try r.string(0, 0), rulesSha256: r.optionalString(0, 1), status: try BuildStatus.decode(r.string(0, 2), schema: schema),
                    position: try r.int64(0, 3), serving: schema == schemas.serving, createdAt: try r.string(0, 4),
                    servedUntil: r.optionalString(0, 7), servedUntilMicros: r.optionalString(0, 8).flatMap { Int64($0) }))
            if try c.query(sql("overlay.exists"), binding: schema).rowCount > 0 {
                let o = try c.query(try sql.render("overlay.select", on: c, ["schema": schema]))
                if o.rowCount > 0 {
                    out[out.count - 1].base = BuildInfo.Base(
                        build: try o.string(0, 0), epoch: try o.int64(0, 2), position: try o.int64(0, 1))
                }
            }
        }
        // The base is recorded by build id (stable through renames): shown by its name.
        for i in out.indices {
            if let id = out[i].base?.build, let named = out.first(where: { $0.buildID == id }) { out[i].base!.build = named.name }
        }
        return out
    }

    /// The build called `name`: by its recorded name, else (a build without one, or the
    /// schema names users knew before names) by its schema.
    public func resolve(_ c: PostgresConnection, _ name: String) throws -> BuildInfo {
        let builds = try list(c)
        if let b = builds.first(where: { $0.named && $0.name == name }) ?? builds.first(where: { $0.schema == name }) { return b }
        throw BuildError.unknown(name: name, known: builds.map(\.name))
    }

    /// The name a build gets without `--as`: its rule set's name, or that name with the first
    /// free `-<n>` (n ≥ 2); `build` when the rules' name is not a valid build name.
    func defaultName(rules: String, taken: Set<String>) throws -> String {
        let base = (try? validate(name: rules)) != nil ? rules : "build"
        if !taken.contains(base) { return base }
        for n in 2...Self.maxSuffix {
            let suffix = "-\(n)"
            let candidate = String(base.prefix(Self.maxNameLength - suffix.count)) + suffix
            if !taken.contains(candidate) { return candidate }
        }
        throw BuildError.refused("no free name for a build under \(rules) after \(Self.maxSuffix) tries: name it with --as")
    }

    /// Adds the catalog columns to a state row made before they existed.
    func ensureColumns(_ c: PostgresConnection, _ schema: String) throws {
        if try c.query(sql("builds.has_catalog_columns"), binding: schema).int64(0, 0) < 2 {
            try c.execute(try sql.render("builds.add_catalog_columns", on: c, ["schema": schema]))
        }
    }

    /// Records `name` (validated, not taken by another build) for the build in `schema`; without
    /// one, keeps the build's recorded name or gives it the default. Returns the name.
    @discardableResult
    public func name(_ c: PostgresConnection, schema: String, as requested: String?, rules: String) throws -> String {
        let builds = try list(c)
        let others = builds.filter { $0.schema != schema }
        if let requested {
            try validate(name: requested)
            if let holder = others.first(where: { $0.name == requested }) { throw BuildError.nameTaken(requested, schema: holder.schema) }
        }
        let own = builds.first { $0.schema == schema }
        let name = try requested ?? (own?.named == true ? own!.name : defaultName(rules: rules, taken: Set(others.map(\.name))))
        try ensureColumns(c, schema)
        try c.query(try sql.render("builds.set_name", on: c, ["schema": schema]), [name])
        return name
    }

    /// Gives every build without a recorded name its default name, oldest first (inside a
    /// switch: from then on the build keeps it through renames).
    func nameUnnamed(_ c: PostgresConnection) throws {
        let builds = try list(c)
        var taken = Set(builds.filter(\.named).map(\.name))
        for b in builds.filter({ !$0.named }).sorted(by: { ($0.createdAt, $0.schema) < ($1.createdAt, $1.schema) }) {
            let name = try defaultName(rules: b.rules, taken: taken)
            try ensureColumns(c, b.schema)
            try c.query(try sql.render("builds.set_name", on: c, ["schema": b.schema]), [name])
            taken.insert(name)
        }
    }

    /// The build `rebuild --switch-back` serves: the one that stopped serving last (the
    /// greatest `served_until`) among those not serving and not being built; in a database
    /// switched before the history was recorded (no build has one), `_previous`.
    public func switchBackTarget(_ builds: [BuildInfo]) throws -> BuildInfo {
        let candidates = builds.filter { !$0.serving && $0.schema != schemas.next }
        if let b = candidates.filter({ $0.servedUntilMicros != nil }).max(by: { $0.servedUntilMicros! < $1.servedUntilMicros! }) {
            return b
        }
        if !builds.contains(where: { $0.servedUntilMicros != nil }), let b = candidates.first(where: { $0.schema == schemas.previous }) {
            return b
        }
        let serving = builds.first(where: \.serving)?.name ?? schemas.serving
        throw BuildError.refused("no build served before \(serving) (see `stratos-ledger builds`): switch to one by name")
    }
}

/// Naming, listing, switching and dropping builds (`stratos-ledger builds`, `rebuild --as`,
/// `rebuild --switch-back`).
///
/// Every switch is one transaction on both state rows (locked): the serving schema is renamed
/// to `_previous` (an older `_previous` to the first free `_kept_<n>`), the target to the
/// serving schema; the build that stops serving records `served_until` (the history), except
/// one replaced by a rebuild under the same rules (it is kept, as `_kept_<n>`, but the build
/// that served before it stays the switch-back target). Builds without a name get their
/// default one in the same transaction.
extension Rebuilder {
    public var catalog: BuildCatalog { BuildCatalog(schemas: schemas, sql: sql) }

    /// The builds of this serving schema side by side, by schema name.
    public func builds() throws -> [BuildInfo] {
        try catalog.list(try PostgresConnection(url: url))
    }

    /// Makes the build `name` serving, atomically (see the type). Refuses the serving build and
    /// `_next` (not yet checked: `rebuild` switches it in).
    public func switchTo(build name: String) throws {
        let c = try PostgresConnection(url: url)
        try c.transaction { c in
            let target = try catalog.resolve(c, name)
            guard !target.serving else { throw BuildError.refused("\(name) is already serving") }
            guard target.schema != schemas.next else {
                throw BuildError.refused("\(name) is an unfinished rebuild (\(target.schema)): run rebuild to check and switch it in")
            }
            try serve(c, schema: target.schema, replacing: false)
        }
    }

    /// Serves the build that served before the serving one (`BuildCatalog.switchBackTarget`);
    /// returns its name.
    @discardableResult
    public func switchBack() throws -> String {
        let c = try PostgresConnection(url: url)
        return try c.transaction { c in
            let target = try catalog.switchBackTarget(try catalog.list(c))
            try serve(c, schema: target.schema, replacing: false)
            return target.name
        }
    }

    /// Drops the build `name` (one `builds()` lists); refuses the serving one. A build that took
    /// this one over (and reads its rows through its views) first gets its own copy of those
    /// rows, in the same transaction: `materialized` is told its name before the copy is made
    /// (the copy costs what the take-over saved: seconds to minutes on a large history).
    public func drop(build name: String, materialized: (String) -> Void = { _ in }) throws {
        let c = try PostgresConnection(url: url)
        try c.transaction { c in
            let b = try catalog.resolve(c, name)
            guard !b.serving else {
                throw BuildError.refused("\(name) is the serving build: switch to another one before dropping it")
            }
            // A build that took this one over reads its rows through views (`overlay.views`):
            // DROP … CASCADE would take those views with it and break that build silently. So
            // each such build first gets its own copy of what it reads (in this transaction).
            let dependents = try c.query(sql("overlay.dependents"), binding: b.schema)
            let builds = dependents.rowCount > 0 ? try catalog.list(c) : []
            for i in 0..<dependents.rowCount {
                let schema = try dependents.string(i, 0)
                materialized(builds.first { $0.schema == schema }?.name ?? schema)
                try c.execute(try sql.render("overlay.materialize", on: c, ["to": schema]))
            }
            try c.execute(try sql.render("schema.drop", on: c, ["schema": b.schema]))
        }
    }

    /// Switches the checked `_next` in, inside the caller's transaction: a build under the rules
    /// already serving replaces the serving one (see the type).
    func switchIn(_ c: PostgresConnection, rules: RuleSet) throws {
        let serving =
            try c.query(sql("schema.exists"), binding: schemas.serving).rowCount > 0
            ? try ProjectionStatus.decode(c.query(try sql.render("state.select_in", on: c, ["schema": schemas.serving]))) : nil
        try serve(c, schema: schemas.next, replacing: serving?.isBuilt(with: rules) == true)
    }

    /// Makes the build in `target` serving (inside the caller's transaction).
    func serve(_ c: PostgresConnection, schema target: String, replacing: Bool) throws {
        try catalog.nameUnnamed(c)
        let exists = { (schema: String) in try c.query(sql("schema.exists"), binding: schema).rowCount > 0 }
        if try exists(schemas.serving) {
            _ = try c.query(try sql.render("state.lock_in", on: c, ["schema": schemas.serving]))
            _ = try c.query(try sql.render("state.lock_in", on: c, ["schema": target]))
            try c.query(try sql.render("builds.set_served_until", on: c, ["schema": schemas.serving]), [replacing ? "false" : "true"])
            let previousExists = try exists(schemas.previous)
            if target == schemas.previous {
                let temporary = schemas.serving + "_switching"
                try c.execute(try sql.render("schema.rename", on: c, ["from": schemas.serving, "to": temporary]))
                try c.execute(try sql.render("schema.rename", on: c, ["from": schemas.previous, "to": schemas.serving]))
                try c.execute(try sql.render("schema.rename", on: c, ["from": temporary, "to": schemas.previous]))
                try c.query(try sql.render("state.set_status_in", on: c, ["schema": schemas.previous]), [BuildStatus.previous.rawValue])
            } else if replacing && previousExists {
                // The build that served before stays `_previous`; the replaced one is kept.
                try keep(c, schemas.serving)
                try c.execute(try sql.render("schema.rename", on: c, ["from": target, "to": schemas.serving]))
            } else {
                if previousExists { try keep(c, schemas.previous) }
                try c.execute(try sql.render("schema.rename", on: c, ["from": schemas.serving, "to": schemas.previous]))
                try c.query(try sql.render("state.set_status_in", on: c, ["schema": schemas.previous]), [BuildStatus.previous.rawValue])
                try c.execute(try sql.render("schema.rename", on: c, ["from": target, "to": schemas.serving]))
            }
        } else {
            try c.execute(try sql.render("schema.rename", on: c, ["from": target, "to": schemas.serving]))
        }
        try c.query(try sql.render("state.set_status_in", on: c, ["schema": schemas.serving]), [BuildStatus.serving.rawValue])
    }

    /// Renames `schema` to the first free `<serving>_kept_<n>` (status `previous`: the state
    /// row's check allows no other word for a built schema out of service): a build set aside
    /// by a switch stays in the database until it is dropped explicitly.
    @discardableResult
    func keep(_ c: PostgresConnection, _ schema: String) throws -> String {
        var n = 1
        while try c.query(sql("schema.exists"), binding: schemas.kept(n)).rowCount > 0 {
            n += 1
            guard n <= BuildCatalog.maxSuffix else { throw BuildError.refused("more than \(BuildCatalog.maxSuffix) kept builds: drop some") }
        }
        try c.execute(try sql.render("schema.rename", on: c, ["from": schema, "to": schemas.kept(n)]))
        try c.query(try sql.render("state.set_status_in", on: c, ["schema": schemas.kept(n)]), [BuildStatus.previous.rawValue])
        return schemas.kept(n)
    }
}
