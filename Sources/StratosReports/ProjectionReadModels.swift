import PostgresClient
import StratosProjections

/// Makes read models over the projections, one per connection (the pool hands out connections
/// per request): loads `Projections/queries.sql` once (the located folder, or
/// `STRATOS_PROJECTIONS_DIR`).
public struct ProjectionReadModels: Sendable {
    public let schema: String
    let sql: ProjectionSQL

    public init(schemas: ProjectionSchemas = ProjectionSchemas()) throws {
        self.schema = schemas.serving
        self.sql = try ProjectionSQL.load()
    }

    /// A read model of the serving build.
    public func readModel(on connection: PostgresConnection) throws -> ReadModel {
        try readModel(on: connection, schema: schema)
    }

    /// A read model of the build in projection schema `schema` (`?build=NAME`: a build that is
    /// not serving).
    public func readModel(on connection: PostgresConnection, schema: String) throws -> ReadModel {
        ReadModel(queries: try LedgerQueries(connection: connection, schema: schema, sql: sql))
    }
}
