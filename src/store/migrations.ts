/**
 * The numbered schema migrations, applied in order at open (`migrate.ts`). Never edit a migration
 * that has shipped: add the next number instead.
 *
 * Layout notes (DuckDB): a PRIMARY KEY is an ART index that every insert must probe, so only the
 * tables written by upsert (`INSERT OR REPLACE`) or updated by key have one. Append-only history
 * (`state_transitions`, `run_logs`, `quality_results`) has none: it is filtered by `run_id`, and
 * because run ids are time-ordered and rows arrive in run order, DuckDB's per-row-group min/max
 * (zone maps) already skip most of the table. The key columns come first in every table.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "market data and run history",
    sql: `
CREATE TABLE bars_daily (
  source      VARCHAR NOT NULL,
  symbol      VARCHAR NOT NULL,
  date        DATE NOT NULL,
  open        DOUBLE,
  high        DOUBLE,
  low         DOUBLE,
  close       DOUBLE,
  volume      DOUBLE,
  vwap        DOUBLE,
  trades      BIGINT,
  adj_close   DOUBLE,
  ingested_at TIMESTAMPTZ,
  PRIMARY KEY (source, symbol, date)
);

CREATE TABLE corporate_actions (
  source      VARCHAR NOT NULL,
  symbol      VARCHAR NOT NULL,
  date        DATE NOT NULL,
  kind        VARCHAR NOT NULL CHECK (kind IN ('split', 'dividend')),
  value       DOUBLE,
  currency    VARCHAR,
  ingested_at TIMESTAMPTZ,
  PRIMARY KEY (source, symbol, date, kind)
);

CREATE TABLE indicators (
  source VARCHAR NOT NULL,
  symbol VARCHAR NOT NULL,
  date   DATE NOT NULL,
  name   VARCHAR NOT NULL,
  value  DOUBLE,
  PRIMARY KEY (source, symbol, date, name)
);

CREATE TABLE quality_results (
  run_id     VARCHAR,
  source     VARCHAR,
  symbol     VARCHAR,
  date       DATE,
  check_name VARCHAR NOT NULL,
  severity   VARCHAR NOT NULL,
  message    VARCHAR,
  created_at TIMESTAMPTZ
);

CREATE TABLE runs (
  id            VARCHAR PRIMARY KEY,
  pipeline      VARCHAR NOT NULL,
  deployment    VARCHAR,
  state         VARCHAR NOT NULL,
  parameters    JSON,
  logical_date  DATE,
  created_at    TIMESTAMPTZ NOT NULL,
  started_at    TIMESTAMPTZ,
  ended_at      TIMESTAMPTZ,
  error         VARCHAR,
  pipeline_file VARCHAR
);

CREATE TABLE task_runs (
  run_id     VARCHAR NOT NULL,
  task_id    VARCHAR NOT NULL,
  step       VARCHAR NOT NULL,
  state      VARCHAR NOT NULL,
  attempts   INTEGER NOT NULL,
  started_at TIMESTAMPTZ,
  ended_at   TIMESTAMPTZ,
  error      VARCHAR,
  outputs    JSON,
  cache_key  VARCHAR,
  PRIMARY KEY (run_id, task_id)
);

-- task_id is NULL for the run itself; seq orders rows of one recorder that share a timestamp.
CREATE TABLE state_transitions (
  run_id  VARCHAR NOT NULL,
  task_id VARCHAR,
  ts      TIMESTAMPTZ NOT NULL,
  seq     BIGINT NOT NULL DEFAULT 0,
  state   VARCHAR NOT NULL,
  attempt INTEGER NOT NULL,
  message VARCHAR
);

CREATE TABLE run_logs (
  run_id  VARCHAR NOT NULL,
  task_id VARCHAR,
  ts      TIMESTAMPTZ NOT NULL,
  seq     BIGINT NOT NULL DEFAULT 0,
  level   VARCHAR NOT NULL,
  message VARCHAR NOT NULL
);
`,
  },
  {
    version: 2,
    name: "indicators as a view over a wide table",
    // The long table's PRIMARY KEY (an ART index) cost ~1.5 s per million values written. Values
    // now live one row per (series, date) in indicator_values, one DOUBLE column per output name
    // (added by indicators.compute when first computed), without a key: the step keeps
    // (series, date) unique. A series is a (source, symbol) of indicator_series: an INTEGER per
    // row costs far less to append and store than two strings. `indicators` stays queryable in
    // the long form as a view, re-created by the step (an UNPIVOT of the columns joined to the
    // series); with no column yet it returns no rows. The step never wrote the old table (it had
    // no `run`), so there is nothing to move: the migration refuses to drop rows someone wrote.
    sql: `
SELECT CASE WHEN count(*) > 0
  THEN error('the indicators table has rows written outside tickflow: export and empty it first')
  END FROM indicators;

DROP TABLE indicators;

CREATE TABLE indicator_series (
  id     INTEGER PRIMARY KEY,
  source VARCHAR NOT NULL,
  symbol VARCHAR NOT NULL,
  UNIQUE (source, symbol)
);

CREATE TABLE indicator_values (
  series INTEGER NOT NULL,
  date   DATE NOT NULL
);

CREATE VIEW indicators AS
  SELECT s.source, s.symbol, v.date, CAST(NULL AS VARCHAR) AS name, CAST(NULL AS DOUBLE) AS value
  FROM indicator_values v JOIN indicator_series s ON s.id = v.series WHERE false;
`,
  },
  {
    version: 3,
    name: "scheduler state: deployments, schedules, work pools and queues; scheduled runs and leases",
    sql: `
CREATE TABLE deployments (
  name               VARCHAR PRIMARY KEY,
  pipeline           VARCHAR NOT NULL,
  pipeline_file      VARCHAR NOT NULL,
  parameters         JSON,
  work_pool          VARCHAR,
  work_queue         VARCHAR,
  concurrency_limit  INTEGER,
  collision_strategy VARCHAR NOT NULL,
  missed_runs        VARCHAR NOT NULL,
  tags               JSON,
  paused             BOOLEAN NOT NULL,
  -- The deployment as the file says it (stable JSON), to tell what a redeploy changed.
  definition         JSON NOT NULL,
  updated_at         TIMESTAMPTZ NOT NULL
);

-- id is derived from the schedule's content (src/schedule/run-key.ts); runs are created up to
-- scheduled_until. paused is set at run time (CLI/API) and survives redeploys; active is the file's.
CREATE TABLE schedules (
  deployment      VARCHAR NOT NULL,
  id              VARCHAR NOT NULL,
  position        INTEGER NOT NULL,
  definition      JSON NOT NULL,
  active          BOOLEAN NOT NULL,
  paused          BOOLEAN NOT NULL,
  scheduled_until TIMESTAMPTZ,
  PRIMARY KEY (deployment, id)
);

CREATE TABLE work_pools (
  name              VARCHAR PRIMARY KEY,
  concurrency_limit INTEGER,
  paused            BOOLEAN NOT NULL,
  job_defaults      JSON,
  definition        JSON NOT NULL
);

CREATE TABLE work_queues (
  pool              VARCHAR NOT NULL,
  name              VARCHAR NOT NULL,
  priority          INTEGER NOT NULL,
  concurrency_limit INTEGER,
  PRIMARY KEY (pool, name)
);

-- A scheduled run's id is its key (deployment, schedule, instant): inserting it twice is a no-op.
-- A run taken by a worker holds its slot under a lease renewed while it lives.
ALTER TABLE runs ADD COLUMN scheduled_at TIMESTAMPTZ;
ALTER TABLE runs ADD COLUMN schedule_id VARCHAR;
ALTER TABLE runs ADD COLUMN work_pool VARCHAR;
ALTER TABLE runs ADD COLUMN work_queue VARCHAR;
ALTER TABLE runs ADD COLUMN lease_owner VARCHAR;
ALTER TABLE runs ADD COLUMN lease_expires_at TIMESTAMPTZ;
`,
  },
  {
    version: 4,
    name: "daemons: each running daemon and when it last wrote",
    sql: `
-- A daemon writes its row every few seconds: that write failing (a full disk, a read-only file
-- system) is how it knows the database cannot take writes, and when it works again.
CREATE TABLE daemons (
  owner      VARCHAR PRIMARY KEY,
  host       VARCHAR NOT NULL,
  pid        INTEGER NOT NULL,
  version    VARCHAR NOT NULL,
  started_at TIMESTAMPTZ NOT NULL,
  seen_at    TIMESTAMPTZ NOT NULL
);
`,
  },
  {
    version: 5,
    name: "bar_symbols: first date, last date and bars per source and symbol",
    // The console's overview, coverage grid and symbol search read this instead of scanning every
    // bar. Exact: the writers of bars_daily keep it in the same transaction, and readers compare
    // its totals with bars_daily's statistics first (src/store/bar-symbols.ts).
    sql: `
CREATE TABLE bar_symbols (
  source     VARCHAR NOT NULL,
  symbol     VARCHAR NOT NULL,
  first_date DATE NOT NULL,
  last_date  DATE NOT NULL,
  bars       BIGINT NOT NULL,
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
-- The deployments file's notification parts as registered. A channel's definition keeps its
-- \${{ env.X }} references: secrets are resolved when a message is sent, never stored.
CREATE TABLE notify_channels (
  name       VARCHAR PRIMARY KEY,
  type       VARCHAR NOT NULL,
  definition JSON NOT NULL
);
-- One row per (event, deployment, channel) of the rules; deployment NULL: every deployment.
CREATE TABLE notify_rules (
  event      VARCHAR NOT NULL,
  deployment VARCHAR,
  channel    VARCHAR NOT NULL
);
CREATE TABLE notify_freshness (
  position   INTEGER NOT NULL,
  definition JSON NOT NULL
);
-- One message to one channel. key (e.g. run_id:event:channel) makes an event's message once
-- whatever happens; rows are written in the transaction of the state change they tell of.
CREATE TABLE notify_outbox (
  key             VARCHAR PRIMARY KEY,
  event           VARCHAR NOT NULL,
  channel         VARCHAR NOT NULL,
  run_id          VARCHAR,
  deployment      VARCHAR,
  facts           JSON NOT NULL,
  created_at      TIMESTAMPTZ NOT NULL,
  next_attempt_at TIMESTAMPTZ NOT NULL,
  attempts        INTEGER NOT NULL,
  last_error      VARCHAR,
  delivered_at    TIMESTAMPTZ,
  failed_at       TIMESTAMPTZ
);
`,
  },
];

/** The schema version this code expects. */
export const LATEST_VERSION: number = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);
