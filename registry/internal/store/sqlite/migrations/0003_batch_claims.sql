-- A batch id's claim records its owner (the registry process that claimed
-- it, to store the batch) and whether it is confirmed (the batch is
-- stored). A claim left unconfirmed by an owner that stopped is taken over
-- and the batch stored again. Claims made before this migration count as
-- confirmed: the registry that made them did not confirm claims, and
-- treating them as confirmed keeps its behaviour.
-- Keep in step with postgres/migrations/0003_batch_claims.sql.
ALTER TABLE ingest_batches ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE ingest_batches ADD COLUMN confirmed INTEGER NOT NULL DEFAULT 1 CHECK (confirmed IN (0, 1));
