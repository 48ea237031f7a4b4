-- Writer checkpoints compressed with lz4 instead of the default pglz.
--
-- Why: a checkpoint holds every locked reward (111 MB on the two-million-event bench history)
-- and is written in the append that makes it due. pglz took ~2.2 s of that append to compress it
-- (to 35 MB); lz4 takes ~0.45 s (to 39 MB). Existing rows keep their compression until they are
-- pruned. The default compression stays where the server has no lz4 (PostgreSQL built without
-- it): the same content, written more slowly.
DO $$
BEGIN
    ALTER TABLE writer_checkpoints ALTER COLUMN state SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value OR syntax_error THEN
    RAISE NOTICE 'lz4 is not available: writer checkpoints use the default compression';
END
$$;
