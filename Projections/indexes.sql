-- Keys of the insert-only projection tables, created once a build has caught up with the log
-- (see tables.sql). Run with search_path set to the projection schema.
ALTER TABLE balance_history   ADD PRIMARY KEY (account, epoch);
ALTER TABLE vesting_entries   ADD PRIMARY KEY (entry_id);
CREATE INDEX vesting_entries_account ON vesting_entries (account, epoch_earned);
CREATE INDEX vesting_entries_node ON vesting_entries (node, epoch_earned) WHERE node IS NOT NULL;
CREATE INDEX vesting_entries_validator ON vesting_entries (validator, epoch_earned) WHERE validator IS NOT NULL;
CREATE INDEX vesting_entries_epoch ON vesting_entries (epoch_earned);
CREATE INDEX vesting_changes_entry ON vesting_changes (entry_id);
ALTER TABLE release_schedule  ADD PRIMARY KEY (kind, ref);
CREATE INDEX release_schedule_account ON release_schedule (account);
ALTER TABLE release_done      ADD PRIMARY KEY (kind, ref);
ALTER TABLE ozone_supply      ADD PRIMARY KEY (epoch);
ALTER TABLE settlements       ADD PRIMARY KEY (epoch);
ALTER TABLE settled_nodes     ADD PRIMARY KEY (epoch, rank);
CREATE INDEX settled_nodes_node ON settled_nodes (node, epoch);
ALTER TABLE gas_fee_rewards   ADD PRIMARY KEY (position, seq);
CREATE INDEX gas_fee_rewards_account ON gas_fee_rewards (account, epoch);
CREATE INDEX gas_fee_rewards_validator ON gas_fee_rewards (validator, epoch);
ALTER TABLE exceptions        ADD PRIMARY KEY (position);
-- The journal last: a rebuild checks the journal (check.journal_unbalanced) on another
-- connection meanwhile, and its primary key waits for that read to end.
ALTER TABLE journal           ADD PRIMARY KEY (position);
CREATE INDEX journal_epoch ON journal (epoch);
-- Autovacuum back on the tables the build kept it off (tables.sql).
ALTER TABLE balance_history RESET (autovacuum_enabled, toast.autovacuum_enabled);
ALTER TABLE vesting_entries RESET (autovacuum_enabled, toast.autovacuum_enabled);
ALTER TABLE gas_fee_rewards RESET (autovacuum_enabled, toast.autovacuum_enabled);
ALTER TABLE settled_nodes RESET (autovacuum_enabled, toast.autovacuum_enabled);
ALTER TABLE journal RESET (autovacuum_enabled, toast.autovacuum_enabled);
ALTER TABLE epoch_checkpoints RESET (autovacuum_enabled, toast.autovacuum_enabled);
ANALYZE balance_history, vesting_entries, vesting_changes, release_schedule, release_done, ozone_supply,
        settlements, settled_nodes, gas_fee_rewards, journal, exceptions;
