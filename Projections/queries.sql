-- Every statement the projections run, by name (`-- name: key`), loaded by ProjectionSQL.
-- Values are always parameters ($n). `{name}` marks a schema identifier, filled in quoted
-- (PQescapeIdentifier) by the caller: schema names cannot be parameters. Unqualified table
-- names resolve through search_path, set to the projection schema the statement is about.

-- name: schema.exists
SELECT 1 FROM pg_namespace WHERE nspname = $1

-- name: schema.create
CREATE SCHEMA {schema}

-- name: schema.drop
DROP SCHEMA IF EXISTS {schema} CASCADE

-- name: schema.rename
ALTER SCHEMA {from} RENAME TO {to}

-- name: search_path.set
SELECT set_config('search_path', $1, false)

-- name: lock.try
SELECT pg_try_advisory_lock(hashtextextended('stratos-projection:' || $1, 0))

-- name: lock.release
SELECT pg_advisory_unlock(hashtextextended('stratos-projection:' || $1, 0))

-- name: lock.holder
SELECT l.pid, coalesce(a.application_name, ''), coalesce(a.client_addr::text, 'local')
FROM pg_locks l JOIN pg_stat_activity a USING (pid)
WHERE l.locktype = 'advisory' AND l.granted
  AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended('stratos-projection:' || $1, 0)
LIMIT 1

-- The layout, text hash and rule-set JSON through to_jsonb: a schema built before they were
-- recorded has no such columns (layout 1, refused for its layout; no rule-set JSON: a built-in
-- rule set, by name).
-- name: state.select
SELECT build_id, rules, status, last_position, last_epoch, applied, refused, checkpoint_every, indexed,
       coalesce((to_jsonb(p) ->> 'layout')::integer, 1),
       coalesce((to_jsonb(p) ->> 'text_hash')::bigint = hashtextextended('stratos-ledger', 0), true),
       to_jsonb(p) ->> 'rules_json', to_jsonb(p) ->> 'rules_sha256'
FROM projection_state p

-- name: state.select_in
SELECT build_id, rules, status, last_position, last_epoch, applied, refused, checkpoint_every, indexed,
       coalesce((to_jsonb(p) ->> 'layout')::integer, 1),
       coalesce((to_jsonb(p) ->> 'text_hash')::bigint = hashtextextended('stratos-ledger', 0), true),
       to_jsonb(p) ->> 'rules_json', to_jsonb(p) ->> 'rules_sha256'
FROM {schema}.projection_state p

-- name: state.insert
INSERT INTO projection_state (build_id, rules, status, checkpoint_every, layout, rules_json, rules_sha256)
VALUES ($1, $2, $3, $4, $5, $6, $7)

-- The guard of every batch: it only matches the build this worker loaded, at the position it
-- expects, in the status it expects. A schema switched or advanced by someone else matches
-- nothing and the batch is rolled back.
-- name: state.advance
UPDATE projection_state
SET last_position = $3, last_epoch = $4, applied = $5, refused = $6
WHERE build_id = $1 AND last_position = $2 AND status = $7

-- name: state.indexed
UPDATE projection_state SET indexed = true WHERE build_id = $1

-- name: state.completed
UPDATE projection_state SET completed_at = now() WHERE build_id = $1

-- name: state.lock_in
SELECT build_id, status FROM {schema}.projection_state FOR UPDATE

-- name: state.set_status_in
UPDATE {schema}.projection_state SET status = $1, switched_at = now()

-- name: log.head
SELECT position FROM event_log_head

-- COPY takes no parameters: the bounds travel as session settings set just before.
-- name: log.bounds
SELECT set_config('stratos.projection_from', $1, false), set_config('stratos.projection_to', $2, false)

-- name: log.copy
COPY (SELECT position, event_id, type, (extract(epoch FROM time) * 1000000)::bigint, data::text
      FROM event_log
      WHERE position >= current_setting('stratos.projection_from')::bigint
        AND position <= current_setting('stratos.projection_to')::bigint
      ORDER BY position) TO STDOUT

-- The projection rows go in by binary COPY (CopyBuffer.swift): each writer matches its table's
-- column types (bigint, integer, text, numeric) field by field.
-- name: copy.journal
COPY journal_stored_own (position, epoch, transfers) FROM STDIN (FORMAT binary)

-- name: copy.vesting_entries
COPY vesting_entries_own (entry_id, account, node, validator, role, source, amount, epoch_earned, mature_epoch, position) FROM STDIN (FORMAT binary)

-- name: copy.vesting_changes
COPY vesting_changes_own (entry_id, position, epoch, change, amount) FROM STDIN (FORMAT binary)

-- name: copy.release_schedule
COPY release_schedule_own (kind, ref, account, node, validator, amount, release_day, position) FROM STDIN (FORMAT binary)

-- name: copy.release_done
COPY release_done_own (kind, ref, amount, position, epoch) FROM STDIN (FORMAT binary)

-- name: copy.ozone_supply
COPY ozone_supply_own (epoch, position, s, p, l, mined, fee_collector, price_numerator, price_denominator, bought, consumed, settled, carried_over) FROM STDIN (FORMAT binary)

-- name: copy.settlements
COPY settlements_own (epoch, position, rules, t, y, traffic_reward, mining_reward, traffic_dust, mining_dust,
                  first_released, last_released, first_rewarded, last_rewarded) FROM STDIN (FORMAT binary)

-- name: copy.settled_nodes
COPY settled_nodes_own (epoch, rank, node, traffic) FROM STDIN (FORMAT binary)

-- name: copy.gas_fee_rewards
COPY gas_fee_rewards_own (position, seq, epoch, account, validator, role, amount) FROM STDIN (FORMAT binary)

-- name: copy.balance_history
COPY balance_history_own (account, epoch, wallet, ozone, escrow, bonded, unbonding, vesting) FROM STDIN (FORMAT binary)

-- name: copy.exceptions
COPY exceptions_own (position, event_id, type, rule, message) FROM STDIN (FORMAT binary)

