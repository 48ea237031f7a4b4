-- Keys of the insert-only projection tables, created once a build has caught up with the log
-- (see tables.sql). Run with search_path set to the projection schema.
--
-- The `keys.*` sections run at the same time, each on a connection and in a transaction of its
-- own (ProjectionWorker.ensureIndexed): an index build is one sorting process, and the largest
-- table's five keys alone take longer than all the others, so they are split in two. Every
-- statement is idempotent (IF NOT EXISTS), because a section may have committed before a crash
-- that its siblings did not survive: the rerun builds what is missing. Primary keys are built
-- as unique indexes named <table>_pkey (a unique index build takes a lock that lets readers
-- read, an ADD PRIMARY KEY one that does not) and become the primary keys in keys.finish, which
-- runs in the transaction that marks the schema indexed.

-- The per-account, per-node and per-validator keys of vesting_entries are on the id's text hash
-- (hashtextextended, the function PostgreSQL's hash partitioning relies on), not on the id: the
-- bench history has 388 accounts with ~13,000 entries each, so sorting (id text, epoch) keys
-- compares nearly every pair of ids to a tie and then reaches the epoch behind a variable-length
-- column; (hash, epoch) keys are two fixed-width integers. Measured on its 4.97 M entries, one
-- core: the account key 9.0 -> 4.2 s, the validator key 5.1 -> 3.2 s. A query names both, the
-- hash for the index and the id itself for the answer (`hashtextextended(account, 0) =
-- hashtextextended($1, 0) AND account = $1`): a hash collision costs a filtered row, never a
-- wrong one. projection_state.text_hash records the function's value for a fixed text when
-- the schema was built, so a server whose hash function changed (a major upgrade) is detected
-- and the schema refused (rebuild it) instead of its keys silently missing rows.
-- name: keys.vesting_entries_a
CREATE UNIQUE INDEX IF NOT EXISTS vesting_entries_own_pkey ON vesting_entries_own (entry_id);
CREATE INDEX IF NOT EXISTS vesting_entries_account ON vesting_entries_own (hashtextextended(account, 0), epoch_earned);

-- The node key carries the columns a node's pages read (its rewards, its vesting summary, a page
-- of its entries), so they are index-only scans of the node's own entries instead of one heap
-- page per entry, spread over the whole table. Few entries have a node, so it stays small; the
-- same for the account key would be most of the table again, on every rebuild (not done; the
-- figures are in docs/BENCHMARKS.md, "Console"). Schemas built before it keep their plain key
-- (vesting_entries_node) and answer the same, slower.
-- name: keys.vesting_entries_b
CREATE INDEX IF NOT EXISTS vesting_entries_node_covering ON vesting_entries_own (hashtextextended(node, 0), epoch_earned)
    INCLUDE (node, role, source, amount, mature_epoch, entry_id) WHERE node IS NOT NULL;
CREATE INDEX IF NOT EXISTS vesting_entries_validator ON vesting_entries_own (hashtextextended(validator, 0), epoch_earned)
    WHERE validator IS NOT NULL;
CREATE INDEX IF NOT EXISTS vesting_entries_epoch ON vesting_entries_own (epoch_earned);
CREATE INDEX IF NOT EXISTS vesting_changes_entry ON vesting_changes_own (entry_id);

-- name: keys.others
CREATE UNIQUE INDEX IF NOT EXISTS balance_history_own_pkey ON balance_history_own (account, epoch);
CREATE UNIQUE INDEX IF NOT EXISTS release_schedule_own_pkey ON release_schedule_own (kind, ref);
CREATE INDEX IF NOT EXISTS release_schedule_account ON release_schedule_own (account);
CREATE UNIQUE INDEX IF NOT EXISTS release_done_own_pkey ON release_done_own (kind, ref);
CREATE UNIQUE INDEX IF NOT EXISTS ozone_supply_own_pkey ON ozone_supply_own (epoch);
CREATE UNIQUE INDEX IF NOT EXISTS settlements_own_pkey ON settlements_own (epoch);
CREATE UNIQUE INDEX IF NOT EXISTS settled_nodes_own_pkey ON settled_nodes_own (epoch, rank);
CREATE INDEX IF NOT EXISTS settled_nodes_node ON settled_nodes_own (node, epoch);
CREATE UNIQUE INDEX IF NOT EXISTS gas_fee_rewards_own_pkey ON gas_fee_rewards_own (position, seq);
CREATE INDEX IF NOT EXISTS gas_fee_rewards_account ON gas_fee_rewards_own (account, epoch);
CREATE INDEX IF NOT EXISTS gas_fee_rewards_validator ON gas_fee_rewards_own (validator, epoch);
CREATE UNIQUE INDEX IF NOT EXISTS exceptions_own_pkey ON exceptions_own (position);
CREATE UNIQUE INDEX IF NOT EXISTS journal_stored_own_pkey ON journal_stored_own (position);
CREATE INDEX IF NOT EXISTS journal_stored_epoch ON journal_stored_own (epoch);

-- Every <table>_pkey unique index not yet a primary key becomes one (no rebuild: the index is
-- taken as it is; the columns are NOT NULL already), autovacuum is back on the tables the build
-- kept it off (tables.sql), then the planner's statistics.
-- name: keys.finish
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT t.relname AS table_name, i.relname AS index_name
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relnamespace = current_schema()::regnamespace
          AND x.indisunique AND NOT x.indisprimary AND i.relname = t.relname || '_pkey'
        ORDER BY t.relname
    LOOP
        EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I PRIMARY KEY USING INDEX %I', r.table_name, r.index_name, r.index_name);
    END LOOP;
END
$$;
ALTER TABLE balance_history_own RESET (autovacuum_enabled, toast.autovacuum_enabled);
ALTER TABLE vesting_entries_own RESET (autovacuum_enabled, toast.autovacuum_enabled);
ALTER TABLE gas_fee_rewards_own RESET (autovacuum_enabled, toast.autovacuum_enabled);
ALTER TABLE settled_nodes_own RESET (autovacuum_enabled, toast.autovacuum_enabled);
ALTER TABLE journal_stored_own RESET (autovacuum_enabled, toast.autovacuum_enabled);
ALTER TABLE epoch_checkpoints_own RESET (autovacuum_enabled, toast.autovacuum_enabled);
ANALYZE balance_history_own, vesting_entries_own, vesting_changes_own, release_schedule_own, release_done_own,
        ozone_supply_own, settlements_own, settled_nodes_own, gas_fee_rewards_own, journal_stored_own, exceptions_own
