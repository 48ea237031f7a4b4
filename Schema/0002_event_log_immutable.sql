-- Immutability enforced by the database: an event, once appended, is never changed or removed.

CREATE FUNCTION event_log_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'event_log is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation',
              HINT = 'events are immutable; append a correcting event instead';
END;
$$;

CREATE TRIGGER event_log_no_update BEFORE UPDATE ON event_log
    FOR EACH ROW EXECUTE FUNCTION event_log_refuse_change();
CREATE TRIGGER event_log_no_delete BEFORE DELETE ON event_log
    FOR EACH ROW EXECUTE FUNCTION event_log_refuse_change();
CREATE TRIGGER event_log_no_truncate BEFORE TRUNCATE ON event_log
    FOR EACH STATEMENT EXECUTE FUNCTION event_log_refuse_change();

-- The head row only moves forward and is never removed.
CREATE FUNCTION event_log_head_forward_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.position < OLD.position THEN
        RAISE EXCEPTION 'event_log_head may only move forward (from % to %)', OLD.position, NEW.position
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER event_log_head_forward BEFORE UPDATE ON event_log_head
    FOR EACH ROW EXECUTE FUNCTION event_log_head_forward_only();
CREATE TRIGGER event_log_head_no_delete BEFORE DELETE ON event_log_head
    FOR EACH ROW EXECUTE FUNCTION event_log_refuse_change();
CREATE TRIGGER event_log_head_no_truncate BEFORE TRUNCATE ON event_log_head
    FOR EACH STATEMENT EXECUTE FUNCTION event_log_refuse_change();