-- name: stage.create
CREATE TEMP TABLE IF NOT EXISTS balances_stage (
    account text, wallet numeric(78,0), ozone numeric(78,0), escrow numeric(78,0), bonded numeric(78,0),
    unbonding numeric(78,0), vesting numeric(78,0), position bigint
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS nodes_stage (
    node text, kind text, owner text, status text, deposit numeric(78,0), unsettled numeric(78,0),
    position bigint
) ON COMMIT DELETE ROWS

-- name: copy.balances_stage
COPY balances_stage (account, wallet, ozone, escrow, bonded, unbonding, vesting, position) FROM STDIN (FORMAT binary)

-- name: copy.nodes_stage
COPY nodes_stage (node, kind, owner, status, deposit, unsettled, position) FROM STDIN (FORMAT binary)

-- name: balances.merge
INSERT INTO balances (account, wallet, ozone, escrow, bonded, unbonding, vesting, position)
SELECT account, wallet, ozone, escrow, bonded, unbonding, vesting, position FROM balances_stage
ON CONFLICT (account) DO UPDATE SET
    wallet = EXCLUDED.wallet, ozone = EXCLUDED.ozone, escrow = EXCLUDED.escrow, bonded = EXCLUDED.bonded,
    unbonding = EXCLUDED.unbonding, vesting = EXCLUDED.vesting, position = EXCLUDED.position

-- name: nodes.merge
INSERT INTO nodes (node, kind, owner, status, deposit, unsettled, position)
SELECT node, kind, owner, status, deposit, unsettled, position FROM nodes_stage
ON CONFLICT (node) DO UPDATE SET
    kind = EXCLUDED.kind, owner = EXCLUDED.owner, status = EXCLUDED.status, deposit = EXCLUDED.deposit,
    unsettled = EXCLUDED.unsettled, position = EXCLUDED.position

-- Streamed: a checkpoint can be hundreds of MiB (never one giant parameter string).
-- name: copy.epoch_checkpoints
COPY epoch_checkpoints_own (epoch, position, state) FROM STDIN (FORMAT binary)

-- Heads are found by epoch and position first, then read (a build that took another over gives
-- the base's heads with its own rule set's name, an expression: computed for the one head read).
-- name: checkpoint.latest_through_epoch
SELECT epoch, position, state FROM epoch_checkpoints
WHERE epoch = (SELECT max(epoch) FROM epoch_checkpoints WHERE epoch <= $1)

-- name: checkpoint.position_through_epoch
SELECT position FROM epoch_checkpoints WHERE epoch <= $1 ORDER BY epoch DESC LIMIT 1

-- name: checkpoint.latest_through_position
SELECT epoch, position, state FROM epoch_checkpoints
WHERE epoch = (SELECT epoch FROM epoch_checkpoints WHERE position <= $1 ORDER BY position DESC LIMIT 1)

-- The locked vesting entries a partial economy needs (EconomyLoader), as of log position $3:
-- ids in [$1, $2) (the checkpoint head's hole), maturing after $4 (the last closed epoch at $3:
-- earlier ones were released) and at or before $5, earned in ($6, $7] (the same bounds minus the
-- lock-up, for the epoch_earned index); vesting.live_of_node adds node $8. Live: not cancelled at or before
-- $3, and something left after the migration fees taken at or before $3. A few thousand entries
-- (a projection worker asks for tens of thousands at once): one index probe of vesting_changes
-- each. In no order: Economy.supplyVesting orders what it is given by id.
-- name: vesting.live
SELECT e.entry_id, e.account, e.node, e.source, (e.amount - coalesce(c.taken, 0))::text, e.mature_epoch
FROM vesting_entries e
LEFT JOIN LATERAL (
    SELECT sum(v.amount) FILTER (WHERE v.change = 'fee-taken') AS taken, bool_or(v.change = 'cancelled') AS cancelled
    FROM vesting_changes v WHERE v.entry_id = e.entry_id AND v.position <= $3
) c ON true
WHERE e.entry_id >= $1 AND e.entry_id < $2 AND e.position <= $3 AND e.mature_epoch > $4 AND e.mature_epoch <= $5
  AND e.epoch_earned > $6 AND e.epoch_earned <= $7
  AND NOT coalesce(c.cancelled, false) AND e.amount - coalesce(c.taken, 0) > 0

-- vesting.live for a projection worker reading ahead (VestingFeed): every entry of the hole
-- [$1, $2) as of $3 maturing in ($4, $5], earned in ($6, $7]. Tens of thousands of entries: the
-- hole's few changes are read once and hashed, not probed per entry (~35 % less server time).
-- name: vesting.live_maturing_range
SELECT e.entry_id, e.account, e.node, e.source, (e.amount - coalesce(c.taken, 0))::text, e.mature_epoch
FROM vesting_entries e
LEFT JOIN (
    SELECT v.entry_id, sum(v.amount) FILTER (WHERE v.change = 'fee-taken') AS taken, bool_or(v.change = 'cancelled') AS cancelled
    FROM vesting_changes v WHERE v.entry_id >= $1 AND v.entry_id < $2 AND v.position <= $3 GROUP BY v.entry_id
) c ON c.entry_id = e.entry_id
WHERE e.entry_id >= $1 AND e.entry_id < $2 AND e.position <= $3 AND e.mature_epoch > $4 AND e.mature_epoch <= $5
  AND e.epoch_earned > $6 AND e.epoch_earned <= $7
  AND NOT coalesce(c.cancelled, false) AND e.amount - coalesce(c.taken, 0) > 0

-- vesting.live for one node's entries ($8, not null): on the node's key, not a scan of the
-- hole's id range filtered by node (a shutdown's cancellations in a partial economy: 0.5 s on
-- the bench history that way, a few ms this way).
-- name: vesting.live_of_node
SELECT e.entry_id, e.account, e.node, e.source, (e.amount - coalesce(c.taken, 0))::text, e.mature_epoch
FROM vesting_entries e
LEFT JOIN LATERAL (
    SELECT sum(v.amount) FILTER (WHERE v.change = 'fee-taken') AS taken, bool_or(v.change = 'cancelled') AS cancelled
    FROM vesting_changes v WHERE v.entry_id = e.entry_id AND v.position <= $3
) c ON true
WHERE hashtextextended(e.node, 0) = hashtextextended($8, 0) AND e.node = $8 AND e.node IS NOT NULL
  AND e.entry_id >= $1 AND e.entry_id < $2 AND e.position <= $3 AND e.mature_epoch > $4 AND e.mature_epoch <= $5
  AND e.epoch_earned > $6 AND e.epoch_earned <= $7
  AND NOT coalesce(c.cancelled, false) AND e.amount - coalesce(c.taken, 0) > 0

-- The same for every entry of the hole (a worker resuming: millions of rows, maybe before the
-- indexes exist): one pass over each table, joined by hash, read through a cursor in pieces
-- (vesting.live_all_fetch) so the client never holds the whole result at once. Parameters as
-- vesting.live ($1–$4). Rows in entry_id order, hence in maturity order.
-- name: vesting.live_all_open
DECLARE vesting_live_all NO SCROLL CURSOR FOR
WITH c AS (
    SELECT entry_id, sum(amount) FILTER (WHERE change = 'fee-taken') AS taken, bool_or(change = 'cancelled') AS cancelled
    FROM vesting_changes WHERE position <= $3 AND entry_id >= $1 AND entry_id < $2 GROUP BY entry_id
)
SELECT e.entry_id, e.account, e.node, e.source, (e.amount - coalesce(c.taken, 0))::text, e.mature_epoch
FROM vesting_entries e LEFT JOIN c USING (entry_id)
WHERE e.entry_id >= $1 AND e.entry_id < $2 AND e.mature_epoch > $4
  AND NOT coalesce(c.cancelled, false) AND e.amount - coalesce(c.taken, 0) > 0
ORDER BY e.entry_id

-- The maturity epochs of the entries in ids [$1, $2) that are done as of log position $3
-- (cancelled, or emptied by fees), maturing after $4: the complement of vesting.live_all_open,
-- for the placeholders of a completed economy (a few entries: cancellations and fees are rare).
-- name: vesting.done_in_hole
WITH c AS (
    SELECT entry_id, sum(amount) FILTER (WHERE change = 'fee-taken') AS taken, bool_or(change = 'cancelled') AS cancelled
    FROM vesting_changes WHERE position <= $3 AND entry_id >= $1 AND entry_id < $2 GROUP BY entry_id
)
SELECT e.entry_id, e.mature_epoch
FROM vesting_entries e JOIN c USING (entry_id)
WHERE e.entry_id >= $1 AND e.entry_id < $2 AND e.mature_epoch > $4
  AND (coalesce(c.cancelled, false) OR e.amount - coalesce(c.taken, 0) <= 0)
ORDER BY e.entry_id

-- Where each maturity epoch's entries start among the ids [$1, $2) that a head at log position
-- $3 left out, maturing after $4 (its last closed epoch), done entries included: the first entry
-- each close created (settlements.first_rewarded; all entries of one close share their maturity),
-- for a partial economy whose heads must name the first entry not matured
-- (Economy.setVestingMaturityStarts). One key probe per close (OFFSET 0 keeps it so: joined,
-- the planner hashed the whole vesting table, 1.5 s instead of 20 ms).
-- name: vesting.maturity_starts
SELECT e.mature_epoch, min(e.entry_id)
FROM settlements s
CROSS JOIN LATERAL (
    SELECT v.mature_epoch, v.entry_id FROM vesting_entries v WHERE v.entry_id = s.first_rewarded AND v.position <= $3 OFFSET 0
) e
WHERE s.first_rewarded >= $1 AND s.first_rewarded < $2 AND s.position <= $3 AND e.mature_epoch > $4
GROUP BY e.mature_epoch ORDER BY e.mature_epoch

-- name: vesting.live_all_fetch
FETCH 100000 FROM vesting_live_all

-- name: vesting.live_all_close
CLOSE vesting_live_all

-- Taking over a build (Rebuilder, "replay only what changed", docs/PROJECTIONS.md): a rebuild
-- whose rules equal the serving build's through epoch E starts from that build's state at the
-- close of E (log position P, an epoch checkpoint of it). {from} is the serving schema, {to}
-- the new one, created in the same transaction as the take-over and its state row, so a crash
-- mid-way leaves no schema at all. Every insert-only row the log produced up to P is the
-- serving build's as it is: rows are a function of the events and of the parameters in force,
-- which are equal up to there. So they are not copied: the new build's views read them from
-- {from} (through P, or through E for the rows kept per epoch) UNION ALL its own rows, which
-- CHECK constraints put after P and E, so that a query bounded at or before P (the worker's
-- on-demand vesting loads) reads the serving build's keys alone. The rule set's name is the
-- only thing a row or head records of the rules: the views give the new one.
-- The take-over's transaction runs without JIT: the planner's estimates through the journal
-- views reach billions of rows, and compiling the plans took ~3 s of a 4 s statement where
-- running them takes milliseconds to a second.
-- name: incremental.no_jit
SET LOCAL jit = off

-- Where the build took over from ($1 base build id, $2 P, $3 E, $4 the new build's checkpoint
-- interval, $5 Economy.checkpointHeadPrefix of the serving rules, $6 that of the new rules).
-- name: overlay.record
CREATE TABLE {to}.take_over (
    singleton         boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    base_build_id     text   NOT NULL,
    base_position     bigint NOT NULL,
    base_epoch        bigint NOT NULL,
    checkpoint_every  bigint NOT NULL,
    base_head_prefix  bytea  NOT NULL,
    head_prefix       bytea  NOT NULL
);
GRANT SELECT ON {to}.take_over TO stratos_app;

-- name: overlay.insert
INSERT INTO {to}.take_over (base_build_id, base_position, base_epoch, checkpoint_every, base_head_prefix, head_prefix)
VALUES ($1, $2, $3, $4, $5, $6)

