-- Every statement the event store and the migrator run, by name (`-- name: key`), loaded by
-- EventStore's StoreSQL. The schema itself is in the numbered migrations beside this folder.
-- Values are always parameters ($n); nothing here is ever concatenated with data.

-- Migrations (Migrator). The table that records them is the one thing created outside a
-- numbered file: it must exist before any of them can be recorded.
-- name: migrations.lock
SELECT pg_advisory_lock($1)

-- name: migrations.unlock
SELECT pg_advisory_unlock($1)

-- name: migrations.create_table
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer     PRIMARY KEY,
    name        text        NOT NULL,
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now())

-- name: migrations.applied
SELECT version, name, checksum FROM schema_migrations ORDER BY version

-- name: migrations.record
INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)

-- Takes the append lock: every appender waits here, so positions are handed out and committed
-- strictly in order (docs/EVENT-STORE.md).
-- name: head.lock
SELECT position, hash, (extract(epoch FROM time) * 1000000)::bigint
FROM event_log_head FOR UPDATE

-- name: head.read
SELECT position, hash, (extract(epoch FROM time) * 1000000)::bigint FROM event_log_head

-- Moves the head and tells listeners (delivered when the transaction commits).
-- name: head.update_and_notify
WITH head AS (UPDATE event_log_head SET position = $1, hash = $2::bytea, time = $3::timestamptz
              RETURNING position)
SELECT pg_notify($4, position::text) FROM head

-- The whole append in one round trip, as its own transaction (Schema/0006_append_function.sql):
-- 'appended', 'head-moved' or 'stream-version-conflict'. Prepared once per connection.
-- name: log.append_in_one_statement
SELECT event_log_append($1, $2::bytea, $3::jsonb, $4::text[], $5::bigint[], $6, $7::bytea, $8::timestamptz, $9)

-- The chained hash at one position (a writer checks that a new connection's log, perhaps a
-- promoted standby's, still holds what its state was built from).
-- name: log.hash_at
SELECT hash FROM event_log WHERE position = $1

-- name: log.existing_ids
SELECT event_id, position, type, (extract(epoch FROM time) * 1000000)::bigint, data::text
FROM event_log WHERE event_id = ANY($1::text[])

-- The current version of each stream (0 when new): one backward index probe per stream.
-- name: log.stream_versions
SELECT s.stream,
       coalesce((SELECT e.stream_version FROM event_log e WHERE e.stream = s.stream
                 ORDER BY e.stream_version DESC LIMIT 1), 0)
FROM unnest($1::text[]) AS s(stream)

-- name: log.copy_in
COPY event_log (position, stream, stream_version, event_id, type, time, data, metadata, hash) FROM STDIN

-- The same columns in COPY's binary format (the importer's queued batches, EventStore.prepareCopy):
-- the server parses no numbers, times or hex, only the JSON of data and metadata.
-- name: log.copy_in_binary
COPY event_log (position, stream, stream_version, event_id, type, time, data, metadata, hash) FROM STDIN
WITH (FORMAT binary)

-- The reads below select the ten columns Reading.decodeStoredEvents decodes, in its order.
-- name: log.read_range
SELECT position, stream, stream_version, event_id, type, (extract(epoch FROM time) * 1000000)::bigint,
       data::text, metadata::text, (extract(epoch FROM appended_at) * 1000000)::bigint, hash
FROM event_log WHERE position >= $1 ORDER BY position LIMIT $2

-- The headers (no data) of the events with $1 < position <= $2 of type $3 and stream $4 (NULL:
-- any), at most $5, in order: a bounded window of the primary key, filtered by PostgreSQL. No
-- index on type: it would cost every append for a console filter.
-- name: log.headers_in_window
SELECT position, stream, stream_version, event_id, type, (extract(epoch FROM time) * 1000000)::bigint
FROM event_log
WHERE position > $1 AND position <= $2 AND ($3::text IS NULL OR type = $3) AND ($4::text IS NULL OR stream = $4)
ORDER BY position LIMIT $5

-- Point reads on the (stream, stream_version) key, for `read(stream:after:through:)`.
-- name: log.stream_last_version
SELECT coalesce(max(stream_version), 0) FROM event_log WHERE stream = $1

-- name: log.stream_version_position
SELECT position FROM event_log WHERE stream = $1 AND stream_version = $2

-- name: log.read_stream_versions
SELECT position, stream, stream_version, event_id, type, (extract(epoch FROM time) * 1000000)::bigint,
       data::text, metadata::text, (extract(epoch FROM appended_at) * 1000000)::bigint, hash
FROM event_log WHERE stream = $1 AND stream_version > $2 AND stream_version <= $3
ORDER BY stream_version

-- COPY takes no parameters, so the bounds travel as session settings set by a parameterised
-- set_config just before.
-- name: log.set_replay_bounds
SELECT set_config('stratos.replay_from', $1, false), set_config('stratos.replay_to', $2, false)

-- name: log.copy_out_range
COPY (SELECT position, stream, stream_version, event_id, type, (extract(epoch FROM time) * 1000000)::bigint,
             data::text, metadata::text, (extract(epoch FROM appended_at) * 1000000)::bigint, hash
      FROM event_log
      WHERE position >= current_setting('stratos.replay_from')::bigint
        AND position <= current_setting('stratos.replay_to')::bigint
      ORDER BY position) TO STDOUT

-- Writer checkpoints (0004_writer_checkpoints.sql, LedgerWriter).

-- The two newest checkpoints of kind $1 that belong to this log: their position is in the log
-- and the event there has the hash they recorded (the hash chains the whole prefix). Their
-- states are read one at a time (writer_checkpoints.state): each can be 100 MiB.
-- name: writer_checkpoints.latest
SELECT c.position, c.hash
FROM writer_checkpoints c JOIN event_log e ON e.position = c.position AND e.hash = c.hash
WHERE c.rules = $1
ORDER BY c.position DESC LIMIT 2

-- name: writer_checkpoints.state
SELECT state FROM writer_checkpoints WHERE rules = $1 AND position = $2

-- Two writers may checkpoint the same position (same log, same state): the first one stays.
-- name: writer_checkpoints.insert
INSERT INTO writer_checkpoints (rules, position, hash, state) VALUES ($1, $2, $3::bytea, $4::bytea)
ON CONFLICT (rules, position) DO NOTHING

-- Keeps the checkpoint at $2 and the one before it (in case the newest is ever unusable).
-- name: writer_checkpoints.prune
DELETE FROM writer_checkpoints
WHERE rules = $1 AND position < (SELECT coalesce(max(position), 0) FROM writer_checkpoints
                                  WHERE rules = $1 AND position < $2)
