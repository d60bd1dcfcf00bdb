/**
 * PostgreSQL's numbered schema migrations: the same numbers, tables and column names as DuckDB's
 * (`../migrations.ts`), so that schema version N means the same tables on both backends (a test
 * compares them column by column, and fails when one backend gains a migration the other lacks).
 * Never edit a migration that has shipped: add the next number, on both backends.
 *
 * Types: VARCHAR -> text, DOUBLE -> double precision, JSON -> jsonb, TIMESTAMPTZ -> timestamptz;
 * INTEGER, BIGINT, BOOLEAN, DATE as they are.
 *
 * Where they differ from DuckDB's, and why:
 * - Indexes. DuckDB reads the append-only history (state_transitions, run_logs, quality_results)
 *   by run_id through its zone maps; PostgreSQL has none, so each gets a btree index on run_id.
 * - indicator_values has a primary key (series, date): DuckDB's step keeps the pair unique itself
 *   (an ART key cost too much there); a btree key is cheap in PostgreSQL and lets upserts use
 *   ON CONFLICT.
 * - The `indicators` view: DuckDB re-creates it as an UNPIVOT of the value columns; PostgreSQL's
 *   equivalent is `CROSS JOIN LATERAL (VALUES ('sma_20', v.sma_20), ...) u(name, value) WHERE
 *   u.value IS NOT NULL` (the same columns, so CREATE OR REPLACE VIEW works). Migration 2 creates it
 *   empty, as DuckDB's does.
 */
import type { Migration } from "../migrations.js";