-- The views over {from} and the CHECK constraints of the own tables (after overlay.insert).
-- A head of {from} is given with the new rule set's name, as a replay writes it (its state after
-- the name is the same); only those at multiples of the new build's interval are kept.
-- name: overlay.views
CREATE OR REPLACE VIEW {to}.journal_stored AS
SELECT position, epoch, transfers FROM {from}.journal_stored WHERE position <= (SELECT base_position FROM {to}.take_over)
UNION ALL SELECT position, epoch, transfers FROM {to}.journal_stored_own;
CREATE OR REPLACE VIEW {to}.vesting_entries AS
SELECT entry_id, account, node, validator, role, source, amount, epoch_earned, mature_epoch, position
FROM {from}.vesting_entries WHERE position <= (SELECT base_position FROM {to}.take_over)
UNION ALL
SELECT entry_id, account, node, validator, role, source, amount, epoch_earned, mature_epoch, position
FROM {to}.vesting_entries_own;
CREATE OR REPLACE VIEW {to}.vesting_changes AS
SELECT entry_id, position, epoch, change, amount FROM {from}.vesting_changes WHERE position <= (SELECT base_position FROM {to}.take_over)
UNION ALL SELECT entry_id, position, epoch, change, amount FROM {to}.vesting_changes_own;
CREATE OR REPLACE VIEW {to}.release_schedule AS
SELECT kind, ref, account, node, validator, amount, release_day, position
FROM {from}.release_schedule WHERE position <= (SELECT base_position FROM {to}.take_over)
UNION ALL SELECT kind, ref, account, node, validator, amount, release_day, position FROM {to}.release_schedule_own;
CREATE OR REPLACE VIEW {to}.release_done AS
SELECT kind, ref, amount, position, epoch FROM {from}.release_done WHERE position <= (SELECT base_position FROM {to}.take_over)
UNION ALL SELECT kind, ref, amount, position, epoch FROM {to}.release_done_own;
CREATE OR REPLACE VIEW {to}.gas_fee_rewards AS
SELECT position, seq, epoch, account, validator, role, amount
FROM {from}.gas_fee_rewards WHERE position <= (SELECT base_position FROM {to}.take_over)
UNION ALL SELECT position, seq, epoch, account, validator, role, amount FROM {to}.gas_fee_rewards_own;
CREATE OR REPLACE VIEW {to}.exceptions AS
SELECT position, event_id, type, rule, message FROM {from}.exceptions WHERE position <= (SELECT base_position FROM {to}.take_over)
UNION ALL SELECT position, event_id, type, rule, message FROM {to}.exceptions_own;
CREATE OR REPLACE VIEW {to}.ozone_supply AS
SELECT epoch, position, s, p, l, mined, fee_collector, price_numerator, price_denominator, bought, consumed, settled, carried_over
FROM {from}.ozone_supply WHERE epoch <= (SELECT base_epoch FROM {to}.take_over)
UNION ALL
SELECT epoch, position, s, p, l, mined, fee_collector, price_numerator, price_denominator, bought, consumed, settled, carried_over
FROM {to}.ozone_supply_own;
CREATE OR REPLACE VIEW {to}.settled_nodes AS
SELECT epoch, rank, node, traffic FROM {from}.settled_nodes WHERE epoch <= (SELECT base_epoch FROM {to}.take_over)
UNION ALL SELECT epoch, rank, node, traffic FROM {to}.settled_nodes_own;
CREATE OR REPLACE VIEW {to}.balance_history AS
SELECT account, epoch, wallet, ozone, escrow, bonded, unbonding, vesting
FROM {from}.balance_history WHERE epoch <= (SELECT base_epoch FROM {to}.take_over)
UNION ALL SELECT account, epoch, wallet, ozone, escrow, bonded, unbonding, vesting FROM {to}.balance_history_own;
CREATE OR REPLACE VIEW {to}.settlements AS
SELECT epoch, position, (SELECT rules FROM {to}.projection_state) AS rules, t, y, traffic_reward, mining_reward,
       traffic_dust, mining_dust, first_released, last_released, first_rewarded, last_rewarded
FROM {from}.settlements WHERE epoch <= (SELECT base_epoch FROM {to}.take_over)
UNION ALL
SELECT epoch, position, rules, t, y, traffic_reward, mining_reward, traffic_dust, mining_dust,
       first_released, last_released, first_rewarded, last_rewarded
FROM {to}.settlements_own;
CREATE OR REPLACE VIEW {to}.epoch_checkpoints AS
SELECT c.epoch, c.position, o.head_prefix || substring(c.state FROM length(o.base_head_prefix) + 1) AS state
FROM {from}.epoch_checkpoints c CROSS JOIN {to}.take_over o
WHERE c.epoch <= o.base_epoch AND c.epoch % o.checkpoint_every = 0
UNION ALL SELECT epoch, position, state FROM {to}.epoch_checkpoints_own;
DO $$
DECLARE
    p bigint;
    e bigint;
    t text;
BEGIN
    SELECT base_position, base_epoch INTO STRICT p, e FROM {to}.take_over;
    FOREACH t IN ARRAY ARRAY['journal_stored', 'vesting_entries', 'vesting_changes', 'release_schedule', 'release_done',
                             'gas_fee_rewards', 'exceptions'] LOOP
        EXECUTE format('ALTER TABLE {to}.%I ADD CONSTRAINT %I CHECK (position > %s)', t || '_own', t || '_own_after_base', p);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['ozone_supply', 'settled_nodes', 'balance_history', 'settlements', 'epoch_checkpoints'] LOOP
        EXECUTE format('ALTER TABLE {to}.%I ADD CONSTRAINT %I CHECK (epoch > %s)', t || '_own', t || '_own_after_base', e);
    END LOOP;
END
$$;

-- Makes build {to} stand on its own before its base is dropped (BuildCatalog.drop): the rows
-- its views read from the base (through P, or E) are copied into its own tables — read through
-- its own views, so the rule set's name and the heads come out as the views give them — its
-- views become its own rows again and it forgets the take-over. Builds that read {to} in turn
-- keep working: their views are bound to {to}'s views, which keep their identity.
-- name: overlay.materialize
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['journal_stored', 'vesting_entries', 'vesting_changes', 'release_schedule', 'release_done',
                             'gas_fee_rewards', 'exceptions', 'ozone_supply', 'settled_nodes', 'balance_history',
                             'settlements', 'epoch_checkpoints'] LOOP
        EXECUTE 'ALTER TABLE {to}.' || t || '_own DROP CONSTRAINT ' || t || '_own_after_base';
    END LOOP;
END
$$;
INSERT INTO {to}.journal_stored_own SELECT * FROM {to}.journal_stored WHERE position <= (SELECT base_position FROM {to}.take_over);
INSERT INTO {to}.vesting_entries_own SELECT * FROM {to}.vesting_entries WHERE position <= (SELECT base_position FROM {to}.take_over);
INSERT INTO {to}.vesting_changes_own SELECT * FROM {to}.vesting_changes WHERE position <= (SELECT base_position FROM {to}.take_over);
INSERT INTO {to}.release_schedule_own SELECT * FROM {to}.release_schedule WHERE position <= (SELECT base_position FROM {to}.take_over);
INSERT INTO {to}.release_done_own SELECT * FROM {to}.release_done WHERE position <= (SELECT base_position FROM {to}.take_over);
INSERT INTO {to}.gas_fee_rewards_own SELECT * FROM {to}.gas_fee_rewards WHERE position <= (SELECT base_position FROM {to}.take_over);
INSERT INTO {to}.exceptions_own SELECT * FROM {to}.exceptions WHERE position <= (SELECT base_position FROM {to}.take_over);
INSERT INTO {to}.ozone_supply_own SELECT * FROM {to}.ozone_supply WHERE epoch <= (SELECT base_epoch FROM {to}.take_over);
INSERT INTO {to}.settled_nodes_own SELECT * FROM {to}.settled_nodes WHERE epoch <= (SELECT base_epoch FROM {to}.take_over);
INSERT INTO {to}.balance_history_own SELECT * FROM {to}.balance_history WHERE epoch <= (SELECT base_epoch FROM {to}.take_over);
INSERT INTO {to}.settlements_own SELECT * FROM {to}.settlements WHERE epoch <= (SELECT base_epoch FROM {to}.take_over);
INSERT INTO {to}.epoch_checkpoints_own SELECT * FROM {to}.epoch_checkpoints WHERE epoch <= (SELECT base_epoch FROM {to}.take_over);
CREATE OR REPLACE VIEW {to}.journal_stored AS SELECT position, epoch, transfers FROM {to}.journal_stored_own;
CREATE OR REPLACE VIEW {to}.vesting_entries AS
SELECT entry_id, account, node, validator, role, source, amount, epoch_earned, mature_epoch, position FROM {to}.vesting_entries_own;
CREATE OR REPLACE VIEW {to}.vesting_changes AS SELECT entry_id, position, epoch, change, amount FROM {to}.vesting_changes_own;
CREATE OR REPLACE VIEW {to}.release_schedule AS
SELECT kind, ref, account, node, validator, amount, release_day, position FROM {to}.release_schedule_own;
CREATE OR REPLACE VIEW {to}.release_done AS SELECT kind, ref, amount, position, epoch FROM {to}.release_done_own;
CREATE OR REPLACE VIEW {to}.gas_fee_rewards AS SELECT position, seq, epoch, account, validator, role, amount FROM {to}.gas_fee_rewards_own;
CREATE OR REPLACE VIEW {to}.exceptions AS SELECT position, event_id, type, rule, message FROM {to}.exceptions_own;
CREATE OR REPLACE VIEW {to}.ozone_supply AS
SELECT epoch, position, s, p, l, mined, fee_collector, price_numerator, price_denominator, bought, consumed, settled, carried_over
FROM {to}.ozone_supply_own;
CREATE OR REPLACE VIEW {to}.settled_nodes AS SELECT epoch, rank, node, traffic FROM {to}.settled_nodes_own;
CREATE OR REPLACE VIEW {to}.balance_history AS
SELECT account, epoch, wallet, ozone, escrow, bonded, unbonding, vesting FROM {to}.balance_history_own;
CREATE OR REPLACE VIEW {to}.settlements AS
SELECT epoch, position, rules, t, y, traffic_reward, mining_reward, traffic_dust, mining_dust,
       first_released, last_released, first_rewarded, last_rewarded
