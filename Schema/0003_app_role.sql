-- The service's own role: it may read and append events, never change them.
-- Roles are cluster-wide while this migration runs once per database, possibly in parallel
-- (tests create many databases at once): the creation is idempotent and tolerates losing
-- the race to a concurrent CREATE ROLE.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'stratos_app') THEN
        BEGIN
            CREATE ROLE stratos_app NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL; -- created concurrently by another database's migration
        END;
    END IF;
END
$$;

REVOKE ALL ON event_log, event_log_head FROM stratos_app;
GRANT SELECT, INSERT ON event_log TO stratos_app;
GRANT SELECT, UPDATE ON event_log_head TO stratos_app;
