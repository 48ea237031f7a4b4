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

-- One row: who built this schema, under which rules, and how far (the checkpoint). Written in
-- the same transaction as the rows of each batch, so rows and checkpoint never disagree.
CREATE TABLE projection_state (
    singleton        boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    -- A random id per build; workers guard every batch with it (a schema switched under a
    -- running worker is detected, not written into).
    build_id         text        NOT NULL,
    rules            text        NOT NULL,
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
    created_at       timestamptz NOT NULL DEFAULT now(),
    completed_at     timestamptz,
    switched_at      timestamptz
);

-- Balances now, per account (EVENTS.md snapshot fields).
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
CREATE TABLE balance_history (
    account    text   NOT NULL,
    epoch      bigint NOT NULL,
    wallet     numeric(78,0) NOT NULL,
    ozone      numeric(78,0) NOT NULL,
    escrow     numeric(78,0) NOT NULL,
    bonded     numeric(78,0) NOT NULL,
    unbonding  numeric(78,0) NOT NULL,
    vesting    numeric(78,0) NOT NULL
);

-- Nodes now (EVENTS.md snapshot fields).
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
CREATE TABLE vesting_entries (
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

-- Releases, cancellations and migration-fee takings of vesting entries.
CREATE TABLE vesting_changes (
    entry_id  bigint NOT NULL,
    position  bigint NOT NULL,
    epoch     bigint NOT NULL,
    change    text   NOT NULL CHECK (change IN ('released', 'cancelled', 'fee-taken')),
    amount    numeric(78,0) NOT NULL
);

CREATE VIEW vesting_schedule AS
SELECT e.entry_id, e.account, e.node, e.validator, e.role, e.source, e.amount, e.epoch_earned, e.mature_epoch,
       CASE WHEN c.cancelled THEN 'cancelled'
            WHEN c.released THEN 'released'
            WHEN e.amount - coalesce(c.fee_taken, 0) = 0 THEN 'taken-for-fee'
            ELSE 'locked' END AS status,
       coalesce(c.fee_taken, 0) AS fee_taken,
       c.closed_epoch
FROM vesting_entries e
LEFT JOIN LATERAL (
    SELECT bool_or(change = 'cancelled') AS cancelled, bool_or(change = 'released') AS released,
           sum(amount) FILTER (WHERE change = 'fee-taken') AS fee_taken,
           max(epoch) FILTER (WHERE change <> 'fee-taken') AS closed_epoch
    FROM vesting_changes v WHERE v.entry_id = e.entry_id
) c ON true;

-- Deposits of deactivated nodes and unbondings, with their release day (kind 'deposit': ref is
-- the node id; kind 'unbonding': ref is the unbonding id).
CREATE TABLE release_schedule (
    kind         text   NOT NULL CHECK (kind IN ('deposit', 'unbonding')),
    ref          text   NOT NULL,
    account      text   NOT NULL,
    node         text,
    validator    text,
    amount       numeric(78,0) NOT NULL,
    release_day  bigint NOT NULL,
    position     bigint NOT NULL
);

CREATE TABLE release_done (
    kind      text   NOT NULL,
    ref       text   NOT NULL,
    amount    numeric(78,0) NOT NULL,
    position  bigint NOT NULL,
    epoch     bigint NOT NULL
);

-- Ozone supply right after each epoch close: s, p, l, mined, the exact price (s + p) / l as a
-- fraction, and the epoch's Ozone flows.
CREATE TABLE ozone_supply (
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

-- The settlement audit of each closed epoch (EVENTS.md). Its rewards are the vesting entries
-- earned in that epoch (creation order = entry_id order); settled nodes are in settled_nodes.
CREATE TABLE settlements (
    epoch           bigint NOT NULL,
    position        bigint NOT NULL,
    rules           text   NOT NULL,
    t               numeric(78,0) NOT NULL,
    y               numeric(78,0) NOT NULL,
    traffic_reward  numeric(78,0) NOT NULL,
    mining_reward   numeric(78,0) NOT NULL,
    traffic_dust    numeric(78,0) NOT NULL,
    mining_dust     numeric(78,0) NOT NULL
);

CREATE TABLE settled_nodes (
    epoch    bigint NOT NULL,
    rank     integer NOT NULL,
    node     text   NOT NULL,
    traffic  numeric(78,0) NOT NULL
);

-- Gas fee rewards (paid at once, no lock-up).
CREATE TABLE gas_fee_rewards (
    position   bigint NOT NULL,
    seq        integer NOT NULL,
    epoch      bigint NOT NULL,
    account    text   NOT NULL,
    validator  text   NOT NULL,
    role       text   NOT NULL,
    amount     numeric(78,0) NOT NULL
);

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

-- The double-entry journal: one transaction per applied event. Its postings are kept as
-- parallel arrays (account path, commodity STOS|OZ, signed amount, reason), in effect order:
-- one row per event keeps the bulk load at event speed. journal_postings unnests them.
-- For every transaction and commodity the amounts sum to zero.
CREATE TABLE journal (
    position     bigint      NOT NULL,
    event_id     text        NOT NULL,
    type         text        NOT NULL,
    time         timestamptz NOT NULL,
    epoch        bigint      NOT NULL,
    accounts     text[]      NOT NULL,
    -- The account id each posting belongs to (NULL for pools, outside, node traffic).
    owners       text[]      NOT NULL,
    commodities  text[]      NOT NULL,
    amounts      numeric[]   NOT NULL,
    reasons      text[]      NOT NULL
);

CREATE VIEW journal_postings AS
SELECT j.position, p.ord AS posting, p.account, p.owner, p.commodity, p.amount, p.reason
FROM journal j,
     unnest(j.accounts, j.owners, j.commodities, j.amounts, j.reasons) WITH ORDINALITY AS p(account, owner, commodity, amount, reason, ord);

-- Events the rule set refused (during a rebuild under other rules): the rebuild goes on.
CREATE TABLE exceptions (
    position  bigint NOT NULL,
    event_id  text   NOT NULL,
    type      text   NOT NULL,
    rule      text   NOT NULL,
    message   text   NOT NULL
);

-- Economy.encodeCheckpointHead() right after EpochClosed of `epoch` (the state without its locked
-- vesting entries, which come from vesting_entries/vesting_changes on demand), for snapshots and
-- single-epoch recomputation without replaying the whole history.
CREATE TABLE epoch_checkpoints (
    epoch     bigint PRIMARY KEY,
    position  bigint NOT NULL,
    state     bytea  NOT NULL
);
-- Heads are varint-packed already: storing them uncompressed saves pglz's CPU on every epoch
-- close of a rebuild for little space.
ALTER TABLE epoch_checkpoints ALTER COLUMN state SET STORAGE EXTERNAL;

-- The service connects as `stratos_app` (Schema/0003_app_role.sql): it reads projections and
-- never writes them. Granted here, on the schema being built, so the grant travels with the
-- schema through a rebuild's rename-switch and a switch-back.
DO $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO stratos_app', current_schema());
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO stratos_app', current_schema());
END
$$;