FROM {to}.settlements_own;
CREATE OR REPLACE VIEW {to}.epoch_checkpoints AS SELECT epoch, position, state FROM {to}.epoch_checkpoints_own;
DROP TABLE {to}.take_over;
ANALYZE {to}.journal_stored_own, {to}.vesting_entries_own, {to}.vesting_changes_own, {to}.release_schedule_own,
        {to}.release_done_own, {to}.gas_fee_rewards_own, {to}.exceptions_own, {to}.ozone_supply_own,
        {to}.settled_nodes_own, {to}.balance_history_own, {to}.settlements_own, {to}.epoch_checkpoints_own

-- Whether schema $1 took another build over (it has the table take_over).
-- name: overlay.exists
SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = 'take_over'

-- Where it took over from: base build id, position, epoch.
-- name: overlay.select
SELECT base_build_id, base_position, base_epoch FROM {schema}.take_over

-- The builds (schemas) whose views read this one's rows ($1, a schema name): they depend on it.
-- name: overlay.dependents
SELECT DISTINCT v.relnamespace::regnamespace::text
FROM pg_class t
JOIN pg_depend d ON d.refobjid = t.oid AND d.refclassid = 'pg_class'::regclass AND d.classid = 'pg_rewrite'::regclass
JOIN pg_rewrite r ON r.oid = d.objid
JOIN pg_class v ON v.oid = r.ev_class
WHERE t.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1) AND v.relnamespace <> t.relnamespace
ORDER BY 1

-- name: incremental.heads_not_prefixed
SELECT count(*) FROM {from}.epoch_checkpoints
WHERE epoch <= $1 AND epoch % $2 = 0 AND substring(state FROM 1 FOR length($3::bytea)) <> $3::bytea

-- The latest head of the serving build at an epoch <= $1 that is a multiple of $2: where the new
-- build starts (epoch, position), with the events refused up to it and the events logged up to it
-- (its position: positions are gap-free from 1, docs/EVENT-STORE.md).
-- name: incremental.start
SELECT c.epoch, c.position,
       (SELECT count(*) FROM {from}.exceptions x WHERE x.position <= c.position),
       c.position
FROM {from}.epoch_checkpoints c WHERE c.epoch <= $1 AND c.epoch % $2 = 0 ORDER BY c.epoch DESC LIMIT 1

-- Balances as they stood at position $1 (the close of epoch $2). A row last changed at or before
-- $1 is that; a row changed since is rebuilt from balance_history (its values after the last
-- epoch k <= $2 in which it changed) and the journal of epoch k: a balance changes exactly by the
-- postings its owner has, so its position is k's close when the close gave the account a derived
-- line (a reward: an entry earned at k; a release: a live entry maturing at k, as the view
-- journal derives them), else its last stored posting in k. The derived lines are found among
-- the close's entry ranges by key, not derived as text (most of k's lines: 0.8 s -> 0.1 s on the
-- bench history). An account first seen after $1 has no row.
-- name: incremental.copy_balances
WITH changed AS (
    SELECT b.account, h.epoch, h.wallet, h.ozone, h.escrow, h.bonded, h.unbonding, h.vesting
    FROM {from}.balances b
    CROSS JOIN LATERAL (
        SELECT * FROM {from}.balance_history h WHERE h.account = b.account AND h.epoch <= $2 ORDER BY h.epoch DESC LIMIT 1
    ) h
    WHERE b.position > $1
), ranges AS (
    -- Each epoch's positions: after the previous close, through its own (epoch 1: from Genesis).
    SELECT e.epoch, coalesce(prev.position, 0) AS after_position, cur.position AS through_position,
           cur.first_rewarded, cur.last_rewarded, cur.first_released, cur.last_released
    FROM (SELECT DISTINCT epoch FROM changed) e
    JOIN {from}.settlements cur ON cur.epoch = e.epoch
    LEFT JOIN {from}.settlements prev ON prev.epoch = e.epoch - 1
), derived AS (
    SELECT DISTINCT r.epoch, d.account
    FROM ranges r
    CROSS JOIN LATERAL (
        SELECT v.account FROM {from}.vesting_entries v WHERE v.entry_id BETWEEN r.first_rewarded AND r.last_rewarded
        UNION ALL
        SELECT v.account FROM {from}.vesting_entries v
        LEFT JOIN (
            SELECT x.entry_id, bool_or(x.change = 'cancelled') AS cancelled, sum(x.amount) FILTER (WHERE x.change = 'fee-taken') AS fee_taken
            FROM {from}.vesting_changes x WHERE x.entry_id BETWEEN r.first_released AND r.last_released GROUP BY x.entry_id
        ) c USING (entry_id)
        WHERE v.entry_id BETWEEN r.first_released AND r.last_released AND v.mature_epoch = r.epoch
          AND NOT coalesce(c.cancelled, false) AND v.amount - coalesce(c.fee_taken, 0) > 0
    ) d
), stored AS (
    -- The epoch's stored lines, parsed once per epoch (the owners of journal_postings). OFFSET 0
    -- keeps the scan of its journal rows by position, per epoch: flattened, the planner joined
    -- every epoch with the whole journal (10 s).
    SELECT r.epoch, s.owner, max(j.position) AS position
    FROM ranges r
    CROSS JOIN LATERAL (
        SELECT j.position, j.transfers FROM {from}.journal_stored j
        WHERE j.position > r.after_position AND j.position <= r.through_position AND j.transfers <> '' OFFSET 0
    ) j
    CROSS JOIN LATERAL (SELECT string_to_array(line, ' ') AS f FROM string_to_table(j.transfers, E'\n') AS line) t
    CROSS JOIN LATERAL (VALUES (t.f[2], t.f[3]), (t.f[5], t.f[6])) AS side(kind, a)
    CROSS JOIN LATERAL (
        SELECT CASE WHEN side.kind IN ('wallet', 'ozone', 'escrow', 'vesting', 'self-bonded', 'bonded', 'unbonding') THEN side.a END AS owner
    ) s
    WHERE s.owner IS NOT NULL
    GROUP BY r.epoch, s.owner
), last_posting AS (
    SELECT c.account, c.epoch, CASE WHEN d.account IS NOT NULL THEN r.through_position ELSE st.position END AS position
    FROM changed c
    JOIN ranges r ON r.epoch = c.epoch
    LEFT JOIN derived d ON d.epoch = c.epoch AND d.account = c.account
    LEFT JOIN stored st ON st.epoch = c.epoch AND st.owner = c.account
)
INSERT INTO {to}.balances (account, wallet, ozone, escrow, bonded, unbonding, vesting, position)
SELECT account, wallet, ozone, escrow, bonded, unbonding, vesting, position FROM {from}.balances WHERE position <= $1
UNION ALL
SELECT c.account, c.wallet, c.ozone, c.escrow, c.bonded, c.unbonding, c.vesting, l.position
FROM changed c JOIN last_posting l ON l.epoch = c.epoch AND l.account = c.account

-- Nodes last changed at or before $1: as they are.
-- name: incremental.copy_nodes
INSERT INTO {to}.nodes (node, kind, owner, status, deposit, unsettled, position)
SELECT node, kind, owner, status, deposit, unsettled, position FROM {from}.nodes WHERE position <= $1

-- Nodes changed after $1 (their state at $1 comes from the economy checkpoint).
-- name: incremental.nodes_changed_after
SELECT node, kind, owner FROM {from}.nodes WHERE position > $1 ORDER BY node

