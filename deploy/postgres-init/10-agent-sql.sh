#!/bin/sh
# Runs once, when the postgres container initialises an empty data volume (mounted at
# /docker-entrypoint-initdb.d): a database for the agent's SQL steps and a least-privilege
# role for the worker, so sql_query never runs as the superuser or in Temporal's database.
# agent_sql may read and change rows in schema "agent" and create tables there (the
# cross-run memory table); nothing else. See "SQL" in docs/security.md.
set -eu
psql -v ON_ERROR_STOP=1 -v password="${AGENT_SQL_PASSWORD:?set AGENT_SQL_PASSWORD}" \
    --username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-$POSTGRES_USER}" <<'SQL'
CREATE ROLE agent_sql LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'password';
CREATE DATABASE agent;
REVOKE ALL ON DATABASE agent FROM PUBLIC;
GRANT CONNECT ON DATABASE agent TO agent_sql;
\connect agent
REVOKE ALL ON SCHEMA public FROM PUBLIC;
CREATE SCHEMA agent;
GRANT USAGE, CREATE ON SCHEMA agent TO agent_sql;
ALTER DEFAULT PRIVILEGES IN SCHEMA agent
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO agent_sql;
ALTER DEFAULT PRIVILEGES IN SCHEMA agent GRANT USAGE, SELECT ON SEQUENCES TO agent_sql;
ALTER ROLE agent_sql IN DATABASE agent SET search_path = agent;
SQL
