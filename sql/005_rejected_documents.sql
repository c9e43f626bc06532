-- 005_rejected_documents.sql: the dead-letter table. A document the collector cannot store as
-- rows (not JSON, not an object, a lone surrogate or invalid UTF-8 that PostgreSQL's jsonb
-- refuses, its key missing or too long for an index, a mapping error) is quarantined here in
-- the same transaction as the rest of its window's rows, so the window lands and the sync state
-- advances. `oura-collector reprocess --rejected` maps them again (after an upgrade) and
-- removes each one that now lands, in the same transaction as its rows. `status` counts them
-- per collection. docs/operations.md "Rejected documents".
--
-- The same document rejected again (every run re-fetches the overlap days) stays one row:
-- keyed by (account, collection, md5 of the bytes); `times` and `last_rejected_at` move.
-- Also in run_collections: each run's counts of rejected documents and of NUL characters
-- (`\u0000`, which PostgreSQL's text and jsonb cannot hold) stored as U+FFFD.
--
-- Hand-written; applied by init-db in one transaction like every migration.

CREATE TABLE IF NOT EXISTS oura.rejected_documents (
  account          text NOT NULL,
  collection       text NOT NULL,
  raw_md5          text GENERATED ALWAYS AS (md5(raw)) STORED,
  document_key     text,
  reason           text NOT NULL,
  raw              bytea NOT NULL,
  first_rejected_at timestamptz NOT NULL DEFAULT now(),
  last_rejected_at timestamptz NOT NULL DEFAULT now(),
  times            bigint NOT NULL DEFAULT 1,
  CONSTRAINT rejected_documents_pkey PRIMARY KEY (account, collection, raw_md5)
);
COMMENT ON TABLE oura.rejected_documents IS 'dead-letter table: documents the collector could not store as rows, kept as the server sent them; reprocess --rejected retries them';
COMMENT ON COLUMN oura.rejected_documents.account IS 'account label of the run that fetched it';
COMMENT ON COLUMN oura.rejected_documents.collection IS 'Oura collection name, e.g. daily_activity, vO2_max';
COMMENT ON COLUMN oura.rejected_documents.raw_md5 IS 'md5 of raw (hex): one row per distinct document';
COMMENT ON COLUMN oura.rejected_documents.document_key IS 'the document''s id (or "of <day>") when it has one, control characters escaped, cut at 100 bytes; NULL when none';
COMMENT ON COLUMN oura.rejected_documents.reason IS 'why it was rejected, control characters escaped';
COMMENT ON COLUMN oura.rejected_documents.raw IS 'the bytes the server sent for the document (bytea: may be invalid UTF-8 or hold NUL; convert_from(raw, ''UTF8'') when valid)';
COMMENT ON COLUMN oura.rejected_documents.first_rejected_at IS 'when a run first rejected it';
COMMENT ON COLUMN oura.rejected_documents.last_rejected_at IS 'when a run last rejected it';
COMMENT ON COLUMN oura.rejected_documents.times IS 'how many times runs rejected it (count)';

ALTER TABLE oura.run_collections ADD COLUMN IF NOT EXISTS rejected bigint NOT NULL DEFAULT 0;
ALTER TABLE oura.run_collections ADD COLUMN IF NOT EXISTS replaced bigint NOT NULL DEFAULT 0;
COMMENT ON COLUMN oura.run_collections.rejected IS 'documents quarantined in oura.rejected_documents (count; also in skipped)';
COMMENT ON COLUMN oura.run_collections.replaced IS 'NUL characters (\u0000) stored as U+FFFD, which PostgreSQL text and jsonb cannot hold (count)';