-- The last position <= $2 that changed node $1 (the close of epoch $3 is at $2), every way the
-- engine changes one: Genesis (the first event of the log: a floor, every other node is created
-- later by an activation or a registration), its own status events when applied, its traffic
-- when it charged something (a TrafficServed whose journal row has a transfer), the closes that
-- settled it, the release of its deposit. A meta node's votes: incremental.node_last_vote.
-- A stream's versions follow its positions: each backward scan stops at the latest match. The
-- status events are looked for only after the node's last charged traffic (an earlier one could
-- not be the greatest): a resource node's stream is mostly traffic, so this reads the events
-- after it, not the whole stream back to the activation (100-400 ms a node on the bench history).
-- name: incremental.node_last_change
WITH traffic AS (
    SELECT e.position, e.stream_version FROM event_log e JOIN {from}.journal_stored j ON j.position = e.position
    WHERE e.stream = 'node/' || $1 AND e.position <= $2 AND e.type = 'TrafficServed' AND j.transfers <> ''
    ORDER BY e.stream_version DESC LIMIT 1
)
SELECT greatest(
           (SELECT e.position FROM event_log e WHERE e.stream = 'economy' ORDER BY e.stream_version LIMIT 1),
           (SELECT e.position FROM event_log e
            WHERE e.stream = 'node/' || $1 AND e.stream_version > coalesce((SELECT stream_version FROM traffic), 0)
              AND e.position <= $2
              AND e.type IN ('ResourceNodeActivated', 'MetaNodeRegistrationRequested', 'ResourceNodeSuspended',
                             'ResourceNodeResumed', 'NodeDeactivated', 'NodeShutDown')
              AND NOT EXISTS (SELECT 1 FROM {from}.exceptions x WHERE x.position = e.position)
            ORDER BY e.stream_version DESC LIMIT 1),
           (SELECT position FROM traffic),
           (SELECT s.position FROM {from}.settled_nodes n JOIN {from}.settlements s ON s.epoch = n.epoch
            WHERE n.node = $1 AND n.epoch <= $3 ORDER BY n.epoch DESC LIMIT 1),
           (SELECT max(d.position) FROM {from}.release_done d WHERE d.kind = 'deposit' AND d.ref = $1 AND d.position <= $2))

-- The last applied vote on meta node $1 at or before $2, which changed it only if the node is no
-- longer pending (votes are refused once it is not; Rebuilder decides). Asked for meta nodes only:
-- a resource node's stream is its traffic, tens of thousands of events to walk back for nothing.
-- name: incremental.node_last_vote
SELECT e.position FROM event_log e
WHERE e.stream = 'node/' || $1 AND e.position <= $2 AND e.type = 'MetaNodeVoted'
  AND NOT EXISTS (SELECT 1 FROM {from}.exceptions x WHERE x.position = e.position)
ORDER BY e.stream_version DESC LIMIT 1

-- name: incremental.insert_node
INSERT INTO {to}.nodes (node, kind, owner, status, deposit, unsettled, position)
VALUES ($1, $2, $3, $4, $5::numeric, $6::numeric, $7::bigint)

-- The new build's state row: at position $1, the close of epoch $2, with $3 events applied and $4 refused.
-- name: incremental.state_at
UPDATE {to}.projection_state SET last_position = $1, last_epoch = $2, applied = $3, refused = $4

-- name: checkpoint.sizes
SELECT count(*), coalesce(sum(length(state)), 0), coalesce(max(length(state)), 0) FROM epoch_checkpoints

-- Queries (LedgerQueries) ------------------------------------------------------------------

-- name: q.balances_now
SELECT wallet, ozone, escrow, bonded, unbonding, vesting, position FROM balances WHERE account = $1

-- name: q.balances_at_epoch
SELECT wallet, ozone, escrow, bonded, unbonding, vesting, epoch FROM balance_history
WHERE account = $1 AND epoch <= $2 ORDER BY epoch DESC LIMIT 1

-- name: q.vesting_schedule
SELECT entry_id, node, validator, role, source, amount, epoch_earned, mature_epoch, status, fee_taken, closed_epoch
FROM vesting_schedule WHERE hashtextextended(account, 0) = hashtextextended($1, 0) AND account = $1 ORDER BY entry_id

-- The console's bounded reads of one schedule (an owner of many nodes holds tens of thousands of
-- entries; its pages show sums and one page of rows, not the list). One scan of the holder's
-- entries: a row per maturity epoch of its locked entries (count, amount), and one row with a
-- NULL epoch for all the others (released, cancelled, taken for fees), so the counts add up to
-- all its entries. Locked as in vesting_schedule: not cancelled, not wholly taken by fees,
-- maturing after the last closed epoch; vesting_changes is probed only for those maturing after.
-- name: q.vesting_summary_account
SELECT CASE WHEN e.mature_epoch > s.last_epoch
             AND NOT coalesce((SELECT bool_or(v.change = 'cancelled')
                                      OR e.amount <= coalesce(sum(v.amount) FILTER (WHERE v.change = 'fee-taken'), 0)
                               FROM vesting_changes v WHERE v.entry_id = e.entry_id), false)
            THEN e.mature_epoch END,
       count(*), sum(e.amount)::text
FROM vesting_entries e CROSS JOIN (SELECT last_epoch FROM projection_state) s
WHERE hashtextextended(e.account, 0) = hashtextextended($1, 0) AND e.account = $1
GROUP BY 1 ORDER BY 1 NULLS LAST

-- name: q.vesting_summary_node
SELECT CASE WHEN e.mature_epoch > s.last_epoch
             AND NOT coalesce((SELECT bool_or(v.change = 'cancelled')
                                      OR e.amount <= coalesce(sum(v.amount) FILTER (WHERE v.change = 'fee-taken'), 0)
                               FROM vesting_changes v WHERE v.entry_id = e.entry_id), false)
            THEN e.mature_epoch END,
       count(*), sum(e.amount)::text
FROM vesting_entries e CROSS JOIN (SELECT last_epoch FROM projection_state) s
WHERE hashtextextended(e.node, 0) = hashtextextended($1, 0) AND e.node = $1 AND e.node IS NOT NULL
GROUP BY 1 ORDER BY 1 NULLS LAST

-- One page of a node's entries, newest first: $2 rows after skipping $3. The page's ids first,
-- then the view's status of those only.
-- name: q.vesting_page_node
SELECT entry_id, node, validator, role, source, amount, epoch_earned, mature_epoch, status, fee_taken, closed_epoch
FROM vesting_schedule WHERE entry_id IN (
    SELECT entry_id FROM vesting_entries
    WHERE hashtextextended(node, 0) = hashtextextended($1, 0) AND node = $1 AND node IS NOT NULL
    ORDER BY entry_id DESC LIMIT $2 OFFSET $3)
ORDER BY entry_id DESC

-- name: q.releases
SELECT r.kind, r.ref, r.node, r.validator, r.amount, r.release_day, r.position, d.position, d.epoch
FROM release_schedule r LEFT JOIN release_done d USING (kind, ref)
WHERE r.account = $1 ORDER BY r.position, r.kind, r.ref

-- name: q.node_exists
SELECT 1 FROM nodes WHERE node = $1

-- name: q.node
SELECT kind, owner, status, deposit::text, unsettled::text FROM nodes WHERE node = $1

-- name: q.nodes_owned_by
SELECT node FROM nodes WHERE owner = $1 ORDER BY node

-- name: q.node_rewards
SELECT epoch_earned, role, source, sum(amount)::text FROM vesting_entries
WHERE hashtextextended(node, 0) = hashtextextended($1, 0) AND node = $1 AND node IS NOT NULL AND epoch_earned BETWEEN $2 AND $3
GROUP BY epoch_earned, role, source ORDER BY epoch_earned, role, source

-- The epochs of a node's first and last reward (NULLs when it has none): two reads of the node
-- key's ends, for the console's chart axis.
-- name: q.node_reward_span
SELECT min(epoch_earned), max(epoch_earned) FROM vesting_entries
WHERE hashtextextended(node, 0) = hashtextextended($1, 0) AND node = $1 AND node IS NOT NULL

-- A node's rewards summed per bucket of $3 epochs counted from epoch $2, role and source, with
-- the number of (epoch, role, source) lines each bucket holds (what q.node_rewards would list):
-- the console's chart and its pager from one scan of the node key, instead of every line.
-- name: q.node_reward_buckets
SELECT (epoch_earned - $2) / $3, role, source, sum(amount)::text, count(DISTINCT epoch_earned) FROM vesting_entries
WHERE hashtextextended(node, 0) = hashtextextended($1, 0) AND node = $1 AND node IS NOT NULL AND epoch_earned >= $2
GROUP BY 1, role, source

-- One page of q.node_rewards, newest first ($2 lines after skipping $3): reads the node key
-- backwards and stops after the page.
-- name: q.node_rewards_page
SELECT epoch_earned, role, source, sum(amount)::text FROM vesting_entries
WHERE hashtextextended(node, 0) = hashtextextended($1, 0) AND node = $1 AND node IS NOT NULL
GROUP BY epoch_earned, role, source ORDER BY epoch_earned DESC, role DESC, source DESC LIMIT $2 OFFSET $3

-- After a build's keys: sets the visibility map of the largest table, which a COPY-filled table
-- lacks until autovacuum comes by, so the keys that carry columns (vesting_entries_node_covering)
-- answer index-only from the first read. Outside a transaction; skipped work is only slower reads.
-- name: maintenance.vacuum_vesting_entries
VACUUM vesting_entries_own

-- The price alone, for the console's chart over every epoch.
-- name: q.ozone_prices
SELECT epoch, price_numerator::text, price_denominator::text FROM ozone_supply WHERE epoch BETWEEN $1 AND $2 ORDER BY epoch

