-- Checkpoints of the append path's rules state (LedgerWriter, docs/EVENT-STORE.md).
--
-- Every writer (the service, an import) keeps an in-memory rules state equal to the log, to
-- decide each append. Without a checkpoint it replays the whole log at start: ~15 s for two
-- million events, and growing with the history. With one, it restores the latest checkpoint and
-- replays only the events after it.
--
-- Derived data, never trusted blindly: a checkpoint is used only if the log still holds, at its
-- position, the event whose chained hash it recorded (so the whole log prefix is the one it was
-- made from), under the same rule set and state format (`rules`: e.g. `paper-v1/economy-v1`),
-- and if it decodes into a state that passes the invariants; otherwise the writer replays from
-- Genesis. Deleting every row is always safe.
CREATE TABLE writer_checkpoints (
    rules       text        NOT NULL,
    position    bigint      NOT NULL CHECK (position > 0),
    hash        bytea       NOT NULL CHECK (length(hash) = 32),
    state       bytea       NOT NULL,
    written_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (rules, position)
);

COMMENT ON TABLE writer_checkpoints IS 'Rules-state checkpoints of the append path (derived from event_log; safe to delete).';

GRANT SELECT, INSERT, DELETE ON writer_checkpoints TO stratos_app;
