-- 002_token_store.sql: the table of the `postgres` token store (plugins/auth/postgres), one row
-- per account holding its OAuth2 tokens.
--
-- It lives in its own schema, oura_auth, not in oura: `oura-collector purge` deletes an
-- account's rows from every oura.* table with an account column, and a purge must not take the
-- user's grant with it (a refresh token that is gone means logging in again by hand). The
-- tokens are plain text columns: protecting them (who may connect and read, encryption of the
-- disks and backups) is the database's job; docs/operations.md grants the table to the writer
-- role only.
--
-- Hand-written; applied by init-db in one transaction like every migration.

CREATE SCHEMA IF NOT EXISTS oura_auth;
COMMENT ON SCHEMA oura_auth IS 'oura-collector: OAuth2 tokens of the postgres token store (kept apart from schema oura, which purge empties per account)';

CREATE TABLE IF NOT EXISTS oura_auth.tokens (
  account            text NOT NULL,
  generation         bigint NOT NULL CHECK (generation >= 1),
  access_token       text NOT NULL,
  refresh_token      text NOT NULL DEFAULT '',
  expires_at         timestamptz,
  scopes             text[] NOT NULL DEFAULT '{}',
  refreshed_at       timestamptz,
  refresh_started_at timestamptz,
  refresh_rejected_at timestamptz,
  updated_at         timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT tokens_pkey PRIMARY KEY (account)
);
COMMENT ON TABLE oura_auth.tokens IS 'OAuth2 tokens per account, written by oura-collector (login and every refresh) with a compare-and-set on generation';
COMMENT ON COLUMN oura_auth.tokens.account IS 'the token store''s account key (its config key account)';
COMMENT ON COLUMN oura_auth.tokens.generation IS 'incremented by every save; a save names the generation it replaces';
COMMENT ON COLUMN oura_auth.tokens.access_token IS 'OAuth2 access token (secret)';
COMMENT ON COLUMN oura_auth.tokens.refresh_token IS 'OAuth2 refresh token, single-use (secret); empty when none';
COMMENT ON COLUMN oura_auth.tokens.expires_at IS 'when the access token expires, when known';
COMMENT ON COLUMN oura_auth.tokens.scopes IS 'the scopes granted (token response scope), when known';
COMMENT ON COLUMN oura_auth.tokens.refreshed_at IS 'when the login or refresh that produced these tokens finished';
COMMENT ON COLUMN oura_auth.tokens.refresh_started_at IS 'set while a refresh is in progress: found by the next run, it means the refresh was interrupted';
COMMENT ON COLUMN oura_auth.tokens.refresh_rejected_at IS 'set when the token endpoint rejected refresh_token (invalid_grant): later runs exit 77 without sending it again, until auth login stores new tokens';
COMMENT ON COLUMN oura_auth.tokens.updated_at IS 'when the row was last written';