-- name: q.ozone_supply
SELECT epoch, position, s, p, l, mined, fee_collector, price_numerator, price_denominator, bought, consumed, settled, carried_over
FROM ozone_supply WHERE epoch BETWEEN $1 AND $2 ORDER BY epoch

-- name: q.stake_rewards_by_account
SELECT epoch, account, validator, node, role, kind, source, amount::text FROM stake_rewards
WHERE hashtextextended(account, 0) = hashtextextended($1, 0) AND account = $1 AND epoch BETWEEN $2 AND $3
ORDER BY epoch, kind, role, validator, node, source

-- name: q.stake_rewards_by_validator
SELECT epoch, account, validator, node, role, kind, source, amount::text FROM stake_rewards
WHERE hashtextextended(validator, 0) = hashtextextended($1, 0) AND validator = $1 AND validator IS NOT NULL
  AND epoch BETWEEN $2 AND $3
ORDER BY epoch, kind, role, account, source

-- name: q.settlement
SELECT epoch, position, rules, t, y, traffic_reward, mining_reward, traffic_dust, mining_dust
FROM settlements WHERE epoch = $1

-- name: q.settled_nodes
SELECT node, traffic FROM settled_nodes WHERE epoch = $1 ORDER BY rank

-- name: q.settlement_rewards
SELECT entry_id, account, node, validator, role, source, amount, mature_epoch
FROM vesting_entries WHERE epoch_earned = $1 ORDER BY entry_id

-- name: q.journal_bounds
SELECT set_config('stratos.journal_from', $1, false), set_config('stratos.journal_to', $2, false)

-- name: q.journal_epoch_positions
SELECT coalesce(min(position), 0), coalesce(max(position), -1) FROM journal_stored WHERE epoch BETWEEN $1 AND $2

-- One row per transaction, in order: its event's id, type and time, and its transfers (decoded
-- by JournalText.postings). Both bounds are given to both tables so the join is a merge of two
-- index range scans.
-- name: q.journal_copy
COPY (SELECT j.position, e.event_id, e.type, (extract(epoch FROM e.time) * 1000000)::bigint, j.epoch, j.transfers
      FROM journal j JOIN event_log e ON e.position = j.position
      WHERE j.position >= current_setting('stratos.journal_from')::bigint
        AND j.position <= current_setting('stratos.journal_to')::bigint
        AND e.position >= current_setting('stratos.journal_from')::bigint
        AND e.position <= current_setting('stratos.journal_to')::bigint
      ORDER BY j.position) TO STDOUT

-- name: q.exceptions
SELECT position, event_id, type, rule, message FROM exceptions ORDER BY position

-- Checks (tests, rebuild) ------------------------------------------------------------------

-- Every stored journal transaction, for Rebuilder.checkJournal (which checks each transfer line
-- in Swift: one commodity per line, so every transaction balances per commodity).
-- The rows this build stored itself: a build that took another over shares that one's rows,
-- which were checked when it was built.
-- name: check.journal_rows
COPY (SELECT position, transfers FROM journal_stored_own) TO STDOUT (FORMAT binary)

-- The journal's derived lines (view journal) against vesting_entries: every settlement's reward
-- range is exactly the entries earned at its epoch, and its release range runs from the first to
-- the last entry maturing at its epoch that was neither cancelled nor wholly taken by fees. One
-- pass over vesting_entries (~3 s of the server's CPU on the bench history: run by the tests and
-- by hand, not by every rebuild, whose worker asserts the same as it writes). Must be empty.
-- name: check.journal_derived_ranges
WITH changes AS (
    SELECT entry_id, bool_or(change = 'cancelled') AS cancelled, sum(amount) FILTER (WHERE change = 'fee-taken') AS fee_taken
    FROM vesting_changes GROUP BY entry_id
), per_epoch AS (
    SELECT v.epoch_earned, v.mature_epoch, count(*) AS n, min(v.entry_id) AS lo, max(v.entry_id) AS hi,
           min(v.entry_id) FILTER (WHERE NOT coalesce(c.cancelled, false) AND v.amount - coalesce(c.fee_taken, 0) > 0) AS released_lo,
           max(v.entry_id) FILTER (WHERE NOT coalesce(c.cancelled, false) AND v.amount - coalesce(c.fee_taken, 0) > 0) AS released_hi
    FROM vesting_entries v LEFT JOIN changes c USING (entry_id)
    GROUP BY GROUPING SETS ((v.epoch_earned), (v.mature_epoch))
)
SELECT coalesce(s.epoch, r.epoch_earned) AS epoch, 'rewards' AS lines
FROM settlements s FULL JOIN (SELECT * FROM per_epoch WHERE epoch_earned IS NOT NULL) r ON r.epoch_earned = s.epoch
WHERE (s.first_rewarded, s.last_rewarded) IS DISTINCT FROM (r.lo, r.hi) OR r.n <> r.hi - r.lo + 1
UNION ALL
SELECT s.epoch, 'releases'
FROM settlements s LEFT JOIN (SELECT * FROM per_epoch WHERE mature_epoch IS NOT NULL) m ON m.mature_epoch = s.epoch
WHERE (s.first_released, s.last_released) IS DISTINCT FROM (m.released_lo, m.released_hi)
ORDER BY 1 LIMIT 10

-- Per account and field, journal totals against the balances table: must be empty.
-- name: check.journal_vs_balances
WITH totals AS (
    SELECT owner AS account,
           sum(amount) FILTER (WHERE split_part(account, ':', 1) = 'wallet') AS wallet,
           sum(amount) FILTER (WHERE split_part(account, ':', 1) = 'ozone') AS ozone,
           sum(amount) FILTER (WHERE split_part(account, ':', 1) = 'escrow') AS escrow,
           sum(amount) FILTER (WHERE split_part(account, ':', 1) IN ('bonded', 'self-bonded')) AS bonded,
           sum(amount) FILTER (WHERE split_part(account, ':', 1) = 'unbonding') AS unbonding,
           sum(amount) FILTER (WHERE split_part(account, ':', 1) = 'vesting') AS vesting
    FROM journal_postings WHERE owner IS NOT NULL GROUP BY owner
)
SELECT coalesce(t.account, b.account)
FROM totals t FULL JOIN balances b ON b.account = t.account
WHERE (coalesce(t.wallet, 0), coalesce(t.ozone, 0), coalesce(t.escrow, 0), coalesce(t.bonded, 0),
       coalesce(t.unbonding, 0), coalesce(t.vesting, 0))
      IS DISTINCT FROM
      (coalesce(b.wallet, 0), coalesce(b.ozone, 0), coalesce(b.escrow, 0), coalesce(b.bonded, 0),
       coalesce(b.unbonding, 0), coalesce(b.vesting, 0))
ORDER BY 1 LIMIT 10

-- Diff between two builds (BuildDiff; `builds diff A B`, `rebuild --diff`, GET /v1/builds/{a}/diff/{b}).
-- {a} and {b} are the two builds' schemas. Unless said otherwise a statement takes $1 first
-- epoch, $2 last epoch (the range; 1 and 2^63-1 when not given), $3 a node id or NULL, $4 an
-- account id or NULL (at most one of them). Rows come "long": key, field, a, b and b - a
-- (NULL for a field that is not an amount), only where a and b differ, in key and field order.

-- Per account: the six balances, now, or at the close of the range's last epoch $1 when one is
-- given ($4 = true: the greatest balance_history epoch <= $1, one index probe per account of
-- either build: a pass over the whole history took ~20 s on the bench history); $2 a node or
-- NULL, $3 an account or NULL. --account keeps the account, --node the node's owner.
-- name: diff.accounts
WITH accounts AS (SELECT account FROM {a}.balances UNION SELECT account FROM {b}.balances),
oa AS (
    SELECT account, wallet, ozone, escrow, bonded, unbonding, vesting FROM {a}.balances WHERE NOT $4::boolean
    UNION ALL
    SELECT h.* FROM accounts x CROSS JOIN LATERAL (
        SELECT account, wallet, ozone, escrow, bonded, unbonding, vesting FROM {a}.balance_history h
        WHERE h.account = x.account AND h.epoch <= $1::bigint ORDER BY h.epoch DESC LIMIT 1) h
    WHERE $4::boolean
), nb AS (
    SELECT account, wallet, ozone, escrow, bonded, unbonding, vesting FROM {b}.balances WHERE NOT $4::boolean
    UNION ALL
    SELECT h.* FROM accounts x CROSS JOIN LATERAL (
        SELECT account, wallet, ozone, escrow, bonded, unbonding, vesting FROM {b}.balance_history h
        WHERE h.account = x.account AND h.epoch <= $1::bigint ORDER BY h.epoch DESC LIMIT 1) h
    WHERE $4::boolean
), k AS (
    SELECT coalesce(nb.account, oa.account) AS account,
           coalesce(oa.wallet, 0) AS aw, coalesce(nb.wallet, 0) AS bw, coalesce(oa.ozone, 0) AS ao, coalesce(nb.ozone, 0) AS bo,
           coalesce(oa.escrow, 0) AS ae, coalesce(nb.escrow, 0) AS be, coalesce(oa.bonded, 0) AS ab, coalesce(nb.bonded, 0) AS bb,
           coalesce(oa.unbonding, 0) AS au, coalesce(nb.unbonding, 0) AS bu, coalesce(oa.vesting, 0) AS av, coalesce(nb.vesting, 0) AS bv
    FROM oa FULL JOIN nb ON nb.account = oa.account
    WHERE ($3::text IS NULL OR coalesce(nb.account, oa.account) = $3::text)
      AND ($2::text IS NULL OR coalesce(nb.account, oa.account) IN
           (SELECT owner FROM {a}.nodes WHERE node = $2::text UNION SELECT owner FROM {b}.nodes WHERE node = $2::text))
)
SELECT k.account, f.field, f.av::text, f.bv::text, (f.bv - f.av)::text
FROM k CROSS JOIN LATERAL (VALUES (1, 'wallet', aw, bw), (2, 'ozone', ao, bo), (3, 'escrow', ae, be), (4, 'bonded', ab, bb),
                                  (5, 'unbonding', au, bu), (6, 'vesting', av, bv)) AS f(n, field, av, bv)
