-- The event log: the only source of truth. One row per event, global position 1, 2, 3, ...
-- without gaps, each row hash-chained to the one before (see docs/EVENT-STORE.md).

CREATE TABLE event_log (
    -- Global, gap-free, 1-based. Assigned under the lock of the event_log_head row, so
    -- transactions commit in position order and a reader never sees N+1 before N.
    position        bigint      PRIMARY KEY CHECK (position > 0),
    -- The event's primary entity (account/<id>, node/<id>, validator/<id>, epoch/<n>, economy)
    -- and its 1-based version in that stream, for optimistic concurrency per entity.
    stream          text        NOT NULL,
    stream_version  bigint      NOT NULL CHECK (stream_version > 0),
    -- The client's idempotency key.
    event_id        text        NOT NULL UNIQUE,
    type            text        NOT NULL,
    time            timestamptz NOT NULL,
    -- The canonical data object: amounts are strings of decimal digits, never JSON numbers.
    data            jsonb       NOT NULL CHECK (jsonb_typeof(data) = 'object'),
    -- appendedBy, correlationId, causationId, client (the envelope's metadata). Not hashed.
    metadata        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    appended_at     timestamptz NOT NULL DEFAULT now(),
    -- SHA-256(previous hash || position as decimal || "\n" || canonical event JSON).
    hash            bytea       NOT NULL CHECK (length(hash) = 32),
    UNIQUE (stream, stream_version)
);

COMMENT ON TABLE event_log IS 'Append-only, hash-chained event log of stratos-ledger (see docs/EVENT-STORE.md).';

-- One row: the last position, its hash and its event time. Every append locks this row first,
-- which serialises appenders (the price of a gap-free, never-reordered log).
CREATE TABLE event_log_head (
    singleton   boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    position    bigint      NOT NULL CHECK (position >= 0),
    hash        bytea       NOT NULL CHECK (length(hash) = 32),
    time        timestamptz
);

INSERT INTO event_log_head (singleton, position, hash, time)
VALUES (true, 0, '\x0000000000000000000000000000000000000000000000000000000000000000', NULL);