export const PG_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "market data and run history",
    sql: `
CREATE TABLE bars_daily (
  source      text NOT NULL,
  symbol      text NOT NULL,
  date        date NOT NULL,
  open        double precision,
  high        double precision,
  low         double precision,
  close       double precision,
  volume      double precision,
  vwap        double precision,
  trades      bigint,
  adj_close   double precision,
  ingested_at timestamptz,
  PRIMARY KEY (source, symbol, date)
);

CREATE TABLE corporate_actions (
  source      text NOT NULL,
  symbol      text NOT NULL,
  date        date NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('split', 'dividend')),
  value       double precision,
  currency    text,
  ingested_at timestamptz,
  PRIMARY KEY (source, symbol, date, kind)
);

CREATE TABLE indicators (
  source text NOT NULL,
  symbol text NOT NULL,
  date   date NOT NULL,
  name   text NOT NULL,
  value  double precision,
  PRIMARY KEY (source, symbol, date, name)
);

CREATE TABLE quality_results (
  run_id     text,
  source     text,
  symbol     text,
  date       date,
  check_name text NOT NULL,
  severity   text NOT NULL,
  message    text,
  created_at timestamptz
);
CREATE INDEX quality_results_run_id ON quality_results (run_id);

CREATE TABLE runs (
  id            text PRIMARY KEY,
  pipeline      text NOT NULL,
  deployment    text,
  state         text NOT NULL,
  parameters    jsonb,
  logical_date  date,
  created_at    timestamptz NOT NULL,
  started_at    timestamptz,
  ended_at      timestamptz,
  error         text,
  pipeline_file text
);

CREATE TABLE task_runs (
  run_id     text NOT NULL,
  task_id    text NOT NULL,
  step       text NOT NULL,
  state      text NOT NULL,
  attempts   integer NOT NULL,
  started_at timestamptz,
  ended_at   timestamptz,
  error      text,
  outputs    jsonb,
  cache_key  text,
  PRIMARY KEY (run_id, task_id)
);

-- task_id is NULL for the run itself; seq orders rows of one recorder that share a timestamp.
CREATE TABLE state_transitions (
  run_id  text NOT NULL,
  task_id text,
  ts      timestamptz NOT NULL,
  seq     bigint NOT NULL DEFAULT 0,
  state   text NOT NULL,
  attempt integer NOT NULL,
  message text
);
CREATE INDEX state_transitions_run_id ON state_transitions (run_id, ts, seq);

CREATE TABLE run_logs (
  run_id  text NOT NULL,
  task_id text,
  ts      timestamptz NOT NULL,
  seq     bigint NOT NULL DEFAULT 0,
  level   text NOT NULL,
  message text NOT NULL
);
CREATE INDEX run_logs_run_id ON run_logs (run_id, ts, seq);
`,
  },
  {
    version: 2,
    name: "indicators as a view over a wide table",
    sql: `
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM indicators) THEN
    RAISE EXCEPTION 'the indicators table has rows written outside tickflow: export and empty it first';
  END IF;
END
$$;

DROP TABLE indicators;

CREATE TABLE indicator_series (
  id     integer PRIMARY KEY,
  source text NOT NULL,
  symbol text NOT NULL,
  UNIQUE (source, symbol)
);

-- One double precision column per output name is added when first computed (ALTER TABLE ADD COLUMN).
CREATE TABLE indicator_values (
  series integer NOT NULL,
  date   date NOT NULL,
  PRIMARY KEY (series, date)
);

CREATE VIEW indicators AS
  SELECT s.source, s.symbol, v.date, CAST(NULL AS text) AS name, CAST(NULL AS double precision) AS value
  FROM indicator_values v JOIN indicator_series s ON s.id = v.series WHERE false;
`,
  },
  {
    version: 3,
    name: "scheduler state: deployments, schedules, work pools and queues; scheduled runs and leases",
    sql: `
CREATE TABLE deployments (
  name               text PRIMARY KEY,
  pipeline           text NOT NULL,
  pipeline_file      text NOT NULL,
  parameters         jsonb,
  work_pool          text,
  work_queue         text,
  concurrency_limit  integer,
  collision_strategy text NOT NULL,
  missed_runs        text NOT NULL,
  tags               jsonb,
  paused             boolean NOT NULL,
  definition         jsonb NOT NULL,
  updated_at         timestamptz NOT NULL
);

CREATE TABLE schedules (
  deployment      text NOT NULL,
  id              text NOT NULL,
  position        integer NOT NULL,
  definition      jsonb NOT NULL,
  active          boolean NOT NULL,
  paused          boolean NOT NULL,
  scheduled_until timestamptz,
  PRIMARY KEY (deployment, id)
);

CREATE TABLE work_pools (
  name              text PRIMARY KEY,
  concurrency_limit integer,
  paused            boolean NOT NULL,
  job_defaults      jsonb,
  definition        jsonb NOT NULL
);

CREATE TABLE work_queues (
  pool              text NOT NULL,
  name              text NOT NULL,
  priority          integer NOT NULL,
  concurrency_limit integer,
  PRIMARY KEY (pool, name)
);

ALTER TABLE runs ADD COLUMN scheduled_at timestamptz;
ALTER TABLE runs ADD COLUMN schedule_id text;
ALTER TABLE runs ADD COLUMN work_pool text;
ALTER TABLE runs ADD COLUMN work_queue text;
ALTER TABLE runs ADD COLUMN lease_owner text;
ALTER TABLE runs ADD COLUMN lease_expires_at timestamptz;
`,
  },
  {
    version: 4,
    name: "daemons: each running daemon and when it last wrote",
    sql: `
CREATE TABLE daemons (
  owner      text PRIMARY KEY,
  host       text NOT NULL,
  pid        integer NOT NULL,
  version    text NOT NULL,
  started_at timestamptz NOT NULL,
  seen_at    timestamptz NOT NULL
);
`,
  },
  {
    version: 5,
    name: "bar_symbols: first date, last date and bars per source and symbol",
    sql: `
CREATE TABLE bar_symbols (
  source     text NOT NULL,
  symbol     text NOT NULL,
  first_date date NOT NULL,
  last_date  date NOT NULL,
  bars       bigint NOT NULL,
  PRIMARY KEY (source, symbol)
);

INSERT INTO bar_symbols (source, symbol, first_date, last_date, bars)
  SELECT source, symbol, min(date), max(date), count(*) FROM bars_daily GROUP BY source, symbol;
`,
  },
  {
    version: 6,
    name: "notifications: channels, rules and freshness of the deployments file; the outbox",
    sql: `
CREATE TABLE notify_channels (
  name       text PRIMARY KEY,
  type       text NOT NULL,
  definition jsonb NOT NULL
);
CREATE TABLE notify_rules (
  event      text NOT NULL,
  deployment text,
  channel    text NOT NULL
);
CREATE TABLE notify_freshness (
  position   integer NOT NULL,
  definition jsonb NOT NULL
);
CREATE TABLE notify_outbox (
  key             text PRIMARY KEY,
  event           text NOT NULL,
  channel         text NOT NULL,
  run_id          text,
  deployment      text,
  facts           jsonb NOT NULL,
  created_at      timestamptz NOT NULL,
  next_attempt_at timestamptz NOT NULL,
  attempts        integer NOT NULL,
  last_error      text,
  delivered_at    timestamptz,
  failed_at       timestamptz
);
`,
  },
];

/** The PostgreSQL schema version this code expects. */
export const PG_LATEST_VERSION: number = PG_MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);