WHERE f.av <> f.bv
ORDER BY k.account, f.n

-- Per node: the rewards tied to it (vesting entries naming it, every role and source) earned in
-- the range, its deposit and status now. --node keeps the node, --account the nodes it owns.
-- name: diff.nodes
WITH ra AS (SELECT node, sum(amount) AS rewards FROM {a}.vesting_entries
            WHERE node IS NOT NULL AND epoch_earned BETWEEN $1::bigint AND $2::bigint
              AND ($3::text IS NULL OR (hashtextextended(node, 0) = hashtextextended($3::text, 0) AND node = $3::text))
            GROUP BY node),
     rb AS (SELECT node, sum(amount) AS rewards FROM {b}.vesting_entries
            WHERE node IS NOT NULL AND epoch_earned BETWEEN $1::bigint AND $2::bigint
              AND ($3::text IS NULL OR (hashtextextended(node, 0) = hashtextextended($3::text, 0) AND node = $3::text))
            GROUP BY node),
     k AS (
    SELECT coalesce(nb.node, na.node) AS node,
           coalesce(ra.rewards, 0) AS ar, coalesce(rb.rewards, 0) AS br,
           coalesce(na.deposit, 0) AS ad, coalesce(nb.deposit, 0) AS bd,
           coalesce(na.status, '') AS ast, coalesce(nb.status, '') AS bst
    FROM {a}.nodes na FULL JOIN {b}.nodes nb ON nb.node = na.node
    LEFT JOIN ra ON ra.node = coalesce(nb.node, na.node)
    LEFT JOIN rb ON rb.node = coalesce(nb.node, na.node)
    WHERE ($3::text IS NULL OR coalesce(nb.node, na.node) = $3::text)
      AND ($4::text IS NULL OR na.owner = $4::text OR nb.owner = $4::text)
)
SELECT k.node, f.field, f.av, f.bv, f.d
FROM k CROSS JOIN LATERAL (VALUES (1, 'rewards', ar::text, br::text, (br - ar)::text),
                                  (2, 'deposit', ad::text, bd::text, (bd - ad)::text),
                                  (3, 'status', ast, bst, NULL)) AS f(n, field, av, bv, d)
WHERE f.av <> f.bv
ORDER BY k.node, f.n

-- Per epoch of the range: the settlement (Y, R, M), the supply after it (s, p, l) and the Ozone
-- bought; with --node or --account only `rewards` instead: that node's or account's vesting
-- entries earned in the epoch (through their keys; unfiltered, summing every entry per epoch
-- took ~9 s on the bench history for what R and M already say).
-- name: diff.epochs
WITH ea AS (SELECT epoch_earned AS epoch, sum(amount) AS rewards FROM {a}.vesting_entries
            WHERE ($3::text IS NOT NULL OR $4::text IS NOT NULL) AND epoch_earned BETWEEN $1::bigint AND $2::bigint
              AND ($3::text IS NULL OR (hashtextextended(node, 0) = hashtextextended($3::text, 0) AND node = $3::text))
              AND ($4::text IS NULL OR (hashtextextended(account, 0) = hashtextextended($4::text, 0) AND account = $4::text))
            GROUP BY epoch_earned),
     eb AS (SELECT epoch_earned AS epoch, sum(amount) AS rewards FROM {b}.vesting_entries
            WHERE ($3::text IS NOT NULL OR $4::text IS NOT NULL) AND epoch_earned BETWEEN $1::bigint AND $2::bigint
              AND ($3::text IS NULL OR (hashtextextended(node, 0) = hashtextextended($3::text, 0) AND node = $3::text))
              AND ($4::text IS NULL OR (hashtextextended(account, 0) = hashtextextended($4::text, 0) AND account = $4::text))
            GROUP BY epoch_earned),
     k AS (
    SELECT coalesce(sb.epoch, sa.epoch) AS epoch,
           coalesce(sa.y, 0) AS ay, coalesce(sb.y, 0) AS by_, coalesce(sa.traffic_reward, 0) AS ar, coalesce(sb.traffic_reward, 0) AS br,
           coalesce(sa.mining_reward, 0) AS am, coalesce(sb.mining_reward, 0) AS bm,
           coalesce(za.s, 0) AS as_, coalesce(zb.s, 0) AS bs, coalesce(za.p, 0) AS ap, coalesce(zb.p, 0) AS bp,
           coalesce(za.l, 0) AS al, coalesce(zb.l, 0) AS bl, coalesce(za.bought, 0) AS ao, coalesce(zb.bought, 0) AS bo,
           coalesce(ea.rewards, 0) AS ae, coalesce(eb.rewards, 0) AS be
    FROM (SELECT * FROM {a}.settlements WHERE epoch BETWEEN $1::bigint AND $2::bigint) sa
    FULL JOIN (SELECT * FROM {b}.settlements WHERE epoch BETWEEN $1::bigint AND $2::bigint) sb ON sb.epoch = sa.epoch
    LEFT JOIN {a}.ozone_supply za ON za.epoch = coalesce(sb.epoch, sa.epoch)
    LEFT JOIN {b}.ozone_supply zb ON zb.epoch = coalesce(sb.epoch, sa.epoch)
    LEFT JOIN ea ON ea.epoch = coalesce(sb.epoch, sa.epoch)
    LEFT JOIN eb ON eb.epoch = coalesce(sb.epoch, sa.epoch)
)
SELECT k.epoch, f.field, f.av::text, f.bv::text, (f.bv - f.av)::text
FROM k CROSS JOIN LATERAL (VALUES (1, 'Y', ay, by_), (2, 'trafficReward', ar, br), (3, 'miningReward', am, bm),
                                  (4, 's', as_, bs), (5, 'p', ap, bp), (6, 'l', al, bl), (7, 'ozoneBought', ao, bo),
                                  (8, 'rewards', ae, be)) AS f(n, field, av, bv)
WHERE f.av <> f.bv AND ((f.field = 'rewards') = ($3::text IS NOT NULL OR $4::text IS NOT NULL))
ORDER BY k.epoch, f.n

-- The rewards of the range per role and source, every (role, source) either build paid: the
-- vesting entries (sources traffic, mining, ...) and the gas-fee rewards (source `gas-fee`,
-- paid at once; not tied to a node, so absent with --node). Filtered like diff.epochs.
-- name: diff.reward_totals
WITH va AS (SELECT role, source, amount FROM {a}.vesting_entries
            WHERE epoch_earned BETWEEN $1::bigint AND $2::bigint
              AND ($3::text IS NULL OR (hashtextextended(node, 0) = hashtextextended($3::text, 0) AND node = $3::text))
              AND ($4::text IS NULL OR (hashtextextended(account, 0) = hashtextextended($4::text, 0) AND account = $4::text))
            UNION ALL
            SELECT role, 'gas-fee', amount FROM {a}.gas_fee_rewards
            WHERE epoch BETWEEN $1::bigint AND $2::bigint AND $3::text IS NULL AND ($4::text IS NULL OR account = $4::text)),
     vb AS (SELECT role, source, amount FROM {b}.vesting_entries
            WHERE epoch_earned BETWEEN $1::bigint AND $2::bigint
              AND ($3::text IS NULL OR (hashtextextended(node, 0) = hashtextextended($3::text, 0) AND node = $3::text))
              AND ($4::text IS NULL OR (hashtextextended(account, 0) = hashtextextended($4::text, 0) AND account = $4::text))
            UNION ALL
            SELECT role, 'gas-fee', amount FROM {b}.gas_fee_rewards
            WHERE epoch BETWEEN $1::bigint AND $2::bigint AND $3::text IS NULL AND ($4::text IS NULL OR account = $4::text)),
     ta AS (SELECT role, source, sum(amount) AS amount FROM va GROUP BY role, source),
     tb AS (SELECT role, source, sum(amount) AS amount FROM vb GROUP BY role, source)
