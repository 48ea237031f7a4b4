-- The one-statement append with fewer statements inside it (issue 18).
--
-- Why: with a few clients the log commits about one request at a time, and the rate is then
-- bounded by the server's time per commit: the function's statements, then the commit's WAL
-- flush, all under the head lock (the next append, queued behind on the same connection, runs
-- once this one is flushed). Every SQL statement a PL/pgSQL function runs costs an executor
-- start and end and a snapshot, and on a table with CHECK constraints PostgreSQL parses and
-- plans the constraints again for each statement (ExecRelCheck). So, with the same signature,
-- the same answers, the same lock and the same guarantees (docs/EVENT-STORE.md):
--   * the stream versions are looked up only when the caller expects some (the query ran on
--     every call, only to find p_expected_streams NULL);
--   * the rows are inserted, their count checked and the head moved in ONE statement (a
--     data-modifying CTE), where it was INSERT, GET DIAGNOSTICS and UPDATE;
--   * the head row's CHECK constraints are checked by its trigger instead, which runs on every
--     update anyway and whose expressions PL/pgSQL keeps planned for the session.
CREATE OR REPLACE FUNCTION event_log_append(
    p_head_position bigint, p_head_hash bytea, p_rows jsonb,
    p_expected_streams text[], p_expected_versions bigint[],
    p_new_head_position bigint, p_new_head_hash bytea, p_new_head_time timestamptz, p_channel text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    locked record;
    moved bigint;
BEGIN
    SELECT h.position, h.hash INTO locked FROM event_log_head h FOR UPDATE;
    IF locked.position <> p_head_position OR locked.hash <> p_head_hash THEN
        RETURN 'head-moved';
    END IF;
    IF p_expected_streams IS NOT NULL THEN
        IF EXISTS (
            SELECT 1 FROM unnest(p_expected_streams, p_expected_versions) AS x(stream, version)
            WHERE coalesce((SELECT e.stream_version FROM event_log e WHERE e.stream = x.stream
                            ORDER BY e.stream_version DESC LIMIT 1), 0) <> x.version) THEN
            RETURN 'stream-version-conflict';
        END IF;
    END IF;
    -- Positions are head+1, head+2, … in the rows' order (WITH ORDINALITY): no gap by
    -- construction; the writer chained the hashes over the same positions. The head moves only
    -- when the rows fill exactly the positions up to the new head.
    WITH inserted AS (
        INSERT INTO event_log (position, stream, stream_version, event_id, type, time, data, metadata, hash)
        SELECT p_head_position + r.ord, r.stream,
               coalesce((SELECT e.stream_version FROM event_log e WHERE e.stream = r.stream
                         ORDER BY e.stream_version DESC LIMIT 1), 0)
                   + row_number() OVER (PARTITION BY r.stream ORDER BY r.ord),
               r.id, r.type, r.time, r.data, r.metadata, decode(r.hash, 'hex')
        FROM ROWS FROM (jsonb_to_recordset(p_rows) AS (stream text, id text, type text, time timestamptz,
                                                       data jsonb, metadata jsonb, hash text))
             WITH ORDINALITY AS r(stream, id, type, time, data, metadata, hash, ord)
        RETURNING 1
    )
    UPDATE event_log_head
    SET position = p_new_head_position, hash = p_new_head_hash, time = p_new_head_time
    WHERE (SELECT count(*) FROM inserted) = p_new_head_position - p_head_position
    RETURNING position INTO moved;
    IF moved IS NULL THEN
        RAISE EXCEPTION 'event_log_append: the rows do not fill the positions % to %', p_head_position + 1, p_new_head_position
            USING ERRCODE = 'data_exception';
    END IF;
    PERFORM pg_notify(p_channel, p_new_head_position::text);
    RETURN 'appended';
END;
$$;

-- The head row's checks, in the trigger that already guards its updates.
CREATE OR REPLACE FUNCTION event_log_head_forward_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT NEW.singleton OR NEW.position < 0 OR length(NEW.hash) <> 32 THEN
        RAISE EXCEPTION 'event_log_head: singleton must be true, position >= 0 and hash 32 bytes (got %, %, % bytes)',
            NEW.singleton, NEW.position, length(NEW.hash)
            USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.position < OLD.position THEN
        RAISE EXCEPTION 'event_log_head may only move forward (from % to %)', OLD.position, NEW.position
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;

DROP TRIGGER event_log_head_forward ON event_log_head;
CREATE TRIGGER event_log_head_forward BEFORE INSERT OR UPDATE ON event_log_head
    FOR EACH ROW EXECUTE FUNCTION event_log_head_forward_only();
ALTER TABLE event_log_head
    DROP CONSTRAINT event_log_head_singleton_check,
    DROP CONSTRAINT event_log_head_position_check,
    DROP CONSTRAINT event_log_head_hash_check;
