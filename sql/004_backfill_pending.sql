-- 004_backfill_pending.sql: backfills not landed yet. A `scrape --since` (or --days, or the first
-- run of a collection) remembers the days it asks for, per account and collection, before it
-- fetches anything; every batch that advances oura.sync_state shrinks the range in the same
-- transaction (its first day moves past the synced day), and the row goes once nothing is left.
-- A backfill that failed or was interrupted therefore leaves exactly the days still missing: the
-- next plain `scrape` fetches them first, and `oura-collector status` shows the collection as
-- behind with that range (issue 10, docs/operations.md "Run log and status").
--
-- The table carries `account`, so `purge --account` removes it with the rest of the account.
-- Hand-written; applied by init-db in one transaction like every migration.

CREATE TABLE IF NOT EXISTS oura.backfill_pending (
  account      text NOT NULL,
  collection   text NOT NULL,
  first_day    date NOT NULL,
  last_day     date NOT NULL,
  requested_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT backfill_pending_pkey PRIMARY KEY (account, collection),
  CONSTRAINT backfill_pending_days_check CHECK (first_day <= last_day)
);
COMMENT ON TABLE oura.backfill_pending IS 'days a backfill asked for that have not landed yet, per account and collection; shrunk in the same transaction as the sync state, deleted when complete';
COMMENT ON COLUMN oura.backfill_pending.account IS 'account label from the manifest';
COMMENT ON COLUMN oura.backfill_pending.collection IS 'Oura collection name, e.g. daily_activity, vO2_max';
COMMENT ON COLUMN oura.backfill_pending.first_day IS 'first day still missing (YYYY-MM-DD)';
COMMENT ON COLUMN oura.backfill_pending.last_day IS 'last day the backfill asked for (YYYY-MM-DD)';
COMMENT ON COLUMN oura.backfill_pending.requested_at IS 'when the range was last asked for';
