-- 003_run_log.sql: the run log. One row in oura.runs per finished `scrape` or `reprocess`
-- (interrupted runs included; runs that stopped before the sinks were opened are not recorded),
-- and one row in oura.run_collections per collection of that run, written together in one
-- transaction by the postgres sink's recordRun() just before the run closes its sinks.
-- `oura-collector status` reads them with oura.sync_state; dashboards read them for health and
-- staleness (docs/operations.md "Run log and status").
--
-- Both tables carry `account`, so `purge --account` (which empties every oura.* table with an
-- account column) removes an account's runs; run_collections also goes with its run
-- (ON DELETE CASCADE), so deleting old runs by hand cleans up after itself.
--
-- Hand-written; applied by init-db in one transaction like every migration.

CREATE TABLE IF NOT EXISTS oura.runs (
  id              bigint GENERATED ALWAYS AS IDENTITY,
  account         text NOT NULL,
  command         text NOT NULL,
  started_at      timestamptz NOT NULL,
  finished_at     timestamptz NOT NULL,
  exit_code       integer NOT NULL,
  outcome         text NOT NULL,
  error           text,
  program_version text NOT NULL,
  CONSTRAINT runs_pkey PRIMARY KEY (id)
);
COMMENT ON TABLE oura.runs IS 'run log: one row per finished scrape or reprocess (interrupted ones included), written by the postgres sink at the end of the run';
COMMENT ON COLUMN oura.runs.id IS 'run number, increasing in the order runs were recorded (finished)';
COMMENT ON COLUMN oura.runs.account IS 'account label of the run';
COMMENT ON COLUMN oura.runs.command IS 'scrape or reprocess';
COMMENT ON COLUMN oura.runs.started_at IS 'when the run started (timestamptz, millisecond precision)';
COMMENT ON COLUMN oura.runs.finished_at IS 'when the run finished (timestamptz, millisecond precision)';
COMMENT ON COLUMN oura.runs.exit_code IS 'the program''s exit code: 0 ok, 1 partial, 69 unavailable, 75 interrupted, 77 login needed, 78 configuration';
COMMENT ON COLUMN oura.runs.outcome IS 'exit_code as a word: ok, partial, unavailable, interrupted, login_needed, config, usage, internal';
COMMENT ON COLUMN oura.runs.error IS 'NULL when every collection ended ok; else one line per collection that did not (collection: message)';
COMMENT ON COLUMN oura.runs.program_version IS 'the oura-collector version that ran';
-- The latest runs of an account (ORDER BY started_at DESC), and the sink's check that a run is
-- not recorded twice.
CREATE INDEX IF NOT EXISTS runs_account_started_idx ON oura.runs (account, started_at);

CREATE TABLE IF NOT EXISTS oura.run_collections (
  run_id     bigint NOT NULL,
  account    text NOT NULL,
  collection text NOT NULL,
  endpoint   text NOT NULL,
  first_day  date,
  last_day   date,
  requests   bigint NOT NULL,
  retries    bigint NOT NULL,
  pages      bigint NOT NULL,
  documents  bigint NOT NULL,
  "rows"     bigint NOT NULL,
  inserted   bigint NOT NULL,
  updated    bigint NOT NULL,
  skipped    bigint NOT NULL,
  warnings   bigint NOT NULL,
  outcome    text NOT NULL,
  message    text,
  CONSTRAINT run_collections_pkey PRIMARY KEY (run_id, collection),
  CONSTRAINT run_collections_run_id_fkey FOREIGN KEY (run_id) REFERENCES oura.runs (id) ON DELETE CASCADE
);
COMMENT ON TABLE oura.run_collections IS 'run log: one row per collection of a run in oura.runs (the run summary''s per-collection counts)';
COMMENT ON COLUMN oura.run_collections.run_id IS 'the run (oura.runs.id)';
COMMENT ON COLUMN oura.run_collections.account IS 'account label of the run (the same as oura.runs.account)';
COMMENT ON COLUMN oura.run_collections.collection IS 'Oura collection name, e.g. daily_activity, vO2_max';
COMMENT ON COLUMN oura.run_collections.endpoint IS 'endpoint plugin instance that served the collection';
COMMENT ON COLUMN oura.run_collections.first_day IS 'first day of the window asked for; NULL for snapshots, full re-fetches and reprocess';
COMMENT ON COLUMN oura.run_collections.last_day IS 'last day of the window asked for (inclusive); NULL for snapshots, full re-fetches and reprocess';
COMMENT ON COLUMN oura.run_collections.requests IS 'HTTP requests sent to the Oura API (count; every attempt counts)';
COMMENT ON COLUMN oura.run_collections.retries IS 'requests that were retries of an earlier attempt (count)';
COMMENT ON COLUMN oura.run_collections.pages IS 'response pages read (count)';
COMMENT ON COLUMN oura.run_collections.documents IS 'documents kept and mapped (count)';
COMMENT ON COLUMN oura.run_collections."rows" IS 'rows of all streams handed to the sinks (count)';
COMMENT ON COLUMN oura.run_collections.inserted IS 'rows the sinks inserted (count, every sink of the run added up)';
COMMENT ON COLUMN oura.run_collections.updated IS 'rows the sinks updated because their content changed (count, every sink added up)';
COMMENT ON COLUMN oura.run_collections.skipped IS 'documents that could not be mapped (count)';
COMMENT ON COLUMN oura.run_collections.warnings IS 'lenient-parsing warnings: a required key absent, a value of the wrong type (count)';
COMMENT ON COLUMN oura.run_collections.outcome IS 'ok, failed, not_authorised, upgrade_required, login_needed or interrupted';
COMMENT ON COLUMN oura.run_collections.message IS 'what failed or was skipped and what to do; NULL when ok';
-- The latest run of an account's collection, and its latest run that did not end ok.
CREATE INDEX IF NOT EXISTS run_collections_latest_idx
  ON oura.run_collections (account, collection, run_id);
CREATE INDEX IF NOT EXISTS run_collections_latest_error_idx
  ON oura.run_collections (account, collection, run_id) WHERE outcome <> 'ok';