SELECT coalesce(tb.role, ta.role), coalesce(tb.source, ta.source),
       coalesce(ta.amount, 0)::text, coalesce(tb.amount, 0)::text, (coalesce(tb.amount, 0) - coalesce(ta.amount, 0))::text
FROM ta FULL JOIN tb ON tb.role = ta.role AND tb.source = ta.source
ORDER BY 1, 2

-- Network-wide totals: the balances now (or at the close of $2 with $3 = true, as diff.accounts)
-- and the settlements and Ozone bought of the range $1..$2; name, a, b, b - a.
-- name: diff.totals
WITH accounts AS (SELECT account FROM {a}.balances UNION SELECT account FROM {b}.balances),
oa AS (
    SELECT wallet, ozone, escrow, vesting FROM {a}.balances WHERE NOT $3::boolean
    UNION ALL
    SELECT h.* FROM accounts x CROSS JOIN LATERAL (
        SELECT wallet, ozone, escrow, vesting FROM {a}.balance_history h
        WHERE h.account = x.account AND h.epoch <= $2::bigint ORDER BY h.epoch DESC LIMIT 1) h
    WHERE $3::boolean
), nb AS (
    SELECT wallet, ozone, escrow, vesting FROM {b}.balances WHERE NOT $3::boolean
    UNION ALL
    SELECT h.* FROM accounts x CROSS JOIN LATERAL (
        SELECT wallet, ozone, escrow, vesting FROM {b}.balance_history h
        WHERE h.account = x.account AND h.epoch <= $2::bigint ORDER BY h.epoch DESC LIMIT 1) h
    WHERE $3::boolean
), sa AS (SELECT * FROM {a}.settlements WHERE epoch BETWEEN $1::bigint AND $2::bigint),
   sb AS (SELECT * FROM {b}.settlements WHERE epoch BETWEEN $1::bigint AND $2::bigint),
   za AS (SELECT * FROM {a}.ozone_supply WHERE epoch BETWEEN $1::bigint AND $2::bigint),
   zb AS (SELECT * FROM {b}.ozone_supply WHERE epoch BETWEEN $1::bigint AND $2::bigint),
   t AS (
    SELECT 1 AS n, 'wallet' AS name, (SELECT coalesce(sum(wallet), 0) FROM oa) AS av, (SELECT coalesce(sum(wallet), 0) FROM nb) AS bv
    UNION ALL SELECT 2, 'vesting', (SELECT coalesce(sum(vesting), 0) FROM oa), (SELECT coalesce(sum(vesting), 0) FROM nb)
    UNION ALL SELECT 3, 'ozone', (SELECT coalesce(sum(ozone), 0) FROM oa), (SELECT coalesce(sum(ozone), 0) FROM nb)
    UNION ALL SELECT 4, 'escrow', (SELECT coalesce(sum(escrow), 0) FROM oa), (SELECT coalesce(sum(escrow), 0) FROM nb)
    UNION ALL SELECT 5, 'trafficRewards', (SELECT coalesce(sum(traffic_reward), 0) FROM sa), (SELECT coalesce(sum(traffic_reward), 0) FROM sb)
    UNION ALL SELECT 6, 'miningRewards', (SELECT coalesce(sum(mining_reward), 0) FROM sa), (SELECT coalesce(sum(mining_reward), 0) FROM sb)
    UNION ALL SELECT 7, 'ozoneBought', (SELECT coalesce(sum(bought), 0) FROM za), (SELECT coalesce(sum(bought), 0) FROM zb)
)
SELECT name, av::text, bv::text, (bv - av)::text FROM t ORDER BY n

-- The log positions the epoch range covers, (after, through]: from the close of epoch $1 - 1
-- (0 for epoch 1) to the close of epoch $2 (the end of the log when neither build closed it),
-- as either build recorded them (an EpochClosed one build refused is in the other's table).
-- name: diff.positions
SELECT coalesce((SELECT max(position) FROM (SELECT position FROM {a}.settlements WHERE epoch = $1::bigint - 1
                                            UNION ALL SELECT position FROM {b}.settlements WHERE epoch = $1::bigint - 1) p), 0),
       coalesce((SELECT max(position) FROM (SELECT position FROM {a}.settlements WHERE epoch = $2::bigint
                                            UNION ALL SELECT position FROM {b}.settlements WHERE epoch = $2::bigint) p),
                9223372036854775807)

-- The events build {a} refused in positions ($1, $2] that build {b} did not refuse (run both ways).
-- name: diff.refused_only
SELECT x.position, x.event_id, x.type, x.rule, x.message FROM {a}.exceptions x
WHERE x.position > $1::bigint AND x.position <= $2::bigint
  AND NOT EXISTS (SELECT 1 FROM {b}.exceptions y WHERE y.position = x.position)
ORDER BY x.position

-- name: diff.refused_count
SELECT count(*) FROM {a}.exceptions WHERE position > $1::bigint AND position <= $2::bigint

-- name: q.exceptions_range
SELECT position, event_id, type, rule, message FROM exceptions WHERE position > $1 AND position <= $2 ORDER BY position

-- The last epoch before $2 whose settlement included node $1, and the position of its close.
-- name: q.node_last_settled
SELECT s.epoch, st.position FROM settled_nodes s JOIN settlements st ON st.epoch = s.epoch
WHERE s.node = $1 AND s.epoch < $2 ORDER BY s.epoch DESC LIMIT 1

-- name: q.settlement_position
SELECT position FROM settlements WHERE epoch = $1

-- A fingerprint of one table's whole content (tests compare schemas with it).
-- name: check.fingerprint
SELECT count(*), coalesce(md5(string_agg(t::text, E'\n' ORDER BY t::text)), '') FROM {schema}.{table} t

-- Nodes ranked by the rewards tied to them (vesting entries naming the node, every role, as in
-- q.node_rewards) earned in epochs $1..$2: one row per (node, role) of the $3 best-paid nodes,
-- the best first, ties by node id; the node's total repeats on each of its rows.
-- name: q.top_nodes
WITH per_role AS (
    SELECT node, role, sum(amount) AS amount, max(epoch_earned) AS last_epoch
    FROM vesting_entries
    WHERE node IS NOT NULL AND epoch_earned BETWEEN $1 AND $2
    GROUP BY node, role
), ranked AS (
    SELECT node, sum(amount) AS total FROM per_role
    GROUP BY node ORDER BY total DESC, node LIMIT $3
)
SELECT r.node, r.total::text, p.role, p.amount::text, p.last_epoch
FROM ranked r JOIN per_role p USING (node)
ORDER BY r.total DESC, r.node, p.role

-- The service's health probe (DatabaseMonitor): the log head, the projection's checkpoint
-- position, and how many seconds ago the oldest event not yet projected was appended (NULL when
-- none is waiting). `{schema}` is the serving projection schema.
-- name: health.probe
SELECT h.position, s.last_position,
       extract(epoch FROM clock_timestamp() - e.appended_at)::double precision
FROM event_log_head h
CROSS JOIN {schema}.projection_state s
LEFT JOIN event_log e ON e.position = s.last_position + 1

-- The log position a read reflects: the serving schema's checkpoint, read inside the read's own
-- snapshot (ReadRouter). `{schema}` is the serving projection schema.
-- name: state.position_in
SELECT last_position FROM {schema}.projection_state

-- The builds of a serving schema: it and every `<serving>_…` schema with a state row
-- (`_next`, `_previous`, `_kept_<n>`), by name.
-- name: builds.schemas
SELECT n.nspname FROM pg_namespace n
JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = 'projection_state'
WHERE n.nspname = $1 OR n.nspname LIKE $1 || '\_%'
ORDER BY n.nspname

-- A build's catalog entry: the name and served_until columns through to_jsonb, as a schema
-- built before they were recorded has neither (BuildCatalog adds them before writing them).
-- served_until is also given as microseconds since 1970, for ordering the switch history.
-- name: builds.state_in
SELECT rules, to_jsonb(p) ->> 'rules_sha256', status, last_position,
       to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       to_jsonb(p) ->> 'build_name', build_id,
       to_char((to_jsonb(p) ->> 'served_until')::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       (extract(epoch FROM (to_jsonb(p) ->> 'served_until')::timestamptz) * 1000000)::bigint
FROM {schema}.projection_state p

-- Whether a schema's state row has the catalog columns (build_name, served_until).
-- name: builds.has_catalog_columns
SELECT count(*) FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid AND c.relname = 'projection_state'
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = $1
WHERE a.attname IN ('build_name', 'served_until') AND a.attnum > 0 AND NOT a.attisdropped

-- The migration of a state row made before names and the switch history were recorded.
-- name: builds.add_catalog_columns
ALTER TABLE {schema}.projection_state ADD COLUMN IF NOT EXISTS build_name text,
                                      ADD COLUMN IF NOT EXISTS served_until timestamptz

-- name: builds.set_name
UPDATE {schema}.projection_state SET build_name = $1

-- When the build stopped serving (NULL: it was replaced by a rebuild under the same rules and
-- is no switch-back target).
-- name: builds.set_served_until
UPDATE {schema}.projection_state SET served_until = CASE WHEN $1::boolean THEN clock_timestamp() END
