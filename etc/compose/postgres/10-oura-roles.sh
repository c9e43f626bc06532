#!/bin/bash
# First start of the compose stack's PostgreSQL (docker-entrypoint-initdb.d): the database oura,
# the role oura (the collector: owns schema oura, runs init-db, scrapes, keeps the tokens in
# oura_auth) and the read-only role oura_reader (Grafana: SELECT on schema oura, now and for
# tables later migrations add; never schema oura_auth). Passwords come from the secret files.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  --set=collector_password="$(cat /run/secrets/oura_db_password)" \
  --set=reader_password="$(cat /run/secrets/oura_reader_password)" <<'SQL'
CREATE ROLE oura LOGIN PASSWORD :'collector_password';
CREATE ROLE oura_reader LOGIN PASSWORD :'reader_password';
CREATE DATABASE oura OWNER oura;
\connect oura
CREATE SCHEMA oura AUTHORIZATION oura;
GRANT USAGE ON SCHEMA oura TO oura_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE oura IN SCHEMA oura GRANT SELECT ON TABLES TO oura_reader;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL
