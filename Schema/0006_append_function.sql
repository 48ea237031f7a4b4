-- One round trip per append: the whole locked append as one server-side function.
--
-- Why: an append in separate statements (BEGIN, lock the head, SAVEPOINT, COPY, RELEASE, move
-- the head, COMMIT) costs seven round trips, each a wake-up of the client and of the backend
-- and a statement to parse; for a single event that was most of its cost, not the commit.
-- Called as one prepared statement outside a transaction, this function is the transaction:
-- it locks the head, checks that the head is the one the writer computed the rows against
-- (position and chained hash), checks the expected stream versions, inserts the rows, moves
-- the head and notifies; the statement's implicit COMMIT follows in the same round trip.
--
-- The writer (EventStore) computes positions and the hash chain itself, from the head it last
-- committed, and has the rules check the events against it. When the head moved meanwhile
-- (another writer appended) the function writes nothing and answers 'head-moved'; an expected
-- stream version that does not hold answers 'stream-version-conflict'; an event id already in
-- the log fails the INSERT on the unique index (23505) and the transaction rolls back. In all
-- three cases the writer takes the locked path (EventStore.appendLocked), which decides
-- exactly (duplicates, conflicts, refusals) as before. Stream versions are assigned here, from
-- the (stream, stream_version) index, under the lock.
CREATE FUNCTION event_log_append(
    p_head_position bigint, p_head_hash bytea, p_rows jsonb,
    p_expected_streams text[], p_expected_versions bigint[],
    p_new_head_position bigint, p_new_head_hash bytea, p_new_head_time timestamptz, p_channel text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    locked record;
    inserted bigint;
BEGIN
    SELECT h.position, h.hash INTO locked FROM event_log_head h FOR UPDATE;
    IF locked.position <> p_head_position OR locked.hash <> p_head_hash THEN
        RETURN 'head-moved';
    END IF;
    IF p_expected_streams IS NOT NULL AND EXISTS (
        SELECT 1 FROM unnest(p_expected_streams, p_expected_versions) AS x(stream, version)
        WHERE coalesce((SELECT e.stream_version FROM event_log e WHERE e.stream = x.stream
                        ORDER BY e.stream_version DESC LIMIT 1), 0) <> x.version) THEN
        RETURN 'stream-version-conflict';
    END IF;
    -- Positions are head+1, head+2, … in the rows' order (WITH ORDINALITY): no gap by
    -- construction; the writer chained the hashes over the same positions.
    INSERT INTO event_log (position, stream, stream_version, event_id, type, time, data, metadata, hash)
    SELECT p_head_position + r.ord, r.stream,
           coalesce((SELECT e.stream_version FROM event_log e WHERE e.stream = r.stream
                     ORDER BY e.stream_version DESC LIMIT 1), 0)
               + row_number() OVER (PARTITION BY r.stream ORDER BY r.ord),
           r.id, r.type, r.time, r.data, r.metadata, decode(r.hash, 'hex')
    FROM ROWS FROM (jsonb_to_recordset(p_rows) AS (stream text, id text, type text, time timestamptz,
                                                   data jsonb, metadata jsonb, hash text))
         WITH ORDINALITY AS r(stream, id, type, time, data, metadata, hash, ord);
    GET DIAGNOSTICS inserted = ROW_COUNT;
    IF inserted <> p_new_head_position - p_head_position THEN
        RAISE EXCEPTION 'event_log_append: % rows for the positions % to %', inserted, p_head_position + 1, p_new_head_position
            USING ERRCODE = 'data_exception';
    END IF;
    UPDATE event_log_head SET position = p_new_head_position, hash = p_new_head_hash, time = p_new_head_time;
    PERFORM pg_notify(p_channel, p_new_head_position::text);
    RETURN 'appended';
END;
$$;

COMMENT ON FUNCTION event_log_append IS 'The locked append of stratos-ledger in one statement (see docs/EVENT-STORE.md).';

GRANT EXECUTE ON FUNCTION event_log_append TO stratos_app;
