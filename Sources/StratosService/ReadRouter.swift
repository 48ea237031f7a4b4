import PostgresClient
import StratosProjections
import Synchronization

/// Sends each read to a database that can answer it: a hot standby when the service has some
/// (`serve --read-database-url`), the primary otherwise or when the standbys cannot.
///
/// Every read runs in one REPEATABLE READ, READ ONLY transaction that first reads the serving
/// projection's checkpoint position: the answer reflects exactly the log up to that position,
/// which the response carries as `X-Stratos-Position`. With `minPosition` (`?minPosition=N`, the
/// position an append returned) the read waits, for at most `minPositionWait`, until a standby
/// has projected N; then it asks the primary, which waits as long again; then 503 with
/// `Retry-After`. That is read-your-writes over asynchronous replicas, bounded.
///
/// A standby that cannot be reached is skipped for `standbyBackoff` (the pool's own backoff);
/// reads then go to the next standby or the primary.
public final class ReadRouter: Sendable {
    public let primary: ConnectionPool
    public let standbys: [ConnectionPool]
    private let schema: String
    let sql: ProjectionSQL
    private let minPositionWait: Duration
    private let nextStandby = Atomic<Int>(0)

    public init(
        primary: ConnectionPool, standbys: [ConnectionPool], schema: String, sql: ProjectionSQL,
        minPositionWait: Duration = .seconds(2)
    ) {
        self.primary = primary
        self.standbys = standbys
        self.schema = schema
        self.sql = sql
        self.minPositionWait = minPositionWait
    }

    /// A read's value and the log position it reflects.
    public struct Positioned<T: Sendable>: Sendable {
        public var value: T
        public var position: Int64
    }

    /// Not projected that far yet (internal: it makes the router wait or go elsewhere).
    private struct NotYet: Error { let position: Int64 }

    /// Runs `body` in a snapshot on a standby or the primary (see the type). `onPosition` is
    /// told the snapshot's position before `body` runs (a streamed response needs it for its
    /// headers before its body).
    public func read<T: Sendable>(
        minPosition: Int64? = nil,
        onPosition: (@Sendable (Int64) -> Void)? = nil,
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> Positioned<T> {
        try await read(minPosition: minPosition, build: nil, onPosition: onPosition) { c, _ in try body(c) }
    }

    /// `read` of the build named `build` (`?build=NAME`; nil: the serving one), resolved in the
    /// read's own snapshot (`BuildCatalog.resolve`): `body` gets its schema, the position is its
    /// checkpoint, and an unknown name is a 404 naming it.
    public func read<T: Sendable>(
        minPosition: Int64? = nil, build: String?,
        onPosition: (@Sendable (Int64) -> Void)? = nil,
        _ body: @escaping @Sendable (PostgresConnection, _ schema: String) throws -> T
    ) async throws -> Positioned<T> {
        if !standbys.isEmpty {
            let start = nextStandby.wrappingAdd(1, ordering: .relaxed).oldValue
            let deadline = ContinuousClock.now + minPositionWait
            for k in 0..<standbys.count {
                let pool = standbys[(start + k) % standbys.count]
                do {
                    if let value = try await attempt(pool, minPosition: minPosition, build: build, until: deadline, onPosition, body) {
                        return value
                    }
                    break // reachable but behind: the primary is the only one surely ahead of it
                } catch {
                    // Unreachable, busy or in recovery conflict: the next standby, then the primary.
                    guard error is PoolError || (error as? PostgresError)?.isTransient == true else { throw error }
                }
            }
        }
        if let value = try await attempt(
            primary, minPosition: minPosition, build: build, until: ContinuousClock.now + minPositionWait,
            onPosition, body)
        {
            return value
        }
        let projected = (try? await primary.withConnection { [sql, schema] c in try Self.position(c, sql, schema) }) ?? 0
        throw Problem.unavailable(
            "position \(minPosition ?? 0) is not projected yet (the projections are at \(projected)); try again",
            retryAfterSeconds: 1)
    }

    /// One database: nil when it has not projected `minPosition` by `deadline`.
    private func attempt<T: Sendable>(
        _ pool: ConnectionPool, minPosition: Int64?, build: String?, until deadline: ContinuousClock.Instant,
        _ onPosition: (@Sendable (Int64) -> Void)?,
        _ body: @escaping @Sendable (PostgresConnection, String) throws -> T
    ) async throws -> Positioned<T>? {
        let (sql, serving) = (self.sql, self.schema)
        while true {
            do {
                return try await pool.withConnection { c in
                    try c.transaction(isolation: .repeatableRead, readOnly: true) { c in
                        let schema = try build.map { try Self.schema(ofBuild: $0, c, sql, serving) } ?? serving
                        let position = try Self.position(c, sql, schema)
                        if let minPosition, position < minPosition { throw NotYet(position: position) }
                        onPosition?(position)
                        return Positioned(value: try body(c, schema), position: position)
                    }
                }
            } catch is NotYet {
                guard ContinuousClock.now < deadline else { return nil }
                try await Task.sleep(for: .milliseconds(25))
            }
        }
    }

    /// The schema of the build called `name` (404 when there is none).
    static func schema(ofBuild name: String, _ c: PostgresConnection, _ sql: ProjectionSQL, _ serving: String) throws -> String {
        do { return try BuildCatalog(schemas: ProjectionSchemas(serving: serving), sql: sql).resolve(c, name).schema } catch let e as BuildError {
            throw Problem.notFound("Build", e.description)
        }
    }

    /// The serving schema's checkpoint position (0 when it is not built).
    static func position(_ c: PostgresConnection, _ sql: ProjectionSQL, _ schema: String) throws -> Int64 {
        guard try c.query(sql("schema.exists"), binding: schema).rowCount > 0 else { return 0 }
        return try c.query(try sql.render("state.position_in", on: c, ["schema": schema])).int64(0, 0)
    }
}
