-- Projection tables of stratos-ledger (docs/PROJECTIONS.md).
--
-- Run with search_path set to one projection schema (the serving `projection`, a rebuild's
-- `projection_next`, ...): every name here is unqualified so the same file builds any of them.
-- Everything below is derived from event_log through Economy.apply effects and can be dropped
-- and rebuilt. Amounts are exact integers in base units (wei for STOS, noz for Ozone) as
-- numeric(78,0): 78 digits hold any 256-bit value, so no amount is ever rounded.
--
-- Only the small, upserted tables (balances, nodes) and the state row have their keys here; the
-- large insert-only tables get theirs from indexes.sql once the build has caught up with the
-- log (bulk COPY into unindexed tables is several times faster).
--
-- Every insert-only table is two objects: `<name>_own`, the rows this build wrote itself (the
-- worker COPYs into it, indexes.sql keys it), and the view `<name>`, which everything reads.
-- In a build replayed from Genesis the view is just its own rows. In a build that took over
-- another one (a rule fix effective from an epoch, docs/PROJECTIONS.md "Replaying only what
-- changed"), the take-over replaces the view by the base build's rows through the take-over's
-- position (or epoch) UNION ALL its own rows, which CHECK constraints put after them
-- (queries.sql, `overlay.*`; the table `take_over` records from where): the prefix is shared,
-- not copied, so the rebuild costs the replay of what changed. A build that others read
-- through their views cannot be dropped (BuildCatalog.drop).

-- One row: who built this schema, under which rules, and how far (the checkpoint). Written in
-- the same transaction as the rows of each batch, so rows and checkpoint never disagree.
CREATE TABLE projection_state (
    singleton        boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    -- A random id per build; workers guard every batch with it (a schema switched under a
    -- running worker is detected, not written into).
    build_id         text        NOT NULL,
    rules            text        NOT NULL,
    -- The rule set's canonical JSON (docs/RULE-SETS.md) and its SHA-256: a worker resuming,
    -- a query or an audit resolves the rules from here, also when they came from a file.
    -- Absent in schemas built before they were recorded (only built-in rule sets then: by name).
    rules_json       text,
    rules_sha256     text,
    -- building: a rebuild not yet switched in; serving: what queries read; previous: the one
    -- a switch replaced (kept for --switch-back).
    status           text        NOT NULL CHECK (status IN ('building', 'serving', 'previous')),
    -- The last event_log position applied (or refused) and written.
    last_position    bigint      NOT NULL DEFAULT 0 CHECK (last_position >= 0),
    last_epoch       bigint      NOT NULL DEFAULT 0,
    -- Events the rules applied / refused so far.
    applied          bigint      NOT NULL DEFAULT 0,
    refused          bigint      NOT NULL DEFAULT 0,
    -- An economy checkpoint is kept at the close of every epoch that is a multiple of this.
    checkpoint_every bigint      NOT NULL CHECK (checkpoint_every > 0),
    indexed          boolean     NOT NULL DEFAULT false,
    -- The layout of this file the schema was built with (ProjectionSQL.layout): code reading
    -- another layout refuses the schema and asks for a rebuild instead of failing on a missing
    -- table. Absent (layout 1) in schemas built before it was recorded.
    layout           integer     NOT NULL,
    -- The server's hashtextextended of a fixed text when the schema was built: the keys of
    -- vesting_entries are on that hash (indexes.sql), so a server whose function gives another
    -- value (a major upgrade that changed it) must not read them. Checked on every load.
    text_hash        bigint      NOT NULL DEFAULT hashtextextended('stratos-ledger', 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    completed_at     timestamptz,
    switched_at      timestamptz,
    -- The build's name (`rebuild --as NAME`, or one made from its rules): it stays with the
    -- build whatever schema a switch renames it to (BuildCatalog, docs/PROJECTIONS.md).
    build_name       text,
    -- When the build last stopped serving: the switch history `rebuild --switch-back` follows
    -- (NULL: never served, or replaced by a rebuild under the same rules).
    -- Both absent in schemas made before they were recorded: BuildCatalog adds them.
    served_until     timestamptz
);

-- Balances now, per account (docs/EVENTS.md snapshot fields).
CREATE TABLE balances (
    account    text PRIMARY KEY,
    wallet     numeric(78,0) NOT NULL CHECK (wallet >= 0),
    ozone      numeric(78,0) NOT NULL CHECK (ozone >= 0),
    escrow     numeric(78,0) NOT NULL CHECK (escrow >= 0),
    bonded     numeric(78,0) NOT NULL CHECK (bonded >= 0),
    unbonding  numeric(78,0) NOT NULL CHECK (unbonding >= 0),
    vesting    numeric(78,0) NOT NULL CHECK (vesting >= 0),
    -- The last log position that changed it.
    position   bigint NOT NULL
);

-- Balances as of each closed epoch, one row per (account, epoch) in which the account changed:
-- the balance at epoch N is the row with the greatest epoch <= N. Changes before the first
-- close (Genesis day) belong to epoch 1.
CREATE TABLE balance_history_own (
    account    text   NOT NULL,
    epoch      bigint NOT NULL,
    wallet     numeric(78,0) NOT NULL,
    ozone      numeric(78,0) NOT NULL,
    escrow     numeric(78,0) NOT NULL,
    bonded     numeric(78,0) NOT NULL,
    unbonding  numeric(78,0) NOT NULL,
    vesting    numeric(78,0) NOT NULL
);
CREATE VIEW balance_history AS SELECT account, epoch, wallet, ozone, escrow, bonded, unbonding, vesting FROM balance_history_own;

-- Nodes now (docs/EVENTS.md snapshot fields).
CREATE TABLE nodes (
    node         text PRIMARY KEY,
    kind         text NOT NULL,
    owner        text NOT NULL,
    status       text NOT NULL,
    deposit      numeric(78,0) NOT NULL CHECK (deposit >= 0),
    unsettled    numeric(78,0) NOT NULL CHECK (unsettled >= 0),
    position     bigint NOT NULL
);

-- Every vesting entry (locked reward) as created at an epoch close. What happened to it later
-- is in vesting_changes; vesting_schedule (below) joins the two.
CREATE TABLE vesting_entries_own (
    entry_id      bigint NOT NULL,
    account       text   NOT NULL,
    node          text,
    validator     text,
    role          text   NOT NULL,
    source        text   NOT NULL,
    amount        numeric(78,0) NOT NULL CHECK (amount > 0),
    epoch_earned  bigint NOT NULL,
    mature_epoch  bigint NOT NULL,
    position      bigint NOT NULL
);
CREATE VIEW vesting_entries AS SELECT entry_id, account, node, validator, role, source, amount, epoch_earned, mature_epoch, position FROM vesting_entries_own;

-- Cancellations and migration-fee takings of vesting entries. Releases are not stored: an
-- entry is released at the close of its mature_epoch unless it was cancelled or wholly taken by
-- fees before (RULES §5.9; the engine's releaseMaturedVesting, asserted by the projection
-- worker as it writes), so vesting_schedule derives them from mature_epoch <= the projection's
-- last closed epoch. That rule is exact at every log position P: an entry is live at P when it
-- was created at <= P, its mature_epoch > the last epoch closed at P, it has no 'cancelled'
-- change at <= P and amount - its fee takings at <= P > 0.
CREATE TABLE vesting_changes_own (
    entry_id  bigint NOT NULL,
    position  bigint NOT NULL,
    epoch     bigint NOT NULL,
    change    text   NOT NULL CHECK (change IN ('cancelled', 'fee-taken')),
    amount    numeric(78,0) NOT NULL
);
CREATE VIEW vesting_changes AS SELECT entry_id, position, epoch, change, amount FROM vesting_changes_own;

-- released: not cancelled, not wholly taken by fees, and mature by the last closed epoch (it
-- was released at the close of mature_epoch, for amount - fee_taken).
CREATE VIEW vesting_schedule AS
SELECT e.entry_id, e.account, e.node, e.validator, e.role, e.source, e.amount, e.epoch_earned, e.mature_epoch,
       CASE WHEN c.cancelled THEN 'cancelled'
            WHEN e.amount - coalesce(c.fee_taken, 0) = 0 THEN 'taken-for-fee'
            WHEN e.mature_epoch <= s.last_epoch THEN 'released'
            ELSE 'locked' END AS status,
       coalesce(c.fee_taken, 0) AS fee_taken,
       CASE WHEN c.cancelled THEN c.cancelled_epoch
            WHEN e.amount - coalesce(c.fee_taken, 0) > 0 AND e.mature_epoch <= s.last_epoch THEN e.mature_epoch
       END AS closed_epoch
FROM vesting_entries e
CROSS JOIN (SELECT last_epoch FROM projection_state) s
LEFT JOIN LATERAL (
    SELECT bool_or(change = 'cancelled') AS cancelled,
           sum(amount) FILTER (WHERE change = 'fee-taken') AS fee_taken,
           max(epoch) FILTER (WHERE change = 'cancelled') AS cancelled_epoch
    FROM vesting_changes v WHERE v.entry_id = e.entry_id
) c ON true;

-- Deposits of deactivated nodes and unbondings, with their release day (kind 'deposit': ref is
-- the node id; kind 'unbonding': ref is the unbonding id).
CREATE TABLE release_schedule_own (
    kind         text   NOT NULL CHECK (kind IN ('deposit', 'unbonding')),
    ref          text   NOT NULL,
    account      text   NOT NULL,
    node         text,
    validator    text,
    amount       numeric(78,0) NOT NULL,
    release_day  bigint NOT NULL,
    position     bigint NOT NULL
);
CREATE VIEW release_schedule AS SELECT kind, ref, account, node, validator, amount, release_day, position FROM release_schedule_own;

CREATE TABLE release_done_own (
    kind      text   NOT NULL,
    ref       text   NOT NULL,
    amount    numeric(78,0) NOT NULL,
    position  bigint NOT NULL,
    epoch     bigint NOT NULL
);
CREATE VIEW release_done AS SELECT kind, ref, amount, position, epoch FROM release_done_own;

-- Ozone supply right after each epoch close: s, p, l, mined, the exact price (s + p) / l as a
-- fraction, and the epoch's Ozone flows.
CREATE TABLE ozone_supply_own (
    epoch              bigint NOT NULL,
    position           bigint NOT NULL,
    s                  numeric(78,0) NOT NULL,
    p                  numeric(78,0) NOT NULL,
    l                  numeric(78,0) NOT NULL,
    mined              numeric(78,0) NOT NULL,
    fee_collector      numeric(78,0) NOT NULL,
    -- (s + p) / l wei per noz, exact: decimal integer strings.
    price_numerator    text NOT NULL,
    price_denominator  text NOT NULL,
    bought             numeric(78,0) NOT NULL,
    consumed           numeric(78,0) NOT NULL,
    settled            numeric(78,0) NOT NULL,
    carried_over       numeric(78,0) NOT NULL
);
CREATE VIEW ozone_supply AS SELECT epoch, position, s, p, l, mined, fee_collector, price_numerator, price_denominator, bought, consumed, settled, carried_over FROM ozone_supply_own;

-- The settlement audit of each closed epoch (docs/EVENTS.md). Its rewards are the vesting entries
-- earned in that epoch (creation order = entry_id order); settled nodes are in settled_nodes.
CREATE TABLE settlements_own (
    epoch           bigint NOT NULL,
    position        bigint NOT NULL,
    rules           text   NOT NULL,
    t               numeric(78,0) NOT NULL,
    y               numeric(78,0) NOT NULL,
    traffic_reward  numeric(78,0) NOT NULL,
    mining_reward   numeric(78,0) NOT NULL,
    traffic_dust    numeric(78,0) NOT NULL,
    mining_dust     numeric(78,0) NOT NULL,
    -- The vesting entry ids of the epoch close's journal lines that are derived, not stored
    -- (view journal): its releases (entries maturing now, first and last id released) and its
    -- rewards (the entries it created). NULL when there were none.
    first_released  bigint,
    last_released   bigint,
    first_rewarded  bigint,
    last_rewarded   bigint
);
CREATE VIEW settlements AS SELECT epoch, position, rules, t, y, traffic_reward, mining_reward, traffic_dust, mining_dust, first_released, last_released, first_rewarded, last_rewarded FROM settlements_own;

CREATE TABLE settled_nodes_own (
    epoch    bigint NOT NULL,
    rank     integer NOT NULL,
    node     text   NOT NULL,
    traffic  numeric(78,0) NOT NULL
);
CREATE VIEW settled_nodes AS SELECT epoch, rank, node, traffic FROM settled_nodes_own;

-- Gas fee rewards (paid at once, no lock-up).
CREATE TABLE gas_fee_rewards_own (
    position   bigint NOT NULL,
    seq        integer NOT NULL,
    epoch      bigint NOT NULL,
    account    text   NOT NULL,
    validator  text   NOT NULL,
    role       text   NOT NULL,
    amount     numeric(78,0) NOT NULL
);
CREATE VIEW gas_fee_rewards AS SELECT position, seq, epoch, account, validator, role, amount FROM gas_fee_rewards_own;

-- The stake-reward ledger: per epoch and recipient, the stake share (validator, commission,
-- delegator and node-deposit rewards, locked) and the gas fee rewards (paid at once).
CREATE VIEW stake_rewards AS
SELECT epoch_earned AS epoch, account, validator, node, role, 'stake'::text AS kind, source, sum(amount) AS amount
FROM vesting_entries
WHERE role IN ('validator', 'commission', 'delegator', 'deposit')
GROUP BY epoch_earned, account, validator, node, role, source
UNION ALL
SELECT epoch, account, validator, NULL, role, 'gas-fee', NULL, sum(amount)
FROM gas_fee_rewards
GROUP BY epoch, account, validator, role;

-- The double-entry journal: one transaction per applied event (its id, type and time are the
-- event_log row's, joined by position), holding the event's transfers in effect order as text,
-- one line per transfer (lines separated by a newline), eight fields separated by one space:
--
--     reason from_kind from_a from_b to_kind to_a to_b amount
--
-- reason is the TransferReason code (`reward`, `traffic-charged`, ...); a side is the account's
-- kind (`wallet`, `vesting`, `volume-pool`, ...) and its up to two identifiers, empty when the
-- kind has fewer (identifiers are never empty and hold no spaces, so the split is exact): the
-- account path is `kind[:a[:b]]` (LedgerAccount.description, e.g. `vesting:st1a:v17`), its owner
-- is `a` for wallet, ozone, escrow, vesting, self-bonded, bonded and unbonding (no owner for the
-- pools, node-traffic, fee-collector, outside, ozone-issuance), its commodity OZ (noz) for ozone,
-- node-traffic, ozone-limit and ozone-issuance, STOS (wei) for the others. amount is a positive
-- decimal integer in base units. Each transfer is two postings, the debit (-amount on from)
-- then the credit (+amount on to): debits equal credits per commodity in every transaction as
-- long as both sides of every transfer hold the same commodity (asserted by the engine's
-- Transfer, by the worker as it writes, and by the rebuild's check of the stored lines,
-- Rebuilder.checkJournal).
--
-- journal_stored holds every line except an epoch close's vesting releases and rewards: those
-- are vesting_entries rows already (three quarters of all lines), so the view journal derives
-- them (DerivedJournalLines, which asserts the order they are derived in). Read `journal`.
--
-- Why text: COPY stores it without parsing anything (no arrays, no numerics; lz4 keeps it
-- compact). journal_postings gives the postings as rows for SQL.
CREATE TABLE journal_stored_own (
    position     bigint NOT NULL,
    epoch        bigint NOT NULL,
    transfers    text NOT NULL
);
CREATE VIEW journal_stored AS SELECT position, epoch, transfers FROM journal_stored_own;
-- lz4 where the server has it (PostgreSQL 14+ built with lz4, as Debian's and the official
-- images are); the default compression elsewhere, slower to load but the same content.
DO $$
BEGIN
    ALTER TABLE journal_stored_own ALTER COLUMN transfers SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value OR syntax_error THEN
    RAISE NOTICE 'lz4 is not available: the journal uses the default compression';
END
$$;

-- The whole journal: an epoch close's transaction is its releases (the entries of the
-- settlement's release range that mature at this epoch and were neither cancelled nor wholly
-- taken by fees, for amount - fee taken: the rule of vesting_schedule), by entry id, then its
-- stored lines, then its rewards (the entries of its reward range), by entry id; every other
-- transaction is its stored lines. An unknown source is written as it is, so that a decoder
-- refuses the line instead of the line going missing.
CREATE VIEW journal AS
SELECT j.position, j.epoch,
       CASE WHEN s.epoch IS NULL THEN j.transfers ELSE concat_ws(E'\n',
           (SELECT string_agg('vesting-released vesting ' || e.account || ' v' || e.entry_id || ' wallet ' || e.account
                              || '  ' || (e.amount - coalesce(c.fee_taken, 0)), E'\n' ORDER BY e.entry_id)
            FROM vesting_entries e
            LEFT JOIN (
                SELECT entry_id, bool_or(change = 'cancelled') AS cancelled, sum(amount) FILTER (WHERE change = 'fee-taken') AS fee_taken
                FROM vesting_changes v WHERE v.entry_id BETWEEN s.first_released AND s.last_released GROUP BY entry_id
            ) c USING (entry_id)
            WHERE e.entry_id BETWEEN s.first_released AND s.last_released AND e.mature_epoch = s.epoch
              AND NOT coalesce(c.cancelled, false) AND e.amount - coalesce(c.fee_taken, 0) > 0),
           nullif(j.transfers, ''),
           (SELECT string_agg('reward ' || CASE e.source WHEN 'traffic' THEN 'volume-pool' WHEN 'mining' THEN 'mining-pool'
                                                         ELSE e.source END
                              || '   vesting ' || e.account || ' v' || e.entry_id || ' ' || e.amount, E'\n' ORDER BY e.entry_id)
            FROM vesting_entries e
            WHERE e.entry_id BETWEEN s.first_rewarded AND s.last_rewarded)) END AS transfers
FROM journal_stored j
LEFT JOIN settlements s ON s.epoch = j.epoch AND s.position = j.position;

-- One row per posting, in order (posting 2k-1 and 2k are transfer k's debit and credit).
CREATE VIEW journal_postings AS
SELECT j.position, 2 * t.n - 1 + s.side AS posting,
       s.kind || CASE WHEN s.a = '' THEN '' ELSE ':' || s.a END || CASE WHEN s.b = '' THEN '' ELSE ':' || s.b END AS account,
       CASE WHEN s.kind IN ('wallet', 'ozone', 'escrow', 'vesting', 'self-bonded', 'bonded', 'unbonding') THEN s.a END AS owner,
       CASE WHEN s.kind IN ('ozone', 'node-traffic', 'ozone-limit', 'ozone-issuance') THEN 'OZ' ELSE 'STOS' END AS commodity,
       CASE WHEN s.side = 0 THEN -t.f[8]::numeric ELSE t.f[8]::numeric END AS amount,
       t.f[1] AS reason
FROM journal j
CROSS JOIN LATERAL (SELECT string_to_array(line, ' ') AS f, n
                    FROM string_to_table(j.transfers, E'\n') WITH ORDINALITY AS l(line, n)) t
CROSS JOIN LATERAL (VALUES (0, t.f[2], t.f[3], t.f[4]), (1, t.f[5], t.f[6], t.f[7])) AS s(side, kind, a, b);

-- The journal's transactions with their event's id, type and time.
CREATE VIEW journal_transactions AS
SELECT j.position, e.event_id, e.type, e.time, j.epoch, j.transfers
FROM journal j JOIN event_log e ON e.position = j.position;

-- Events the rule set refused (during a rebuild under other rules): the rebuild goes on.
CREATE TABLE exceptions_own (
    position  bigint NOT NULL,
    event_id  text   NOT NULL,
    type      text   NOT NULL,
    rule      text   NOT NULL,
    message   text   NOT NULL
);
CREATE VIEW exceptions AS SELECT position, event_id, type, rule, message FROM exceptions_own;

-- Economy.encodeCheckpointHead() right after EpochClosed of `epoch` (the state without its locked
-- vesting entries, which come from vesting_entries/vesting_changes on demand), for snapshots and
-- single-epoch recomputation without replaying the whole history.
CREATE TABLE epoch_checkpoints_own (
    epoch     bigint PRIMARY KEY,
    position  bigint NOT NULL,
    state     bytea  NOT NULL
);
CREATE VIEW epoch_checkpoints AS SELECT epoch, position, state FROM epoch_checkpoints_own;
-- Heads are varint-packed already: storing them uncompressed saves pglz's CPU on every epoch
-- close of a rebuild for little space.
ALTER TABLE epoch_checkpoints_own ALTER COLUMN state SET STORAGE EXTERNAL;

-- Autovacuum stays off the large insert-only tables while the build catches up and its keys are
-- built (indexes.sql, keys.finish turns it back on): vacuuming a table that a bulk load is still
-- filling, or whose keys are being sorted, takes the two cores of a small server from the work
-- and is done again at the end anyway.
ALTER TABLE balance_history_own SET (autovacuum_enabled = false, toast.autovacuum_enabled = false);
ALTER TABLE vesting_entries_own SET (autovacuum_enabled = false, toast.autovacuum_enabled = false);
ALTER TABLE gas_fee_rewards_own SET (autovacuum_enabled = false, toast.autovacuum_enabled = false);
ALTER TABLE settled_nodes_own SET (autovacuum_enabled = false, toast.autovacuum_enabled = false);
ALTER TABLE journal_stored_own SET (autovacuum_enabled = false, toast.autovacuum_enabled = false);
ALTER TABLE epoch_checkpoints_own SET (autovacuum_enabled = false, toast.autovacuum_enabled = false);

-- The service connects as `stratos_app` (Schema/0003_app_role.sql): it reads projections and
-- never writes them. Granted here, on the schema being built, so the grant travels with the
-- schema through a rebuild's rename-switch and a switch-back.
DO $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO stratos_app', current_schema());
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO stratos_app', current_schema());
END
$$;
