/// The few administrative statements the demo runs on the server (not on the ledger: those
/// live in `Schema/` and `Projections/`). Database names cannot be parameters; the caller
/// appends the name quoted with `PQescapeIdentifier`.
enum DemoSQL {
    static let databaseExists = "SELECT 1 FROM pg_database WHERE datname = $1"
    static let terminateSessions = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()"
    static let dropDatabase = "DROP DATABASE IF EXISTS "
    static let createDatabase = "CREATE DATABASE "
}
