-- Statements on the server rather than on the ledger: the demo's and the fault drill's
-- databases. Database names cannot be parameters: `{database}` is filled in quoted
-- (PQescapeIdentifier) by the caller.

-- name: database.exists
SELECT 1 FROM pg_database WHERE datname = $1

-- name: database.terminate_sessions
SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()

-- name: database.drop
DROP DATABASE IF EXISTS {database}

-- name: database.create
CREATE DATABASE {database}

-- The fault drill's checks (FaultDrill): where each of its events landed, and the totals.
-- name: drill.positions
SELECT event_id, position FROM event_log WHERE event_id LIKE 'drill-%'

-- name: drill.totals
SELECT count(*), coalesce(max(position), 0), count(DISTINCT event_id) FROM event_log
